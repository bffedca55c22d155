/**
 * A guest page's side of an encrypted session's keys (issue 15). It starts from the key its link
 * carried, holds the next few generations before the host moves to them (the ratchet needs no
 * message), catches up when the host's frames name a later generation than the link's, and takes
 * a fresh key after a re-key only from the host, wrapped to the public key this page published.
 * It says when the host's frames do not open with any key it can have: the link's key is wrong
 * or old.
 *
 * What it learns of the host's frames comes from the engine in use: the P2P worker's counts
 * (`watchTransforms`), or LiveKit's decryption errors and the decoder's progress on the SFU path
 * (`sawMissingKey`, `sawUndecryptable`, `sawDecoded`).
 */
import { TypedEmitter } from '../../../common/typed-emitter';
import type { SignalPayload } from '../../../protocol/signaling';
import type { SignalingClient } from '../signaling/signaling-client';
import type { Logger } from '../logger';
import { KeyChain, stepsTo, type ChainKey } from './key-chain';
import type { KeyTarget } from './key-target';
import { decodeMediaKey } from './media-keys';
import { makeGuestKeyPair, unwrapKey } from './key-wrap';
import type { E2eeStats, E2eeTransforms } from './e2ee-transforms';

/** Frames that do not open for this long, with none opening, mean the link's key is not the session's. */
const REJECTED_AFTER_MS = 2000;
/** Generations held ahead of the current one: the host may move on at any frame, and on the SFU path this page only hears of it when a key is missing. */
const AHEAD = 3;
/** How far ahead a named generation may be and still be derived (as far as P2P frame ids reach). */
const MAX_STEPS_AHEAD = 128;

export type GuestKeyState = 'waiting' | 'decrypting' | 'key-rejected';

export interface GuestKeysEvents {
  state: { state: GuestKeyState; safetyCode: string | undefined; gen: number };
  /** A key rotation this page refused (not from the host, does not open): counted, never used. */
  refused: { from: string; why: string };
}

export interface GuestKeysOptions {
  signaling: SignalingClient;
  /** The key from the share link (`&k=`) and its generation (`&kg=`). */
  linkKey: string;
  linkGen: number;
  log: Logger;
}

export class GuestKeys extends TypedEmitter<GuestKeysEvents> {
  private readonly chain: KeyChain;
  private readonly pair = makeGuestKeyPair();
  private readonly offs: Array<() => void> = [];
  private readonly targets = new Set<KeyTarget>();
  private queue: Promise<unknown> = Promise.resolve();
  private _state: GuestKeyState = 'waiting';
  private _safetyCode: string | undefined;
  /** The current generation and the AHEAD after it, as given to the targets. */
  private window: ChainKey[] = [];
  /** Since when frames have failed to open with none opening (undefined while they open). */
  private failingSince: number | undefined;
  refusedCount = 0;
  rekeys = 0;
  closed = false;

  /** Throws a PairuxError with words for the user when the link's key is damaged. */
  constructor(private readonly options: GuestKeysOptions) {
    super();
    this.chain = new KeyChain(decodeMediaKey(options.linkKey), options.linkGen);
    const { signaling } = options;
    this.enqueue(() => this.hold());
    this.offs.push(
      signaling.on('joined', () => void this.announce()),
      // A host transfer: the new host re-keys with these public keys when someone leaves, so it
      // needs this page's at once (its id, not `signaling.hostId`, which may not have moved yet).
      signaling.on('hostChanged', ({ hostId }) => void this.announce(hostId)),
      signaling.on('signal', ({ from, payload }) => this.onSignal(from, payload)),
    );
    if (signaling.lastJoin) void this.announce();
  }

  get state(): GuestKeyState {
    return this._state;
  }
  get safetyCode(): string | undefined {
    return this._safetyCode;
  }
  get gen(): number {
    return this.chain.gen;
  }

  /** An engine's key holder gets the keys now and at every change; returns the detach. */
  attach(target: KeyTarget): () => void {
    this.targets.add(target);
    if (this.window.length) target.setKeys(this.window[0]!, this.window);
    const off = target.onHostGeneration?.((gen) => this.sawGeneration(gen));
    return () => {
      off?.();
      this.targets.delete(target);
    };
  }

  /**
   * The host said which generation it sends under (SFU: its encrypted data). Without this a
   * guest on LiveKit hears of ratchet steps only when frames name a key it does not hold, which
   * costs a freeze until a key frame (3 s measured); a step behind, or absurdly far, is ignored.
   */
  sawGeneration(gen: number): void {
    this.enqueue(async () => {
      if (this.closed || this._state === 'key-rejected') return;
      const steps = gen - this.chain.gen;
      if (steps <= 0 || steps >= MAX_STEPS_AHEAD) return;
      await this.chain.advance(steps);
      await this.hold();
    });
  }

  /** The P2P worker's (or direct video's cipher's) counts say which key the host's frames name and whether they open. */
  watchTransforms(transforms: Pick<E2eeTransforms, 'onStats'>): () => void {
    let opened = 0;
    let dropped = 0;
    return transforms.onStats((stats: E2eeStats) => {
      // The counts are totals: only what changed since the last report says anything.
      const droppedNow = Object.values(stats.dropped).reduce((a, b) => a + b, 0);
      const newlyDropped = droppedNow > dropped;
      dropped = droppedNow;
      if (stats.opened > opened) {
        opened = stats.opened;
        if (stats.lastOpenedKeyId !== undefined) this.sawKeyId(stats.lastOpenedKeyId, 256);
        this.sawDecoded();
        return;
      }
      if (!newlyDropped) return;
      if (stats.lastMissingKeyId !== undefined) this.sawKeyId(stats.lastMissingKeyId, 256);
      this.sawUndecryptable();
    });
  }

  /** SFU: a frame named key index `index` (of LiveKit's ring of `ringSize`) that this page does not hold. */
  sawMissingKey(index: number, ringSize: number): void {
    this.sawKeyId(index, ringSize);
    this.sawUndecryptable();
  }

  /** A frame of the host's did not open. */
  sawUndecryptable(): void {
    this.enqueue(async () => {
      if (this.closed) return;
      this.failingSince ??= Date.now();
      if (Date.now() - this.failingSince >= REJECTED_AFTER_MS) this.setState('key-rejected');
    });
  }

  /** Frames of the host's opened and decoded. */
  sawDecoded(): void {
    this.enqueue(async () => {
      this.failingSince = undefined;
      this.setState('decrypting');
    });
  }

  /** Frames name key id `id` (generation mod `modulus`): a generation ahead of this page's is moved to. */
  private sawKeyId(id: number, modulus: number): void {
    this.enqueue(async () => {
      if (this.closed || this._state === 'key-rejected') return;
      const steps = modulus === 256 ? stepsTo(this.chain.gen, id) : (id - (this.chain.gen % modulus) + modulus) % modulus;
      // An id just behind is a late frame under an older key (in flight across a rotation), not one
      // far ahead: on the P2P ring anything past half way round is behind; on LiveKit's small ring,
      // the last few indexes.
      if (steps === 0 || steps >= (modulus === 256 ? 128 : modulus - 3)) return;
      await this.chain.advance(steps);
      await this.hold();
    });
  }

  private enqueue(step: () => Promise<void>): void {
    this.queue = this.queue.then(step).catch((err: unknown) => this.options.log('warn', `E2EE key change failed: ${String(err)}`));
  }

  /** The targets hold the current generation and the AHEAD after it. */
  private async hold(): Promise<void> {
    const ahead = new KeyChain(this.chain.key, this.chain.gen);
    const window: ChainKey[] = [{ gen: this.chain.gen, key: this.chain.key }];
    for (let i = 0; i < AHEAD; i++) window.push(await ahead.step());
    this.window = window;
    for (const t of this.targets) t.setKeys(window[0]!, window);
    this._safetyCode = await this.chain.safetyCode();
    this.emitState();
  }

  /** Publishes this page's public key to the host (after every join: a new host, or a resumed seat, needs it again). */
  private async announce(to?: string): Promise<void> {
    const { signaling, log } = this.options;
    const hostId = to ?? signaling.hostId;
    if (!hostId || this.closed) return;
    const { publicKey } = await this.pair;
    await signaling
      .sendSignal(hostId, { kind: 'e2ee-public', key: publicKey })
      .catch((err: unknown) => log('warn', `E2EE public key not sent: ${String(err)}`));
  }

  private onSignal(from: string, payload: SignalPayload): void {
    if (payload.kind !== 'e2ee-rekey') return;
    const { signaling, log } = this.options;
    if (from !== signaling.hostId) return this.refuse(from, 'a key rotation not from the host');
    this.enqueue(async () => {
      const sessionId = signaling.lastJoin?.session.id;
      const guestId = signaling.self?.id;
      if (!sessionId || !guestId || this.closed) return;
      const { privateKey } = await this.pair;
      const context = { sessionId, guestId };
      // Wrapped under the host's current key: this page's, or one just ahead if the host stepped.
      let fresh: Uint8Array<ArrayBuffer> | undefined;
      for (const held of this.window.length ? this.window : [{ gen: this.chain.gen, key: this.chain.key }]) {
        fresh = await unwrapKey(payload, privateKey, context, held.key).catch(() => undefined);
        if (fresh) break;
      }
      if (!fresh) return this.refuse(from, 'a key rotation that does not open with this page’s keys');
      this.chain.replace(payload.keyId, fresh);
      await this.hold();
      this.rekeys++;
      log('info', `E2EE key generation ${payload.keyId} received from the host`);
      await signaling.sendSignal(from, { kind: 'e2ee-ack', keyId: payload.keyId }).catch((err: unknown) => log('warn', `E2EE ack not sent: ${String(err)}`));
    });
  }

  private refuse(from: string, why: string): void {
    this.refusedCount++;
    this.options.log('warn', `refused ${why} (from ${from})`);
    this.emit('refused', { from, why });
  }

  private setState(state: GuestKeyState): void {
    if (this._state === state) return;
    this._state = state;
    this.emitState();
  }

  private emitState(): void {
    this.emit('state', { state: this._state, safetyCode: this._safetyCode, gen: this.chain.gen });
  }

  /** The page left or was removed: every key holder forgets its keys. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    for (const t of this.targets) t.forget();
  }
}
