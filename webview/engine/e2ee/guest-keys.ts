/**
 * A guest page's side of an encrypted session's keys (issue 15). It starts from the key its link
 * carried, holds the next generation before the host moves to it (the ratchet needs no message),
 * catches up when the host's frames name a later generation than the link's, and takes a fresh
 * key after a re-key only from the host, wrapped to the public key this page published. It says
 * when the host's frames do not open with any key it can have: the link's key is wrong or old.
 */
import { TypedEmitter } from '../../../common/typed-emitter';
import type { SignalPayload } from '../../../protocol/signaling';
import type { SignalingClient } from '../signaling/signaling-client';
import type { Logger } from '../logger';
import { frameKeyId, KeyChain, stepsTo } from './key-chain';
import { decodeMediaKey } from './media-keys';
import { makeGuestKeyPair, unwrapKey } from './key-wrap';
import type { E2eeStats, E2eeTransforms } from './e2ee-transforms';

/** Frames that do not open for this long, with none opening, mean the link's key is not the session's. */
const REJECTED_AFTER_MS = 2000;

export type GuestKeyState = 'waiting' | 'decrypting' | 'key-rejected';

export interface GuestKeysEvents {
  state: { state: GuestKeyState; safetyCode: string | undefined; gen: number };
  /** A key rotation this page refused (not from the host, does not open): counted, never used. */
  refused: { from: string; why: string };
}

export interface GuestKeysOptions {
  signaling: SignalingClient;
  transforms: E2eeTransforms;
  /** The key from the share link (`&k=`) and its generation (`&kg=`). */
  linkKey: string;
  linkGen: number;
  log: Logger;
}

export class GuestKeys extends TypedEmitter<GuestKeysEvents> {
  private readonly chain: KeyChain;
  private readonly pair = makeGuestKeyPair();
  private readonly offs: Array<() => void> = [];
  private queue: Promise<unknown> = Promise.resolve();
  private _state: GuestKeyState = 'waiting';
  private _safetyCode: string | undefined;
  /** Since when frames have been dropped with none opening (undefined while they open). */
  private failingSince: number | undefined;
  private lastOpened = 0;
  refusedCount = 0;
  rekeys = 0;
  closed = false;

  /** Throws a PairuxError with words for the user when the link's key is damaged. */
  constructor(private readonly options: GuestKeysOptions) {
    super();
    this.chain = new KeyChain(decodeMediaKey(options.linkKey), options.linkGen);
    const { signaling, transforms } = options;
    this.enqueue(() => this.hold());
    this.offs.push(
      signaling.on('joined', () => void this.announce()),
      signaling.on('signal', ({ from, payload }) => this.onSignal(from, payload)),
      transforms.onStats((stats) => this.enqueue(() => this.follow(stats))),
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

  private enqueue(step: () => Promise<void>): void {
    this.queue = this.queue.then(step).catch((err: unknown) => this.options.log('warn', `E2EE key change failed: ${String(err)}`));
  }

  /** The worker holds the current generation and the next (the host may move on at any frame). */
  private async hold(): Promise<void> {
    const { transforms } = this.options;
    transforms.addReceiveKey(frameKeyId(this.chain.gen), this.chain.key);
    const next = await this.chain.peek();
    transforms.addReceiveKey(frameKeyId(next.gen), next.key);
    this._safetyCode = await this.chain.safetyCode();
    this.emitState();
  }

  /** Publishes this page's public key to the host (after every join: a new host, or a resumed seat, needs it again). */
  private async announce(): Promise<void> {
    const { signaling, log } = this.options;
    const hostId = signaling.hostId;
    if (!hostId || this.closed) return;
    const { publicKey } = await this.pair;
    await signaling
      .sendSignal(hostId, { kind: 'e2ee-public', key: publicKey })
      .catch((err: unknown) => log('warn', `E2EE public key not sent: ${String(err)}`));
  }

  /** Follows the host's key from what the worker saw: a ratchet step, a later generation, or a key that is not this session's. */
  private async follow(stats: E2eeStats): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    if (stats.opened > this.lastOpened) {
      this.lastOpened = stats.opened;
      this.failingSince = undefined;
      if (stats.lastOpenedKeyId !== undefined && stats.lastOpenedKeyId !== frameKeyId(this.chain.gen) && stepsTo(this.chain.gen, stats.lastOpenedKeyId) === 1) {
        await this.chain.step();
        await this.hold();
      }
      this.setState('decrypting');
      return;
    }
    const missing = stats.lastMissingKeyId;
    // The link's key is a few generations old: derive forward to the one the frames name (once).
    if (missing !== undefined && this._state !== 'key-rejected' && stepsTo(this.chain.gen, missing) > 1) {
      await this.chain.advance(stepsTo(this.chain.gen, missing));
      await this.hold();
      return;
    }
    const dropped = Object.values(stats.dropped).reduce((a, b) => a + b, 0);
    if (dropped === 0) return;
    this.failingSince ??= now;
    if (now - this.failingSince >= REJECTED_AFTER_MS) this.setState('key-rejected');
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
      // Wrapped under the host's current key: this page's, or the next one if the host just stepped.
      let fresh: Uint8Array<ArrayBuffer> | undefined;
      for (const current of [this.chain.key, (await this.chain.peek()).key]) {
        fresh = await unwrapKey(payload, privateKey, context, current).catch(() => undefined);
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

  /** The page left or was removed: the worker forgets every key. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    this.options.transforms.forgetKeys();
  }
}
