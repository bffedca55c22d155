/**
 * Who drives: one driver per session, chosen by the host, seen by everyone. Controllers ask,
 * the host grants, denies or revokes (one or all: the panic action); a new grant takes over from
 * the current driver, who is told. A driver who drops or leaves loses control at once, so input
 * never outlives its sender. The host page and the helper enforce the same grant again.
 */
import { ErrorCode, PairuxError } from '../protocol/errors';
import { ControlChanged, ParticipantUpdated, type ControlReason } from '../protocol/signaling';
import { requireCurrentHost } from './host-rights';
import { publicView } from './participant-admin';
import type { ParticipantRecord, RoomStateStore } from './room-state-store';
import type { SignalingTransport } from './signaling-transport';

export interface ControlMember {
  sessionId: string;
  participantId: string;
  role: 'host' | 'controller' | 'viewer';
}

type State = ParticipantRecord['controlState'];

export class ControlArbiter {
  constructor(
    private readonly store: RoomStateStore,
    private readonly transport: SignalingTransport,
    private readonly requestsAllowed: () => boolean,
  ) {}

  async request(member: ControlMember): Promise<void> {
    // The stored role, not the one this connection joined with: the host may have changed it since.
    const me = await this.participant(member.sessionId, member.participantId);
    if (me.role === 'host') throw new PairuxError(ErrorCode.Forbidden, 'The host already has control of their own machine.');
    if (me.role !== 'controller') {
      throw new PairuxError(ErrorCode.Forbidden, 'Viewers cannot request control. Ask the host to make you a controller, or for a controller link.');
    }
    if (!this.requestsAllowed()) throw new PairuxError(ErrorCode.Forbidden, 'The host has turned off control requests in this session.');
    if (me.controlState !== 'none') return;
    await this.set(member.sessionId, me, 'requested', 'requested');
  }

  async release(member: ControlMember): Promise<void> {
    const me = await this.participant(member.sessionId, member.participantId);
    if (me.controlState !== 'none') await this.set(member.sessionId, me, 'none', 'released');
  }

  async grant(host: ControlMember, participantId: string): Promise<void> {
    await this.requireHost(host, 'grant control');
    const target = await this.participant(host.sessionId, participantId);
    if (target.role !== 'controller') {
      throw new PairuxError(ErrorCode.Forbidden, `${target.name} joined as a ${target.role} and cannot take control; send them a controller link.`);
    }
    if (!target.connected) throw new PairuxError(ErrorCode.PeerNotFound, `${target.name} is not connected right now.`);
    if (target.controlState === 'granted') return;
    // Take over from the current driver first: two drivers must never coexist, even briefly.
    for (const p of await this.store.listParticipants(host.sessionId)) {
      if (p.controlState === 'granted' && p.id !== participantId) await this.set(host.sessionId, p, 'none', 'taken-over');
    }
    await this.set(host.sessionId, target, 'granted', 'granted');
  }

  async deny(host: ControlMember, participantId: string, reason: 'denied' | 'timeout'): Promise<void> {
    await this.requireHost(host, 'answer control requests');
    const target = await this.participant(host.sessionId, participantId);
    if (target.controlState === 'requested') await this.set(host.sessionId, target, 'none', reason);
  }

  /** One participant, or everyone when `participantId` is absent (requests included). */
  async revoke(host: ControlMember, participantId: string | undefined, panic: boolean): Promise<void> {
    await this.requireHost(host, 'revoke control');
    const reason: ControlReason = panic ? 'panic' : 'revoked';
    if (participantId) {
      const target = await this.participant(host.sessionId, participantId);
      if (target.controlState !== 'none') await this.set(host.sessionId, target, 'none', reason);
      return;
    }
    for (const p of await this.store.listParticipants(host.sessionId)) {
      if (p.controlState !== 'none') await this.set(host.sessionId, p, 'none', reason);
    }
  }

  /** The server ends whatever control the participant had or asked for (a demotion, a removal). */
  async stop(sessionId: string, participantId: string, reason: ControlReason): Promise<void> {
    const p = await this.store.getParticipant(sessionId, participantId);
    if (p && p.controlState !== 'none') await this.set(sessionId, p, 'none', reason);
  }

  /** The participant dropped or left: whatever control it had or asked for ends now. */
  async participantGone(sessionId: string, participant: ParticipantRecord, stillListed: boolean): Promise<void> {
    if (participant.controlState === 'none') return;
    if (stillListed) {
      await this.set(sessionId, participant, 'none', 'left');
      return;
    }
    const driverId = await this.driverOf(sessionId);
    this.transport.broadcast(sessionId, ControlChanged, { participantId: participant.id, state: 'none', reason: 'left', driverId });
  }

  private async set(sessionId: string, p: ParticipantRecord, state: State, reason: ControlReason): Promise<void> {
    const updated = await this.store.updateParticipant(sessionId, p.id, { controlState: state });
    if (!updated) return;
    const driverId = await this.driverOf(sessionId);
    this.transport.broadcast(sessionId, ParticipantUpdated, { participant: publicView(updated) });
    this.transport.broadcast(sessionId, ControlChanged, { participantId: p.id, state, reason, driverId });
  }

  private async driverOf(sessionId: string): Promise<string | null> {
    return (await this.store.listParticipants(sessionId)).find((p) => p.controlState === 'granted')?.id ?? null;
  }

  private async participant(sessionId: string, id: string): Promise<ParticipantRecord> {
    const p = await this.store.getParticipant(sessionId, id);
    if (!p) throw new PairuxError(ErrorCode.PeerNotFound, `participant ${id} is not in this session`);
    return p;
  }

  private async requireHost(member: ControlMember, what: string): Promise<void> {
    await requireCurrentHost(this.store, member, what);
  }
}
