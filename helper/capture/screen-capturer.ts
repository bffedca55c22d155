/**
 * The capture loop: grab the screen (or a region) at the requested rate, skip frames that show
 * nothing new (except `idleFps` of them, so a viewer who just arrived gets a picture), draw the
 * pointer, and hand each frame to an outlet (the link or the loopback WebSocket).
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { VideoFrameHeader } from '../../protocol/helper-framing';
import type { CaptureRegion } from '../../protocol/helper-link';
import { drawCursor, type CursorStamp } from './cursor';
import { Pacer } from './pacer';
import { sameScreen, tightPixels, type GrabbedImage } from './pixels';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The OS side of capture; robotjs in the helper, a fake in unit tests. */
export interface ScreenGrabber {
  screenSize(): { width: number; height: number };
  grab(rect: Rect, whole: boolean): GrabbedImage;
  pointer(): { x: number; y: number };
}

export interface CaptureSettings {
  fps: number;
  region?: CaptureRegion | undefined;
  drawCursor: boolean;
  idleFps: number;
}

/** Takes a frame; false when it was not delivered (previous one still in flight, nobody watching). */
export type FrameOutlet = (header: VideoFrameHeader, pixels: Buffer) => boolean;

export interface CaptureStats {
  /** Grabs taken. */
  grabbed: number;
  /** Frames handed to the outlet and taken. */
  sent: number;
  /** Grabs equal to the last frame sent, not sent (idle pacing). */
  unchanged: number;
  /** Frames the outlet refused (backpressure). */
  dropped: number;
  /** Ticks skipped because a tick overran its interval. */
  late: number;
  errors: number;
  /** Mean time of one grab (robotjs), ms. */
  grabMs: number;
  /** Mean time of a whole tick (grab, compare, cursor, hand-off), ms. */
  tickMs: number;
}

/** After this many failed grabs in a row capture stops and says so (fatal). */
const MAX_CONSECUTIVE_ERRORS = 30;

export class ScreenCapturer {
  private pacer: Pacer | undefined;
  private settings: CaptureSettings | undefined;
  private rect: Rect | undefined;
  private whole = true;
  private seq = 0;
  private prev: { pixels: Buffer; stamp: CursorStamp | null; pointer: string } | undefined;
  private lastSentAt = -Infinity;
  private forceNext = false;
  private paused = false;
  private consecutiveErrors = 0;
  private counts = { grabbed: 0, sent: 0, unchanged: 0, dropped: 0, errors: 0, grabMs: 0, tickMs: 0 };

  constructor(
    private readonly grabber: ScreenGrabber,
    private readonly outlet: FrameOutlet,
    private readonly onError: (message: string, fatal: boolean) => void,
  ) {}

  get running(): boolean {
    return this.pacer !== undefined;
  }

  /** The screen rectangle being shared; normalised input coordinates map onto it. */
  get target(): Rect | undefined {
    return this.rect;
  }

  /** Starts (or restarts with new settings); throws BAD_MESSAGE when the region is off screen. */
  start(settings: CaptureSettings): { width: number; height: number; fps: number } {
    this.stop();
    const screen = this.grabber.screenSize();
    const r = settings.region;
    if (r && (r.x + r.width > screen.width || r.y + r.height > screen.height)) {
      throw new PairuxError(ErrorCode.BadMessage, `region ${r.width}x${r.height}+${r.x}+${r.y} is outside the ${screen.width}x${screen.height} screen`, { screen });
    }
    this.settings = settings;
    this.whole = !r;
    this.rect = r ? { ...r } : { x: 0, y: 0, width: screen.width, height: screen.height };
    this.counts = { grabbed: 0, sent: 0, unchanged: 0, dropped: 0, errors: 0, grabMs: 0, tickMs: 0 };
    this.prev = undefined;
    this.lastSentAt = -Infinity;
    this.consecutiveErrors = 0;
    this.pacer = new Pacer(settings.fps, () => this.tick());
    this.pacer.start();
    return { width: this.rect.width, height: this.rect.height, fps: settings.fps };
  }

  stop(): CaptureStats {
    const stats = this.stats();
    this.pacer?.stop();
    this.pacer = undefined;
    this.prev = undefined;
    return stats;
  }

  /** The next tick sends a frame even if nothing changed (a viewer just connected). */
  requestFrame(): void {
    this.forceNext = true;
  }

  /** While paused no grabs are taken (nobody is watching the WebSocket). */
  setPaused(paused: boolean): void {
    this.paused = paused;
  }

  stats(): CaptureStats {
    const c = this.counts;
    return {
      grabbed: c.grabbed,
      sent: c.sent,
      unchanged: c.unchanged,
      dropped: c.dropped,
      late: this.pacer?.skipped ?? 0,
      errors: c.errors,
      grabMs: c.grabbed ? c.grabMs / c.grabbed : 0,
      tickMs: c.grabbed ? c.tickMs / c.grabbed : 0,
    };
  }

  private tick(): void {
    const settings = this.settings;
    const rect = this.rect;
    if (!settings || !rect || this.paused) return;
    const t0 = performance.now();
    let pixels: Buffer;
    try {
      const img = this.grabber.grab(rect, this.whole);
      if (img.width !== rect.width || img.height !== rect.height) {
        throw new Error(`the grab is ${img.width}x${img.height}, expected ${rect.width}x${rect.height} (did the screen size change?)`);
      }
      pixels = tightPixels(img);
      this.consecutiveErrors = 0;
    } catch (err) {
      this.grabFailed(err);
      return;
    }
    const t1 = performance.now();
    this.counts.grabbed++;
    this.counts.grabMs += t1 - t0;
    const p = settings.drawCursor ? this.grabber.pointer() : undefined;
    const pointer = p ? `${p.x - rect.x},${p.y - rect.y}` : '';
    const prev = this.prev;
    const unchanged = prev !== undefined && prev.pointer === pointer && sameScreen(pixels, prev.pixels, rect.width, prev.stamp);
    // Half a tick of slack: ticks jitter by a millisecond, and idleFps = fps must mean every tick.
    const idleDue = t0 - this.lastSentAt >= 1000 / settings.idleFps - 500 / settings.fps;
    if (unchanged && !this.forceNext && !idleDue) {
      this.counts.unchanged++;
      this.counts.tickMs += performance.now() - t0;
      return;
    }
    const stamp = p ? drawCursor(pixels, rect.width, rect.height, p.x - rect.x, p.y - rect.y) : null;
    const header: VideoFrameHeader = {
      seq: this.seq,
      width: rect.width,
      height: rect.height,
      format: 'BGRX',
      captureTime: performance.timeOrigin + t0,
    };
    if (this.outlet(header, pixels)) {
      this.seq = (this.seq + 1) >>> 0;
      this.counts.sent++;
      this.prev = { pixels, stamp, pointer };
      this.lastSentAt = t0;
      this.forceNext = false;
    } else {
      this.counts.dropped++;
    }
    this.counts.tickMs += performance.now() - t0;
  }

  private grabFailed(err: unknown): void {
    this.counts.errors++;
    this.consecutiveErrors++;
    const message = `screen grab failed: ${(err as Error).message ?? String(err)}`;
    if (this.consecutiveErrors >= MAX_CONSECUTIVE_ERRORS) {
      this.stop();
      this.onError(`${message}; capture stopped after ${MAX_CONSECUTIVE_ERRORS} failures in a row`, true);
    } else if (this.consecutiveErrors === 1) {
      this.onError(message, false);
    }
  }
}
