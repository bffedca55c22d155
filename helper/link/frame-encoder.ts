/**
 * Writes helper-link frames onto a byte stream (the helper's stdout, the runner's pipe to the
 * helper's stdin). JSON is small and never dropped. Video is big (8 MB at 1080p) and only the
 * newest picture matters, so it is written without copying the pixels (prefix and pixel buffer go
 * out together through `cork`/writev) and a new frame is dropped, and counted, while the previous
 * one is still in the stream's buffer: the queue is at most one frame, whatever the reader does.
 */
import type { Writable } from 'node:stream';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import {
  FrameKind,
  LENGTH_BYTES,
  PATCH_HEADER_BYTES,
  rectPixelBytes,
  rectsPrefixBytes,
  VIDEO_HEADER_BYTES,
  writePatchHeader,
  writeRectsHeader,
  writeVideoHeader,
  type PixelMove,
  type PixelRect,
  type VideoFrameHeader,
} from '../../protocol/helper-framing';
import { MAX_HELPER_JSON_BYTES } from '../../protocol/helper-link';

export interface FrameEncoderStats {
  jsonFrames: number;
  videoFrames: number;
  /** Video frames not written because the previous one had not been flushed yet. */
  videoDropped: number;
}

export const VIDEO_PREFIX_BYTES = LENGTH_BYTES + 1 + VIDEO_HEADER_BYTES;

/** Length prefix + kind byte + video header for a frame of `pixelBytes` pixels. */
export function videoPrefix(header: VideoFrameHeader, pixelBytes: number): Buffer {
  const prefix = Buffer.alloc(VIDEO_PREFIX_BYTES);
  prefix.writeUInt32LE(1 + VIDEO_HEADER_BYTES + pixelBytes, 0);
  prefix[LENGTH_BYTES] = FrameKind.Video;
  writeVideoHeader(new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength), LENGTH_BYTES + 1, header);
  return prefix;
}

/** One JSON frame as bytes; throws TOO_LARGE over the cap (the peer would drop the link). */
export function jsonFrame(text: string): Buffer {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_HELPER_JSON_BYTES) {
    throw new PairuxError(ErrorCode.TooLarge, `JSON message of ${bytes} bytes is over the link's ${MAX_HELPER_JSON_BYTES}`, { limit: MAX_HELPER_JSON_BYTES });
  }
  const frame = Buffer.allocUnsafe(LENGTH_BYTES + 1 + bytes);
  frame.writeUInt32LE(1 + bytes, 0);
  frame[LENGTH_BYTES] = FrameKind.Json;
  frame.write(text, LENGTH_BYTES + 1, 'utf8');
  return frame;
}

export class FrameEncoder {
  private videoInFlight = false;
  private stopped = false;
  readonly stats: FrameEncoderStats = { jsonFrames: 0, videoFrames: 0, videoDropped: 0 };

  constructor(private readonly out: Writable) {}

  /** Queues one JSON message (never dropped). Throws TOO_LARGE over the cap; false once stopped. */
  writeJson(text: string): boolean {
    const frame = jsonFrame(text);
    if (!this.writable()) return false;
    this.out.write(frame);
    this.stats.jsonFrames++;
    return true;
  }

  /**
   * Writes one video frame, or drops it (false) while the previous frame is still buffered.
   * The pixels may come as consecutive strips of rows (the capturer grabs in strips); they must
   * stay unchanged until written: the caller hands them over.
   */
  writeVideo(
    header: VideoFrameHeader,
    pixels: Buffer | readonly Buffer[],
    patch?: { firstRow: number; rows: number } | { rects: readonly PixelRect[]; moves?: readonly PixelMove[] },
  ): boolean {
    const parts = Buffer.isBuffer(pixels) ? [pixels] : pixels;
    const bytes = parts.reduce((n, p) => n + p.length, 0);
    const rects = patch && 'rects' in patch ? patch.rects : undefined;
    const moves = (patch && 'rects' in patch && patch.moves) || [];
    const band = patch && 'rows' in patch ? patch : undefined;
    const need = rects ? rectPixelBytes(rects) : header.width * (band ? band.rows : header.height) * 4;
    if (bytes !== need || (parts.length === 0 && need > 0)) {
      throw new Error(
        `video ${rects ? `rectangles (${rects.length})` : band ? 'patch' : 'frame'} of ${header.width}x${header.height} needs ${need} pixel bytes, got ${bytes}`,
      );
    }
    if (!this.writable()) return false;
    if (this.videoInFlight) {
      this.stats.videoDropped++;
      return false;
    }
    this.videoInFlight = true;
    this.stats.videoFrames++;
    this.out.cork();
    if (rects) {
      const head = rectsPrefixBytes(rects.length, moves.length);
      const prefix = Buffer.alloc(LENGTH_BYTES + 1 + head);
      prefix.writeUInt32LE(1 + head + bytes, 0);
      prefix[LENGTH_BYTES] = FrameKind.Rects;
      writeRectsHeader(new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength), LENGTH_BYTES + 1, header, rects, moves);
      if (parts.length === 0) {
        this.out.write(prefix, () => {
          this.videoInFlight = false;
        });
        this.out.uncork();
        return true;
      }
      this.out.write(prefix);
    } else if (band) {
      const prefix = Buffer.alloc(LENGTH_BYTES + 1 + PATCH_HEADER_BYTES);
      prefix.writeUInt32LE(1 + PATCH_HEADER_BYTES + bytes, 0);
      prefix[LENGTH_BYTES] = FrameKind.Patch;
      writePatchHeader(new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength), LENGTH_BYTES + 1, { ...header, ...band });
      if (parts.length === 0) {
        this.out.write(prefix, () => {
          this.videoInFlight = false;
        });
        this.out.uncork();
        return true;
      }
      this.out.write(prefix);
    } else {
      this.out.write(videoPrefix(header, bytes));
    }
    parts.forEach((part, i) => {
      if (i < parts.length - 1) this.out.write(part);
      else
        this.out.write(part, () => {
          this.videoInFlight = false;
        });
    });
    this.out.uncork();
    return true;
  }

  /** Whether a video frame is still waiting in the stream's buffer. */
  get videoBusy(): boolean {
    return this.videoInFlight;
  }

  /** Bytes queued in the stream and not yet handed to the OS. */
  get bufferedBytes(): number {
    return this.out.writableLength;
  }

  stop(): void {
    this.stopped = true;
  }

  private writable(): boolean {
    return !this.stopped && !this.out.destroyed && !this.out.writableEnded;
  }
}
