/**
 * The capture loop: grab the screen (or a region) at the requested rate, skip frames that show
 * nothing new (except `idleFps` of them, so a viewer who just arrived gets a picture), draw the
 * pointer, and hand each frame to an outlet (the link or the loopback WebSocket).
 *
 * A grab is a synchronous XGetImage (≈ 5–10 ms at 1080p, more at 1440p) on the event loop that
 * also injects the driver's input. So a frame is grabbed in horizontal strips of about 0.5 MB with
 * the event loop let through between them: input waits for one strip, not one screen. The strips
 * travel as they are (writev), never copied into one buffer.
 *
 * While the screen is changing it is sampled at twice the frame rate (up to 60 Hz), and a change
 * goes out on the first sample that sees it, as long as the previous frame went out at least 0.6
 * of a frame interval before: the wait for the next sample is halved (≈ 8 ms instead of ≈ 17 on
 * average at 30 fps) while the page still gets no more than about `fps` frames a second. A still
 * screen is sampled at `fps`, so it costs no more than before.
 *
 * The screen's size is looked at before every strip: a grab off the screen's edge can end the
 * process (see robot-grabber.ts), so a strip planned for a bigger screen must never be asked
 * for. The whole screen is then shared at its new size, a whole frame first, as the X11 path
 * does; a region the screen no longer holds stops capture with the reason.
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { PixelRect, VideoFrameHeader } from '../../protocol/helper-framing';
import type { CaptureSettings, CaptureStats, Capturer, FrameOutlet, Rect } from './capturer';
import { drawCursor, type CursorStamp } from './cursor';
import { Pacer } from './pacer';
import { sameScreen, tightPixels, type GrabbedImage } from './pixels';
import { changedRects, rectPixels, regionLost } from './rects';

export type { CaptureSettings, CaptureStats, FrameOutlet, Rect } from './capturer';

/** The OS side of capture; robotjs in the helper, a fake in unit tests. */
export interface ScreenGrabber {
  /** Cheap, and current: looked at before every strip. */
  screenSize(): { width: number; height: number };
  grab(rect: Rect): GrabbedImage;
  pointer(): { x: number; y: number };
}

/** The fastest the screen is sampled. */
const MAX_SAMPLE_FPS = 60;
/** Extra samples are taken only while a sample's wall time stays under this share of the sample interval. */
const OVERSAMPLE_BUDGET = 0.4;
/** A screen that changed this recently is sampled at the doubled rate. */
const ACTIVE_MS = 500;
/** After this many failed grabs in a row capture stops and says so (fatal). */
const MAX_CONSECUTIVE_ERRORS = 30;
/** Bytes per strip: ≈ 0.5 ms of XGetImage, the longest an input event waits behind a grab. */
const STRIP_BYTES = 512 * 1024;

interface Sent {
  strips: Buffer[];
  stamps: Array<CursorStamp | null>;
  pointer: string;
}

export class ScreenCapturer implements Capturer {
  private pacer: Pacer | undefined;
  private settings: CaptureSettings | undefined;
  private rect: Rect | undefined;
  /** The screen's size the strips were planned for. */
  private screen = { width: 0, height: 0 };
  private strips: Rect[] = [];
  /** Rows of every strip but the last. */
  private stripRows = 0;
  /** Bumped by start/stop: a tick still grabbing strips of an older run gives up. */
  private run = 0;
  private seq = 0;
  private prev: Sent | undefined;
  private lastSentAt = -Infinity;
  /** When a sample last saw a change (sent or held back by the rate cap). */
  private lastChangeAt = -Infinity;
  /** Samples per frame interval while the screen changes: 2 up to 30 fps, else 1. */
  private oversample = 1;
  private sample = 0;
  /** Moving average of a sample's wall time, grab to hand-off (pauses and preemption included), ms. */
  private tickWallMs = 0;
  private forceNext = false;
  private paused = false;
  private consecutiveErrors = 0;
  private counts = { grabbed: 0, sent: 0, unchanged: 0, busy: 0, held: 0, dropped: 0, errors: 0, grabMs: 0, tickMs: 0 };

  constructor(
    private readonly grabber: ScreenGrabber,
    private readonly outlet: FrameOutlet,
    private readonly onError: (message: string, fatal: boolean) => void,
    private readonly log: (line: string) => void = () => undefined,
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
      throw new PairuxError(ErrorCode.BadMessage, `region ${r.width}x${r.height}+${r.x}+${r.y} is outside the ${screen.width}x${screen.height} screen`, {
        screen,
      });
    }
    const rect = r ? { ...r } : { x: 0, y: 0, width: screen.width, height: screen.height };
    this.settings = settings;
    this.screen = { width: screen.width, height: screen.height };
    this.plan(rect);
    this.counts = { grabbed: 0, sent: 0, unchanged: 0, busy: 0, held: 0, dropped: 0, errors: 0, grabMs: 0, tickMs: 0 };
    this.prev = undefined;
    this.lastSentAt = -Infinity;
    this.lastChangeAt = -Infinity;
    this.consecutiveErrors = 0;
    this.oversample = settings.fps * 2 <= MAX_SAMPLE_FPS ? 2 : 1;
    this.sample = 0;
    this.tickWallMs = 0;
    this.pacer = new Pacer(settings.fps * this.oversample, () => this.tick());
    this.pacer.start();
    return { width: rect.width, height: rect.height, fps: settings.fps };
  }

  /** Cuts `rect` into the strips every sample grabs. */
  private plan(rect: Rect): void {
    this.rect = rect;
    const rows = Math.max(16, Math.floor(STRIP_BYTES / (rect.width * 4)));
    this.strips = [];
    this.stripRows = rows;
    for (let y = 0; y < rect.height; y += rows) this.strips.push({ x: rect.x, y: rect.y + y, width: rect.width, height: Math.min(rows, rect.height - y) });
  }

  stop(): CaptureStats {
    const stats = this.stats();
    this.run++;
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
      busy: c.busy,
      held: c.held,
      dropped: c.dropped,
      late: this.pacer?.skipped ?? 0,
      errors: c.errors,
      grabMs: c.grabbed ? c.grabMs / c.grabbed : 0,
      tickMs: c.grabbed ? c.tickMs / c.grabbed : 0,
    };
  }

  private async tick(): Promise<void> {
    const settings = this.settings;
    const rect = this.rect;
    if (!settings || !rect || this.paused) return;
    // A still screen is looked at once per frame interval, a changing one at every sample.
    const sample = this.sample++;
    if (this.oversample > 1 && sample % this.oversample !== 0 && !this.forceNext) {
      // A helper whose samples take long (a slow grab, or a machine too busy to run it) would
      // only take CPU from the encoder and the rest: then fps is enough.
      const starved = this.tickWallMs > OVERSAMPLE_BUDGET * (1000 / (settings.fps * this.oversample));
      if (starved || performance.now() - this.lastChangeAt > ACTIVE_MS) return;
    }
    if (!this.outlet.ready()) {
      this.counts.busy++;
      return;
    }
    const run = this.run;
    const t0 = performance.now();
    const p = settings.drawCursor ? this.grabber.pointer() : undefined;
    const strips: Buffer[] = [];
    const prev = this.prev;
    // Per strip (before the pointer is drawn in): did the screen under it change since the last
    // frame sent? Compared right after its grab, so that work too is cut up by the pauses.
    const changed: boolean[] | undefined = prev ? [] : undefined;
    let grabMs = 0;
    let compareMs = 0;
    for (const [i, s] of this.strips.entries()) {
      if (i > 0) {
        // Let pending input (and link I/O) run between strips.
        await new Promise((resolve) => setImmediate(resolve));
        if (run !== this.run) return;
      }
      const g0 = performance.now();
      try {
        if (!this.sizeUnchanged()) return;
        const img = this.grabber.grab(s);
        if (img.width !== s.width || img.height !== s.height) {
          throw new Error(`the grab is ${img.width}x${img.height}, expected ${s.width}x${s.height} (did the screen size change?)`);
        }
        strips.push(tightPixels(img));
      } catch (err) {
        this.grabFailed(err);
        return;
      }
      const g1 = performance.now();
      grabMs += g1 - g0;
      if (prev && changed) {
        changed.push(!sameScreen(strips[i]!, prev.strips[i]!, rect.width, prev.stamps[i]!));
        compareMs += performance.now() - g1;
      }
    }
    const c0 = performance.now();
    this.consecutiveErrors = 0;
    this.counts.grabbed++;
    this.counts.grabMs += grabMs;
    const pointer = p ? `${p.x - rect.x},${p.y - rect.y}` : '';
    const unchanged = prev !== undefined && prev.pointer === pointer && changed !== undefined && !changed.includes(true);
    // Half a sample of slack: samples jitter by a millisecond, and idleFps = fps must mean one a frame interval.
    const slack = 500 / (settings.fps * this.oversample);
    const sinceSent = t0 - this.lastSentAt;
    const idleDue = sinceSent >= 1000 / settings.idleFps - slack;
    if (!unchanged) this.lastChangeAt = t0;
    if (unchanged && !this.forceNext && !idleDue) {
      this.counts.unchanged++;
      this.counts.tickMs += grabMs + compareMs + performance.now() - c0;
      this.noteWall(t0);
      return;
    }
    // The rate cap: too soon after the last frame, the change waits for the next sample (which
    // compares with what was sent, so nothing is lost). 0.6 of an interval: a 60 Hz change still
    // goes out at 30 fps (every other sample), while a 30 Hz one whose previous frame went out a
    // sample late is not held back for another sample.
    if (!unchanged && !this.forceNext && sinceSent < (0.6 * 1000) / settings.fps) {
      this.counts.held++;
      this.counts.tickMs += grabMs + compareMs + performance.now() - c0;
      this.noteWall(t0);
      return;
    }
    const stamps = strips.map((px, i) => {
      const s = this.strips[i]!;
      return p ? drawCursor(px, s.width, s.height, p.x - s.x, p.y - s.y) : null;
    });
    const header: VideoFrameHeader = {
      seq: this.seq,
      width: rect.width,
      height: rect.height,
      format: 'BGRX',
      captureTime: performance.timeOrigin + t0,
    };
    let patch: { rects: PixelRect[] } | undefined;
    let payload = strips;
    if (settings.patches && prev && changed && !this.forceNext) {
      // The pointer moved: the strips under its old and new places changed too.
      const moved = prev.pointer !== pointer;
      const dirty = changed.map((c, i) => c || (moved && (prev.stamps[i] !== null || stamps[i] !== null)));
      // Exact to the rows and (in 16-px blocks) columns that differ from what was sent; both
      // have the pointer drawn, so a strip flagged dirty may turn out to hold no change at all.
      const rects = changedRects(strips, prev.strips, rect.width, this.stripRows, dirty);
      patch = { rects };
      payload = rectPixels(strips, rect.width, this.stripRows, rects);
    }
    if (this.outlet.send(header, payload, patch)) {
      this.seq = (this.seq + 1) >>> 0;
      this.counts.sent++;
      this.prev = { strips, stamps, pointer };
      this.lastSentAt = t0;
      this.forceNext = false;
    } else {
      this.counts.dropped++;
    }
    this.counts.tickMs += grabMs + compareMs + performance.now() - c0;
    this.noteWall(t0);
  }

  /**
   * False when the screen changed size since the strips were planned: this sample is given up,
   * and capture either goes on at the new size (the next sample sends a whole frame) or, for a
   * region the screen no longer holds, stops.
   */
  private sizeUnchanged(): boolean {
    const now = this.grabber.screenSize();
    const before = this.screen;
    if (now.width === before.width && now.height === before.height) return true;
    this.screen = { width: now.width, height: now.height };
    const r = this.settings?.region;
    if (r) {
      const lost = regionLost(now, r);
      if (!lost) return true;
      this.stop();
      this.onError(lost, true);
      return false;
    }
    this.log(`capture: the screen changed from ${before.width}x${before.height} to ${now.width}x${now.height}; sharing it at its new size`);
    this.plan({ x: 0, y: 0, width: now.width, height: now.height });
    // A picture of another size: nothing to compare with or patch, and it goes out at once.
    this.prev = undefined;
    this.forceNext = true;
    return false;
  }

  private noteWall(t0: number): void {
    this.tickWallMs = 0.8 * this.tickWallMs + 0.2 * (performance.now() - t0);
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
