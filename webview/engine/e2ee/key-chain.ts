/**
 * An encrypted session's media keys by generation (issue 15). Generation 0 is the key the host's
 * page made; each ratchet step derives the next one (media-keys.ts `ratchetMediaKey`), and a
 * re-key after a removal replaces the chain with a fresh random key at the next generation, which
 * no ratchet of an older key reaches. A frame names its key by `gen % 256` (frame-cipher.ts), so a
 * receiver holding generation g can tell how many steps ahead the sender is.
 */
import { encodeMediaKey, ratchetMediaKey, safetyCode } from './media-keys';

export interface ChainKey {
  gen: number;
  key: Uint8Array<ArrayBuffer>;
}

/** The one-byte key id frames carry for generation `gen`. */
export function frameKeyId(gen: number): number {
  return gen & 0xff;
}

/** Steps from generation `gen` forward to the next one whose frame id is `keyId` (0-255). */
export function stepsTo(gen: number, keyId: number): number {
  return (keyId - frameKeyId(gen) + 256) & 0xff;
}

export class KeyChain {
  private current: ChainKey;
  /** The next generation's key, derived ahead (a receiver holds it before the sender moves on). */
  private ahead: Promise<ChainKey> | undefined;

  constructor(key: Uint8Array<ArrayBuffer>, gen = 0) {
    this.current = { gen, key: new Uint8Array(key) };
  }

  get gen(): number {
    return this.current.gen;
  }

  get key(): Uint8Array<ArrayBuffer> {
    return this.current.key;
  }

  /** The current key as a link carries it. */
  get text(): string {
    return encodeMediaKey(this.current.key);
  }

  safetyCode(): Promise<string> {
    return safetyCode(this.current.key);
  }

  /** The next generation (derived once, however often asked). */
  peek(): Promise<ChainKey> {
    const from = this.current;
    this.ahead ??= ratchetMediaKey(from.key).then((key) => ({ gen: from.gen + 1, key }));
    return this.ahead;
  }

  /** Moves one generation on (the ratchet): both sides do this with no message. */
  async step(): Promise<ChainKey> {
    const next = await this.peek();
    this.current = next;
    this.ahead = undefined;
    return next;
  }

  /** Moves `steps` generations on (a receiver catching up with a sender whose frames name a later key). */
  async advance(steps: number): Promise<ChainKey> {
    for (let i = 0; i < steps; i++) await this.step();
    return this.current;
  }

  /** A fresh key at generation `gen` (a re-key): the chain starts again from it. */
  replace(gen: number, key: Uint8Array<ArrayBuffer>): void {
    this.current = { gen, key: new Uint8Array(key) };
    this.ahead = undefined;
  }
}
