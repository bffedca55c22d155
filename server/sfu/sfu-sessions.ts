/**
 * SFU support of the session service, kept out of it: the room of each `sfu` session, the LiveKit
 * access handed to each participant, and the webhooks that say who reached the media. Without a
 * LiveKit configured every entry point refuses with the settings to add.
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { ParticipantRole } from '../../protocol/limits';
import type { SfuAccess } from '../../protocol/signaling';
import type { LiveKitConfig, ServerConfig } from '../config';
import type { ServerMetrics } from '../metrics';
import type { RoomStateStore, SfuAssignment } from '../room-state-store';
import { issueAccess } from './grants';
import { SfuPresence } from './presence';
import { SfuRooms } from './rooms';
import { SfuWebhookVerifier } from './webhooks';

export interface SfuSessionsDeps {
  config: ServerConfig;
  store: RoomStateStore;
  metrics: ServerMetrics;
  now?: () => number;
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

/** The deployment a single configured LiveKit server is, among pools. */
export const DEFAULT_DEPLOYMENT = 'default';

export const SFU_NOT_CONFIGURED =
  'SFU mode needs a LiveKit server, and this control plane has none: set PAIRUX_LIVEKIT_URL, PAIRUX_LIVEKIT_API_KEY and ' +
  'PAIRUX_LIVEKIT_API_SECRET (or `livekit` in startControlPlane\'s settings). Start the session in P2P mode meanwhile.';

export class SfuSessions {
  readonly presence = new SfuPresence();
  private readonly livekit: LiveKitConfig | undefined;
  private readonly rooms: SfuRooms | undefined;
  private readonly webhooks: SfuWebhookVerifier | undefined;
  private readonly now: () => number;
  /** Room openings one after the other, so concurrent creations cannot all pass the same count. */
  private opening: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: SfuSessionsDeps) {
    this.livekit = deps.config.livekit;
    this.now = deps.now ?? Date.now;
    if (this.livekit) {
      const graceSeconds = Math.ceil(deps.config.reconnectGraceMs / 1000);
      this.rooms = new SfuRooms(this.livekit, {
        beforeFirstJoin: Math.max(60, Math.ceil(deps.config.hostJoinTimeoutMs / 1000)),
        // Everyone dropping at once (a network blip) must not cost the room while they come back.
        afterLastLeave: graceSeconds + 60,
      });
      this.webhooks = new SfuWebhookVerifier(this.livekit.apiKey, this.livekit.apiSecret);
    }
    deps.metrics.countSfuPresenceWith(() => this.presence.total);
  }

  get configured(): boolean {
    return this.livekit !== undefined;
  }

  get viewerLimit(): number | undefined {
    return this.livekit?.viewerLimit;
  }

  /**
   * Before an SFU session exists: LiveKit configured and answering, under `maxConcurrentRooms`
   * (the strategy's canAcceptSession), then the room itself.
   */
  async openRoom(sessionId: string, opts: { region?: string; epoch: number; exclude?: string[] }): Promise<SfuAssignment> {
    const rooms = this.requireRooms();
    const room = roomName(sessionId, opts.epoch);
    const turn = this.opening.then(() => this.checkAndOpen(rooms, room));
    this.opening = turn.catch(() => undefined);
    await turn;
    return { deploymentId: DEFAULT_DEPLOYMENT, region: 'default', room };
  }

  private async checkAndOpen(rooms: SfuRooms, room: string): Promise<void> {
    const capacity = await rooms.canAcceptSession();
    if (!capacity.ok) {
      this.deps.metrics.sfuRefused.inc({ reason: 'max_rooms' });
      throw new PairuxError(
        ErrorCode.LimitReached,
        `The SFU is at its limit of ${capacity.limit} concurrent session${capacity.limit === 1 ? '' : 's'} (maxConcurrentRooms). Start the session in P2P mode, or try again when one ends.`,
        { limit: capacity.limit, rooms: capacity.rooms, what: 'maxConcurrentRooms' },
      );
    }
    await rooms.open(room);
  }

  /**
   * A LiveKit token for one participant of an SFU session. `reopen` also makes sure the room
   * exists (LiveKit drops an empty room, and loses all of them when it restarts): used when a
   * client asks again, which is when it is trying to get back in.
   */
  async access(assignment: SfuAssignment, who: { id: string; name: string; role: ParticipantRole }, reopen = false): Promise<SfuAccess> {
    const livekit = this.requireConfig();
    if (reopen) await this.requireRooms().open(assignment.room);
    return issueAccess(livekit, livekit.publicUrl ?? livekit.url.replace(/^http/, 'ws'), livekit.tokenTtlSeconds, {
      room: assignment.room,
      participantId: who.id,
      name: who.name,
      role: who.role,
    }, this.now());
  }

  /** The session ended, or its media moved away from this room: the room goes. */
  async closeRoom(assignment: SfuAssignment): Promise<void> {
    this.presence.roomGone(assignment.room);
    try {
      await this.rooms?.close(assignment.room);
    } catch (err) {
      // LiveKit gone (the usual reason it does not answer): its rooms went with it, and the
      // participants heard session.ended from us. One line, not a stack trace per session.
      if (!(err instanceof PairuxError && err.code === ErrorCode.Unavailable)) throw err;
      console.warn(`[pairux-server] could not delete the LiveKit room ${assignment.room}: ${err.message}`);
    }
  }

  /** A guest the host removed (or who left for good) must not stay in the media either. */
  async participantGone(assignment: SfuAssignment, participantId: string): Promise<void> {
    this.presence.left(assignment.room, participantId, '');
    await this.rooms?.kick(assignment.room, participantId);
  }

  async roleChanged(assignment: SfuAssignment, participantId: string, role: ParticipantRole): Promise<void> {
    await this.rooms?.updateRole(assignment.room, participantId, role);
  }

  /**
   * One signed webhook from LiveKit. Presence follows participant_joined/left; someone in a
   * session's room whom the session does not know (an old token of a removed guest, a room of an
   * ended session) is removed from the SFU.
   */
  async webhook(body: string, authorization: string | undefined): Promise<{ event: string }> {
    if (!this.webhooks) throw new PairuxError(ErrorCode.SessionNotFound, 'this control plane has no LiveKit configured');
    let event;
    try {
      event = await this.webhooks.verify(body, authorization);
    } catch (err) {
      this.deps.metrics.sfuWebhooks.inc({ event: 'unknown', result: 'rejected' });
      throw err;
    }
    const name = event.event || 'unknown';
    const room = event.room?.name ?? '';
    const identity = event.participant?.identity ?? '';
    const sid = event.participant?.sid ?? '';
    let result = 'ok';
    if (name === 'participant_joined' && room && identity) {
      const sessionId = sessionOfRoom(room);
      const session = await this.deps.store.getSession(sessionId);
      // Someone in a room the session has moved away from does not belong there any more either.
      const current = session && !session.ended && session.sfu?.room === room;
      const member = current ? await this.deps.store.getParticipant(sessionId, identity) : undefined;
      if (member) {
        this.presence.joined(room, identity, sid, this.now());
        // A token minted before a role change (a demoted controller's, still within its
        // lifetime) carries the old grants: the SFU gets the current role's.
        if (roleIn(event.participant?.metadata) !== member.role) {
          result = 'role_corrected';
          await this.rooms?.updateRole(room, identity, member.role);
        }
      } else {
        result = 'evicted';
        await this.rooms?.kick(room, identity).catch(() => undefined);
      }
    } else if ((name === 'participant_left' || name === 'participant_connection_aborted') && room && identity) {
      this.presence.left(room, identity, sid);
    } else if (name === 'room_finished' && room) {
      this.presence.roomGone(room);
    }
    this.deps.metrics.sfuWebhooks.inc({ event: name, result });
    return { event: name };
  }

  private requireConfig(): LiveKitConfig {
    if (!this.livekit) throw new PairuxError(ErrorCode.Unavailable, SFU_NOT_CONFIGURED, { missing: 'livekit', mode: 'p2p' });
    return this.livekit;
  }

  private requireRooms(): SfuRooms {
    this.requireConfig();
    return this.rooms as SfuRooms;
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
