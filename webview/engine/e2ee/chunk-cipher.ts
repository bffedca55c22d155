/**
 * End-to-end encryption of direct video (issue 15): the host's WebCodecs chunks sealed once (every
 * guest gets the same ciphertext) before they are split onto the data channels, and opened on
 * each guest before its decoder. No packetizer reads them, so whole chunks of any codec are
 * sealed (frame-cipher.ts), and an encrypted session keeps direct video's latency. Sealing and
 * opening keep the chunks' order: a decoder must get them as they were encoded.
 */
import { FrameOpener, FrameSealer, type DropReason } from './frame-cipher';
import { frameKeyId, type ChainKey } from './key-chain';
import type { KeyTarget } from './key-target';
import type { E2eeStats } from './e2ee-transforms';

type StatsListener = (stats: E2eeStats) => void;

/** Durations kept for the timing figures (the last this many chunks each way). */
const TIMED = 256;

/** The p-th percentile of `values` (nearest rank), or 0 with none. */
function percentileOf(values: readonly number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function keep(into: number[], ms: number): void {
  into.push(ms);
  if (into.length > TIMED) into.shift();
}

export class ChunkCipher implements KeyTarget {
  private readonly sealer = new FrameSealer();
  private readonly opener = new FrameOpener();
  private keys: Promise<void> = Promise.resolve();
  private order: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<StatsListener>();
  private sealed = 0;
  private opened = 0;
  private readonly sealTimes: number[] = [];
  private readonly openTimes: number[] = [];

  setKeys(sending: ChainKey, receiving: readonly ChainKey[]): void {
    this.keys = this.keys.then(async () => {
      for (const k of receiving) await this.opener.addKey(frameKeyId(k.gen), k.key);
      await this.sealer.setKey(frameKeyId(sending.gen), sending.key);
    });
  }

  forget(): void {
    this.keys = this.keys.then(() => this.opener.clear());
  }

  /** The chunk sealed under the current key, in the order asked; undefined while there is no key (nothing goes out in clear). */
  seal(chunk: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const asked = performance.now();
    const done = this.order.then(async () => {
      await this.keys;
      if (this.sealer.keyId === undefined) return undefined;
      const out = await this.sealer.seal(chunk);
      this.sealed++;
      keep(this.sealTimes, performance.now() - asked);
      return out;
    });
    this.order = done.catch(() => undefined);
    return done;
  }

  /** The chunk as it was before sealing, or undefined when it does not open (counted by reason), in the order asked. */
  open(sealed: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const asked = performance.now();
    const done = this.order.then(async () => {
      await this.keys;
      const result = await this.opener.open(sealed);
      if ('frame' in result) {
        this.opened++;
        keep(this.openTimes, performance.now() - asked);
      }
      this.report();
      return 'frame' in result ? result.frame : undefined;
    });
    this.order = done.catch(() => undefined);
    return done;
  }

  /** Called after each chunk opened or dropped, with the totals; returns the unsubscribe (as E2eeTransforms' worker reports). */
  onStats(listener: StatsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The counts, and how long chunks waited to be sealed and opened (sorted here, so not per chunk). */
  stats(): E2eeStats {
    return {
      ...this.counts(),
      chunkMs: {
        sealP50: percentileOf(this.sealTimes, 50),
        sealP95: percentileOf(this.sealTimes, 95),
        openP50: percentileOf(this.openTimes, 50),
        openP95: percentileOf(this.openTimes, 95),
      },
    };
  }

  private counts(): E2eeStats {
    return {
      sealed: this.sealed,
      opened: this.opened,
      dropped: { ...this.opener.dropped } as Record<DropReason, number>,
      ...(this.opener.lastOpenedKeyId === undefined ? {} : { lastOpenedKeyId: this.opener.lastOpenedKeyId }),
      ...(this.opener.lastMissingKeyId === undefined ? {} : { lastMissingKeyId: this.opener.lastMissingKeyId }),
    };
  }

  /** After every chunk: the counts only (the key holder reads them), no sorting of timings per chunk. */
  private report(): void {
    if (!this.listeners.size) return;
    const now = this.counts();
    for (const l of this.listeners) l(now);
  }
}
