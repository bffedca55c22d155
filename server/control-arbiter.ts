/**
 * Who drives: one driver per session, chosen by the host, seen by everyone. Controllers ask,
 * the host grants, denies or revokes (one or all: the panic action); a new grant takes over from
 * the current driver, who is told. A driver who drops or leaves loses control at once, so input
 * never outlives its sender. The host page and the helper enforce the same grant again. Every
 * change is recorded with who made it (`ControlAuditLog`), for the host to read.
 */
import { ErrorCode, PairuxError } from '../protocol/errors';
import { ControlChanged, ParticipantUpdated, type ControlReason } from '../protocol/signaling';
import { ControlAuditLog, type AuditPerson } from './control-audit';
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
  readonly audit: ControlAuditLog;

  constructor(
    private readonly store: RoomStateStore,
    private readonly transport: SignalingTransport,
    private readonly requestsAllowed: () => boolean,
    /** An audit line the store could not keep (the control change itself went through). */
    private readonly onAuditError: (err: Error) => void = () => undefined,
  ) {
    this.audit = new ControlAuditLog(store);
  }

  async request(member: ControlMember): Promise<void> {
    // The stored role, not the one this connection joined with: the host may have changed it since.
    const me = await this.participant(member.sessionId, member.participantId);
    if (me.role === 'host') throw new PairuxError(ErrorCode.Forbidden, 'The host already has control of their own machine.');
    if (me.role !== 'controller') {
      throw new PairuxError(ErrorCode.Forbidden, 'Viewers cannot request control. Ask the host to make you a controller, or for a controller link.');
    }
    if (!this.requestsAllowed()) throw new PairuxError(ErrorCode.Forbidden, 'The host has turned off control requests in this session.');
    if (me.controlState !== 'none') return;
    await this.set(member.sessionId, me, 'requested', 'requested', me);
  }

  async release(member: ControlMember): Promise<void> {
    const me = await this.participant(member.sessionId, member.participantId);
    if (me.controlState !== 'none') await this.set(member.sessionId, me, 'none', 'released', me);
  }

  async grant(host: ControlMember, participantId: string): Promise<void> {
    const actor = await this.requireHost(host, 'grant control');
    const target = await this.participant(host.sessionId, participantId);
    if (target.role !== 'controller') {
      throw new PairuxError(ErrorCode.Forbidden, `${target.name} joined as a ${target.role} and cannot take control; send them a controller link.`);
    }
    if (!target.connected) throw new PairuxError(ErrorCode.PeerNotFound, `${target.name} is not connected right now.`);
    if (target.controlState === 'granted') return;
    // Take over from the current driver first: two drivers must never coexist, even briefly.
    for (const p of await this.store.listParticipants(host.sessionId)) {
      if (p.controlState === 'granted' && p.id !== participantId) await this.set(host.sessionId, p, 'none', 'taken-over', actor);
    }
    await this.set(host.sessionId, target, 'granted', 'granted', actor);
  }

  async deny(host: ControlMember, participantId: string, reason: 'denied' | 'timeout'): Promise<void> {
    const actor = await this.requireHost(host, 'answer control requests');
    const target = await this.participant(host.sessionId, participantId);
    if (target.controlState === 'requested') await this.set(host.sessionId, target, 'none', reason, actor);
  }

  /** One participant, or everyone when `participantId` is absent (requests included). */
  async revoke(host: ControlMember, participantId: string | undefined, panic: boolean): Promise<void> {
    const actor = await this.requireHost(host, 'revoke control');
    const reason: ControlReason = panic ? 'panic' : 'revoked';
    if (participantId) {
      const target = await this.participant(host.sessionId, participantId);
      if (target.controlState !== 'none') await this.set(host.sessionId, target, 'none', reason, actor);
      return;
    }
    for (const p of await this.store.listParticipants(host.sessionId)) {
      if (p.controlState !== 'none') await this.set(host.sessionId, p, 'none', reason, actor);
    }
  }

  /** The server ends whatever control the participant had or asked for (the host's demotion or removal of it). */
  async stop(sessionId: string, participantId: string, reason: ControlReason): Promise<void> {
    const p = await this.store.getParticipant(sessionId, participantId);
    if (!p || p.controlState === 'none') return;
    const hostId = (await this.store.getSession(sessionId))?.hostId;
    const host = hostId === undefined ? undefined : await this.store.getParticipant(sessionId, hostId);
    await this.set(sessionId, p, 'none', reason, host);
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
    await this.record(sessionId, 'left', participant);
  }

  /** `control.audit`: what happened to control in the session, for its current host. */
  async auditFor(member: ControlMember) {
    return this.audit.read(member);
  }

  /** `actor` made the change (the host, or the participant itself); none when the server did (a drop). */
  private async set(sessionId: string, p: ParticipantRecord, state: State, reason: ControlReason, actor?: AuditPerson): Promise<void> {
    const updated = await this.store.updateParticipant(sessionId, p.id, { controlState: state });
    if (!updated) return;
    const [driverId, session] = await Promise.all([this.driverOf(sessionId), this.store.getSession(sessionId)]);
    this.transport.broadcast(sessionId, ParticipantUpdated, { participant: publicView(updated, session) });
    this.transport.broadcast(sessionId, ControlChanged, { participantId: p.id, state, reason, driverId });
    await this.record(sessionId, reason, updated, actor);
  }

  private async record(sessionId: string, action: ControlReason, target: AuditPerson, actor?: AuditPerson): Promise<void> {
    const failed = await this.audit.record(sessionId, action, target, actor);
    if (failed) this.onAuditError(failed);
  }

  private async driverOf(sessionId: string): Promise<string | null> {
    return (await this.store.listParticipants(sessionId)).find((p) => p.controlState === 'granted')?.id ?? null;
  }

  private async participant(sessionId: string, id: string): Promise<ParticipantRecord> {
    const p = await this.store.getParticipant(sessionId, id);
    if (!p) throw new PairuxError(ErrorCode.PeerNotFound, `participant ${id} is not in this session`);
    return p;
  }

  /** The current host as the audit names it (refused with why for anyone else). */
  private async requireHost(member: ControlMember, what: string): Promise<AuditPerson> {
    await requireCurrentHost(this.store, member, what);
    const me = await this.store.getParticipant(member.sessionId, member.participantId);
    return { id: member.participantId, name: me?.name ?? member.participantId };
  }
}
