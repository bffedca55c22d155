/**
 * SFU support of the session service, kept out of it: the room of each SFU session on the
 * deployment the pool chose, the LiveKit access handed to each participant (that deployment's
 * URL and key), and the webhooks that say who reached the media. Without an SFU configured every
 * entry point refuses with the settings to add.
 */
import { EventEmitter } from 'node:events';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { ParticipantRole } from '../../protocol/limits';
import type { SfuAccess } from '../../protocol/signaling';
import { DEFAULT_DEPLOYMENT, sfuPoolsOf, type ServerConfig, type SfuDeploymentConfig } from '../config';
import type { ServerMetrics } from '../metrics';
import type { RoomStateStore, SfuAssignment } from '../room-state-store';
import type { BridgeConfig } from '../../protocol/cascade-bridge';
import { issueAccess, issueBridgeToken } from './grants';
import { SfuPool, type DeploymentDown, type DeploymentUp, type NodeDown, type Refusal, type SelectionPlan } from './pool';
import { SfuPresence } from './presence';
import { SfuRooms } from './rooms';
import { SfuWebhookVerifier } from './webhooks';

export { DEFAULT_DEPLOYMENT };

export interface SfuSessionsDeps {
  config: ServerConfig;
  store: RoomStateStore;
  metrics: ServerMetrics;
  now?: () => number;
}

export interface SfuSessionsEvents {
  /** A deployment stopped answering its health checks: the focus moves its sessions (`deploymentDown`). */
  'deployment-down': [DeploymentDown];
  'deployment-up': [DeploymentUp];
  /** A node of a multi-node deployment died with `rooms` on it (`sessionOfRoom` gives their sessions). */
  'node-down': [NodeDown];
}

/** The simulcast layers a cascade bridge carries, best first: the host publishes these two. */
const CASCADE_LAYERS = ['h', 'q'] as const;

/** A cascade bridge's identity in the origin room, for the layer it subscribes to. */
export function bridgeIdentity(region: string, rid: string): string {
  return `cascade.${region}.${rid}`;
}

/** The far region a bridge identity in an origin room serves, if it is one. */
export function bridgeRegionOf(identity: string): string | undefined {
  const m = /^cascade\.([a-z0-9-]{1,32})\.[qhf]$/.exec(identity);
  return m?.[1];
}

/** The LiveKit room of a session's media at a given epoch: the session id, then `.<epoch>` after a move between SFUs. */
export function roomName(sessionId: string, epoch: number): string {
  return epoch <= 1 ? sessionId : `${sessionId}.${epoch}`;
}

/** The session a LiveKit room belongs to (see `roomName`). */
export function sessionOfRoom(room: string): string {
  const dot = room.indexOf('.');
  return dot < 0 ? room : room.slice(0, dot);
}

export const SFU_NOT_CONFIGURED =
  'SFU mode needs a LiveKit server, and this control plane has none: set PAIRUX_LIVEKIT_URL, PAIRUX_LIVEKIT_API_KEY and ' +
  "PAIRUX_LIVEKIT_API_SECRET (or `livekit` in startControlPlane's settings), or PAIRUX_SFU_POOLS. Start the session in P2P mode meanwhile.";

interface Deployment {
  config: SfuDeploymentConfig;
  rooms: SfuRooms;
}

export class SfuSessions extends EventEmitter<SfuSessionsEvents> {
  readonly presence = new SfuPresence();
  /** Health and load of every deployment; `pool.snapshot()` for /healthz, metrics and tests. */
  readonly pool: SfuPool | undefined;
  private readonly deployments = new Map<string, Deployment>();
  private readonly webhooks: SfuWebhookVerifier | undefined;
  private readonly now: () => number;
  /** Room openings one after the other, so concurrent creations cannot all pass the same count. */
  private opening: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: SfuSessionsDeps) {
    super();
    this.now = deps.now ?? Date.now;
    const pools = sfuPoolsOf(deps.config);
    if (pools) {
      const graceSeconds = Math.ceil(deps.config.reconnectGraceMs / 1000);
      const idle = {
        beforeFirstJoin: Math.max(60, Math.ceil(deps.config.hostJoinTimeoutMs / 1000)),
        // Everyone dropping at once (a network blip) must not cost the room while they come back.
        afterLastLeave: graceSeconds + 60,
      };
      const shorthand = !deps.config.sfuPools;
      for (const d of pools.deployments) {
        const keySettings = shorthand ? undefined : `the apiKey and apiSecret of deployment ${d.id} in PAIRUX_SFU_POOLS`;
        this.deployments.set(d.id, { config: d, rooms: new SfuRooms(d, idle, keySettings) });
      }
      this.webhooks = new SfuWebhookVerifier(pools.deployments.map((d) => ({ deploymentId: d.id, apiKey: d.apiKey, apiSecret: d.apiSecret })));
      this.pool = new SfuPool(pools, this.now);
      this.pool.on('deployment-down', (e) => {
        deps.metrics.sfuDeploymentDown.inc({ deployment: e.deploymentId, region: e.region });
        this.emit('deployment-down', e);
      });
      this.pool.on('deployment-up', (e) => this.emit('deployment-up', e));
      this.pool.on('node-down', (e) => this.emit('node-down', e));
      this.pool.start();
      const pool = this.pool;
      deps.metrics.describeSfuPoolWith(() => pool.snapshot());
    }
    deps.metrics.countSfuPresenceWith(() => this.presence.total);
  }

  get configured(): boolean {
    return this.pool !== undefined;
  }

  /** Viewers per SFU session: the smallest of the deployments', since the session may move to any. */
  get viewerLimit(): number | undefined {
    if (!this.deployments.size) return undefined;
    return Math.min(...[...this.deployments.values()].map((d) => d.config.viewerLimit));
  }

  /**
   * Before an SFU session exists: the strategy's selectSFU (region, health, load; see pool.ts),
   * then on the chosen deployment LiveKit's own room count under `maxConcurrentRooms` (the
   * strategy's canAcceptSession) and the room itself. A deployment LiveKit refuses passes the
   * turn to the next; the error, when none is left, names each one and why.
   */
  async openRoom(sessionId: string, opts: { region?: string; epoch: number; exclude?: string[] }): Promise<SfuAssignment> {
    const pool = this.requirePool();
    const room = roomName(sessionId, opts.epoch);
    const turn = this.opening.then(() => this.selectAndOpen(pool, room, opts));
    this.opening = turn.catch(() => undefined);
    return turn;
  }

  private async selectAndOpen(pool: SfuPool, room: string, opts: { region?: string; exclude?: string[] }): Promise<SfuAssignment> {
    await pool.ready();
    const plan = pool.plan(opts);
    const refused = [...plan.refused];
    const errors = new Map<string, PairuxError>();
    for (const id of plan.candidates) {
      const d = this.deployments.get(id) as Deployment;
      try {
        const capacity = await d.rooms.canAcceptSession();
        if (!capacity.ok) {
          refused.push(
            pool.refusalFor(id, 'max_rooms', `is at its limit of ${capacity.limit} concurrent session${capacity.limit === 1 ? '' : 's'} (maxConcurrentRooms)`),
          );
          continue;
        }
        await d.rooms.open(room);
      } catch (err) {
        const e = PairuxError.from(err);
        errors.set(id, e);
        refused.push(pool.refusalFor(id, 'error', `could not be used: ${String(e.data?.reason ?? e.message)}`));
        // Its health check may be the next to notice; make it now.
        void pool.checkNow(id);
        continue;
      }
      pool.opened(id);
      return { deploymentId: id, region: d.config.region, room };
    }
    throw this.noSfu(pool, plan, refused, errors);
  }

  private noSfu(pool: SfuPool, plan: SelectionPlan, refused: Refusal[], errors: Map<string, PairuxError>): PairuxError {
    const capacity =
      refused.some((r) => r.kind === 'load' || r.kind === 'max_rooms') &&
      refused.every((r) => r.kind === 'load' || r.kind === 'max_rooms' || r.kind === 'excluded');
    if (capacity) this.deps.metrics.sfuRefused.inc({ reason: refused.some((r) => r.kind === 'load') ? 'load' : 'max_rooms' });
    const only = this.deployments.size === 1 && refused.length === 1 ? refused[0] : undefined;
    if (only) {
      // One SFU: the answer of the single-LiveKit days, word for word.
      const d = (this.deployments.get(only.deploymentId) as Deployment).config;
      if (only.kind === 'error') return errors.get(only.deploymentId) as PairuxError;
      if (only.kind === 'max_rooms') {
        const limit = d.maxConcurrentRooms;
        return new PairuxError(
          ErrorCode.LimitReached,
          `The SFU is at its limit of ${limit} concurrent session${limit === 1 ? '' : 's'} (maxConcurrentRooms). Start the session in P2P mode, or try again when one ends.`,
          { limit, what: 'maxConcurrentRooms', deploymentId: d.id },
        );
      }
      if (only.kind === 'down') {
        const reason = pool.snapshot().find((s) => s.id === d.id)?.lastError ?? `LiveKit at ${d.url} did not answer`;
        return new PairuxError(ErrorCode.Unavailable, `${reason}; start the session in P2P mode.`, { sfu: d.url, mode: 'p2p', reason, deploymentId: d.id });
      }
    }
    const hint = plan.unknownRegion ? ` (no SFU is in region ${plan.unknownRegion}, so the default region ${pool.config.defaultRegion} was tried first)` : '';
    return new PairuxError(
      capacity ? ErrorCode.LimitReached : ErrorCode.Unavailable,
      `No SFU could take this session${hint}: ${refused.map((r) => r.reason).join('; ')}. Start the session in P2P mode, or try again later.`,
      { mode: 'p2p', tried: refused.map((r) => ({ deploymentId: r.deploymentId, region: r.region, refusal: r.kind })) },
    );
  }

  /**
   * A LiveKit token for one participant of an SFU session, for the deployment the session is on.
   * `reopen` also makes sure the room exists (LiveKit drops an empty room, and loses all of them
   * when it restarts): used when a client asks again, which is when it is trying to get back in.
   */
  async access(assignment: SfuAssignment, who: { id: string; name: string; role: ParticipantRole }, reopen = false): Promise<SfuAccess> {
    const d = this.requireDeployment(assignment);
    if (reopen) await d.rooms.open(assignment.room);
    const livekit = d.config;
    return issueAccess(
      livekit,
      livekit.publicUrl ?? livekit.url.replace(/^http/, 'ws'),
      livekit.tokenTtlSeconds,
      {
        room: assignment.room,
        participantId: who.id,
        name: who.name,
        role: who.role,
      },
      this.now(),
    );
  }

  /**
   * Cascading (issue 17): where a viewer in `region` watches a session whose media is on
   * `origin`: a deployment of its own region that is up and under its load limit, with the
   * session's room (the origin room's name) opened there; undefined when its region is the
   * origin's or none of its deployments can take it (it then watches on the origin).
   */
  async openFarRoom(origin: SfuAssignment, region: string, exclude: string[] = []): Promise<SfuAssignment | undefined> {
    const pool = this.pool;
    if (!pool || region === origin.region) return undefined;
    await pool.ready();
    for (const id of pool.plan({ region, exclude: [origin.deploymentId, ...exclude] }).candidates) {
      const d = this.deployments.get(id) as Deployment;
      // Only its own region: a deployment elsewhere is no nearer to it than the origin.
      if (d.config.region !== region) continue;
      try {
        await d.rooms.open(origin.room);
      } catch {
        void pool.checkNow(id);
        continue;
      }
      pool.opened(id);
      return { deploymentId: id, region, room: origin.room };
    }
    return undefined;
  }

  /**
   * A cascade bridge's configuration with fresh tokens: a hidden subscriber per layer in the
   * origin room (identities `cascade.<region>.<layer>`, which the webhooks let stay), the host's
   * identity in the far room. Server-side addresses: the bridge runs beside the control plane.
   */
  async bridgeConfig(origin: SfuAssignment, far: SfuAssignment, host: { id: string; name: string }): Promise<BridgeConfig> {
    const o = this.requireDeployment(origin).config;
    const f = this.requireDeployment(far).config;
    const ws = (url: string) => url.replace(/^http/, 'ws');
    const layers = await Promise.all(
      CASCADE_LAYERS.map(async (rid) => ({
        rid,
        origin: {
          url: ws(o.url),
          token: await issueBridgeToken(o, o.tokenTtlSeconds, { origin: true, room: origin.room, identity: bridgeIdentity(far.region, rid) }),
        },
      })),
    );
    return {
      host: host.id,
      layers,
      far: { url: ws(f.url), token: await issueBridgeToken(f, f.tokenTtlSeconds, { origin: false, room: far.room, hostId: host.id, hostName: host.name }) },
    };
  }

  /** The session ended, or its media moved away from this room: the room goes. */
  async closeRoom(assignment: SfuAssignment): Promise<void> {
    this.presence.roomGone(assignment.room);
    const d = this.deployments.get(assignment.deploymentId);
    if (!d) return; // a deployment no longer configured: nothing of it to clean up from here
    try {
      if (await d.rooms.close(assignment.room)) this.pool?.closed(d.config.id);
    } catch (err) {
      // LiveKit gone (the usual reason it does not answer): its rooms went with it, and the
      // participants heard session.ended from us. One line, not a stack trace per session.
      if (!(err instanceof PairuxError && err.code === ErrorCode.Unavailable)) throw err;
      console.warn(`[pairux-server] could not delete the LiveKit room ${assignment.room} on ${assignment.deploymentId}: ${err.message}`);
    }
  }

  /** A guest the host removed (or who left for good) must not stay in the media either. */
  async participantGone(assignment: SfuAssignment, participantId: string): Promise<void> {
    this.presence.left(assignment.room, participantId, '');
    await this.deployments.get(assignment.deploymentId)?.rooms.kick(assignment.room, participantId);
  }

  async roleChanged(assignment: SfuAssignment, participantId: string, role: ParticipantRole): Promise<void> {
    await this.deployments.get(assignment.deploymentId)?.rooms.updateRole(assignment.room, participantId, role);
  }

  /**
   * One signed webhook from a LiveKit deployment. Presence follows participant_joined/left;
   * someone in a session's room whom the session does not know (an old token of a removed guest,
   * a room of an ended session or one the session moved away from) is removed from the SFU.
   */
  async webhook(body: string, authorization: string | undefined): Promise<{ event: string }> {
    if (!this.webhooks) throw new PairuxError(ErrorCode.SessionNotFound, 'this control plane has no LiveKit configured');
    let verified;
    try {
      verified = await this.webhooks.verify(body, authorization);
    } catch (err) {
      this.deps.metrics.sfuWebhooks.inc({ event: 'unknown', result: 'rejected' });
      throw err;
    }
    const { event, deployments: from } = verified;
    const name = event.event || 'unknown';
    const room = event.room?.name ?? '';
    const identity = event.participant?.identity ?? '';
    const sid = event.participant?.sid ?? '';
    let result = 'ok';
    const session = room ? await this.deps.store.getSession(sessionOfRoom(room)) : undefined;
    // A deployment speaks for its own rooms only: another one's word (a misconfigured or
    // compromised LiveKit that has a key of ours) about the session's current room is not taken.
    // A cascaded session's far rooms carry the origin room's name on their own deployments.
    const farHere = Object.values(session?.cascade ?? {}).some((a) => a.room === room && from.includes(a.deploymentId));
    const elsewhere = session?.sfu?.room === room && !from.includes(session.sfu.deploymentId) && !farHere;
    if (elsewhere && name !== 'participant_joined') {
      result = 'ignored';
    } else if (name === 'participant_joined' && room && identity) {
      // Someone in a room the session has moved away from does not belong there any more either.
      // A far room keeps the name the origin room had when it was opened, whatever the origin's is now.
      const current = session && !session.ended && ((session.sfu?.room === room && !elsewhere) || farHere);
      // The session's own cascade bridges subscribe in its origin room under identities of theirs.
      const bridgeRegion = current && !farHere ? bridgeRegionOf(identity) : undefined;
      const bridge = bridgeRegion !== undefined && session?.cascade?.[bridgeRegion] !== undefined;
      const member = current && !bridge ? await this.deps.store.getParticipant(session.id, identity) : undefined;
      // Where the participant is: the deployment that sent this (any of them, when several share a key).
      const there = current && session.sfu && !farHere ? [session.sfu.deploymentId] : from;
      if (bridge) {
        result = 'bridge';
      } else if (member) {
        this.presence.joined(room, identity, sid, this.now());
        // A token minted before a role change (a demoted controller's, still within its
        // lifetime) carries the old grants: the SFU gets the current role's.
        if (roleIn(event.participant?.metadata) !== member.role) {
          result = 'role_corrected';
          await Promise.all(there.map((id) => this.deployments.get(id)?.rooms.updateRole(room, identity, member.role)));
        }
      } else {
        result = 'evicted';
        await Promise.all(
          there.map((id) =>
            this.deployments
              .get(id)
              ?.rooms.kick(room, identity)
              .catch(() => undefined),
          ),
        );
      }
    } else if ((name === 'participant_left' || name === 'participant_connection_aborted') && room && identity) {
      this.presence.left(room, identity, sid);
    } else if (name === 'room_finished' && room) {
      this.presence.roomGone(room);
    }
    this.deps.metrics.sfuWebhooks.inc({ event: name, result });
    return { event: name };
  }

  /** Stops the health checks and closes the connections to the deployments' Redis. */
  close(): void {
    this.pool?.close();
  }

  private requirePool(): SfuPool {
    if (!this.pool) throw new PairuxError(ErrorCode.Unavailable, SFU_NOT_CONFIGURED, { missing: 'livekit', mode: 'p2p' });
    return this.pool;
  }

  private requireDeployment(assignment: SfuAssignment): Deployment {
    this.requirePool();
    const d = this.deployments.get(assignment.deploymentId);
    if (!d) {
      throw new PairuxError(
        ErrorCode.Unavailable,
        `This session's SFU (${assignment.deploymentId}) is not among this control plane's deployments any more; start the session again.`,
        {
          deploymentId: assignment.deploymentId,
          mode: 'p2p',
        },
      );
    }
    return d;
  }
}

function roleIn(metadata: string | undefined): string | undefined {
  try {
    const role = (JSON.parse(metadata ?? '') as { role?: unknown }).role;
    return typeof role === 'string' ? role : undefined;
  } catch {
    return undefined;
  }
}
