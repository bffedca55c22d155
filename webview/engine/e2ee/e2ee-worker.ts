/**
 * The encoded-transform worker of an end-to-end encrypted P2P session (issue 15): every video
 * frame a sender encodes is sealed (frame-cipher.ts) before packetization, every frame a receiver
 * reassembles is opened before decoding; a frame that does not open is dropped, never decoded.
 * One worker serves all of a page's transforms; the page gives it keys by message, never the
 * server.
 *
 * Messages in: `{ type: 'key', keyId, key }` (a 32-byte media key; senders switch to it, receivers
 * add it to the keys they keep), `{ type: 'receive-key', keyId, key }` (receivers only: a key the
 * sender may move to), `{ type: 'forget' }` (receivers drop every key: removed or left).
 * Out: `{ type: 'stats', sealed, opened, dropped, lastOpenedKeyId, lastMissingKeyId }` every 250 ms while frames flow.
 */
import { FrameOpener, FrameSealer, type DropReason } from './frame-cipher';

interface TransformOptions {
  kind: 'encode' | 'decode';
  /** The negotiated codec's MIME type (video/VP8…), when the page knows it. */
  mimeType?: string;
}

interface EncodedFrame {
  data: ArrayBuffer;
  type?: 'key' | 'delta' | 'empty';
  getMetadata?(): { mimeType?: string; rtpTimestamp?: number; synchronizationSource?: number };
}

/**
 * Chromium's receiver hands a transform the same frame again when retransmitted packets complete
 * it a second time (measured: one delta frame delivered 8 times within 10 ms, same RTP timestamp
 * and bytes). Dropping those as replays left holes its frame buffer waited on (freezes, 90 ms of
 * processing delay at 1080p30); passed on, they are deduplicated there as without E2EE. So the
 * last frames opened are kept by (SSRC, RTP timestamp, size), and only an identical re-delivery
 * gets the same plaintext again: any other repeat is still a replay, dropped. (RTP headers are
 * authenticated hop by hop by SRTP; peer to peer, that hop is the host.)
 */
const REDELIVERY_CACHE = 64;
const recentlyOpened = new Map<string, ArrayBuffer>();
let redelivered = 0;

function redeliveryKey(frame: EncodedFrame): string | undefined {
  const meta = frame.getMetadata?.();
  if (meta?.rtpTimestamp === undefined) return undefined;
  return `${meta.synchronizationSource ?? 0}:${meta.rtpTimestamp}:${frame.data.byteLength}`;
}

interface RtcTransformEvent extends Event {
  transformer: { readable: ReadableStream<EncodedFrame>; writable: WritableStream<EncodedFrame>; options: TransformOptions };
}

const scope = globalThis as unknown as {
  onrtctransform: ((e: RtcTransformEvent) => void) | null;
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

const sealer = new FrameSealer();
const opener = new FrameOpener();
let sealed = 0;
let opened = 0;
let reportedAt = 0;
/** Key setting is async; frames wait for the key in flight rather than go out sealed under the old one or not at all. */
let keyReady: Promise<void> = Promise.resolve();

/** VP8's packetizer reads its payload header from the frame: 10 bytes of a key frame, 3 of others. */
function clearBytes(frame: EncodedFrame, options: TransformOptions): number {
  const mime = (frame.getMetadata?.().mimeType ?? options.mimeType ?? '').toLowerCase();
  if (mime === 'video/vp8') return frame.type === 'key' ? 10 : 3;
  return 0;
}

/** Every 250 ms while frames flow: the page follows the sender's key ids from these (a ratchet step, a key it lacks). */
function report(): void {
  const now = Date.now();
  if (now - reportedAt < 250) return;
  reportedAt = now;
  scope.postMessage({
    type: 'stats',
    sealed,
    opened,
    dropped: { ...opener.dropped } as Record<DropReason, number>,
    redelivered,
    lastOpenedKeyId: opener.lastOpenedKeyId,
    lastMissingKeyId: opener.lastMissingKeyId,
  });
}

scope.onmessage = (e: MessageEvent) => {
  const m = e.data as { type?: string; keyId?: number; key?: ArrayBuffer };
  if ((m?.type === 'key' || m?.type === 'receive-key') && typeof m.keyId === 'number' && m.key instanceof ArrayBuffer && m.key.byteLength === 32) {
    const key = new Uint8Array(m.key);
    const id = m.keyId;
    const sending = m.type === 'key';
    keyReady = keyReady.then(() => Promise.all([sending ? sealer.setKey(id, key) : undefined, opener.addKey(id, key)]).then(() => undefined));
  } else if (m?.type === 'forget') {
    keyReady = keyReady.then(() => opener.clear());
  }
};

scope.onrtctransform = (event: RtcTransformEvent) => {
  const { readable, writable, options } = event.transformer;
  const transform = new TransformStream<EncodedFrame, EncodedFrame>({
    async transform(frame, controller) {
      await keyReady;
      if (options.kind === 'encode') {
        // No key yet: nothing goes out rather than a clear frame.
        if (sealer.keyId === undefined || frame.data.byteLength === 0) return;
        frame.data = (await sealer.seal(new Uint8Array(frame.data), clearBytes(frame, options))).buffer;
        sealed++;
        controller.enqueue(frame);
      } else {
        const again = redeliveryKey(frame);
        const cached = again === undefined ? undefined : recentlyOpened.get(again);
        if (cached) {
          frame.data = cached.slice(0);
          redelivered++;
          controller.enqueue(frame);
          report();
          return;
        }
        const result = await opener.open(new Uint8Array(frame.data));
        if ('frame' in result) {
          if (again !== undefined) {
            recentlyOpened.set(again, result.frame.buffer.slice(0));
            if (recentlyOpened.size > REDELIVERY_CACHE) recentlyOpened.delete(recentlyOpened.keys().next().value!);
          }
          frame.data = result.frame.buffer;
          opened++;
          controller.enqueue(frame);
        }
      }
      report();
    },
  });
  void readable
    .pipeThrough(transform)
    .pipeTo(writable)
    .catch(() => undefined);
};
