/**
 * Streaming decoder for the helper link's length-prefixed frames (protocol/helper-framing.ts),
 * after mediasoup's `Channel`: bytes arrive in chunks of any size, a frame may span many chunks
 * and a chunk may hold many frames. It never throws into the stream's 'data' handler; everything
 * wrong is reported, either as a skipped frame (the stream stays in step) or as fatal (it is not).
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import {
  FrameKind,
  LENGTH_BYTES,
  MAX_VIDEO_FRAME_BYTES,
  readPictureBody,
  type PixelMove,
  type PixelRect,
  type VideoFrameHeader,
} from '../../protocol/helper-framing';
import { MAX_HELPER_JSON_BYTES } from '../../protocol/helper-link';

/** One video frame as it arrived: `frame` is kind byte + header + pixels, ready to relay as is. */
export interface DecodedVideoFrame {
  header: VideoFrameHeader;
  /** Set for a patch (kind 2): `pixels` then holds only these rows of the picture. */
  band?: { firstRow: number; rows: number };
  /** Set for changed rectangles (kind 3): `pixels` then holds each one's rows, in order. */
  rects?: PixelRect[];
  /** Blocks to copy within the picture before the rectangles are applied (kind 3). */
  moves?: PixelMove[];
  /** Tightly packed pixels (a view into `frame`, no copy). */
  pixels: Buffer;
  /** The frame without its length prefix: what the host bridge relays to the page. */
  frame: Buffer;
}

export interface FrameDecoderOptions {
  /** Whether video frames may arrive here: only the runner reads them (helper → runner). */
  acceptVideo: boolean;
  onJson(text: string): void;
  onVideo?(frame: DecodedVideoFrame): void;
  /** A frame was bad but its length was sane: it was skipped and decoding goes on. */
  onError(error: PairuxError): void;
  /** The length prefix cannot be trusted, so no later byte can be: the owner must close the link. */
  onFatal(error: PairuxError): void;
}

const KIND_OFFSET = LENGTH_BYTES;
const PREFIX_BYTES = LENGTH_BYTES + 1;
const JSON_FRAME_MAX = 1 + MAX_HELPER_JSON_BYTES;

type State =
  | { at: 'prefix' }
  /** Collecting a frame body into `body` (kind byte first); `filled` bytes so far. */
  | { at: 'body'; body: Buffer; filled: number }
  /** Discarding the rest of a frame that was already reported. */
  | { at: 'skip'; remaining: number };

export class FrameDecoder {
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixFilled = 0;
  private state: State = { at: 'prefix' };
  private failed = false;
  /** The largest length prefix this end will believe: beyond it, framing is lost. */
  private readonly maxFrameBytes: number;

  constructor(private readonly options: FrameDecoderOptions) {
    this.maxFrameBytes = options.acceptVideo ? Math.max(JSON_FRAME_MAX, MAX_VIDEO_FRAME_BYTES) : JSON_FRAME_MAX;
  }

  get broken(): boolean {
    return this.failed;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.failed) {
      const state = this.state;
      if (state.at === 'skip') {
        const n = Math.min(state.remaining, chunk.length - at);
        state.remaining -= n;
        at += n;
        if (state.remaining === 0) this.state = { at: 'prefix' };
        continue;
      }
      if (state.at === 'body') {
        const n = Math.min(state.body.length - state.filled, chunk.length - at);
        chunk.copy(state.body, state.filled, at, at + n);
        state.filled += n;
        at += n;
        if (state.filled === state.body.length) {
          this.state = { at: 'prefix' };
          this.deliver(state.body);
        }
        continue;
      }
      // Fast path: the whole prefix is in this chunk and nothing is half-read.
      if (this.prefixFilled === 0 && chunk.length - at >= PREFIX_BYTES) {
        at = this.begin(chunk.readUInt32LE(at), chunk[at + KIND_OFFSET]!, chunk, at);
        continue;
      }
      const n = Math.min(PREFIX_BYTES - this.prefixFilled, chunk.length - at);
      chunk.copy(this.prefix, this.prefixFilled, at, at + n);
      this.prefixFilled += n;
      at += n;
      if (this.prefixFilled === PREFIX_BYTES) {
        this.prefixFilled = 0;
        this.begin(this.prefix.readUInt32LE(0), this.prefix[KIND_OFFSET]!, undefined, 0);
      }
    }
  }

  /** The stream ended: a half-read frame is reported (the peer died or cut it short). */
  end(): void {
    if (this.failed) return;
    if (this.prefixFilled > 0 || this.state.at !== 'prefix') {
      const what = this.state.at === 'prefix' ? `${this.prefixFilled} bytes of a frame prefix` : 'a partial frame';
      this.options.onError(new PairuxError(ErrorCode.BadMessage, `link ended in the middle of ${what}`));
    }
    this.prefixFilled = 0;
    this.state = { at: 'prefix' };
  }

  /**
   * Starts a frame whose prefix has been read. When the frame lies wholly in `chunk` (from
   * `prefixAt`), it is delivered from there without a copy; returns where reading goes on.
   */
  private begin(length: number, kind: number, chunk: Buffer | undefined, prefixAt: number): number {
    const bodyAt = prefixAt + LENGTH_BYTES;
    const afterPrefix = prefixAt + PREFIX_BYTES;
    if (length < 1 || length > this.maxFrameBytes) {
      this.fail(length < 1 ? 'a frame with length 0 (no kind byte)' : `a frame of ${length} bytes, over the ${this.maxFrameBytes}-byte cap`);
      return chunk ? chunk.length : 0;
    }
    const problem = this.kindProblem(kind, length);
    if (problem) {
      this.options.onError(problem);
      this.state = length === 1 ? { at: 'prefix' } : { at: 'skip', remaining: length - 1 };
      return afterPrefix;
    }
    if (chunk && chunk.length - bodyAt >= length) {
      this.deliver(chunk.subarray(bodyAt, bodyAt + length));
      return bodyAt + length;
    }
    const body = Buffer.allocUnsafe(length);
    body[0] = kind;
    this.state = { at: 'body', body, filled: 1 };
    return afterPrefix;
  }

  private kindProblem(kind: number, length: number): PairuxError | undefined {
    if (kind === FrameKind.Json) {
      return length > JSON_FRAME_MAX
        ? new PairuxError(ErrorCode.TooLarge, `JSON frame of ${length - 1} bytes is over ${MAX_HELPER_JSON_BYTES}`, { limit: MAX_HELPER_JSON_BYTES })
        : undefined;
    }
    if (kind === FrameKind.Video || kind === FrameKind.Patch || kind === FrameKind.Rects) {
      return this.options.acceptVideo ? undefined : new PairuxError(ErrorCode.BadMessage, 'video frames only travel from the helper to the runner; skipped');
    }
    return new PairuxError(ErrorCode.BadMessage, `unknown frame kind ${kind} (${length} bytes); skipped`);
  }

  /** `body` is kind byte + payload. */
  private deliver(body: Buffer): void {
    if (body[0] === FrameKind.Json) {
      this.options.onJson(body.toString('utf8', 1));
      return;
    }
    try {
      const picture = readPictureBody(body);
      const frame: DecodedVideoFrame = { header: picture.header, pixels: body.subarray(picture.pixelsAt), frame: body };
      if (picture.band) frame.band = picture.band;
      if (picture.rects) frame.rects = picture.rects;
      if (picture.moves) frame.moves = picture.moves;
      this.options.onVideo?.(frame);
    } catch (err) {
      this.options.onError(
        new PairuxError(
          ErrorCode.BadMessage,
          `bad video ${body[0] === FrameKind.Patch ? 'patch' : body[0] === FrameKind.Rects ? 'rectangles' : 'frame'}: ${(err as Error).message}`,
        ),
      );
    }
  }

  private fail(what: string): void {
    this.failed = true;
    this.state = { at: 'prefix' };
    this.options.onFatal(new PairuxError(ErrorCode.BadMessage, `framing lost: ${what}`));
  }
}
