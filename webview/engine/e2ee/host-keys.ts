/**
 * The host page's side of an encrypted session's keys (issue 15): it makes the media key, seals
 * every frame its engines send under it, moves the key on with the ratchet on a timer, and
 * re-keys when a guest is removed or leaves for good: a fresh random key, wrapped for each guest
 * that stays (key-wrap.ts, to the public key it published), switched to once they all hold it.
 * The key leaves this page only towards its embedder (for the links it hands out), never towards
 * the server.
 *
 * A host that took the seat over (host transfer) continues the session's key schedule instead:
 * the key and generation its guest page held (`initial`), which every guest's link leads to.
 */
import { TypedEmitter } from '../../../common/typed-emitter';
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import { MAX_KEY_GEN } from '../../../protocol/share-link';
import type { SignalPayload } from '../../../protocol/signaling';
import type { SignalingClient } from '../signaling/signaling-client';
import type { Logger } from '../logger';
import { KeyChain } from './key-chain';
import { decodeMediaKey, generateMediaKey } from './media-keys';
import { wrapKeyFor } from './key-wrap';
import type { ChainKey } from './key-chain';
import type { KeyTarget } from './key-target';

/** How often the ratchet moves the key on by default. */
export const DEFAULT_RATCHET_MS = 10 * 60_000;
/** Longest a re-key waits for the guests' acks before switching anyway (one who never answers is not waited for). */
const REKEY_ACK_TIMEOUT_MS = 1500;

/** What the host shows and hands out: the key as links carry it, its generation and its safety code. */
export interface KeyView {
  gen: number;
  /** The key as a link carries it (`&k=`); for the embedder's links only. */
  text: string;
  safetyCode: string;
  /** Why it changed: the session started, the ratchet moved on, or a re-key after a guest went. */
  why: 'start' | 'ratchet' | 'rekey';
}

export interface HostKeysEvents {
  key: KeyView;
  /** A key message this page refused (not from a guest, malformed): counted, never acted on. */
  refused: { from: string; why: string };
}

/** An encrypted session's key schedule where it is now: the key as a link carries it, and its generation. */
export interface KeyAt {
  key: string;
  gen: number;
}

export interface HostKeysOptions {
  signaling: SignalingClient;
  ratchetMs?: number;
  log: Logger;
  /** Continue this schedule (a host that took the seat over) rather than make a new key. */
  initial?: KeyAt;
}

/** Words for a host page handed a key schedule it cannot continue (it makes no key of its own instead: nobody's link would hold it). */
export const BAD_INITIAL_KEY_MESSAGE =
  'This editor was made the host of an end-to-end encrypted session, but the session’s key it was handed is damaged, so it shares nothing. Leave the session and ask the previous host to start a new one.';

/** The chain `initial` starts, checked; throws a PairuxError (BAD_MESSAGE) with words for the host otherwise. */
export function chainFrom(initial: KeyAt): KeyChain {
  const { key, gen } = initial;
  if (!Number.isInteger(gen) || gen < 0 || gen > MAX_KEY_GEN) throw new PairuxError(ErrorCode.BadMessage, BAD_INITIAL_KEY_MESSAGE);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = decodeMediaKey(key);
  } catch {
    // decodeMediaKey's words are for a guest's link; this is a host handed a schedule.
    throw new PairuxError(ErrorCode.BadMessage, BAD_INITIAL_KEY_MESSAGE);
  }
  return new KeyChain(bytes, gen);
}

export class HostKeys extends TypedEmitter<HostKeysEvents> {
  private readonly chain: KeyChain;
  /** Each guest's published ECDH public key, by participant id. */
  private readonly publicKeys = new Map<string, string>();
  private readonly acks = new Map<string, (gen: number) => void>();
  private readonly offs: Array<() => void> = [];
  private readonly timer: ReturnType<typeof setInterval>;
  /** Key changes one at a time: a ratchet step never lands in the middle of a re-key. */
  private queue: Promise<unknown> = Promise.resolve();
  private _view: KeyView | undefined;
  /** The engines' key holders (the P2P worker, LiveKit's key ring; both during a move). */
  private readonly targets = new Set<KeyTarget>();
  /** A re-key's fresh key, held for receiving (guests switch to it before the host does) until it is sent under. */
  private pending: ChainKey | undefined;
  refusedCount = 0;
  rekeys = 0;
  closed = false;

  /** Throws a PairuxError (BAD_MESSAGE) when `initial` is not a key schedule it can continue. */
  constructor(private readonly options: HostKeysOptions) {
    super();
    this.chain = options.initial ? chainFrom(options.initial) : new KeyChain(generateMediaKey());
    const { signaling } = options;
    this.enqueue(() => this.publish('start'));
    this.timer = setInterval(() => this.enqueue(() => this.ratchet()), options.ratchetMs ?? DEFAULT_RATCHET_MS);
    this.offs.push(
      signaling.on('signal', ({ from, payload }) => this.onSignal(from, payload)),
      signaling.on('participantLeft', ({ participantId, reason }) => {
        this.publicKeys.delete(participantId);
        // Back within the grace period is the same person; removed or gone for good is not.
        if (reason === 'removed' || reason === 'left' || reason === 'timeout') this.enqueue(() => this.rekey(participantId, reason));
      }),
    );
  }

  /** The current key's view (undefined until its safety code is computed, a moment after start). */
  get view(): KeyView | undefined {
    return this._view;
  }

  get gen(): number {
    return this.chain.gen;
  }

  /** An engine's key holder gets the keys now and at every change; returns the detach. */
  attach(target: KeyTarget): () => void {
    this.targets.add(target);
    this.apply(target);
    return () => this.targets.delete(target);
  }

  private apply(target?: KeyTarget): void {
    const current = { gen: this.chain.gen, key: this.chain.key };
    const receiving = this.pending ? [current, this.pending] : [current];
    for (const t of target ? [target] : this.targets) t.setKeys(current, receiving);
  }

  private enqueue(step: () => Promise<void>): void {
    this.queue = this.queue.then(step).catch((err: unknown) => this.options.log('warn', `E2EE key change failed: ${String(err)}`));
  }

  private async publish(why: KeyView['why']): Promise<void> {
    if (this.closed) return;
    this._view = { gen: this.chain.gen, text: this.chain.text, safetyCode: await this.chain.safetyCode(), why };
    this.emit('key', this._view);
  }

  private async ratchet(): Promise<void> {
    if (this.closed) return;
    const next = await this.chain.step();
    this.apply();
    this.options.log('info', `E2EE key ratcheted to generation ${next.gen}`);
    await this.publish('ratchet');
  }

  /** A fresh key for everyone still here, wrapped for each alone; the senders switch once they all hold it. */
  private async rekey(goneId: string, reason: string): Promise<void> {
    const { signaling, log } = this.options;
    const sessionId = signaling.lastJoin?.session.id;
    if (this.closed || !sessionId) return;
    const current = this.chain.key;
    const fresh = generateMediaKey();
    const gen = this.chain.gen + 1;
    const guests = [...this.publicKeys].filter(([id]) => id !== goneId && signaling.participants.has(id));
    // Guests switch to the fresh key as soon as they have it (their input to the host too).
    this.pending = { gen, key: fresh };
    this.apply();
    const acked = guests.map(
      ([guestId]) =>
        new Promise<void>((resolve) => {
          const timeout = setTimeout(() => {
            this.acks.delete(guestId);
            log('warn', `guest ${guestId} did not confirm E2EE key ${gen} within ${REKEY_ACK_TIMEOUT_MS} ms`);
            resolve();
          }, REKEY_ACK_TIMEOUT_MS);
          this.acks.set(guestId, (ackGen) => {
            if (ackGen !== gen) return;
            clearTimeout(timeout);
            this.acks.delete(guestId);
            resolve();
          });
        }),
    );
    await Promise.all(
      guests.map(async ([guestId, publicKey]) => {
        const wrapped = await wrapKeyFor(publicKey, fresh, gen, { sessionId, guestId }, current);
        await signaling
          .sendSignal(guestId, { kind: 'e2ee-rekey', ...wrapped })
          .catch((err: unknown) => log('warn', `E2EE key to ${guestId} not sent: ${String(err)}`));
      }),
    );
    await Promise.all(acked);
    if (this.closed) return;
    this.chain.replace(gen, fresh);
    this.pending = undefined;
    this.apply();
    this.rekeys++;
    log('info', `E2EE re-keyed to generation ${gen} (${guests.length} guest(s) hold it) after ${goneId} ${reason}`);
    await this.publish('rekey');
  }

  private onSignal(from: string, payload: SignalPayload): void {
    if (payload.kind !== 'e2ee-public' && payload.kind !== 'e2ee-ack' && payload.kind !== 'e2ee-rekey') return;
    const participant = this.options.signaling.participants.get(from);
    if (!participant || participant.role === 'host' || payload.kind === 'e2ee-rekey') {
      this.refusedCount++;
      this.emit('refused', { from, why: `${payload.kind} from ${participant ? participant.role : 'someone not in the session'}` });
      return;
    }
    if (payload.kind === 'e2ee-public') this.publicKeys.set(from, payload.key);
    else this.acks.get(from)?.(payload.keyId);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const off of this.offs) off();
    for (const ack of this.acks.values()) ack(-1);
    this.acks.clear();
  }
}
