/**
 * The host's only input: raw frames from somewhere (the native helper's BGRX grabs, or the
 * generated stand-in). Nothing here assumes a canvas, so the helper's byte path plugs in as is.
 */

/** 4 bytes per pixel, the 4th ignored; the helper (robotjs) delivers BGRX. */
export type RawPixelFormat = 'BGRX' | 'RGBX';

export interface RawFrame {
  format: RawPixelFormat;
  width: number;
  height: number;
  /**
   * Tightly packed rows (stride = width × 4). Valid only during the sink call: sources may reuse
   * the buffer for the next frame, so a consumer that keeps the pixels must copy them
   * (`new VideoFrame(data, …)` copies).
   */
  data: Uint8Array | ArrayBuffer;
  /** µs, monotonic (performance.now() × 1000 on the same clock as the page): VideoFrame timestamp. */
  timestamp: number;
  /** ms since the epoch, `performance.timeOrigin + performance.now()` when the pixels were grabbed. */
  captureTime: number;
  /** Source's frame sequence number, from 0; a painted frame marker carries `seq & 0xffff`. */
  seq: number;
}

export interface FrameSourceInfo {
  /** Nominal size and rate; individual frames carry their own size (a screen can be resized). */
  width: number;
  height: number;
  fps: number;
  /** Short label for logs and `peer.screen.source`, e.g. 'generated' or 'helper'. */
  name: string;
}

export type FrameSink = (frame: RawFrame) => void;

export interface FrameSource {
  readonly info: FrameSourceInfo;
  readonly running: boolean;
  /** Begin delivering frames to `sink` (one sink; starting again replaces it). */
  start(sink: FrameSink): void;
  stop(): void;
}

export const BYTES_PER_PIXEL = 4;

/** ms on the epoch-aligned clock every PairUX timestamp uses (monotonic within a page). */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
