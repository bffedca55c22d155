/**
 * The control-plane client (side 'a' of `signalingBoundary`): joins a session, keeps presence
 * with heartbeats, mirrors the participant list, relays P2P signals, and survives dropped
 * connections by rejoining with the resume ticket inside the grace period.
 *
 * State machine: connecting → joined ⇄ reconnecting, and → ended (the session or this seat is
 * over) or → failed (a join error retrying cannot fix: bad/expired token, full, not found…).
 *
 * A guest's client (`asGuest`) takes the host's seat only after its user accepted an offer that
 * named it (`acceptHostOffer`) on a connection that joined as a guest: the host's seat shares the
 * user's screen, and a server that hands it over unasked is lying, so the client leaves.
 */
import { iceServersStale } from './ice-freshness';
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import { RpcEndpoint } from '../../../protocol/rpc-endpoint';
import type { ParamsOf, ResultOf } from '../../../protocol/rpc';
import {
  ReportHostLoad,
  type HostLoadReport,
  AcceptHost,
  AdmitGuest,
  CloseCode,
  ControlAudit,
  ControlChanged,
  DeclineHost,
  CreateLink,
  DenyControl,
  DenyGuest,
  End,
  GrantControl,
  GetIceServers,
  Heartbeat,
  HostChanged,
  HostOffered,
  HostOfferEnded,
  Join,
  Leave,
  LinksChanged,
  ListLinks,
  LobbyClosed,
  LobbyKnock,
  LobbyWaiting,
  MakeHost,
  ParticipantJoined,
  ParticipantLeft,
  ParticipantUpdated,
  RefreshSfuAccess,
  ReleaseControl,
  RemoveParticipant,
  ReportMedia,
  RequestControl,
  RevokeControl,
  RevokeLink,
  RotateLinks,
  SendSignal,
  SessionEnded,
  SessionTopology,
  SfuPlacementChanged,
  SetLobbyMode,
  SetRole,
  SetTier,
  Signal,
  signalingBoundary,
  type ControlReason,
  type Participant,
  type SessionInfo,
  type ResumeTicket,
  type SessionTopology as Topology,
  type SfuAccess,
  type ShareLinkInfo,
  type SignalPayload,
} from '../../../protocol/signaling';
import type { IceServer } from '../../../protocol/common';
import { DEFAULT_ROLE_TIERS, DEFAULT_TIERS, type SessionTiers, type TierName } from '../../../protocol/tiers';
import { TypedEmitter } from '../../../common/typed-emitter';
import { consoleLogger, type Logger } from '../logger';
import { defaultResumeStore, memoryResumeStore, type ResumeStore } from './resume-store';
import type { SignalingTransport, TransportConnection } from './transport';

export type SignalingState = 'connecting' | 'joined' | 'reconnecting' | 'ended' | 'failed';
export type JoinResult = ResultOf<typeof Join>;
export type ClientKind = 'browser' | 'vscode' | 'host-page' | 'bench';
/** 'removed': the host took this participant out; the session goes on for the others. */
export type EndReason = 'host-ended' | 'host-left' | 'server-shutdown' | 'replaced' | 'left' | 'removed';

const REMOVED_MESSAGE = 'The host removed you from the session.';
export type ControlStateName = Participant['controlState'];

export interface ControlChange {
  participantId: string;
  state: ControlStateName;
  reason: ControlReason;
  /** Who drives now (null: nobody). */
  driverId: string | null;
}

/** `host.offered`: the host offers this participant its seat, until `expiresAt` (epoch ms). */
export interface HostOffer {
  offerId: string;
  participantId: string;
  fromId: string;
  fromName: string;
  expiresAt: number;
}

/** Why a guest's client left: the server made it the host without its user's consent. */
export const UNASKED_HOST_REASON = 'unasked-host';

/**
 * How long after accepting an offer the seat may arrive (the server swaps at once and the
 * rejoin follows within a second; a reconnect backoff can add a few).
 */
const HOST_CONSENT_WINDOW_MS = 30_000;
/** The longest a server may keep a join in its lobby, and the slack given its answer after that. */
const LOBBY_MAX_WAIT_MS = 15 * 60_000;
const LOBBY_GRACE_MS = 15_000;
/** Open offers kept at most (a server sending more is not honest; the newest are kept). */
const MAX_OPEN_OFFERS = 4;

export interface SignalingEvents {
  state: { state: SignalingState; previous: SignalingState };
  /** Every successful join; `identityChanged` when this is a new participant (first join, or resume refused). */
  joined: { result: JoinResult; resumed: boolean; identityChanged: boolean };
  /** The participant list changed (join result or any participant notification). */
  participants: { participants: Participant[] };
  participantJoined: { participant: Participant; resumed: boolean };
  participantUpdated: { participant: Participant; previous: Participant | undefined };
  participantLeft: { participantId: string; reason: string; participant: Participant | undefined };
  signal: { from: string; payload: SignalPayload };
  /** The server's `control.changed`: one participant's control state, and who drives now. */
  controlChanged: ControlChange;
  ended: { reason: EndReason; message: string };
  failed: { error: PairuxError };
  /** The host's seat moved (host transfer); this connection then rejoins if it was one of the two. */
  hostChanged: { hostId: string; previousHostId: string; message: string };
  /** The session focus moved (or could not move) the media: `session.topology`. */
  topology: { topology: Topology };
  /** This viewer's SFU changed without the session's media moving (a cascaded region's SFU died). */
  placementChanged: { region: string; message: string };
  /** Guest: the host offers this participant its seat; answer with `acceptHostOffer` / `declineHostOffer`. */
  hostOffered: { offer: HostOffer };
  /** Host: an offer of its seat ended without a transfer (declined, or not answered in time). */
  hostOfferEnded: { offerId: string; participantId: string; reason: 'declined' | 'expired'; message: string };
  /** Host: links changed without its asking (a removal revoked the link the guest came through; a new shared one when it was shared). */
  linksChanged: ParamsOf<typeof LinksChanged>;
  /** Guest: this join waits in the lobby until the host lets it in (or not) by `expiresAt`. */
  lobbyWaiting: ParamsOf<typeof LobbyWaiting>;
  /** Host: someone waits in the lobby; answer with `admitGuest` / `denyGuest` before `expiresAt`. */
  lobbyKnock: ParamsOf<typeof LobbyKnock>;
  /** Host: a knock is over (admitted, denied, timed out, or the guest left). */
  lobbyClosed: ParamsOf<typeof LobbyClosed>;
  /** A connection attempt failed or dropped; the next one starts after `delayMs`. */
  retry: {
    attempt: number;
    delayMs: number;
    reason: string;
    /** The server answered, but could not take the join now (e.g. its state store is unreachable). */ serverSaid?: string;
  };
}

export interface SignalingClientOptions {
  transport: SignalingTransport;
  sessionId: string;
  token: string;
  name: string;
  client: { kind: ClientKind; version?: string; e2ee?: boolean };
  /** Which SFU pool this client is nearest to (the host's picks the session's SFU). */
  region?: string;
  resumeStore?: ResumeStore;
  /** Join as this participant the first time (another page of the same editor held it before). */
  initialResume?: ResumeTicket;
  /**
   * A guest's client: a join that makes it the host is refused (the client leaves and fails
   * with FORBIDDEN, `data.reason` UNASKED_HOST_REASON) unless its user accepted an offer naming it.
   */
  asGuest?: boolean;
  /** First reconnect delay (default 250 ms), doubled per attempt up to `maxBackoffMs` (5 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up on a connection attempt that neither opens nor joins within this (default 10 s). */
  connectTimeoutMs?: number;
  log?: Logger;
}

/** Join errors that no retry can fix: the user has to get a new link or give up. */
const FINAL_JOIN_ERRORS = new Set<string>([
  ErrorCode.TokenInvalid,
  ErrorCode.TokenExpired,
  ErrorCode.TokenWrongSession,
  ErrorCode.SessionNotFound,
  ErrorCode.SessionEnded,
  ErrorCode.LimitReached,
  ErrorCode.Forbidden,
  ErrorCode.Unauthorized,
  ErrorCode.E2eeRequired,
  ErrorCode.UnsupportedVersion,
  ErrorCode.BadMessage,
]);

export function isFinalJoinError(error: PairuxError): boolean {
  return FINAL_JOIN_ERRORS.has(error.code);
}

export class SignalingClient extends TypedEmitter<SignalingEvents> {
  private _state: SignalingState = 'connecting';
  private readonly log: Logger;
  private readonly resumeStore: ResumeStore;
  private connection: TransportConnection | undefined;
  private rpc: RpcEndpoint | undefined;
  /** Bumped per connection attempt; callbacks from older attempts are ignored. */
  private generation = 0;
  private attempt = 0;
  private started = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private endedNotice: { reason: EndReason; message: string } | undefined;
  private readonly _participants = new Map<string, Participant>();
  private _self: Participant | undefined;
  private _session: SessionInfo | undefined;
  private _iceServers: IceServer[] = [];
  private iceServersAt = 0;
  private _lastJoin: JoinResult | undefined;
  private _driverId: string | null = null;
  private _sfu: SfuAccess | undefined;
  private _media: 'p2p' | 'sfu' = 'p2p';
  /** Why the server refused the last join for now, for the next 'retry' event. */
  private serverSaid: string | undefined;
  private _epoch = 0;
  /** Offers of the host's seat this participant was sent and has not answered, by id. */
  private readonly offers = new Map<string, HostOffer>();
  /** Set by the user's acceptance: the seat may arrive for this participant until `until`. */
  private consent: { participantId: string; until: number } | undefined;
  /** The participant that took the host's seat with consent; its later rejoins as host are its own. */
  private hostByConsent: string | undefined;

  constructor(private readonly options: SignalingClientOptions) {
    super();
    this.log = options.log ?? consoleLogger('pairux:signaling');
    // An identity handed over by another page stays this page's alone: pages of one editor can
    // share sessionStorage, and the other page clearing its ticket must not take this one's.
    this.resumeStore = options.resumeStore ?? (options.initialResume ? memoryResumeStore() : defaultResumeStore());
    if (options.initialResume) this.resumeStore.save(options.sessionId, options.initialResume);
  }

  get state(): SignalingState {
    return this._state;
  }
  get self(): Participant | undefined {
    return this._self;
  }
  get session(): SessionInfo | undefined {
    return this._session;
  }
  get participants(): ReadonlyMap<string, Participant> {
    return this._participants;
  }
  get iceServers(): readonly IceServer[] {
    return this._iceServers;
  }
  get lastJoin(): JoinResult | undefined {
    return this._lastJoin;
  }
  get sessionId(): string {
    return this.options.sessionId;
  }

  /** An SFU session's LiveKit access: from the last join, or the last refresh if newer. */
  get sfu(): SfuAccess | undefined {
    return this._sfu;
  }

  /** Where the session's media flows, as of the last join or `session.topology`. */
  get media(): 'p2p' | 'sfu' {
    return this._media;
  }
  /** The topology's version the media is at (see `session.topology`). */
  get epoch(): number {
    return this._epoch;
  }

  /** Guests: the picture shown now comes from `media` (the focus's make-before-break). */
  async reportMedia(media: 'p2p' | 'sfu', epoch: number): Promise<void> {
    await this.requireRpc().request(ReportMedia, { media, epoch });
  }

  /** Host: it cannot keep up with its peer-to-peer guests (or can again); the answer says what the focus did. */
  async reportHostLoad(report: HostLoadReport): Promise<ResultOf<typeof ReportHostLoad>> {
    return this.requireRpc().request(ReportHostLoad, report);
  }

  /** A fresh LiveKit token (SFU sessions only): before the current one expires, or to reconnect to the SFU. */
  async refreshSfuAccess(): Promise<SfuAccess> {
    const access = await this.requireRpc().request(RefreshSfuAccess, {});
    this._sfu = access;
    return access;
  }

  /** Who drives the host's machine now, as the server last said (null: nobody). */
  get driverId(): string | null {
    return this._driverId;
  }

  /** The current host (by role; falls back to the session's hostId). */
  get hostId(): string | undefined {
    for (const p of this._participants.values()) if (p.role === 'host') return p.id;
    return this._session?.hostId;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  /** Relays a signal to a participant of this session (host ⇄ guest only). */
  async sendSignal(to: string, payload: SignalPayload): Promise<void> {
    await this.requireRpc().request(SendSignal, { to, payload });
  }

  /** ICE servers for a new peer connection, refreshing short-lived TURN credentials when stale. */
  async freshIceServers(): Promise<IceServer[]> {
    if (iceServersStale(this._iceServers, this.iceServersAt) && this.rpc && this._state === 'joined') {
      try {
        const { iceServers } = await this.rpc.request(GetIceServers, {});
        this._iceServers = iceServers;
        this.iceServersAt = Date.now();
      } catch (err) {
        this.log('warn', 'could not refresh ICE servers; using the ones from join', err);
      }
    }
    return [...this._iceServers];
  }

  /** Controller: ask the host for control. The answer arrives as `controlChanged`. */
  async requestControl(): Promise<void> {
    await this.requireRpc().request(RequestControl, {});
  }

  /** Give control back, or withdraw a pending request. */
  async releaseControl(): Promise<void> {
    await this.requireRpc().request(ReleaseControl, {});
  }

  /** Host: let this controller drive (whoever drove before is taken over). */
  async grantControl(participantId: string): Promise<void> {
    await this.requireRpc().request(GrantControl, { participantId });
  }

  /** Host: refuse a pending request; 'timeout' tells the guest nobody answered. */
  async denyControl(participantId: string, reason: 'denied' | 'timeout' = 'denied'): Promise<void> {
    await this.requireRpc().request(DenyControl, { participantId, reason });
  }

  /** Host: let someone waiting in the lobby in. */
  async admitGuest(participantId: string): Promise<void> {
    await this.requireRpc().request(AdmitGuest, { participantId });
  }

  /** Host: turn someone waiting in the lobby away; `reason` is shown to them as plain text. */
  async denyGuest(participantId: string, reason?: string): Promise<void> {
    await this.requireRpc().request(DenyGuest, { participantId, ...(reason ? { reason } : {}) });
  }

  /** Host: the lobby for viewers too, or for controller links only. */
  async setLobbyMode(everyone: boolean): Promise<boolean> {
    return (await this.requireRpc().request(SetLobbyMode, { everyone })).everyone;
  }

  /** Host: stop one participant's control, or everyone's (with `panic`, the stop-all action). */
  async revokeControl(options: { participantId?: string; panic?: boolean } = {}): Promise<void> {
    await this.requireRpc().request(RevokeControl, {
      ...(options.participantId ? { participantId: options.participantId } : {}),
      panic: options.panic ?? false,
    });
  }

  /**
   * Host: make a viewer a controller or a controller a viewer (demoting whoever drives or asks
   * revokes that first). Resolves with the participant as the server now has it; everyone also
   * gets `participantUpdated`. LIMIT_REACHED when the target role is full, FORBIDDEN for non-hosts.
   */
  async setRole(participantId: string, role: 'controller' | 'viewer'): Promise<Participant> {
    const { participant } = await this.requireRpc().request(SetRole, { participantId, role });
    return participant;
  }

  /**
   * Host: the quality tier one guest gets, or `null` for its role's again. Resolves with the
   * participant as the server now has it (its `tier`); everyone also gets `participantUpdated`.
   * FORBIDDEN for non-hosts and for the host's own, PEER_NOT_FOUND for someone not in the session.
   */
  async setTier(participantId: string, tier: TierName | null): Promise<Participant> {
    const { participant } = await this.requireRpc().request(SetTier, { participantId, tier });
    return participant;
  }

  /**
   * The session's tier table and role tiers, as the last join said; the defaults before a join or
   * from a server older than the tiers.
   */
  get tiers(): SessionTiers {
    return this._lastJoin?.tiers ?? { table: DEFAULT_TIERS, roles: DEFAULT_ROLE_TIERS };
  }

  /** Host: take a guest out of the session; it is told why (`reason` is shown to it) and cannot resume. */
  async removeParticipant(participantId: string, reason?: string): Promise<void> {
    await this.requireRpc().request(RemoveParticipant, reason === undefined ? { participantId } : { participantId, reason });
  }

  /** Host: hand the host's seat to a controller (host transfer); both then rejoin in their new roles. */
  async makeHost(participantId: string): Promise<Participant> {
    const { participant } = await this.requireRpc().request(MakeHost, { participantId });
    return participant;
  }

  /** Offers of the host's seat waiting for this participant's answer. */
  get hostOffers(): HostOffer[] {
    return [...this.offers.values()];
  }

  /**
   * Guest: its user accepted the host's offer `offerId`: the seat (and a rejoin as host) may come
   * now. Only an offer naming this participant, received on a connection that joined as a guest.
   */
  async acceptHostOffer(offerId: string): Promise<void> {
    const offer = this.offers.get(offerId);
    const self = this._lastJoin?.self;
    if (!offer || Date.now() > offer.expiresAt || !self || self.role === 'host' || offer.participantId !== self.id) {
      this.offers.delete(offerId);
      throw new PairuxError(
        ErrorCode.Forbidden,
        "That offer of the host's seat is no longer open (it expired or was withdrawn). Ask the host to offer it again.",
      );
    }
    const rpc = this.requireRpc();
    this.consent = { participantId: self.id, until: Date.now() + HOST_CONSENT_WINDOW_MS };
    this.offers.delete(offerId);
    try {
      await rpc.request(AcceptHost, { offerId });
    } catch (err) {
      this.consent = undefined;
      throw err;
    }
  }

  /** Guest: its user declined the host's offer; the host is told, nothing changes. */
  async declineHostOffer(offerId: string): Promise<void> {
    if (!this.offers.delete(offerId)) return;
    await this.requireRpc().request(DeclineHost, { offerId });
  }

  /** Host: a fresh share link for `role`; with a label or single use, a personal link for one person. */
  async createLink(role: 'controller' | 'viewer', options: { label?: string; singleUse?: boolean; ttlSeconds?: number } = {}): Promise<ShareLinkInfo> {
    return this.requireRpc().request(CreateLink, { role, ...options });
  }

  /** Host: every guest link stops working; the answer holds new shared links for both roles. */
  async rotateLinks(ttlSeconds?: number): Promise<ResultOf<typeof RotateLinks>> {
    return this.requireRpc().request(RotateLinks, ttlSeconds === undefined ? {} : { ttlSeconds });
  }

  /** Host: the guest links that still let someone in (no URLs: the server keeps no tokens). */
  async listLinks(): Promise<ResultOf<typeof ListLinks>['links']> {
    return (await this.requireRpc().request(ListLinks, {})).links;
  }

  /** Host: the server's record of control in this session, oldest first. */
  async controlAudit(): Promise<ResultOf<typeof ControlAudit>['entries']> {
    return (await this.requireRpc().request(ControlAudit, {})).entries;
  }

  /** Host: one link stops working; false when it already had. */
  async revokeLink(id: string): Promise<boolean> {
    return (await this.requireRpc().request(RevokeLink, { id })).revoked;
  }

  /** Leaves for good (no resume): the seat is freed at once. */
  async leave(): Promise<void> {
    const rpc = this.rpc;
    if (rpc && this._state === 'joined') await rpc.request(Leave, {}, 3000).catch(() => undefined);
    this.finish('ended', { reason: 'left', message: 'You left the session.' });
  }

  /** Host only: ends the session for everyone. */
  async end(reason?: string): Promise<void> {
    try {
      await this.requireRpc().request(End, reason === undefined ? {} : { reason });
    } catch (err) {
      // The server announces the end (and closes) before its answer can arrive: that is success.
      if (this._state === 'ended') return;
      throw err;
    }
  }

  /** Stops without telling the server (it sees a drop and keeps the seat for the grace period). */
  dispose(): void {
    this.teardownConnection();
    this.clearTimers();
    this.started = false;
    this.removeAllListeners();
  }

  private requireRpc(): RpcEndpoint {
    if (!this.rpc || this._state !== 'joined') {
      throw new PairuxError(ErrorCode.NotJoined, `not joined (state ${this._state})`);
    }
    return this.rpc;
  }

  private setState(state: SignalingState): void {
    if (state === this._state) return;
    const previous = this._state;
    this._state = state;
    this.log('info', `state ${previous} → ${state}`);
    this.emit('state', { state, previous });
  }

  private connect(): void {
    const generation = ++this.generation;
    const current = (): boolean => generation === this.generation;
    this.connectTimer = setTimeout(() => {
      if (!current()) return;
      this.log('warn', 'connection attempt timed out');
      this.dropConnection(0, 'connect timeout');
    }, this.options.connectTimeoutMs ?? 10_000);

    this.connection = this.options.transport.connect({
      onOpen: () => {
        if (current()) void this.join(generation);
      },
      onMessage: (text) => {
        if (current()) this.rpc?.receive(text);
      },
      onClose: (code, reason) => {
        if (current()) this.dropConnection(code, reason);
      },
    });
  }

  private async join(generation: number): Promise<void> {
    const connection = this.connection;
    if (!connection) return;
    const rpc = new RpcEndpoint({
      boundary: signalingBoundary,
      side: 'a',
      send: (text) => connection.send(text),
      onProtocolError: (error) => this.log('warn', `protocol error: ${error.message}`),
    });
    this.rpc = rpc;
    this.registerNotifications(rpc);
    const resume = this.resumeStore.load(this.options.sessionId);
    let result: JoinResult;
    try {
      // Long enough for a wait in the lobby; a server that answers nothing is cut by the connect timer.
      result = await rpc.request(
        Join,
        {
          sessionId: this.options.sessionId,
          token: this.options.token,
          name: this.options.name,
          client: this.options.client,
          ...(this.options.region ? { region: this.options.region } : {}),
          ...(resume ? { resume } : {}),
        },
        LOBBY_MAX_WAIT_MS + LOBBY_GRACE_MS,
      );
    } catch (err) {
      if (generation !== this.generation) return;
      const error = PairuxError.from(err);
      if (error.code === ErrorCode.SessionEnded && error.data?.reason === 'removed') {
        // Removed while away: the resume ticket is refused, and that is this seat's end.
        this.finish('ended', { reason: 'removed', message: error.message || REMOVED_MESSAGE });
        return;
      }
      if (error.code === ErrorCode.SessionEnded && this._self) {
        // It ended while we were away: that is the session's end, not a failure of ours.
        this.finish('ended', { reason: 'host-ended', message: error.message });
        return;
      }
      if (isFinalJoinError(error)) {
        this.log('error', `join refused: ${error.code} ${error.message}`);
        this.resumeStore.clear(this.options.sessionId);
        this.finish('failed', undefined, error);
        return;
      }
      if (resume) {
        // A ticket the server no longer honours must not wedge every later attempt.
        this.resumeStore.clear(this.options.sessionId);
      }
      this.log('warn', `join failed (${error.code}): ${error.message}; will retry`);
      this.serverSaid = error.message;
      this.dropConnection(0, `join failed: ${error.code}`);
      return;
    }
    if (generation !== this.generation) return;
    if (result.self.role === 'host' && !this.mayTakeHostSeat(result.self.id)) {
      this.refuseUnaskedHostSeat(result.self.id);
      return;
    }
    this.onJoined(result);
  }

  /** A guest's client may hold the host's seat only after its user accepted an offer naming it. */
  private mayTakeHostSeat(participantId: string): boolean {
    if (!this.options.asGuest || this.hostByConsent === participantId) return true;
    const consent = this.consent;
    this.consent = undefined;
    if (!consent || consent.participantId !== participantId || Date.now() > consent.until) return false;
    this.hostByConsent = participantId;
    return true;
  }

  /**
   * The server answered a guest's join with the host's seat nobody here accepted: acting on it
   * would share this user's screen. Leave, forget the ticket, and say why.
   */
  private refuseUnaskedHostSeat(participantId: string): void {
    this.log('error', `the server made ${participantId} the host without this user's consent; leaving`);
    this.resumeStore.clear(this.options.sessionId);
    this.finish(
      'failed',
      undefined,
      new PairuxError(
        ErrorCode.Forbidden,
        'The server tried to make you the host of this session, which would share your screen, though you never accepted an offer to take over. Nothing was shared and you left the session. An honest PairUX server does not do this: only use links to this server again if you trust it.',
        { reason: UNASKED_HOST_REASON },
      ),
    );
  }

  private onJoined(result: JoinResult): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    const identityChanged = this._self?.id !== result.self.id;
    this.attempt = 0;
    this._lastJoin = result;
    this._sfu = result.sfu;
    this._media = result.session.media;
    this._epoch = result.epoch;
    this._self = result.self;
    this._session = result.session;
    this._iceServers = result.iceServers;
    this.iceServersAt = Date.now();
    this.resumeStore.save(this.options.sessionId, result.resume);
    this._participants.clear();
    for (const p of result.participants) this._participants.set(p.id, p);
    this._participants.set(result.self.id, result.self);
    // Control changes missed while away are summed up by the list itself.
    this._driverId = result.participants.find((p) => p.controlState === 'granted')?.id ?? (result.self.controlState === 'granted' ? result.self.id : null);
    this.startHeartbeat(result.heartbeatIntervalMs);
    this.setState('joined');
    this.log('info', `joined ${result.session.id} as ${result.self.role} ${result.self.id}${result.resumed ? ' (resumed)' : ''}`);
    this.emit('joined', { result, resumed: result.resumed, identityChanged });
    this.emitParticipants();
  }

  private registerNotifications(rpc: RpcEndpoint): void {
    rpc.onNotification(ParticipantJoined, ({ participant, resumed }) => {
      this._participants.set(participant.id, participant);
      this.emit('participantJoined', { participant, resumed });
      this.emitParticipants();
    });
    rpc.onNotification(ParticipantUpdated, ({ participant }) => {
      const previous = this._participants.get(participant.id);
      this._participants.set(participant.id, participant);
      if (participant.id === this._self?.id) this._self = participant;
      this.emit('participantUpdated', { participant, previous });
      this.emitParticipants();
    });
    rpc.onNotification(ParticipantLeft, ({ participantId, reason }) => {
      const participant = this._participants.get(participantId);
      this._participants.delete(participantId);
      this.emit('participantLeft', { participantId, reason, participant });
      this.emitParticipants();
    });
    rpc.onNotification(Signal, ({ from, payload }) => this.emit('signal', { from, payload }));
    rpc.onNotification(HostChanged, (change) => {
      if (this._session) this._session = { ...this._session, hostId: change.hostId };
      this.log('info', change.message);
      this.emit('hostChanged', change);
    });
    rpc.onNotification(HostOffered, (offer) => {
      // Only an offer naming this participant, on a connection that joined as a guest, is a question for its user.
      const self = this._lastJoin?.self;
      if (!self || self.role === 'host' || offer.participantId !== self.id || offer.expiresAt < Date.now()) {
        this.log('warn', `ignored an offer of the host's seat for ${offer.participantId}`);
        return;
      }
      this.offers.set(offer.offerId, offer);
      for (const id of [...this.offers.keys()].slice(0, Math.max(0, this.offers.size - MAX_OPEN_OFFERS))) this.offers.delete(id);
      this.emit('hostOffered', { offer });
    });
    rpc.onNotification(HostOfferEnded, (ended) => this.emit('hostOfferEnded', ended));
    rpc.onNotification(LinksChanged, (change) => this.emit('linksChanged', change));
    rpc.onNotification(LobbyWaiting, (waiting) => {
      if (this._state === 'joined' || this._state === 'ended' || this._state === 'failed') return;
      // The join is answered when the host decides: wait for that (and the server's deadline), not the connect timer.
      if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
      const generation = this.generation;
      const waitMs = Math.min(Math.max(waiting.expiresAt - Date.now(), 0), LOBBY_MAX_WAIT_MS) + LOBBY_GRACE_MS;
      this.connectTimer = setTimeout(() => {
        if (generation === this.generation) this.dropConnection(0, 'lobby wait ran out');
      }, waitMs);
      this.emit('lobbyWaiting', waiting);
    });
    rpc.onNotification(LobbyKnock, (knock) => this.emit('lobbyKnock', knock));
    rpc.onNotification(LobbyClosed, (closed) => this.emit('lobbyClosed', closed));
    rpc.onNotification(SfuPlacementChanged, (change) => {
      this.log('info', `placement changed: ${change.message}`);
      this.emit('placementChanged', change);
    });
    rpc.onNotification(SessionTopology, (topology) => {
      // A notice about an older topology (one overtaken by a rejoin's result) changes nothing.
      if (topology.epoch < this._epoch) return;
      if (topology.phase !== 'failed') {
        this._epoch = topology.epoch;
        this._media = topology.media;
        if (this._session) this._session = { ...this._session, media: topology.media };
      }
      this.log('info', `topology ${topology.phase}: ${topology.message}`);
      this.emit('topology', { topology });
    });
    rpc.onNotification(ControlChanged, (change) => {
      this._driverId = change.driverId;
      this.emit('controlChanged', change);
    });
    rpc.onNotification(SessionEnded, ({ reason, message }) => {
      // The server closes with 4000 right after; end now so nothing tries to reconnect.
      this.endedNotice = { reason, message };
      this.finish('ended', this.endedNotice);
    });
  }

  private emitParticipants(): void {
    this.emit('participants', { participants: [...this._participants.values()] });
  }

  private startHeartbeat(intervalMs: number): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    // Exactly the server's interval: it drops a connection silent for ~3 of them.
    const every = Math.max(100, intervalMs);
    this.heartbeatTimer = setInterval(() => {
      try {
        this.rpc?.notify(Heartbeat, {});
      } catch (err) {
        this.log('warn', 'heartbeat could not be sent', err);
      }
    }, every);
  }

  /** The current connection is gone (closed, failed to open, timed out or join failed). */
  private dropConnection(code: number, reason: string): void {
    if (this._state === 'ended' || this._state === 'failed') return;
    this.teardownConnection();
    if (code === CloseCode.SessionEnded) {
      this.finish('ended', this.endedNotice ?? { reason: 'host-ended', message: reason || 'The session has ended.' });
      return;
    }
    if (code === CloseCode.Replaced) {
      this.finish('ended', { reason: 'replaced', message: 'This session was opened again in another window or tab, so this one stopped.' });
      return;
    }
    if (code === CloseCode.Removed) {
      this.finish('ended', this.endedNotice ?? { reason: 'removed', message: REMOVED_MESSAGE });
      return;
    }
    if (code === CloseCode.Left) {
      this.finish('ended', { reason: 'left', message: reason || 'You left the session.' });
      return;
    }
    if (this._state === 'joined') this.setState('reconnecting');
    const base = this.options.initialBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 5000;
    const raw = Math.min(max, base * 2 ** this.attempt);
    // ±25 % jitter so a server restart is not met by every client at the same instant. An
    // instance going away on purpose (Moving) has others ready, and a host transfer
    // (HostChanged) wants the new roles at once: the first retry goes at once.
    const moving = (code === CloseCode.Moving || code === CloseCode.HostChanged) && this.attempt === 0;
    const delayMs = moving ? 0 : Math.round(Math.min(max, raw * (0.75 + Math.random() * 0.5)));
    this.attempt++;
    this.log('info', `connection lost (${code}${reason ? ` ${reason}` : ''}); retry ${this.attempt} in ${delayMs} ms`);
    const serverSaid = this.serverSaid;
    this.serverSaid = undefined;
    this.emit('retry', { attempt: this.attempt, delayMs, reason: reason || `close ${code}`, ...(serverSaid ? { serverSaid } : {}) });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this._state === 'connecting' || this._state === 'reconnecting') this.connect();
    }, delayMs);
  }

  private teardownConnection(): void {
    this.generation++;
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.heartbeatTimer = undefined;
    this.connectTimer = undefined;
    this.rpc?.close();
    this.rpc = undefined;
    const connection = this.connection;
    this.connection = undefined;
    connection?.close(1000, 'client closing');
  }

  private clearTimers(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private finish(state: 'ended' | 'failed', ended?: { reason: EndReason; message: string }, error?: PairuxError): void {
    if (this._state === 'ended' || this._state === 'failed') return;
    this.teardownConnection();
    this.clearTimers();
    if (state === 'ended') this.resumeStore.clear(this.options.sessionId);
    this.setState(state);
    if (state === 'ended' && ended) this.emit('ended', ended);
    if (state === 'failed' && error) this.emit('failed', { error });
  }
}
