/**
 * The page's side of P2P end-to-end encryption: one worker (e2ee-worker.ts) for every sender
 * and receiver of the page, attached as RTCRtpScriptTransforms, and given keys by message.
 */
import type { DropReason } from './frame-cipher';
import { frameKeyId, type ChainKey } from './key-chain';
import type { KeyTarget } from './key-target';

export interface E2eeStats {
  sealed: number;
  opened: number;
  dropped: Record<DropReason, number>;
  /** Frames the receiver was handed again (same SSRC, RTP timestamp and size) and passed on as the first time, not as replays. */
  redelivered?: number;
  /** The frame key id (generation % 256) of the last frame that opened / that named a key this page lacks. */
  lastOpenedKeyId?: number;
  lastMissingKeyId?: number;
  /** Direct video: ms from a chunk handed over to sealed / opened (the wait in line included), over the last chunks. */
  chunkMs?: { sealP50: number; sealP95: number; openP50: number; openP95: number };
}

type StatsListener = (stats: E2eeStats) => void;

/** Both paths' counts as one (RTP frames through the worker, direct video's chunks); the key ids are the first path's that has them. */
export function sumE2eeStats(...all: Array<E2eeStats | undefined>): E2eeStats {
  const out: E2eeStats = { sealed: 0, opened: 0, dropped: { 'no key': 0, tampered: 0, replayed: 0, truncated: 0, 'not encrypted': 0 } };
  for (const s of all) {
    if (!s) continue;
    out.sealed += s.sealed;
    out.opened += s.opened;
    for (const [reason, n] of Object.entries(s.dropped) as Array<[DropReason, number]>) out.dropped[reason] += n;
    if (s.redelivered) out.redelivered = (out.redelivered ?? 0) + s.redelivered;
    out.chunkMs ??= s.chunkMs;
    out.lastOpenedKeyId ??= s.lastOpenedKeyId;
    out.lastMissingKeyId ??= s.lastMissingKeyId;
  }
  return out;
}

/** Whether this browser can encrypt P2P video end to end (encoded transforms in a worker). */
export function canEncryptP2p(): boolean {
  return typeof (globalThis as { RTCRtpScriptTransform?: unknown }).RTCRtpScriptTransform === 'function' && typeof Worker === 'function';
}

type ScriptTransformCtor = new (worker: Worker, options: unknown) => unknown;

/** What the media engines need of end-to-end encryption: transforms on their RTP senders and receivers. */
export interface MediaEncryption {
  attachSender(sender: RTCRtpSender, mimeType?: string): void;
  attachReceiver(receiver: RTCRtpReceiver, mimeType?: string): void;
}

export class E2eeTransforms implements MediaEncryption, KeyTarget {
  private readonly worker: Worker;
  private readonly listeners = new Set<StatsListener>();
  private latest: E2eeStats = { sealed: 0, opened: 0, dropped: { 'no key': 0, tampered: 0, replayed: 0, truncated: 0, 'not encrypted': 0 } };
  closed = false;

  /** `workerUrl`: the bundled e2ee-worker.js, served beside the page. */
  constructor(workerUrl: string) {
    this.worker = new Worker(workerUrl, { type: 'module', name: 'pairux-e2ee' });
    this.worker.onmessage = (e: MessageEvent) => {
      const m = e.data as { type?: string } & E2eeStats;
      if (m?.type !== 'stats') return;
      this.latest = {
        sealed: m.sealed,
        opened: m.opened,
        dropped: m.dropped,
        ...(m.redelivered ? { redelivered: m.redelivered } : {}),
        ...(m.lastOpenedKeyId === undefined ? {} : { lastOpenedKeyId: m.lastOpenedKeyId }),
        ...(m.lastMissingKeyId === undefined ? {} : { lastMissingKeyId: m.lastMissingKeyId }),
      };
      for (const listener of this.listeners) listener(this.stats());
    };
  }

  private transform(kind: 'encode' | 'decode', mimeType?: string): unknown {
    const Ctor = (globalThis as unknown as { RTCRtpScriptTransform: ScriptTransformCtor }).RTCRtpScriptTransform;
    return new Ctor(this.worker, { kind, ...(mimeType ? { mimeType } : {}) });
  }

  /** Seals everything `sender` sends from now on. */
  attachSender(sender: RTCRtpSender, mimeType?: string): void {
    (sender as unknown as { transform: unknown }).transform = this.transform('encode', mimeType);
  }

  /** Opens everything `receiver` gets; what does not open is dropped before the decoder. */
  attachReceiver(receiver: RTCRtpReceiver, mimeType?: string): void {
    (receiver as unknown as { transform: unknown }).transform = this.transform('decode', mimeType);
  }

  /** Senders switch to this key; receivers keep it beside the last few. */
  setKey(keyId: number, key: Uint8Array): void {
    const copy = new Uint8Array(key).buffer;
    this.worker.postMessage({ type: 'key', keyId, key: copy }, [copy]);
  }

  /** Receivers keep this key beside the others (the next generation, before the sender moves to it); senders do not switch. */
  addReceiveKey(keyId: number, key: Uint8Array): void {
    const copy = new Uint8Array(key).buffer;
    this.worker.postMessage({ type: 'receive-key', keyId, key: copy }, [copy]);
  }

  setKeys(sending: ChainKey, receiving: readonly ChainKey[]): void {
    for (const k of receiving) if (k.gen !== sending.gen) this.addReceiveKey(frameKeyId(k.gen), k.key);
    this.setKey(frameKeyId(sending.gen), sending.key);
  }

  forget(): void {
    this.forgetKeys();
  }

  /** Receivers forget every key (this page was removed, or left). */
  forgetKeys(): void {
    this.worker.postMessage({ type: 'forget' });
  }

  /** Called with each report of the worker (every 250 ms while frames flow); returns the unsubscribe. */
  onStats(listener: StatsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The worker's counts as of its last report. */
  stats(): E2eeStats {
    return { ...this.latest, dropped: { ...this.latest.dropped } };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker.terminate();
  }
}
