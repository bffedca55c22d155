/**
 * The session focus (Jitsi's Jicofo for PairUX): the server-side brain that decides where a
 * session's media flows, so clients never have to agree among themselves. An `auto` session
 * starts peer-to-peer and moves to an SFU when it reaches `autoSfuAt` participants; a session on
 * an SFU that dies moves to another. Each move is claimed with a compare-and-set on the stored
 * session, so when several control-plane instances see the same trigger exactly one acts.
 *
 * A move is make-before-break: the focus opens the room, records the new topology, and tells
 * everyone (`session.topology`). The host publishes there while its P2P links stay up; each guest
 * keeps its P2P picture until the SFU's shows, then reports it (`media.report`) and drops its P2P
 * link. Nobody is without a picture in between.
 */
import { EventEmitter } from 'node:events';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { ParticipantRole } from '../../protocol/limits';
import { ParticipantUpdated, SessionTopology, type HostLoadReport, type ReportHostLoad } from '../../protocol/signaling';
import type { ParamsOf, ResultOf } from '../../protocol/rpc';
import type { ServerConfig } from '../config';
import type { ServerMetrics } from '../metrics';
import { publicView } from '../participant-admin';
import type { ParticipantRecord, RoomStateStore, SessionPatch, SessionRecord, SfuAssignment } from '../room-state-store';
import { roleLimitsFor } from '../role-limits';
import type { SignalingTransport } from '../signaling-transport';
import { sessionOfRoom, type SfuSessions } from '../sfu/sfu-sessions';

type MoveReason = NonNullable<SessionRecord['moving']>['reason'];
type Topology = ParamsOf<typeof SessionTopology>;

export interface SessionFocusDeps {
  config: ServerConfig;
  store: RoomStateStore;
  transport: SignalingTransport;
  sfu: SfuSessions;
  metrics: ServerMetrics;
  now: () => number;
}

export interface SessionFocusEvents {
  /** A move began, finished (everyone on the new media) or failed; what users were told. */
  topology: [{ sessionId: string } & Topology];
  error: [unknown];
}

/** One move under way: the session as claimed, why, and the epoch it moves to. */
interface Move {
  claimed: SessionRecord;
  reason: MoveReason;
  why: string;
  epoch: number;
}

/** How many tries a compare-and-set gets when other writers keep bumping the version. */
const CAS_TRIES = 5;

export class SessionFocus extends EventEmitter<SessionFocusEvents> {
  /** Sessions whose move this instance is running, so a second trigger does not start another. */
  private readonly running = new Set<string>();

  constructor(private readonly deps: SessionFocusDeps) {
    super();
  }

  /**
   * After a join: an `auto` session on P2P that reached the threshold moves to an SFU. With
   * `sfuBack` (an SFU just came back) the back-off after a failed move does not apply.
   */
  async participantJoined(sessionId: string, sfuBack = false): Promise<void> {
    const { store, config, now } = this.deps;
    const session = await store.getSession(sessionId);
    if (!session || session.ended || session.mode !== 'auto' || session.media !== 'p2p') return;
    if (session.moving && session.moving.until > now()) return;
    if (!sfuBack && session.moveFailedAt !== undefined && now() - session.moveFailedAt < config.focus.retryAfterMs) return;
    const count = (await store.listParticipants(sessionId)).length;
    if (count < config.focus.autoSfuAt) return;
    await this.move(session, 'participants', `This session reached ${count} participants`);
  }

  /**
   * An SFU deployment answers again: `auto` sessions left peer-to-peer for want of one (or sent
   * back to it by a failover) move now, not at their next join.
   */
  async sfuAvailable(sessionIds: Iterable<string>): Promise<void> {
    await Promise.all([...sessionIds].map((id) => this.participantJoined(id, true).catch((err: unknown) => this.emit('error', err))));
  }

  /** An SFU deployment stopped answering: every live session on it moves to another. */
  async deploymentDown(deploymentId: string): Promise<void> {
    const ids = await this.deps.store.sessionsOnSfu(deploymentId);
    await Promise.all(
      ids.map(async (id) => {
        const session = await this.deps.store.getSession(id);
        if (!session || session.ended || session.sfu?.deploymentId !== deploymentId) return;
        await this.move(session, 'failover', `The SFU in ${session.sfu.region} stopped answering`, [deploymentId]).catch((err: unknown) =>
          this.emit('error', err),
        );
      }),
    );
  }

  /**
   * One node of a multi-node LiveKit cluster died with these rooms while the cluster answers: the
   * sessions in them move to a new room, which the cluster (or another deployment) places on a
   * living node.
   */
  async roomsLost(rooms: string[]): Promise<void> {
    await Promise.all(
      rooms.map(async (room) => {
        const session = await this.deps.store.getSession(sessionOfRoom(room));
        if (!session || session.ended || session.sfu?.room !== room) return;
        await this.move(session, 'failover', `The SFU node holding this session in ${session.sfu.region} stopped answering`).catch((err: unknown) =>
          this.emit('error', err),
        );
      }),
    );
  }

  /**
   * The host's page says it cannot keep up with its peer-to-peer guests (`media.hostLoad`): an
   * `auto` session moves to an SFU now, whatever its size. Where none can take it (none
   * configured, none answering, a move that failed a moment ago, or a session fixed on P2P), its
   * viewers go to the `low` tier until it moves, and the host is told so. A host that keeps up
   * again gets them back on their tiers once they have been low for restoreAfterMs (its narrow
   * link may have widened); if that loads it again they are lowered again, and each lowering in
   * the session doubles the wait before the next restore, so a host that cannot carry them does
   * not flap.
   */
  async hostOverloaded(sessionId: string, report: HostLoadReport): Promise<HostLoadAnswer> {
    const { store, config, now } = this.deps;
    const session = await store.getSession(sessionId);
    if (!session || session.ended) throw new PairuxError(ErrorCode.SessionEnded, 'This session has ended.');
    if (!report.overloaded) return this.hostKeepsUp(session);
    if (session.media !== 'p2p') return { action: 'none', message: 'The session is on an SFU already: the host sends one stream.' };
    const why = `The host's computer cannot keep up (${loadWords(report)})`;
    if (session.moving && session.moving.until > now()) return { action: 'moving', message: `${why}: the session is moving to an SFU.` };
    const canMove = session.mode === 'auto' && this.deps.sfu.configured;
    const backingOff = session.moveFailedAt !== undefined && now() - session.moveFailedAt < config.focus.retryAfterMs;
    if (canMove && !backingOff) {
      await this.move(session, 'host-overloaded', why);
      const after = await store.getSession(sessionId);
      if (after && (after.media === 'sfu' || (after.moving && after.moving.until > now()))) {
        return { action: 'moving', message: `${why}: moving the session to an SFU, so it sends one stream.` };
      }
    }
    const stays =
      session.mode !== 'auto'
        ? 'this session is fixed on peer-to-peer'
        : !this.deps.sfu.configured
          ? 'this server has no SFU'
          : 'no SFU could take the session just now';
    const lowered = await this.lowerViewers(sessionId, `${why}, and ${stays}`);
    return {
      action: 'viewers-lowered',
      message: `${why}, and ${stays}: ${lowered === 1 ? 'its viewer is' : `its ${lowered} viewers are`} on the low tier until it can move. The host can raise one from the Participants view.`,
    };
  }

  /** The host keeps up: viewers lowered for its sake long enough come back to their tiers. */
  private async hostKeepsUp(session: SessionRecord): Promise<HostLoadAnswer> {
    const { now } = this.deps;
    const lowered = session.viewersLowered;
    if (!lowered || session.media !== 'p2p') return { action: 'none', message: 'Noted: the host keeps up.' };
    const times = lowered.times ?? 1;
    if (now() - lowered.at < restoreAfterMs(times))
      return { action: 'none', message: 'Noted: the host keeps up. Its viewers stay on the low tier a while longer, so it does not flap.' };
    const updated = await this.casRetry(session.id, session, (s) =>
      s.viewersLowered ? { viewersLowered: undefined, viewersRestored: { at: now(), times: s.viewersLowered.times ?? 1 } } : undefined,
    );
    if (!updated || updated.viewersLowered) return { action: 'none', message: 'Noted: the host keeps up.' };
    this.tellParticipants(
      updated,
      (await this.deps.store.listParticipants(session.id)).filter((p) => p.role === 'viewer'),
    );
    return { action: 'viewers-restored', message: "The host's computer keeps up again: its viewers are back on their tiers." };
  }

  /** Puts the session's viewers on `low` (those whose tier the host chose keep it); how many viewers there are. */
  private async lowerViewers(sessionId: string, why: string): Promise<number> {
    const { store, now } = this.deps;
    const current = await store.getSession(sessionId);
    const updated =
      current && !current.viewersLowered
        ? await this.casRetry(sessionId, current, (s) =>
            s.viewersLowered ? undefined : { viewersLowered: { at: now(), why, times: (s.viewersRestored?.times ?? 0) + 1 } },
          )
        : current;
    const viewers = (await store.listParticipants(sessionId)).filter((p) => p.role === 'viewer');
    if (updated && updated !== current) this.tellParticipants(updated, viewers);
    return viewers.length;
  }

  private tellParticipants(session: SessionRecord, participants: ParticipantRecord[]): void {
    for (const p of participants) this.deps.transport.broadcast(session.id, ParticipantUpdated, { participant: publicView(p, session) });
  }

  /** A guest now shows the picture from `media`: the host hears it (and drops that P2P link). */
  async mediaReported(sessionId: string, participantId: string, media: 'p2p' | 'sfu', epoch: number): Promise<void> {
    const { store, transport } = this.deps;
    const session = await store.getSession(sessionId);
    if (!session || session.ended) throw new PairuxError(ErrorCode.SessionEnded, 'This session has ended.');
    // A report about an earlier topology (a slow client) changes nothing.
    if (epoch !== session.epoch || media !== session.media) return;
    const updated = await store.updateParticipant(sessionId, participantId, { media });
    if (!updated) throw new PairuxError(ErrorCode.PeerNotFound, 'You are no longer in this session.');
    transport.broadcast(sessionId, ParticipantUpdated, { participant: publicView(updated, session) });
    const guests = (await store.listParticipants(sessionId)).filter((p) => p.role !== 'host' && p.connected);
    if (guests.every((p) => p.media === media)) {
      this.tell(sessionId, { media, epoch, phase: 'done', reason: session.movedFor ?? 'participants', message: doneMessage(session), ...regionOf(session) });
    }
  }

  /** A role change reaches the media too: on an SFU, the participant's permissions there. */
  async roleChanged(session: SessionRecord, participantId: string, role: ParticipantRole): Promise<void> {
    if (session.sfu) await this.deps.sfu.roleChanged(session.sfu, participantId, role);
  }

  /**
   * Claims the move, opens the new room, records the new topology, tells everyone. Only one
   * instance wins the claim; a failure to find an SFU leaves the media where it was (or, for an
   * auto session whose SFU died, takes it back to peer-to-peer), says why, and waits
   * `retryAfterMs` before the next try.
   */
  private async move(session: SessionRecord, reason: MoveReason, why: string, exclude: string[] = []): Promise<void> {
    if (this.running.has(session.id)) return;
    if (session.moving && session.moving.until > this.deps.now()) return; // another instance is on it
    this.running.add(session.id);
    try {
      const { store, config, now } = this.deps;
      const claimed = await store.updateSession(session.id, session.version, {
        moving: { by: config.instanceId, until: now() + config.focus.moveTimeoutMs, reason },
      });
      if (!claimed) return; // another instance (or another trigger) got there first
      const move: Move = { claimed, reason, why, epoch: claimed.epoch + 1 };
      let assignment: SfuAssignment;
      try {
        if (!this.deps.sfu.configured) throw new PairuxError(ErrorCode.Unavailable, 'this server has no SFU configured');
        assignment = await this.deps.sfu.openRoom(session.id, { epoch: move.epoch, exclude, ...(claimed.region ? { region: claimed.region } : {}) });
      } catch (err) {
        const e = PairuxError.from(err);
        // An auto session whose SFU died with no other to take it goes back to peer-to-peer
        // (when it fits P2P's limits) rather than wait on a dead server.
        if (reason === 'failover' && claimed.mode === 'auto' && (await this.fitsP2p(session.id)) && (await this.backToP2p(move, e))) return;
        await this.giveUp(move, e);
        return;
      }
      await this.land(move, assignment);
    } finally {
      this.running.delete(session.id);
    }
  }

  /** The new room is open: record it as the session's media (if the claim is still ours) and tell everyone. */
  private async land(move: Move, assignment: SfuAssignment): Promise<void> {
    const { claimed, reason, why, epoch } = move;
    const moved = await this.finish(move, {
      media: 'sfu',
      epoch,
      sfu: assignment,
      moving: undefined,
      movedFor: reason,
      moveFailedAt: undefined,
      // On the SFU the host sends one stream: viewers lowered for its sake get their tier back.
      viewersLowered: undefined,
    });
    if (!moved) {
      // Lost the session meanwhile (it ended, or our claim lapsed and another instance moved it).
      await this.deps.sfu.closeRoom(assignment).catch(() => undefined);
      return;
    }
    this.deps.metrics.topologyMoves.inc({ reason, result: 'ok' });
    if (claimed.viewersLowered)
      this.tellParticipants(
        moved,
        (await this.deps.store.listParticipants(claimed.id)).filter((p) => p.role === 'viewer'),
      );
    this.tell(claimed.id, {
      media: 'sfu',
      epoch,
      phase: 'moving',
      reason,
      message: `${why}: moving it to the SFU in ${assignment.region}. The picture stays on while it moves.`,
      region: assignment.region,
    });
    // The room left behind goes, unless its SFU is the one that died (nothing to ask it).
    const previous = claimed.sfu;
    if (previous && previous.room !== assignment.room && reason !== 'failover') this.background(this.deps.sfu.closeRoom(previous));
  }

  private async backToP2p(move: Move, e: PairuxError): Promise<boolean> {
    const { claimed, reason, why, epoch } = move;
    const back = await this.finish(move, { media: 'p2p', epoch, sfu: undefined, moving: undefined, movedFor: reason, moveFailedAt: this.deps.now() });
    if (!back) return false;
    this.deps.metrics.topologyMoves.inc({ reason, result: 'p2p' });
    this.tell(claimed.id, {
      media: 'p2p',
      epoch,
      phase: 'moving',
      reason,
      message: `${why}, and no other SFU can take the session (${e.message}): back to peer-to-peer; the picture returns in a moment.`,
    });
    return true;
  }

  /** No SFU could take it: the media stays where it was, and everyone hears why. */
  private async giveUp(move: Move, e: PairuxError): Promise<void> {
    const { claimed, reason, why } = move;
    await this.finish(move, { moving: undefined, moveFailedAt: this.deps.now() });
    this.deps.metrics.topologyMoves.inc({ reason, result: 'failed' });
    const stay = claimed.media === 'sfu' ? 'The picture stays where it is' : 'The session stays peer-to-peer';
    this.tell(claimed.id, {
      media: claimed.media,
      epoch: claimed.epoch,
      phase: 'failed',
      reason,
      message: `${why}, but no SFU could take it (${e.message}). ${stay}; PairUX tries again in ${Math.ceil(this.deps.config.focus.retryAfterMs / 1000)} s.`,
      ...regionOf(claimed),
    });
  }

  /** The end of a move: `patch` applied only while the claim is still this instance's. */
  private finish(move: Move, patch: SessionPatch): Promise<SessionRecord | undefined> {
    const me = this.deps.config.instanceId;
    return this.casRetry(move.claimed.id, move.claimed, (s) => (s.moving?.by === me ? patch : undefined));
  }

  /** Whether the session's guests fit a peer-to-peer session's limits. */
  private async fitsP2p(sessionId: string): Promise<boolean> {
    const participants = await this.deps.store.listParticipants(sessionId);
    const limits = roleLimitsFor(this.deps.config, 'p2p');
    return (['viewer', 'controller'] as const).every((role) => participants.filter((p) => p.role === role).length <= limits[role]);
  }

  /** Re-reads and retries a compare-and-set while other writers (joins, reports) bump the version. */
  private async casRetry(
    sessionId: string,
    start: SessionRecord,
    patchFor: (s: SessionRecord) => SessionPatch | undefined,
  ): Promise<SessionRecord | undefined> {
    let current: SessionRecord | undefined = start;
    for (let i = 0; i < CAS_TRIES && current && !current.ended; i++) {
      const patch = patchFor(current);
      if (!patch) return undefined;
      const done = await this.deps.store.updateSession(sessionId, current.version, patch);
      if (done) return done;
      current = await this.deps.store.getSession(sessionId);
    }
    return undefined;
  }

  private tell(sessionId: string, topology: Topology): void {
    this.deps.transport.broadcast(sessionId, SessionTopology, topology);
    this.emit('topology', { sessionId, ...topology });
  }

  private background(task: Promise<unknown>): void {
    task.catch((err: unknown) => this.emit('error', err));
  }
}

/** A host's load report in words: what it cannot do. */
function loadWords(report: HostLoadReport): string {
  const fps = `${Math.round(report.sentFps)} of ${Math.round(report.expectedFps)} frames a second`;
  switch (report.reason) {
    case 'encoder-cpu':
      return `its video encoders are short of CPU; ${fps}`;
    case 'uplink':
      return `its upload is saturated; ${fps}`;
    default:
      return `it sends ${fps}`;
  }
}

export type HostLoadAnswer = ResultOf<typeof ReportHostLoad>;

/** Viewers lowered for the host's sake stay low this long before a host that keeps up gets them back; doubled for each lowering in the session. */
export const VIEWERS_RESTORE_MS = 30_000;
const VIEWERS_RESTORE_MAX_MS = 8 * 60_000;

export function restoreAfterMs(times: number): number {
  return Math.min(VIEWERS_RESTORE_MAX_MS, VIEWERS_RESTORE_MS * 2 ** Math.max(0, times - 1));
}

function regionOf(session: SessionRecord): { region?: string } {
  return session.sfu ? { region: session.sfu.region } : {};
}

function doneMessage(session: SessionRecord): string {
  return session.media === 'sfu'
    ? `Everyone now watches through the SFU${session.sfu ? ` in ${session.sfu.region}` : ''}.`
    : 'Everyone now watches peer-to-peer.';
}
