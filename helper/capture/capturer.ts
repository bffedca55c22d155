/**
 * What every capture backend offers the service: robotjs sampling (screen-capturer.ts) and X11
 * damage (x11-damage-capturer.ts) alike, so service.ts does not care which one runs.
 */
import type { PixelMove, PixelRect, VideoFrameHeader } from '../../protocol/helper-framing';
import type { CaptureRegion } from '../../protocol/helper-link';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface CaptureSettings {
  fps: number;
  region?: CaptureRegion | undefined;
  drawCursor: boolean;
  idleFps: number;
  /** Send only the rectangles that changed since the last frame sent (after a full frame). */
  patches?: boolean;
}

/** Where frames go: the link to the runner, or the loopback WebSocket. */
export interface FrameOutlet {
  /**
   * Whether a frame handed over now would be taken. While the previous frame is still being
   * written the capturer does not even grab: a helper busy grabbing frames it must drop starves
   * the very event loop that writes the pending one out (measured: 1440p at 60 fps fell to under
   * 2 fps received that way).
   */
  ready(): boolean;
  /**
   * Takes a frame (its pixels as consecutive strips of rows); false when it was not delivered
   * after all. With `patch`, `strips` are only the pixels of `patch.rects`, one after another.
   */
  send(header: VideoFrameHeader, strips: Buffer[], patch?: { rects: PixelRect[]; moves?: PixelMove[] }): boolean;
}

export interface CaptureStats {
  /** Grabs taken. */
  grabbed: number;
  /** Frames handed to the outlet and taken. */
  sent: number;
  /** Grabs equal to the last frame sent, not sent (idle pacing). */
  unchanged: number;
  /** Ticks skipped because the outlet was still busy with the previous frame (backpressure). */
  busy: number;
  /** Changes seen too soon after the last frame sent (the rate cap); they go out on a later sample. */
  held: number;
  /** Frames the outlet refused after the grab. */
  dropped: number;
  /** Ticks skipped because a tick overran its interval. */
  late: number;
  errors: number;
  /** Mean time grabbing one frame (all strips, or all damaged rectangles), ms. */
  grabMs: number;
  /** Mean CPU time of a tick (grab, compare, cursor, hand-off; not the pauses between strips), ms. */
  tickMs: number;
  /** X11 only: DAMAGE events received. */
  damageEvents?: number;
  /** X11 only: pixels read from the X server, in millions (whole screens count 1920 × 1080 = 2.07). */
  megapixelsRead?: number;
  /** X11 only: frames that carried a scroll as moves (the receiver copies within its picture). */
  scrolled?: number;
  /** X11 only: pixels those moves carried instead of sending them, in millions. */
  megapixelsMoved?: number;
}

export interface Capturer {
  readonly running: boolean;
  /** The screen rectangle being shared; normalised input coordinates map onto it. */
  readonly target: Rect | undefined;
  /** Starts (or restarts with new settings); rejects with BAD_MESSAGE when the region is off screen. */
  start(settings: CaptureSettings): { width: number; height: number; fps: number } | Promise<{ width: number; height: number; fps: number }>;
  stop(): CaptureStats;
  /** The next frame is whole and goes out even if nothing changed (a viewer just connected). */
  requestFrame(): void;
  /** While paused nothing is grabbed or sent (nobody is watching the WebSocket). */
  setPaused(paused: boolean): void;
  stats(): CaptureStats;
  /** The helper itself just moved the pointer (a driver's input): a capturer that polls for it may look now. */
  pointerMoved?(): void;
}
