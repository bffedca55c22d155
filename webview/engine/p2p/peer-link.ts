/**
 * One RTCPeerConnection between the host and one guest, identified by a `pc` id, wired to the
 * signaling relay. Shared by both ends: it serialises description/candidate work, and fixes the
 * two ordering races of trickle ICE over a relay — local candidates are held until our own
 * description has been sent, and remote candidates are held until the remote description is set.
 */
import type { SignalPayload } from '../../../protocol/signaling';
import type { IceServer } from '../../../protocol/common';
import { TypedEmitter } from '../../../common/typed-emitter';
import type { Logger } from '../logger';

type IceCandidatePayload = Extract<SignalPayload, { kind: 'ice' }>['candidate'];

export interface PeerLinkOptions {
  pcId: string;
  remoteId: string;
  iceServers: readonly IceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Sends a payload to `remoteId` through the signaling relay. */
  send(payload: SignalPayload): Promise<void>;
  log: Logger;
}

export interface PeerLinkEvents {
  /** connectionState or iceConnectionState changed. */
  change: { connectionState: RTCPeerConnectionState; iceConnectionState: RTCIceConnectionState };
}

/** Remote candidates kept while waiting for a description; more means something is wrong. */
const MAX_PENDING_CANDIDATES = 200;

export class PeerLink extends TypedEmitter<PeerLinkEvents> {
  readonly pc: RTCPeerConnection;
  readonly pcId: string;
  readonly remoteId: string;
  readonly createdAt = performance.now();
  private chain: Promise<void> = Promise.resolve();
  private descriptionSent = false;
  private readonly heldLocal: IceCandidatePayload[] = [];
  private readonly heldRemote: IceCandidatePayload[] = [];
  private closed = false;

  constructor(private readonly options: PeerLinkOptions) {
    super();
    this.pcId = options.pcId;
    this.remoteId = options.remoteId;
    this.pc = new RTCPeerConnection({
      iceServers: options.iceServers.map((s) => ({ ...s, urls: [...s.urls] })),
      iceTransportPolicy: options.iceTransportPolicy ?? 'all',
      bundlePolicy: 'max-bundle',
    });
    this.pc.onicecandidate = (event) => {
      const candidate: IceCandidatePayload = event.candidate ? (event.candidate.toJSON() as IceCandidatePayload) : null;
      if (this.descriptionSent) this.sendCandidate(candidate);
      else this.heldLocal.push(candidate);
    };
    const changed = (): void => this.emit('change', { connectionState: this.pc.connectionState, iceConnectionState: this.pc.iceConnectionState });
    this.pc.onconnectionstatechange = changed;
    this.pc.oniceconnectionstatechange = changed;
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  get iceConnectionState(): RTCIceConnectionState {
    return this.pc.iceConnectionState;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Host side: create the offer, apply it, send it. */
  sendOffer(): Promise<void> {
    return this.enqueue(async () => {
      await this.pc.setLocalDescription(await this.pc.createOffer());
      await this.sendDescription('offer');
    });
  }

  /** Host side: apply the guest's answer. */
  acceptAnswer(sdp: string): Promise<void> {
    return this.enqueue(async () => {
      if (this.pc.signalingState !== 'have-local-offer') {
        this.options.log('warn', `answer for ${this.pcId} ignored in state ${this.pc.signalingState}`);
        return;
      }
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
      await this.flushRemoteCandidates();
    });
  }

  /** Guest side: apply the host's offer, answer it. */
  answerOffer(sdp: string): Promise<void> {
    return this.enqueue(async () => {
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
      await this.flushRemoteCandidates();
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      await this.sendDescription('answer');
    });
  }

  addRemoteCandidate(candidate: IceCandidatePayload): void {
    if (this.closed) return;
    if (!this.pc.remoteDescription) {
      if (this.heldRemote.length < MAX_PENDING_CANDIDATES) this.heldRemote.push(candidate);
      return;
    }
    void this.enqueue(() => this.applyCandidate(candidate));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.onicecandidate = null;
    this.pc.close();
    // close() does not fire connectionstatechange; tell listeners it is over.
    this.emit('change', { connectionState: 'closed', iceConnectionState: 'closed' });
    this.removeAllListeners();
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(async () => {
      if (!this.closed) await op();
    });
    // Keep the chain alive after a failure; the caller still sees the rejection.
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async sendDescription(kind: 'offer' | 'answer'): Promise<void> {
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error(`no local ${kind} to send`);
    await this.options.send({ kind, pc: this.pcId, sdp });
    this.descriptionSent = true;
    for (const c of this.heldLocal.splice(0)) this.sendCandidate(c);
  }

  private sendCandidate(candidate: IceCandidatePayload): void {
    if (this.closed) return;
    this.options.send({ kind: 'ice', pc: this.pcId, candidate }).catch((err: unknown) => {
      this.options.log('warn', `could not relay an ICE candidate for ${this.pcId}`, err);
    });
  }

  private async flushRemoteCandidates(): Promise<void> {
    for (const c of this.heldRemote.splice(0)) await this.applyCandidate(c);
  }

  private async applyCandidate(candidate: IceCandidatePayload): Promise<void> {
    // null = end of candidates: Chromium needs no signal for it, and a guessed sdpMid could be wrong.
    if (!candidate) return;
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      this.options.log('debug', `ICE candidate rejected on ${this.pcId}`, err);
    }
  }
}

/** A fresh, URL-safe `pc` id (the protocol's Id charset). */
export function newPcId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return (
    'pc-' +
    Array.from(bytes, (b) => b.toString(36).padStart(2, '0'))
      .join('')
      .slice(0, 14)
  );
}
