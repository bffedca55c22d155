/**
 * The host's actions on other participants (the Participants view): promote a viewer, demote a
 * controller, remove a guest. Only the host may act, never on itself. A join token decides only
 * the first role; after a change the stored role is what every rule reads (control requests,
 * grants, resume), so a demoted controller can no longer ask for control.
 */
import { ErrorCode, PairuxError } from '../protocol/errors';
import type { ParticipantRole } from '../protocol/limits';
import { CloseCode, HostChanged, ParticipantUpdated, type Participant } from '../protocol/signaling';
import type { ControlArbiter } from './control-arbiter';
import { requireCurrentHost } from './host-rights';
import { HostTransfer } from './host-transfer';
import type { ServerMetrics } from './metrics';
import type { ParticipantRecord, RoomStateStore, SessionRecord, SfuAssignment } from './room-state-store';
import type { SignalingTransport } from './signaling-transport';
import { tiersOf } from './session-tiers';
import { tierFor, type TierName } from '../protocol/tiers';

export interface AdminMember {
  sessionId: string;
  participantId: string;
  role: ParticipantRole;
}

export interface ParticipantAdminDeps {
  store: RoomStateStore;
  transport: SignalingTransport;
  control: ControlArbiter;
  metrics: ServerMetrics;
  roleLimits(session: SessionRecord): Record<ParticipantRole, number>;
  /** Frees the seat, tells everyone, and tells the guest `message` before closing it. */
  remove(sessionId: string, participantId: string, message: string): Promise<unknown>;
  /** After a role change: the session focus makes the media follow it (the SFU's permissions). */
  roleChanged?(session: SessionRecord, participantId: string, role: ParticipantRole): void;
}

type Action = 'promote' | 'demote' | 'remove' | 'make-host' | 'set-tier';

/**
 * What everyone in the session sees of a participant. Its `tier` depends on the session's role
 * tiers, so the session (as read by the caller) comes along.
 */
export function publicView(
  p: ParticipantRecord,
  session: Pick<SessionRecord, 'tiers' | 'viewersLowered' | 'cascade' | 'media' | 'sfu'> | undefined,
): Participant {
  const view: Participant = { id: p.id, name: p.name, role: p.role, connected: p.connected, controlState: p.controlState, joinedAt: p.joinedAt };
  if (p.media) view.media = p.media;
  if (p.client) view.client = p.client;
  if (p.link) view.link = { id: p.link.id, label: p.link.label };
  view.tier = tierFor(p.role, tiersOf(session).roles, p.chosenTier);
  if (p.chosenTier) view.tierChosen = true;
  else if (session?.viewersLowered && p.role === 'viewer') {
    view.tier = 'low';
    view.tierLowered = true;
  }
  if (p.region) view.region = p.region;
  if (placementOf(p, session)) view.cascaded = true;
  return view;
}

/**
 * Where a participant's SFU media is when it is not the session's origin room: a viewer whose
 * region the session is cascaded to watches on that region's deployment. Hosts and controllers
 * always stay on the origin (whoever drives gets the lowest latency to the host).
 */
export function placementOf(
  p: Pick<ParticipantRecord, 'role' | 'region'>,
  session: Pick<SessionRecord, 'cascade' | 'media' | 'sfu'> | undefined,
): SfuAssignment | undefined {
  if (p.role !== 'viewer' || !p.region || session?.media !== 'sfu') return undefined;
  // The origin failed over into this viewer's region: it watches on the origin itself now.
  if (session.sfu?.region === p.region) return undefined;
  return session.cascade?.[p.region];
}

export class ParticipantAdmin {
  /** Host transfer's offers: `makeHost` asks, the target's `host.accept` swaps (server/host-transfer.ts). */
  readonly transfer: HostTransfer;

  constructor(private readonly deps: ParticipantAdminDeps) {
    this.transfer = new HostTransfer({
      store: deps.store,
      transport: deps.transport,
      check: (host, participantId) => this.handoverTarget(host, participantId),
      swap: (host, participantId) => this.swapHost(host, participantId),
      publicView,
    });
  }

  async setRole(host: AdminMember, participantId: string, role: 'controller' | 'viewer'): Promise<Participant> {
    return this.counted(role === 'controller' ? 'promote' : 'demote', async () => {
      const { store, transport, control } = this.deps;
      await this.requireHost(host, participantId, 'change your own role');
      const session = await store.getSession(host.sessionId);
      if (!session || session.ended) throw new PairuxError(ErrorCode.SessionEnded, 'This session has ended.');
      const target = await this.guest(host.sessionId, participantId);
      if (target.role === role) return publicView(target, session);
      // Input must stop before the role changes, so nobody ever drives as a viewer.
      if (role === 'viewer') await control.stop(host.sessionId, participantId, 'revoked');
      const changed = await store.changeRole(host.sessionId, participantId, role, this.deps.roleLimits(session));
      if (!changed) throw notHere(participantId);
      if (!changed.ok) throw limitError(changed.role, changed.limit, session.media);
      // A request or grant that slipped in between the two steps above must not survive either.
      if (role === 'viewer') await control.stop(host.sessionId, participantId, 'revoked');
      const view = publicView((await store.getParticipant(host.sessionId, participantId)) ?? changed.participant, session);
      transport.broadcast(host.sessionId, ParticipantUpdated, { participant: view });
      this.deps.roleChanged?.(session, participantId, role);
      return view;
    });
  }

  /**
   * The quality tier one guest gets, or (`null`) its role's again. The host's own tier is its
   * role's: it sends the picture, so there is nothing to raise or lower.
   */
  async setTier(host: AdminMember, participantId: string, tier: TierName | null): Promise<Participant> {
    return this.counted('set-tier', async () => {
      const { store, transport } = this.deps;
      const session = await this.requireHost(host, participantId, "set its own tier; the host's tier is its role's", "set participants' quality tiers");
      const target = await store.getParticipant(host.sessionId, participantId);
      if (!target) throw notHere(participantId);
      // The seat may have moved to the target since the check above (a host transfer in between).
      if (target.role === 'host') throw new PairuxError(ErrorCode.Forbidden, "The host's tier is its role's; set a guest's tier instead.");
      if ((target.chosenTier ?? null) === tier) return publicView(target, session);
      const updated = await store.updateParticipant(host.sessionId, participantId, { chosenTier: tier ?? undefined });
      if (!updated) throw notHere(participantId);
      const view = publicView(updated, session);
      transport.broadcast(host.sessionId, ParticipantUpdated, { participant: view });
      return view;
    });
  }

  async remove(host: AdminMember, participantId: string, reason?: string): Promise<void> {
    await this.counted('remove', async () => {
      await this.requireHost(host, participantId, 'remove yourself; end the session (session.end) instead');
      await this.guest(host.sessionId, participantId);
      await this.deps.control.stop(host.sessionId, participantId, 'revoked');
      const message = reason ? `The host removed you from the session: ${reason}` : 'The host removed you from the session.';
      await this.deps.remove(host.sessionId, participantId, message);
    });
  }

  /** Host transfer, first step: the controller is offered the seat; it moves only when that participant accepts. */
  async makeHost(host: AdminMember, participantId: string): Promise<Participant> {
    return this.counted('make-host', () => this.transfer.offer(host, participantId));
  }

  /** Who may take the host's seat: a connected controller in VS Code (throws why not). */
  private async handoverTarget(host: AdminMember, participantId: string): Promise<ParticipantRecord> {
    await this.requireHost(host, participantId, 'hand the host seat to itself');
    const target = await this.guest(host.sessionId, participantId);
    if (target.role !== 'controller') {
      throw new PairuxError(ErrorCode.Forbidden, `${target.name} is a viewer; only a controller can take over as host. Make them a controller first.`);
    }
    if (!target.connected)
      throw new PairuxError(ErrorCode.PeerNotFound, `${target.name} is not connected right now; try again when they are back.`, { reconnecting: true });
    if (target.client === 'browser') {
      throw new PairuxError(
        ErrorCode.Forbidden,
        `${target.name} watches in a browser, which cannot share a screen; only a guest in VS Code can take over as host.`,
      );
    }
    return target;
  }

  /**
   * Host transfer, after the target accepted (the strategy's transferHost): the controller becomes
   * the host, the host a controller. Control stops first, so nobody drives through the swap; then
   * both are closed with HostChanged so their connections come back carrying the new roles.
   */
  private async swapHost(host: AdminMember, participantId: string): Promise<Participant> {
    const { store, transport, control } = this.deps;
    const target = await this.guest(host.sessionId, participantId);
    for (const p of await store.listParticipants(host.sessionId)) {
      if (p.controlState !== 'none') await control.stop(host.sessionId, p.id, 'revoked');
    }
    const swapped = await store.transferHost(host.sessionId, host.participantId, participantId);
    if (!swapped.ok) {
      const refusals = {
        gone: () => new PairuxError(ErrorCode.SessionEnded, 'This session has ended.'),
        'not-controller': () => new PairuxError(ErrorCode.Forbidden, `${target.name} is no longer a controller.`),
        'not-found': () => notHere(participantId),
        'not-host': () => new PairuxError(ErrorCode.Forbidden, 'You are no longer the host of this session.'),
      };
      throw refusals[swapped.reason]();
    }
    const { session, from, to } = swapped;
    transport.broadcast(host.sessionId, ParticipantUpdated, { participant: publicView(from, session) });
    transport.broadcast(host.sessionId, ParticipantUpdated, { participant: publicView(to, session) });
    transport.broadcast(host.sessionId, HostChanged, {
      hostId: to.id,
      previousHostId: from.id,
      message: `${from.name} handed the host's seat to ${to.name}, whose screen is shared from now on.`,
    });
    this.deps.roleChanged?.(session, from.id, 'controller');
    this.deps.roleChanged?.(session, to.id, 'host');
    // After this answer is on its way: their connections still carry the old roles.
    setImmediate(() => {
      transport.disconnect(host.sessionId, to.id, CloseCode.HostChanged, 'you are the host now: rejoin');
      transport.disconnect(host.sessionId, from.id, CloseCode.HostChanged, 'you handed over the host seat: rejoin');
    });
    return publicView(to, session);
  }

  private async counted<T>(action: Action, run: () => Promise<T>): Promise<T> {
    try {
      const value = await run();
      this.deps.metrics.hostActions.inc({ action, result: 'ok' });
      return value;
    } catch (err) {
      const e = PairuxError.from(err);
      this.deps.metrics.hostActions.inc({ action, result: e.code });
      throw e;
    }
  }

  /** Against the seat as it is now: a connection that joined as host may have handed it over since. */
  private async requireHost(
    member: AdminMember,
    participantId: string,
    selfAction: string,
    what = 'change roles or remove participants',
  ): Promise<SessionRecord> {
    const session = await requireCurrentHost(this.deps.store, member, what);
    if (participantId === member.participantId) throw new PairuxError(ErrorCode.Forbidden, `The host cannot ${selfAction}.`);
    return session;
  }

  private async guest(sessionId: string, participantId: string): Promise<ParticipantRecord> {
    const p = await this.deps.store.getParticipant(sessionId, participantId);
    if (!p) throw notHere(participantId);
    if (p.role === 'host') throw new PairuxError(ErrorCode.Forbidden, 'The host cannot be demoted or removed.');
    return p;
  }
}

function notHere(participantId: string): PairuxError {
  return new PairuxError(ErrorCode.PeerNotFound, `participant ${participantId} is not in this session`);
}

function limitError(role: ParticipantRole, limit: number, mode: string): PairuxError {
  const what =
    role === 'controller'
      ? `This session already has ${limit} controllers, the most a session allows. Demote one of them first.`
      : `This session already has ${limit} viewers, the most a ${mode.toUpperCase()} session allows. Remove a viewer first.`;
  return new PairuxError(ErrorCode.LimitReached, what, { role, limit });
}
