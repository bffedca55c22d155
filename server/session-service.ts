/**
 * The control plane's core: sessions, participants and roles, join-token checks, presence with a
 * reconnect grace period, and the host⇄guest signaling relay. Free of sockets and HTTP (the
 * gateway adapts a WebSocket to `ClientConnection`), so it is tested and benchmarked directly.
 */
import { signalingUrlAt } from '../common/signaling-url';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ErrorCode, PairuxError } from '../protocol/errors';
import type { IceServer } from '../protocol/common';
import type { CreateSessionRequest, CreateSessionResponse, SessionPreview } from '../protocol/http-api';
import type { MediaMode, ParticipantRole } from '../protocol/limits';
import {
  CloseCode,
  LinksChanged,
  ParticipantJoined,
  ParticipantLeft,
  ParticipantUpdated,
  SessionEnded,
  Signal,
  type HostLoadReport,
  type Join,
  type Participant,
  type SendSignal,
  type ShareLinkInfo,
} from '../protocol/signaling';
import type { ParamsOf, ResultOf } from '../protocol/rpc';
import type { TierName } from '../protocol/tiers';
import type { ServerConfig } from './config';
import type { JoinTokens } from './join-tokens';
import type { ServerMetrics } from './metrics';
import type { ParticipantRecord, RoomStateStore, SessionRecord } from './room-state-store';
import type { ParticipantSink, SignalingTransport } from './signaling-transport';
import { roleLimitsFor } from './role-limits';
import { LocalSessionTimers, type SessionTimers } from './session-timers';
import { turnCredentials } from './turn-credentials';
import { ControlArbiter } from './control-arbiter';
import { isCurrentHost, requireCurrentHost } from './host-rights';
import { SignalLimiter } from './signal-limits';
import { ShareLinks, type LinkOptions } from './share-links';
import { nameKey, uniqueName } from './display-names';
import { ParticipantAdmin, placementOf, publicView } from './participant-admin';
import { SfuSessions } from './sfu/sfu-sessions';
import { SessionFocus, type HostLoadAnswer } from './focus/session-focus';
import { Cascades } from './cascade/cascades';
import { Lobby } from './lobby';
import { sessionTiersFor, tiersOf } from './session-tiers';

type EndReason = NonNullable<SessionRecord['ended']>['reason'];

/** What the service tells its embedder (the demo prints these; the extension will show them). */
export interface SessionServiceEvents {
  'session-created': [{ sessionId: string }];
  'participant-joined': [{ sessionId: string; participant: Participant; resumed: boolean }];
  'participant-disconnected': [{ sessionId: string; participant: Participant }];
  'participant-left': [{ sessionId: string; participant: Participant; reason: 'left' | 'timeout' | 'removed' }];
  'session-ended': [{ sessionId: string; reason: EndReason; message: string }];
  /** A background task (grace timer, purge) failed. */
  error: [unknown];
}

export interface SessionServiceDeps {
  config: ServerConfig;
  store: RoomStateStore;
  transport: SignalingTransport;
  tokens: JoinTokens;
  metrics: ServerMetrics;
  /** Origin for share links and the WebSocket URL (known once the server listens). */
  origin(): string;
  now?: () => number;
  /** Where deadlines live; in this process by default (Redis keeps them for other instances too). */
  timers?: SessionTimers;
}

const newId = (bytes: number) => randomBytes(bytes).toString('base64url');
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

const END_MESSAGES: Record<EndReason, string> = {
  'host-ended': 'The host ended the session.',
  'host-left': 'The host left and did not come back, so the session ended.',
  'server-shutdown': 'The PairUX server shut down.',
};

export class SessionService extends EventEmitter<SessionServiceEvents> {
  private readonly now: () => number;
  /** Grace periods, host-join deadlines, tombstone purges, by key (see `runDeadline`). */
  private readonly timers: SessionTimers;
  /** Sessions this instance created or serves (for shutdown and metrics). */
  readonly localSessions = new Set<string>();
  readonly control: ControlArbiter;
  readonly participants: ParticipantAdmin;
  readonly sfu: SfuSessions;
  readonly focus: SessionFocus;
  /** Viewers on their own region's SFU, fed by cascade bridges (issue 17). */
  readonly cascades: Cascades;
  private readonly signalLimits: SignalLimiter;
  readonly links: ShareLinks;
  readonly lobby: Lobby;

  constructor(private readonly deps: SessionServiceDeps) {
    super();
    this.now = deps.now ?? Date.now;
    this.timers = deps.timers ?? new LocalSessionTimers();
    this.signalLimits = new SignalLimiter(this.now);
    this.links = new ShareLinks({
      store: deps.store,
      tokens: deps.tokens,
      origin: () => deps.origin(),
      defaultTtlSeconds: () => deps.config.defaultLinkTtlSeconds,
      now: this.now,
    });
    this.lobby = new Lobby({ store: deps.store, transport: deps.transport, metrics: deps.metrics, config: () => deps.config });
    this.timers.bind((key) => this.runDeadline(key).catch((err: unknown) => void this.emit('error', err)));
    this.sfu = new SfuSessions({ config: deps.config, store: deps.store, metrics: deps.metrics, now: this.now });
    this.focus = new SessionFocus({ config: deps.config, store: deps.store, transport: deps.transport, sfu: this.sfu, metrics: deps.metrics, now: this.now });
    this.focus.on('error', (err) => this.emit('error', err));
    this.cascades = new Cascades({
      store: deps.store,
      sfu: this.sfu,
      transport: deps.transport,
      enabled: deps.config.focus.cascade,
      instanceId: deps.config.instanceId,
      ...(deps.config.focus.cascadeBridge ? { bridgeBinary: deps.config.focus.cascadeBridge } : {}),
      log: (level, message) => console[level === 'warn' ? 'warn' : 'log'](`[pairux-server] ${message}`),
    });
    deps.metrics.describeCascadeWith(() => this.cascades.snapshot());
    // The origin moved (another SFU, a failover): each bridge starts again from the new origin room.
    this.focus.on('topology', ({ sessionId, epoch }) => this.cascades.originMoved(sessionId, epoch));
    // Health checks found an SFU dead: its sessions move to another (every instance sees it; one moves each session).
    this.sfu.on('deployment-down', ({ deploymentId }) => this.background(this.focus.deploymentDown(deploymentId)));
    // A far region's SFU died: its cascaded viewers move to another there, or to the host's.
    this.sfu.on('deployment-down', ({ deploymentId }) => this.background(this.cascades.deploymentDown(deploymentId)));
    // One node of a LiveKit cluster died with some rooms: their sessions move to new rooms.
    this.sfu.on('node-down', ({ rooms }) => this.background(this.focus.roomsLost(rooms)));
    // An SFU back: this instance's auto sessions waiting on P2P for one move now.
    this.sfu.on('deployment-up', () => this.background(this.focus.sfuAvailable(this.localSessions)));
    this.control = new ControlArbiter(
      deps.store,
      deps.transport,
      () => deps.config.controlRequests,
      (err) => void this.emit('error', err),
    );
    this.participants = new ParticipantAdmin({
      store: deps.store,
      transport: deps.transport,
      control: this.control,
      metrics: deps.metrics,
      roleLimits: (session) => this.roleLimits(session.media),
      remove: (sessionId, participantId, message) => this.removeParticipant({ sessionId, participantId }, 'removed', message),
      roleChanged: (session, participantId, role) => {
        // A new host publishes under its own identity: the bridges subscribe to it and speak for it in the far rooms.
        if (role === 'host') this.cascades.hostChanged(session.id);
        this.background(this.focus.roleChanged(session, participantId, role));
      },
    });
  }

  get config(): ServerConfig {
    return this.deps.config;
  }

  /** By where the media flows now: an `auto` session has P2P's limits until the focus moves it to an SFU. */
  roleLimits(media: MediaMode): Record<ParticipantRole, number> {
    return roleLimitsFor(this.deps.config, media, this.sfu.viewerLimit);
  }

  async createSession(request: CreateSessionRequest & { mode: NonNullable<CreateSessionRequest['mode']> }): Promise<CreateSessionResponse> {
    const { store, tokens, config, metrics } = this.deps;
    if ((await store.countLiveSessions()) >= config.maxSessions) {
      throw new PairuxError(ErrorCode.LimitReached, `This server is at its limit of ${config.maxSessions} live sessions. Try again later.`, {
        limit: config.maxSessions,
      });
    }
    const sessionId = newId(9);
    // Before the session exists: a refused or unreachable SFU leaves nothing behind to clean up.
    const sfu = request.mode === 'sfu' ? await this.sfu.openRoom(sessionId, { epoch: 1, ...(request.region ? { region: request.region } : {}) }) : undefined;
    const ttl = request.linkTtlSeconds ?? config.defaultLinkTtlSeconds;
    const tiers = sessionTiersFor(config, request);
    const record: SessionRecord = {
      id: sessionId,
      mode: request.mode,
      media: sfu ? 'sfu' : 'p2p',
      version: 0,
      epoch: sfu ? 1 : 0,
      hostId: `host-${newId(6)}`,
      createdAt: this.now(),
      tiers: { table: tiers.table, roles: tiers.roles },
    };
    if (sfu) record.sfu = sfu;
    if (request.region) record.region = request.region;
    if (request.name) record.name = request.name;
    if (request.e2ee) record.e2ee = true;
    await store.createSession(record);
    this.localSessions.add(sessionId);
    const [host, controller, viewer] = await Promise.all([
      tokens.issue(sessionId, 'host', ttl),
      this.links.issue(sessionId, 'controller', { ttlSeconds: ttl }),
      this.links.issue(sessionId, 'viewer', { ttlSeconds: ttl }),
    ]);
    this.schedule(`host-deadline:${sessionId}`, config.hostJoinTimeoutMs);
    metrics.sessionsCreated.inc({ mode: request.mode });
    metrics.sessions.inc();
    this.emit('session-created', { sessionId });
    const origin = this.deps.origin();
    return {
      sessionId,
      hostToken: host.token,
      wsUrl: signalingUrlAt(origin),
      links: {
        controller: { url: controller.url, expiresAt: controller.expiresAt },
        viewer: { url: viewer.url, expiresAt: viewer.expiresAt },
      },
      tiers,
    };
  }

  /** What a share link's token leads to, checked as a join would check it (GET /api/preview). */
  async preview(token: string): Promise<SessionPreview> {
    const { store, tokens } = this.deps;
    const { claims, expired } = await tokens.verify(token);
    if (expired) {
      throw new PairuxError(ErrorCode.TokenExpired, `This link expired on ${new Date(claims.exp * 1000).toISOString()}. Ask the host for a new link.`, {
        expiredAt: claims.exp * 1000,
      });
    }
    const session = await store.getSession(claims.sid);
    if (!session) {
      throw new PairuxError(
        ErrorCode.SessionNotFound,
        'There is no such session on this server (it may have ended long ago, or the server restarted). Ask the host for a new link.',
      );
    }
    if (session.ended) throw new PairuxError(ErrorCode.SessionEnded, `This session has ended: ${session.ended.message}`, { reason: session.ended.reason });
    await this.links.requireLive(session.id, claims);
    const participants = await store.listParticipants(session.id);
    const host = participants.find((p) => p.id === session.hostId);
    return {
      sessionId: session.id,
      ...(session.name ? { name: session.name } : {}),
      ...(host ? { hostName: host.name } : {}),
      hostConnected: host?.connected ?? false,
      mode: session.mode,
      media: session.media,
      role: claims.role,
      expiresAt: claims.exp * 1000,
      participants: participants.length,
      ...(session.e2ee ? { e2ee: true } : {}),
    };
  }

  /** A new client connection (one WebSocket); it must join before anything else. */
  connect(sink: ParticipantSink, address = 'unknown'): ClientConnection {
    return new ClientConnection(this, sink, address);
  }

  /** Live sessions on every instance (the shared store's count). */
  countSessions(): Promise<number> {
    return this.deps.store.countLiveSessions();
  }

  // ---- used by ClientConnection -----------------------------------------------------------

  async join(sink: ParticipantSink, params: ParamsOf<typeof Join>, address = 'unknown'): Promise<{ result: ResultOf<typeof Join>; member: Member }> {
    const { store, tokens, transport, metrics, config } = this.deps;
    let role: ParticipantRole | 'unknown' = 'unknown';
    try {
      const { claims, expired } = await tokens.verify(params.token);
      role = claims.role;
      if (claims.sid !== params.sessionId) {
        throw new PairuxError(ErrorCode.TokenWrongSession, 'This link belongs to a different session. Ask the host for the link to this one.');
      }
      const session = await store.getSession(params.sessionId);
      if (!session) {
        throw new PairuxError(
          ErrorCode.SessionNotFound,
          'There is no such session on this server (it may have ended long ago, or the server restarted). Ask the host for a new link.',
        );
      }
      if (session.ended) {
        throw new PairuxError(ErrorCode.SessionEnded, `This session has ended: ${session.ended.message}`, { reason: session.ended.reason });
      }
      // Before any seat or link is spent: a client that cannot encrypt would see (or send) nothing it could use.
      if (session.e2ee && !params.client?.e2ee) {
        throw new PairuxError(
          ErrorCode.E2eeRequired,
          'This session is end-to-end encrypted and this app cannot encrypt: join from a PairUX viewer that supports encrypted sessions (an up-to-date Chromium-based browser or VS Code).',
        );
      }
      const secret = newId(24);
      let record: ParticipantRecord | undefined;
      let resumed = false;
      if (params.resume) {
        const previous = await store.getParticipant(session.id, params.resume.participantId);
        if (!previous && (await store.wasRemovedByHost(session.id, params.resume.participantId))) {
          throw new PairuxError(ErrorCode.SessionEnded, 'The host removed you from this session.', { reason: 'removed' });
        }
        // The ticket proves who this is; the stored role (which a host transfer may have swapped) is what it comes back as.
        if (previous && safeEqualHex(previous.resumeHash, hashSecret(params.resume.secret))) {
          // Still marked connected with no connection anywhere: its instance died unseen. That was
          // a drop, and a drop ends the control it had, as `presenceLost` would have.
          if (previous.connected && previous.controlState !== 'none' && !(await transport.has(session.id, previous.id))) {
            await this.control.participantGone(session.id, previous, true);
          }
          record = await store.updateParticipant(session.id, previous.id, {
            connected: true,
            disconnectedAt: undefined,
            resumeHash: hashSecret(secret),
          });
          resumed = record !== undefined;
          this.cancel(`grace:${session.id}:${previous.id}`);
        }
      }
      if (!record) {
        if (expired) {
          throw new PairuxError(ErrorCode.TokenExpired, `This link expired on ${new Date(claims.exp * 1000).toISOString()}. Ask the host for a new link.`, {
            expiredAt: claims.exp * 1000,
          });
        }
        // Revoked links stop here; a single-use link is used up by this join.
        const admitted = await this.links.admit(session.id, claims);
        record = {
          id: claims.role === 'host' ? session.hostId : `${claims.role === 'viewer' ? 'v' : 'c'}-${newId(9)}`,
          name: params.name,
          role: claims.role,
          connected: true,
          controlState: 'none',
          joinedAt: this.now(),
          resumeHash: hashSecret(secret),
          ...(params.client ? { client: params.client.kind } : {}),
          ...(admitted ? { link: admitted.link } : {}),
          // Where a viewer watches from: a cascaded session feeds it on its own region's SFU.
          ...(claims.role === 'viewer' && params.region ? { region: params.region } : {}),
        };
        if (claims.role !== 'host' && this.lobby.applies(session, claims.role)) {
          // No seat, no name held, no link spent while the host decides (see lobby.ts).
          const taken = (await store.listParticipants(session.id)).map((p) => p.name);
          const knock = { sessionId: session.id, participantId: record.id, name: uniqueName(params.name, taken), role: claims.role, address };
          await this.lobby.wait(
            sink,
            { ...knock, ...(record.client ? { client: record.client } : {}), ...(record.link ? { link: record.link } : {}) },
            session,
          );
          const after = await store.getSession(session.id);
          if (!after || after.ended) throw new PairuxError(ErrorCode.SessionEnded, `This session has ended: ${after?.ended?.message ?? 'the host ended it.'}`);
        }
        // A guest's picture comes from where the media flows when it joins (the focus's 'done' counts it).
        if (claims.role !== 'host') record.joinedAt = this.now();
        if (claims.role !== 'host') record.media = (await store.getSession(session.id))?.media ?? session.media;
        const added = await this.addNamed(session.id, record, this.roleLimits(session.media));
        if (!added.ok) throw limitError(added.role, added.limit, session.media);
        // Spent only once the seat is taken; the loser of a race on it gives its seat back unseen.
        if (admitted?.singleUse && !(await this.links.useUp(session.id, admitted.link.id))) {
          await store.removeParticipant(session.id, record.id);
          throw await this.links.spentError(session.id, admitted.link.id);
        }
        if (claims.role === 'host') this.cancel(`host-deadline:${session.id}`);
      }
      const replaced = transport.attach(session.id, record.id, sink);
      if (replaced) replaced.close(CloseCode.Replaced, 'replaced by a newer connection of the same participant');
      if (claims.role === 'host' && params.region && !session.region) {
        await store.updateSession(session.id, session.version, { region: params.region });
      }
      // Read again now that this connection is attached: a move of the media that landed
      // meanwhile is either in this result or in a `session.topology` this connection will get.
      let now = (await store.getSession(session.id)) ?? session;
      if (record.role === 'viewer' && record.region && now.media === 'sfu') now = await this.cascades.place(now, record.region);
      const participants = (await store.listParticipants(session.id)).map((p) => publicView(p, now));
      const self = publicView(record, now);
      if (resumed) transport.broadcast(session.id, ParticipantUpdated, { participant: self }, self.id);
      else transport.broadcast(session.id, ParticipantJoined, { participant: self, resumed: false }, self.id);
      metrics.joins.inc({ role: self.role, result: resumed ? 'resumed' : 'ok' });
      this.emit('participant-joined', { sessionId: session.id, participant: self, resumed });
      const info: ResultOf<typeof Join>['session'] = {
        id: session.id,
        mode: session.mode,
        media: now.media,
        hostId: session.hostId,
        createdAt: session.createdAt,
      };
      if (session.name) info.name = session.name;
      if (session.e2ee) info.e2ee = true;
      // Signed locally, no call to LiveKit: a hundred viewers joining cost no SFU round trips.
      const sfu = now.media === 'sfu' && now.sfu ? await this.sfu.access(placementOf(record, now) ?? now.sfu, self) : undefined;
      if (!resumed) this.background(this.focus.participantJoined(session.id));
      return {
        member: { sessionId: session.id, participantId: self.id, role: self.role },
        result: {
          session: info,
          self,
          participants,
          iceServers: this.iceServersFor(self.id),
          resume: { participantId: self.id, secret },
          resumed,
          epoch: now.epoch,
          reconnectGraceMs: config.reconnectGraceMs,
          heartbeatIntervalMs: config.heartbeatIntervalMs,
          tiers: tiersOf(now),
          ...(sfu ? { sfu } : {}),
        },
      };
    } catch (err) {
      const e = PairuxError.from(err);
      metrics.joins.inc({ role, result: e.code });
      throw e;
    }
  }

  /** `sfu.access`: a fresh LiveKit token, with the room made sure of (the client is getting back in). */
  async sfuAccess(member: Member) {
    const session = await this.deps.store.getSession(member.sessionId);
    if (!session || session.ended) throw new PairuxError(ErrorCode.SessionEnded, 'This session has ended.');
    if (session.media !== 'sfu' || !session.sfu) {
      throw new PairuxError(ErrorCode.BadMessage, "This session's media is peer-to-peer right now; it has no SFU access.", {
        mode: session.mode,
        media: session.media,
      });
    }
    const p = await this.deps.store.getParticipant(member.sessionId, member.participantId);
    if (!p) throw new PairuxError(ErrorCode.PeerNotFound, 'You are no longer in this session.');
    // A viewer that joined while the media was peer-to-peer is placed when it first comes to the SFU.
    const now = p.role === 'viewer' && p.region ? await this.cascades.place(session, p.region) : session;
    return this.sfu.access(placementOf(p, now) ?? now.sfu ?? session.sfu, { id: p.id, name: p.name, role: p.role }, true);
  }

  /** `media.report`: a guest shows the picture of the session's current media now. */
  async reportMedia(member: Member, media: MediaMode, epoch: number): Promise<void> {
    if (await isCurrentHost(this.deps.store, member.sessionId, member.participantId))
      throw new PairuxError(ErrorCode.BadMessage, 'the host publishes; only guests report where their picture comes from');
    await this.focus.mediaReported(member.sessionId, member.participantId, media, epoch);
  }

  /** `media.hostLoad`: the host's page cannot keep up (or can again); the focus decides what to do. */
  async reportHostLoad(member: Member, report: HostLoadReport): Promise<HostLoadAnswer> {
    if (!(await isCurrentHost(this.deps.store, member.sessionId, member.participantId)))
      throw new PairuxError(ErrorCode.Forbidden, "only the host reports its own load; a guest's figures change nothing for others");
    return this.focus.hostOverloaded(member.sessionId, report);
  }

  iceServersFor(participantId: string): IceServer[] {
    const turn = this.deps.config.turn;
    return turn ? [turnCredentials(turn, participantId, this.now())] : [];
  }

  async relaySignal(from: Member, params: ParamsOf<typeof SendSignal>): Promise<void> {
    const { store, transport, metrics } = this.deps;
    if (params.to === from.participantId) throw new PairuxError(ErrorCode.BadMessage, 'cannot signal yourself');
    // Looked up inside the caller's own session only: ids from other sessions are simply unknown.
    // The sender too: a connection the server closed (removed, left) is heard until its close
    // handshake ends, and who is host is the seat's holder now, not the role it joined with.
    const [session, sender, target] = await Promise.all([
      store.getSession(from.sessionId),
      store.getParticipant(from.sessionId, from.participantId),
      store.getParticipant(from.sessionId, params.to),
    ]);
    if (!session || session.ended) throw new PairuxError(ErrorCode.SessionEnded, 'This session has ended.');
    if (!sender) throw new PairuxError(ErrorCode.PeerNotFound, 'You are no longer in this session, so your signal was not sent.');
    if (!target) throw new PairuxError(ErrorCode.PeerNotFound, `participant ${params.to} is not in this session`);
    if (sender.id !== session.hostId && target.id !== session.hostId) {
      throw new PairuxError(ErrorCode.Forbidden, 'guests may only signal the host');
    }
    const undo = this.signalLimits.take(from.sessionId, from.participantId, params.payload.kind);
    const sent = await transport.send(from.sessionId, target.id, Signal, { from: from.participantId, payload: params.payload }).catch((err: unknown) => {
      undo();
      throw err;
    });
    if (!sent) {
      undo();
      throw new PairuxError(ErrorCode.PeerNotFound, `participant ${params.to} is not connected right now`, { reconnecting: true });
    }
    metrics.signals.inc({ kind: params.payload.kind });
  }

  async createLink(from: Member, role: 'controller' | 'viewer', options: LinkOptions = {}): Promise<ShareLinkInfo> {
    await requireCurrentHost(this.deps.store, from, 'create share links');
    return this.links.issue(from.sessionId, role, options);
  }

  /** `links.list`: the guest links that still work, without tokens. */
  async listLinks(from: Member) {
    await requireCurrentHost(this.deps.store, from, 'see the share links');
    return { links: await this.links.list(from.sessionId) };
  }

  /** `links.revoke`: one link stops working (a personal link's "until revoked"). */
  async revokeLink(from: Member, linkId: string) {
    await requireCurrentHost(this.deps.store, from, 'revoke share links');
    return { revoked: await this.links.revoke(from.sessionId, linkId) };
  }

  /** `links.rotate`: every guest link of the session stops working; new shared ones. */
  async rotateLinks(from: Member, ttlSeconds?: number) {
    await requireCurrentHost(this.deps.store, from, 'rotate the share links');
    return this.links.rotate(from.sessionId, ttlSeconds);
  }

  async leave(member: Member): Promise<void> {
    if (await isCurrentHost(this.deps.store, member.sessionId, member.participantId)) {
      await this.endSession(member.sessionId, 'host-left', 'The host left the session.');
      return;
    }
    await this.removeParticipant(member, 'left');
  }

  async end(member: Member, reason?: string): Promise<void> {
    await requireCurrentHost(this.deps.store, member, 'end the session');
    await this.endSession(member.sessionId, 'host-ended', reason ? `The host ended the session: ${reason}` : END_MESSAGES['host-ended']);
  }

  /** The connection went away without leaving: keep identity and role for the grace period. */
  async connectionLost(member: Member, sink: ParticipantSink): Promise<void> {
    this.deps.transport.detach(member.sessionId, member.participantId, sink);
    await this.presenceLost(member.sessionId, member.participantId);
  }

  /**
   * The participant has no connection any more: closed here, or (with several instances) its
   * instance died and a survivor sweeps it. Unless it is connected again somewhere, it is marked
   * disconnected and keeps its seat for the grace period.
   */
  async presenceLost(sessionId: string, participantId: string): Promise<void> {
    const { store, transport, config } = this.deps;
    const current = await store.getParticipant(sessionId, participantId);
    // Replaced by a newer connection of the same participant, or already gone: nothing to do.
    if (!current || !current.connected || (await transport.has(sessionId, participantId))) return;
    const updated = await store.updateParticipant(sessionId, participantId, { connected: false, disconnectedAt: this.now() });
    if (!updated) return;
    const session = await store.getSession(sessionId);
    this.schedule(`grace:${sessionId}:${participantId}`, config.reconnectGraceMs);
    // It may have come back on another instance between the check and the write: undo the write.
    if (await transport.has(sessionId, participantId)) {
      const back = await store.updateParticipant(sessionId, participantId, { connected: true, disconnectedAt: undefined });
      if (back) transport.broadcast(sessionId, ParticipantUpdated, { participant: publicView(back, session) });
      return;
    }
    transport.broadcast(sessionId, ParticipantUpdated, { participant: publicView(updated, session) });
    await this.control.participantGone(sessionId, updated, true);
    this.emit('participant-disconnected', { sessionId, participant: publicView(updated, session) });
  }

  /** A deadline is due (on the instance that set it, or on a survivor of its instance). */
  async runDeadline(key: string): Promise<void> {
    const { store, transport, config } = this.deps;
    const [kind, sessionId, participantId] = key.split(':');
    if (!sessionId) return;
    if (kind === 'host-deadline') {
      const session = await store.getSession(sessionId);
      const p = session && (await store.getParticipant(sessionId, session.hostId));
      if (session && !p) await this.endSession(sessionId, 'host-left', 'The host never connected, so the session was closed.');
    } else if (kind === 'purge') {
      await store.deleteSession(sessionId);
      this.localSessions.delete(sessionId);
    } else if (kind === 'grace' && participantId) {
      const p = await store.getParticipant(sessionId, participantId);
      if (!p || (await transport.has(sessionId, participantId))) return;
      // Marked connected with no connection anywhere (its drop went unseen, e.g. the store was
      // unreachable then): it gets its grace period from now.
      if (p.connected) return this.presenceLost(sessionId, participantId);
      // A newer drop has its own deadline.
      if (p.disconnectedAt === undefined || this.now() < p.disconnectedAt + config.reconnectGraceMs - 50) return;
      if (p.role === 'host') await this.endSession(sessionId, 'host-left', END_MESSAGES['host-left']);
      else await this.removeParticipant({ sessionId, participantId }, 'timeout');
    }
  }

  async endSession(sessionId: string, reason: EndReason, message = END_MESSAGES[reason]): Promise<void> {
    const { store, transport, metrics, config } = this.deps;
    const participants = await store.listParticipants(sessionId);
    const ended = await store.getSession(sessionId);
    const assignment = ended?.sfu;
    if (!(await store.endSession(sessionId, { at: this.now(), reason, message }))) return;
    if (assignment) this.background(this.sfu.closeRoom(assignment));
    this.background(this.cascades.sessionEnded(sessionId, ended?.cascade));
    for (const p of participants) this.cancel(`grace:${sessionId}:${p.id}`);
    this.cancel(`host-deadline:${sessionId}`);
    transport.broadcast(sessionId, SessionEnded, { reason, message });
    // After the pending response (if any) has been written: closing first would drop it.
    setImmediate(() => transport.disconnectAll(sessionId, CloseCode.SessionEnded, 'session ended'));
    metrics.sessions.dec();
    metrics.sessionsEnded.inc({ reason });
    this.emit('session-ended', { sessionId, reason, message });
    this.schedule(`purge:${sessionId}`, config.endedSessionTtlMs);
  }

  /**
   * `endSessions: false` (several instances sharing a store): the sessions go on, served by the
   * other instances; only this instance's timers stop (deadlines kept in the store stay).
   */
  async shutdown(options: { endSessions?: boolean } = {}): Promise<void> {
    if (options.endSessions ?? true) for (const id of [...this.localSessions]) await this.endSession(id, 'server-shutdown');
    this.timers.close();
    this.cascades.close();
    await new Promise((r) => setImmediate(r));
  }

  /** Participants per role and connection state, for the metrics gauge. */
  async participantCounts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const id of this.localSessions) {
      for (const p of await this.deps.store.listParticipants(id)) {
        const key = `${p.role}|${p.connected}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** Frees the seat for good; `removed` (by the host) also tells the guest why and refuses its ticket later. */
  private async removeParticipant(
    member: Pick<Member, 'sessionId' | 'participantId'>,
    reason: 'left' | 'timeout' | 'removed',
    message = 'The host removed you from the session.',
  ): Promise<void> {
    const { store, transport } = this.deps;
    this.cancel(`grace:${member.sessionId}:${member.participantId}`);
    const byHost = reason === 'removed';
    const removed = await store.removeParticipant(member.sessionId, member.participantId, byHost);
    if (!removed) return;
    this.signalLimits.forget(member.sessionId, member.participantId);
    const session = await store.getSession(member.sessionId);
    const assignment = session?.sfu;
    if (assignment) this.background(this.sfu.participantGone(assignment, removed.id));
    // Before the guest hears it was removed: by then its link lets nobody back in.
    if (byHost) await this.linkGone(member.sessionId, removed).catch((err: unknown) => void this.emit('error', err));
    transport.broadcast(member.sessionId, ParticipantLeft, { participantId: removed.id, reason }, removed.id);
    await this.control.participantGone(member.sessionId, removed, false);
    if (byHost) await transport.send(member.sessionId, removed.id, SessionEnded, { reason: 'removed', message });
    const [code, why] = byHost ? [CloseCode.Removed, 'removed by the host'] : [CloseCode.Left, reason];
    setImmediate(() => transport.disconnect(member.sessionId, member.participantId, code, why));
    this.emit('participant-left', { sessionId: member.sessionId, participant: publicView(removed, session), reason });
  }

  /**
   * A removed guest's link stops working; the host is told, with a new shared link for that role
   * when it was one (those the host sent it to can still join).
   */
  private async linkGone(sessionId: string, removed: ParticipantRecord): Promise<void> {
    const change = await this.links.revokeForRemoval(sessionId, removed);
    const session = await this.deps.store.getSession(sessionId);
    if (!change || !session) return;
    const label = removed.link?.label ?? 'link';
    const message = change.fresh
      ? `${removed.name} was removed, so the ${label} they joined through no longer works. Send this new ${change.fresh.role} link to anyone else who should join.`
      : `${removed.name} was removed, so the ${label} they joined through no longer works.`;
    await this.deps.transport.send(sessionId, session.hostId, LinksChanged, {
      reason: 'removed',
      message: message.slice(0, 300),
      revoked: change.revoked,
      ...(change.fresh ? { [change.fresh.role]: change.fresh } : {}),
    });
  }

  /**
   * Adds a new participant under a name nobody in the session reads the same way (see
   * display-names.ts). The store holds each name's key atomically with the insert, so of two
   * joins racing for one name (on any instances) one gets it and the other the next number.
   */
  private async addNamed(sessionId: string, record: ParticipantRecord, limits: Record<ParticipantRole, number>) {
    const wanted = record.name;
    for (let attempt = 0; ; attempt++) {
      const taken = (await this.deps.store.listParticipants(sessionId)).map((p) => p.name);
      record.name = uniqueName(wanted, taken);
      const added = await this.deps.store.addParticipant(sessionId, record, limits, nameKey(record.name));
      if (added.ok || !('nameTaken' in added)) return added;
      if (attempt >= 8)
        throw new PairuxError(ErrorCode.Unavailable, 'Too many people are joining under this name right now. Try again in a moment.', { retry: true });
    }
  }

  /** Best-effort work whose failure must not fail the caller (LiveKit down while a session ends). */
  private background(task: Promise<unknown>): void {
    task.catch((err: unknown) => this.emit('error', err));
  }

  private schedule(key: string, ms: number): void {
    this.timers.schedule(key, ms);
  }

  private cancel(key: string): void {
    this.timers.cancel(key);
  }
}

/**
 * Who a connection joined as. `role` is the role at join and goes stale: the host's setRole
 * changes a guest's, a host transfer swaps host and controller. Every rule reads the store
 * instead (the participant's stored role, the session's `hostId`); see host-rights.ts.
 */
export interface Member {
  sessionId: string;
  participantId: string;
  role: ParticipantRole;
}

function limitError(role: ParticipantRole, limit: number, mode: string): PairuxError {
  const what =
    role === 'viewer'
      ? `This session already has ${limit} viewers, the most a ${mode.toUpperCase()} session allows.`
      : role === 'controller'
        ? `This session already has ${limit} controllers, the most a session allows.`
        : 'This session already has its host connected.';
  return new PairuxError(ErrorCode.LimitReached, `${what} Ask the host to make room or to switch to a larger mode.`, { role, limit });
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * One client connection's view of the service: it must join first; afterwards every call acts
 * as the participant it joined as. The gateway maps RPC methods onto these.
 */
export class ClientConnection {
  member: Member | undefined;
  private joining = false;
  private closed = false;

  constructor(
    private readonly service: SessionService,
    private readonly sink: ParticipantSink,
    private readonly address = 'unknown',
  ) {}

  /** Joining and not answered yet (waiting in the lobby, or still being checked). */
  get waiting(): boolean {
    return this.joining && !this.member;
  }

  async join(params: ParamsOf<typeof Join>): Promise<ResultOf<typeof Join>> {
    if (this.member || this.joining) throw new PairuxError(ErrorCode.AlreadyJoined, 'this connection has already joined a session');
    this.joining = true;
    try {
      const { result, member } = await this.service.join(this.sink, params, this.address);
      if (this.closed) {
        // The socket died while the join was in flight: treat it as a drop right away.
        void this.service.connectionLost(member, this.sink);
      }
      this.member = member;
      return result;
    } finally {
      this.joining = false;
    }
  }

  requireMember(): Member {
    if (!this.member) throw new PairuxError(ErrorCode.NotJoined, 'join a session first (session.join)');
    return this.member;
  }

  async leave(): Promise<void> {
    const member = this.requireMember();
    await this.service.leave(member);
    this.member = undefined;
  }

  end(reason?: string): Promise<void> {
    return this.service.end(this.requireMember(), reason);
  }

  signal(params: ParamsOf<typeof SendSignal>): Promise<void> {
    return this.service.relaySignal(this.requireMember(), params);
  }

  createLink(params: { role: 'controller' | 'viewer'; ttlSeconds?: number; label?: string; singleUse?: boolean }) {
    const { role, ...options } = params;
    return this.service.createLink(this.requireMember(), role, options);
  }

  rotateLinks(ttlSeconds?: number) {
    return this.service.rotateLinks(this.requireMember(), ttlSeconds);
  }

  listLinks() {
    return this.service.listLinks(this.requireMember());
  }

  revokeLink(linkId: string) {
    return this.service.revokeLink(this.requireMember(), linkId);
  }

  iceServers(): IceServer[] {
    return this.service.iceServersFor(this.requireMember().participantId);
  }

  sfuAccess() {
    return this.service.sfuAccess(this.requireMember());
  }

  reportMedia(media: MediaMode, epoch: number) {
    return this.service.reportMedia(this.requireMember(), media, epoch);
  }

  reportHostLoad(report: HostLoadReport) {
    return this.service.reportHostLoad(this.requireMember(), report);
  }

  get participants() {
    const member = () => this.requireMember();
    const admin = this.service.participants;
    return {
      setRole: (participantId: string, role: 'controller' | 'viewer') => admin.setRole(member(), participantId, role),
      remove: (participantId: string, reason?: string) => admin.remove(member(), participantId, reason),
      makeHost: (participantId: string) => admin.makeHost(member(), participantId),
      setTier: (participantId: string, tier: TierName | null) => admin.setTier(member(), participantId, tier),
    };
  }

  get lobby() {
    const member = () => this.requireMember();
    const lobby = this.service.lobby;
    return {
      admit: (participantId: string) => lobby.decide(member(), participantId, true),
      deny: (participantId: string, reason?: string) => lobby.decide(member(), participantId, false, reason),
      setMode: (everyone: boolean) => lobby.setMode(member(), everyone),
    };
  }

  get control() {
    const member = () => this.requireMember();
    const arbiter = this.service.control;
    return {
      request: () => arbiter.request(member()),
      release: () => arbiter.release(member()),
      grant: (participantId: string) => arbiter.grant(member(), participantId),
      deny: (participantId: string, reason: 'denied' | 'timeout') => arbiter.deny(member(), participantId, reason),
      revoke: (participantId: string | undefined, panic: boolean) => arbiter.revoke(member(), participantId, panic),
      audit: () => arbiter.auditFor(member()),
    };
  }

  /** The socket closed. */
  async closedByTransport(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.member) await this.service.connectionLost(this.member, this.sink);
    else this.service.lobby.left(this.sink);
  }
}
