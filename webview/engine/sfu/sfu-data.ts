/**
 * The peer boundary (protocol/peer.ts: ping, screen, input, refusals) carried over LiveKit data
 * instead of a P2P data channel: one RpcEndpoint per remote participant, each message a UTF-8
 * JSON packet on a PairUX topic. The same validation and size caps as the data channel.
 *
 * The host side (SfuHostData) decides who a packet is from by the identity the SFU stamps on it
 * (LiveKit overwrites a user packet's sender identity with the authenticated one from the
 * sender's token, which is the PairUX participant id) and never by anything in the payload; it then requires that identity to be a guest of this session by the signaling
 * client's participant list before the HostInputGate sees the event (which checks the grant).
 */
import { ErrorCode } from '../../../protocol/errors';
import { MAX_PEER_MESSAGE_BYTES } from '../../../protocol/limits';
import { KeyGeneration, PeerInput, PeerInputRefused, Ping, ScreenInfo, peerBoundary } from '../../../protocol/peer';
import { RpcEndpoint, type Side } from '../../../protocol/rpc-endpoint';
import { PROTOCOL_VERSION } from '../../../protocol/rpc';
import type { Participant } from '../../../protocol/signaling';
import type { HostInputGate } from '../input/host-input';
import type { Logger } from '../logger';
import type { ScreenDescription } from '../engine-types';

/** Guest → host (input, pings). */
export const TOPIC_TO_HOST = 'pairux.input';
/** Host → guest (screen, refusals, ping answers). */
export const TOPIC_TO_GUEST = 'pairux.host';

export interface PublishDataOptions {
  reliable: boolean;
  destinationIdentities: string[];
  topic: string;
}
export type PublishData = (bytes: Uint8Array<ArrayBuffer>, options: PublishDataOptions) => Promise<void>;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Pointer moves go lossy: a lost one is replaced by the next within a frame, and a retransmitted
 * stale one only lags the pointer. Everything else (buttons, keys, text, wheel, pings) goes
 * reliable and ordered, because a lost key-up leaves a key held on the host.
 */
export function isLossyInput(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { t?: unknown }).t === 'move';
}

/** An RpcEndpoint whose messages go to one participant over LiveKit data. */
export function dataEndpoint(options: { side: Side; to: string; topic: string; publish: PublishData; log: Logger; lossy?: () => boolean }): RpcEndpoint {
  const { side, to, topic, publish, log } = options;
  return new RpcEndpoint({
    boundary: peerBoundary,
    side,
    requestTimeoutMs: 5000,
    send: (text) => {
      const reliable = !(options.lossy?.() ?? false);
      publish(encoder.encode(text), { reliable, destinationIdentities: [to], topic }).catch((err: unknown) =>
        log('debug', `data to ${to} not sent: ${String(err)}`),
      );
    },
    onProtocolError: (error) => log('warn', `LiveKit data protocol error (${to}): ${error.message}`),
  });
}

/** The packet as text, or undefined when it is too big or not UTF-8 (dropped before parsing). */
export function packetText(payload: Uint8Array): string | undefined {
  if (payload.byteLength > MAX_PEER_MESSAGE_BYTES) return undefined;
  try {
    return decoder.decode(payload);
  } catch {
    return undefined;
  }
}

export interface SfuHostDataDeps {
  /** The session's participants as the control plane says (roles are read here, live). */
  participants(): ReadonlyMap<string, Participant>;
  publish: PublishData;
  screen(): ScreenDescription;
  /** Remote control: every input goes through this gate (refused without one). */
  gate?: HostInputGate;
  log: Logger;
}

/** Why packets were dropped before any endpoint saw them (for tests and the host's page). */
export interface SfuHostDataCounts {
  accepted: number;
  /** Not on the guest → host topic. */
  wrongTopic: number;
  /** LiveKit named no sender, or one that is not a participant of this session. */
  unknownSender: number;
  /** A viewer (or the host itself) sent input: refused whatever the payload says. */
  wrongRole: number;
  /** Over the size cap or not UTF-8. */
  malformed: number;
}

interface Remote {
  endpoint: RpcEndpoint;
  detach: () => void;
}

export class SfuHostData {
  private readonly remotes = new Map<string, Remote>();
  readonly counts: SfuHostDataCounts = { accepted: 0, wrongTopic: 0, unknownSender: 0, wrongRole: 0, malformed: 0 };

  constructor(private readonly deps: SfuHostDataDeps) {}

  /**
   * One LiveKit data packet. `senderIdentity` must be LiveKit's (`participant.identity` of the
   * DataReceived event); the payload cannot change who it is from.
   */
  receive(payload: Uint8Array, senderIdentity: string | undefined, topic: string | undefined): void {
    if (topic !== TOPIC_TO_HOST) {
      this.counts.wrongTopic++;
      return;
    }
    const sender = senderIdentity ? this.deps.participants().get(senderIdentity) : undefined;
    if (!sender || !senderIdentity) {
      this.counts.unknownSender++;
      this.deps.log('warn', `LiveKit data from ${senderIdentity ?? 'nobody'}, who is not in this session, dropped`);
      return;
    }
    const text = packetText(payload);
    if (text === undefined) {
      this.counts.malformed++;
      return;
    }
    if (sender.role !== 'controller') {
      this.counts.wrongRole++;
      // A viewer's token should not publish data at all; one that does (a stale token after a
      // demotion, a misconfigured server) is told no, and nothing reaches the gate.
      if (sender.role === 'viewer' && this.deps.gate) {
        this.remote(sender.id); // where the refusal goes
        this.deps.gate.refuse(sender.id, { code: ErrorCode.Forbidden, reason: 'not forwarded: viewers cannot send input' });
      }
      return;
    }
    this.counts.accepted++;
    this.remote(sender.id).endpoint.receive(text);
  }

  /** Tells one guest (or, without `to`, everyone) the shared screen. */
  sendScreen(to?: string): void {
    const { width, height, fps, source } = this.deps.screen();
    const params = { width, height, fps, source };
    if (to) this.remote(to).endpoint.notify(ScreenInfo, params);
    else this.toRoom(ScreenInfo.method, params);
  }

  /** Tells one guest (or everyone) the key generation the host sends under (encrypted sessions). */
  sendKeyGeneration(gen: number, to?: string): void {
    if (to) this.remote(to).endpoint.notify(KeyGeneration, { gen });
    else this.toRoom(KeyGeneration.method, { gen });
  }

  /** One packet to the whole room rather than one per guest: the SFU fans it out. */
  private toRoom(method: string, params: unknown): void {
    const text = JSON.stringify({ v: PROTOCOL_VERSION, method, params });
    this.deps
      .publish(encoder.encode(text), { reliable: true, destinationIdentities: [], topic: TOPIC_TO_GUEST })
      .catch((err: unknown) => this.deps.log('debug', `${method} not sent: ${String(err)}`));
  }

  /** A guest left the room or the session: its endpoint and gate attachment go. */
  forget(identity: string): void {
    const remote = this.remotes.get(identity);
    if (!remote) return;
    this.remotes.delete(identity);
    remote.detach();
    remote.endpoint.close('left');
  }

  close(): void {
    for (const id of [...this.remotes.keys()]) this.forget(id);
  }

  private remote(identity: string): Remote {
    const existing = this.remotes.get(identity);
    if (existing) return existing;
    const { deps } = this;
    const endpoint = dataEndpoint({ side: 'b', to: identity, topic: TOPIC_TO_GUEST, publish: deps.publish, log: deps.log });
    endpoint.onRequest(Ping, ({ sentAt }) => ({ sentAt, hostTime: Date.now() }));
    const gate = deps.gate;
    let detach = (): void => undefined;
    if (gate) {
      endpoint.onNotification(PeerInput, ({ event }) => gate.receive(identity, event));
      detach = gate.attach(identity, (notice) => endpoint.notify(PeerInputRefused, notice));
    }
    const remote = { endpoint, detach };
    this.remotes.set(identity, remote);
    return remote;
  }
}
