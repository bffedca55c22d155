/**
 * The SFU path's keys (issue 15): livekit-client's own E2EE (its worker encrypts every frame of
 * the screen track and every data packet, so LiveKit forwards neither pixels nor keystrokes it can
 * read), fed from PairUX's key schedule instead of a passphrase. Each generation sits in
 * LiveKit's key ring at `gen % 16`, so frames under the previous key still open while the next is
 * taken up. The material is derived from the media key (`sfuKeyBytes`), never the key itself.
 *
 * As with ExternalE2EEKeyProvider: one shared key for everyone, no auto-ratchet on a failure, no
 * key ever marked invalid (a wrong key stays wrong; the page says so instead).
 */
import { BaseKeyProvider, createKeyMaterialFromBuffer } from 'livekit-client';
import type { ChainKey } from './key-chain';
import type { KeyTarget } from './key-target';
import { sfuKeyBytes } from './media-keys';

/** LiveKit's key ring size (its default): generations map onto it modulo this. */
export const SFU_KEY_RING = 16;

export function sfuKeyIndex(gen: number): number {
  return gen % SFU_KEY_RING;
}

export class SfuKeyRing extends BaseKeyProvider implements KeyTarget {
  /** Key updates run in order: LiveKit takes the last key set as the one it encrypts with. */
  private queue: Promise<void> = Promise.resolve();
  /** Whatever was set last, for a room that joins later (its manager reads `getKeys()`). */
  latest: { sending: ChainKey; receiving: readonly ChainKey[] } | undefined;
  private readonly hostGenListeners = new Set<(gen: number) => void>();
  private readonly sendingListeners = new Set<(gen: number) => void>();
  private sendingGen: number | undefined;

  constructor() {
    super({ sharedKey: true, ratchetWindowSize: 0, failureTolerance: -1, keyringSize: SFU_KEY_RING });
  }

  setKeys(sending: ChainKey, receiving: readonly ChainKey[]): void {
    this.latest = { sending, receiving };
    // The sending key last: each key set with an index becomes the one LiveKit encrypts with.
    const order = [...receiving.filter((k) => k.gen !== sending.gen), sending];
    this.queue = this.queue
      .then(async () => {
        for (const k of order) {
          const material = await createKeyMaterialFromBuffer((await sfuKeyBytes(k.key)).buffer);
          this.onSetEncryptionKey(material, undefined, sfuKeyIndex(k.gen));
        }
        if (sending.gen === this.sendingGen) return;
        this.sendingGen = sending.gen;
        for (const listener of this.sendingListeners) listener(sending.gen);
      })
      .catch(() => undefined);
  }

  /** The generation LiveKit now encrypts with, once it has the key (undefined before any). */
  get sending(): number | undefined {
    return this.sendingGen;
  }

  /** Host: each new sending generation, once LiveKit encrypts with it (to announce to guests). */
  onSending(listener: (gen: number) => void): () => void {
    this.sendingListeners.add(listener);
    return () => this.sendingListeners.delete(listener);
  }

  /** Guest: the host said it sends under `gen` (its encrypted data, which only opened with a key held here). */
  hostAt(gen: number): void {
    for (const listener of this.hostGenListeners) listener(gen);
  }

  onHostGeneration(listener: (gen: number) => void): () => void {
    this.hostGenListeners.add(listener);
    return () => this.hostGenListeners.delete(listener);
  }

  /** Every key slot gets a random key nobody holds: nothing opens any more. */
  forget(): void {
    this.queue = this.queue.then(async () => {
      for (let i = 0; i < SFU_KEY_RING; i++) {
        const material = await createKeyMaterialFromBuffer(globalThis.crypto.getRandomValues(new Uint8Array(32)).buffer);
        this.onSetEncryptionKey(material, undefined, i);
      }
    });
  }

  /** Resolves once every key set so far is in LiveKit's hands. */
  settled(): Promise<void> {
    return this.queue;
  }
}
