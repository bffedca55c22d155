/**
 * Boundary: the demo runner → its host page, screen frames only (the JSON of the host bridge stays
 * on the WebSocket, protocol/host-bridge.ts). One long HTTP response the page reads with fetch:
 * each message is a 4-byte big-endian length, then the message (kind byte + header + pixels, as
 * in helper-framing.ts). The runner writes the next only once the page has said `frame.taken`
 * on the WebSocket, so the stream holds at most one message.
 *
 * Why not binary WebSocket messages, as before: a page driven through the DevTools protocol (the
 * demo's and the benches' headless host, under Playwright) has every WebSocket message copied,
 * base64-encoded, into a DevTools event. Measured here, 60 messages of 4 MB (a scrolling 1080p
 * screen's patches): 5.3 s and 1.6 s of the driver's CPU over a WebSocket, 0.8 s in a Chromium
 * not driven; 1.3 s as this stream under Playwright (DevTools reports only the byte counts).
 */
import { ErrorCode, PairuxError } from './errors';
import { MAX_VIDEO_FRAME_BYTES } from './helper-framing';

export const FRAME_STREAM_PATH = '/bridge/frames';
export const FRAME_LENGTH_BYTES = 4;

/** The stream's URL for a bridge WebSocket URL (same host, port and key). */
export function frameStreamUrl(bridgeUrl: string): string {
  const url = new URL(bridgeUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = FRAME_STREAM_PATH;
  return url.toString();
}

/** The length prefix of one message. */
export function frameLengthPrefix(length: number): Uint8Array {
  const prefix = new Uint8Array(FRAME_LENGTH_BYTES);
  new DataView(prefix.buffer).setUint32(0, length);
  return prefix;
}

/**
 * Cuts the stream back into messages, whatever its chunks: a message may span many chunks and a
 * chunk may hold several. Each message is handed over as an ArrayBuffer of its own. A length of 0
 * or beyond MAX_VIDEO_FRAME_BYTES means the stream cannot be trusted: `push` throws and every
 * later push too.
 */
export class FrameStreamSplitter {
  private readonly prefix = new Uint8Array(FRAME_LENGTH_BYTES);
  private prefixFilled = 0;
  private body: Uint8Array | undefined;
  private filled = 0;
  private failed: PairuxError | undefined;

  constructor(private readonly onMessage: (message: ArrayBuffer) => void) {}

  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    let at = 0;
    while (at < chunk.byteLength) {
      if (!this.body) {
        const take = Math.min(FRAME_LENGTH_BYTES - this.prefixFilled, chunk.byteLength - at);
        this.prefix.set(chunk.subarray(at, at + take), this.prefixFilled);
        this.prefixFilled += take;
        at += take;
        if (this.prefixFilled < FRAME_LENGTH_BYTES) return;
        this.prefixFilled = 0;
        const length = new DataView(this.prefix.buffer).getUint32(0);
        if (length === 0 || length > MAX_VIDEO_FRAME_BYTES) {
          this.failed = new PairuxError(ErrorCode.BadMessage, `frame stream: a message of ${length} bytes (1 to ${MAX_VIDEO_FRAME_BYTES} allowed)`);
          throw this.failed;
        }
        this.body = new Uint8Array(length);
        this.filled = 0;
        continue;
      }
      const take = Math.min(this.body.byteLength - this.filled, chunk.byteLength - at);
      this.body.set(chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.body.byteLength) {
        const done = this.body;
        this.body = undefined;
        this.onMessage(done.buffer as ArrayBuffer);
      }
    }
  }

  /** Bytes of a message still expected (0 between messages): a stream that ends mid-message was cut. */
  get partial(): number {
    return this.body ? this.body.byteLength - this.filled : this.prefixFilled;
  }
}
