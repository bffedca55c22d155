/**
 * Where a page's media keys go: the P2P encoded-transform worker (e2ee-transforms.ts) or
 * LiveKit's key provider on the SFU path (sfu-key-ring.ts). During a move between the two both
 * hold the same keys, so the session stays encrypted under one key schedule throughout.
 */
import type { ChainKey } from './key-chain';

export interface KeyTarget {
  /**
   * Frames and data go out under `sending`; every key in `receiving` (which includes `sending`)
   * opens what arrives. Each call replaces what the last one said.
   */
  setKeys(sending: ChainKey, receiving: readonly ChainKey[]): void;
  /** Nothing opens any more (the page was removed, or left). */
  forget(): void;
  /**
   * A target that hears the host name its sending generation (LiveKit's ring, from the host's
   * encrypted data) tells the key holder here; returns the unsubscribe.
   */
  onHostGeneration?(listener: (gen: number) => void): () => void;
}
