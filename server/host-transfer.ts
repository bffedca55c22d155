/**
 * Host transfer in two steps: the host offers its seat to one controller (`participant.makeHost`
 * → `host.offered`, to that participant only), and the seat moves only when that participant
 * accepts on its own connection before the deadline, while the offerer is still the host and the
 * target still a connected controller in VS Code. Sharing a screen is the target's decision, not
 * the host's: a transfer its user did not accept would show its whole screen to everyone.
 *
 * Open offers live in this instance's memory (one per target and session): with several
 * instances, the target must answer on the instance that made the offer, or it is refused as
 * unknown and the host can offer again.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, PairuxError } from '../protocol/errors';
import { HostOfferEnded, HostOffered, type Participant } from '../protocol/signaling';
import type { AdminMember } from './participant-admin';
import type { ParticipantRecord, RoomStateStore, SessionRecord } from './room-state-store';
import type { SignalingTransport } from './signaling-transport';

/** How long the chosen controller has to answer: long enough to read a prompt, short enough that a stale offer is not accepted by surprise. */
export const HOST_OFFER_TIMEOUT_MS = 60_000;

export interface HostTransferDeps {
  store: RoomStateStore;
  transport: SignalingTransport;
  /** Who may take the seat (a connected controller in VS Code): the target, or throws why not. */
  check(host: AdminMember, participantId: string): Promise<ParticipantRecord>;
  /** The swap itself, after consent: control stops, roles swap atomically, both rejoin. */
  swap(host: AdminMember, participantId: string): Promise<Participant>;
  publicView(p: ParticipantRecord, session: SessionRecord): Participant;
  now?: () => number;
}

interface Offer {
  offerId: string;
  sessionId: string;
  fromId: string;
  toId: string;
  expiresAt: number;
  timer: ReturnType<typeof setTimeout>;
}

export class HostTransfer {
  /** Tests shorten it; every offer made afterwards uses the new value. */
  offerTimeoutMs = HOST_OFFER_TIMEOUT_MS;
  private readonly offers = new Map<string, Offer>();
  private readonly now: () => number;

  constructor(private readonly deps: HostTransferDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** `participant.makeHost`: asks the target; answers with the target as it is now (still a controller). */
  async offer(host: AdminMember, participantId: string): Promise<Participant> {
    const { store, transport } = this.deps;
    const target = await this.deps.check(host, participantId);
    const session = await store.getSession(host.sessionId);
    // The rights of the seat as it is now, not as the connection joined (a host that handed over is a controller).
    if (!session || session.ended) throw new PairuxError(ErrorCode.SessionEnded, 'This session has ended.');
    if (session.hostId !== host.participantId) throw new PairuxError(ErrorCode.Forbidden, 'You are no longer the host of this session.');
    const from = await store.getParticipant(host.sessionId, host.participantId);
    if (!from) throw new PairuxError(ErrorCode.Forbidden, 'You are no longer in this session.');
    // A second offer to the same participant replaces the first: only the newest can be accepted.
    for (const o of this.offers.values()) if (o.sessionId === host.sessionId && o.toId === target.id) this.drop(o);
    const timeoutMs = this.offerTimeoutMs;
    const offer: Offer = {
      offerId: randomBytes(12).toString('base64url'),
      sessionId: host.sessionId,
      fromId: from.id,
      toId: target.id,
      expiresAt: this.now() + timeoutMs,
      timer: setTimeout(() => void this.expire(offer).catch(() => undefined), timeoutMs),
    };
    offer.timer.unref?.();
    this.offers.set(offer.offerId, offer);
    const sent = await transport.send(host.sessionId, target.id, HostOffered, {
      offerId: offer.offerId,
      participantId: target.id,
      fromId: from.id,
      fromName: from.name,
      expiresAt: offer.expiresAt,
    });
    if (!sent) {
      this.drop(offer);
      throw new PairuxError(ErrorCode.PeerNotFound, `${target.name} is not connected right now; try again when they are back.`, { reconnecting: true });
    }
    return this.deps.publicView(target, session);
  }

  /** `host.accept` from `member`'s own connection: the seat moves now, or it is refused with why. */
  async accept(member: AdminMember, offerId: string): Promise<void> {
    const offer = this.mine(member, offerId);
    const { store } = this.deps;
    const session = await store.getSession(offer.sessionId);
    if (!session || session.ended) {
      this.drop(offer);
      throw new PairuxError(ErrorCode.SessionEnded, 'This session has ended.');
    }
    if (session.hostId !== offer.fromId) {
      this.drop(offer);
      const from = await store.getParticipant(offer.sessionId, offer.fromId);
      throw new PairuxError(
        ErrorCode.Forbidden,
        `${from?.name ?? 'Whoever offered it'} is no longer the host, so that offer of the host's seat no longer stands.`,
      );
    }
    const host: AdminMember = { sessionId: offer.sessionId, participantId: offer.fromId, role: 'host' };
    // The same rules as the offer, read again: a viewer, a browser or someone away by now cannot take the seat.
    await this.deps.check(host, member.participantId);
    this.drop(offer);
    await this.deps.swap(host, member.participantId);
  }

  /** `host.decline`: nothing changes; the host is told. */
  async decline(member: AdminMember, offerId: string): Promise<void> {
    const offer = this.mine(member, offerId);
    this.drop(offer);
    const who = await this.deps.store.getParticipant(offer.sessionId, offer.toId);
    await this.deps.transport.send(offer.sessionId, offer.fromId, HostOfferEnded, {
      offerId: offer.offerId,
      participantId: offer.toId,
      reason: 'declined',
      message: `${who?.name ?? 'The guest'} declined to take over as host; you are still the host.`,
    });
  }

  /** Stops every deadline (the server is closing). */
  close(): void {
    for (const o of this.offers.values()) clearTimeout(o.timer);
    this.offers.clear();
  }

  /** The offer `offerId`, only when it names `member`; anyone else learns nothing about it. */
  private mine(member: AdminMember, offerId: string): Offer {
    const offer = this.offers.get(offerId);
    if (!offer || offer.sessionId !== member.sessionId || offer.toId !== member.participantId || this.now() > offer.expiresAt) {
      throw new PairuxError(
        ErrorCode.Forbidden,
        "There is no offer of the host's seat for you to answer (it may have expired or been withdrawn). Ask the host to offer it again.",
      );
    }
    return offer;
  }

  private async expire(offer: Offer): Promise<void> {
    if (this.offers.get(offer.offerId) !== offer) return;
    this.drop(offer);
    const who = await this.deps.store.getParticipant(offer.sessionId, offer.toId).catch(() => undefined);
    await this.deps.transport
      .send(offer.sessionId, offer.fromId, HostOfferEnded, {
        offerId: offer.offerId,
        participantId: offer.toId,
        reason: 'expired',
        message: `${who?.name ?? 'The guest'} did not answer your offer of the host's seat in time; you are still the host.`,
      })
      .catch(() => false);
  }

  private drop(offer: Offer): void {
    clearTimeout(offer.timer);
    this.offers.delete(offer.offerId);
  }
}
