/**
 * Event-driven capture on X11: the X server's DAMAGE events say which areas of the root window
 * changed, only those are read (MIT-SHM, or the core GetImage), and they go out as patches the
 * runner applies. A change starts its trip the moment its event arrives; a still screen costs
 * no grabs and no frames (and, with idleFps 0, nothing at all but the pointer's look-ups).
 *
 * A damage storm (a video playing) is capped at `fps` without a queue: while a read is in flight,
 * the outlet is busy or the rate cap holds, new damage only grows the pending region, and its
 * union goes out when allowed. The damage is subtracted just before the read, in the same request
 * stream: whatever changes after it is reported again, so nothing is lost.
 *
 * The helper keeps its own copy of the shared area (without the pointer): whole frames (the first,
 * requestFrame, the WebSocket delivery, patches off) are built from it without a full-screen read,
 * and a pointer that moved costs no read at all: its old place is restored from the copy.
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { PixelRect, VideoFrameHeader } from '../../protocol/helper-framing';
import type { X11Connection } from '../native/x11-connection';
import type { CaptureSettings, CaptureStats, Capturer, FrameOutlet, Rect } from './capturer';
import { CURSOR_HEIGHT, CURSOR_WIDTH, drawCursor, type CursorStamp } from './cursor';
import { DamageRegion } from './damage-region';
import { bounds, changedWithin, intersect, regionLost } from './rects';
import { applyMoves, applyRects, MAX_MOVES, MAX_RECTS, type PixelMove } from '../../protocol/helper-framing';
import { findMoves, worthLooking } from './scroll';

/** After this many failed reads in a row capture stops and says so (fatal), as the robotjs capturer does. */
const MAX_CONSECUTIVE_ERRORS = 30;

/** What the capturer needs of the X connection (x11-connection.ts; a fake in unit tests). */
export type DamageScreen = Pick<
  X11Connection,
  'isClosed' | 'onClose' | 'size' | 'pointer' | 'watchDamage' | 'subtractDamage' | 'unwatchDamage' | 'sync' | 'grab'
>;
/**
 * Frames that may go out back to back after a pause (a token bucket refilled at `fps`): an
 * application often repaints a keystroke in several requests, and the rate cap alone would hold
 * the second part a whole frame interval (measured: typing p95 24 ms painted → grabbed at 30 fps).
 * The average stays at `fps`.
 */
const BURST_FRAMES = 2;
/** The pointer is looked up once a frame interval while it moves, and this often (ms) once it has been still for POINTER_STILL_MS. */
const POINTER_STILL_POLL_MS = 100;
const POINTER_STILL_MS = 2000;
/** How soon a frame refused by a busy outlet is tried again, ms (the damage meanwhile coalesces). */
const BUSY_RETRY_MS = 2;

export class X11DamageCapturer implements Capturer {
  private settings: CaptureSettings | undefined;
  private rect: Rect | undefined;
  /**
   * The shared area as last read, tightly packed BGRX. With patches (the link) the pointer is
   * drawn into it and frames go out as views of it (no copy of a 1080p screen per frame): the
   * link holds them until written and is not ready before, and only then is the pointer taken out
   * again (`stamp`) and new reads written in. Without patches (the WebSocket, whose viewers may
   * still be writing an older frame) whole frames are copies.
   */
  private copy: Buffer = Buffer.alloc(0);
  private stamp: CursorStamp | null = null;
  /** Where patches are read before they are compared with the copy (reused: no 8 MB allocation per frame). */
  private scratch: Buffer = Buffer.alloc(0);
  private readonly pending = new DamageRegion({ width: 0, height: 0 });
  /** The next frame is whole: the first, after a resize or a failed read. */
  private needWhole = true;
  /** requestFrame: the next frame is whole and goes out even if nothing changed. */
  private forceWhole = false;
  /** idleFps is due: a frame goes out even if nothing changed (an empty patch with patches on). */
  private idleDue = false;
  /** Where the pointer was drawn in the last frame sent (shared-area coordinates), and where it is now. */
  private drawnPointer: { x: number; y: number } | undefined;
  private pointerNow: { x: number; y: number } | undefined;
  /** The X screen's size as DAMAGE last reported it: a change means a resize. */
  private screen = { width: 0, height: 0 };
  private resized = false;
  /** The next frame, when one is scheduled (a timeout under the rate cap, else an immediate). */
  private timer: { cancel(): void } | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private pointerTimer: ReturnType<typeof setTimeout> | undefined;
  /** When a look-up last found the pointer somewhere else. */
  private pointerMovedAt = 0;
  private pointerAsking = false;
  /** A look-up asked for while one (or a frame) was under way: done after it, so the newest place is seen. */
  private pointerAgain = false;
  private inFlight = false;
  private paused = false;
  /** Bumped by start/stop: a read of an older run that completes late is thrown away. */
  private run = 0;
  private active = false;
  private seq = 0;
  /** Frames allowed now by the rate cap (up to BURST_FRAMES), as of `tokensAt`. */
  private tokens = BURST_FRAMES;
  private tokensAt = 0;
  private consecutiveErrors = 0;
  /** Large areas in a row where no scroll was found, and how many to pass over before the next look. */
  private scrollMisses = 0;
  private scrollSkip = 0;
  private counts = newCounts();

  constructor(
    private readonly conn: DamageScreen,
    private readonly outlet: FrameOutlet,
    private readonly onError: (message: string, fatal: boolean) => void,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    conn.onClose((reason) => {
      if (!this.active) return;
      this.stop();
      this.onError(`screen grab failed: ${reason}; capture stopped`, true);
    });
  }

  get running(): boolean {
    return this.active;
  }

  get target(): Rect | undefined {
    return this.rect;
  }

  async start(settings: CaptureSettings): Promise<{ width: number; height: number; fps: number }> {
    this.stop();
    const run = this.run;
    const screen = await this.conn.size();
    if (run !== this.run) throw new PairuxError(ErrorCode.Closed, 'capture was stopped or restarted while it was starting');
    const r = settings.region;
    if (r && (r.x + r.width > screen.width || r.y + r.height > screen.height)) {
      throw new PairuxError(ErrorCode.BadMessage, `region ${r.width}x${r.height}+${r.x}+${r.y} is outside the ${screen.width}x${screen.height} screen`, {
        screen,
      });
    }
    this.settings = settings;
    this.screen = screen;
    this.setArea(r ? { ...r } : { x: 0, y: 0, width: screen.width, height: screen.height });
    this.counts = newCounts();
    this.tokens = BURST_FRAMES;
    this.tokensAt = performance.now();
    this.consecutiveErrors = 0;
    this.scrollMisses = this.scrollSkip = 0;
    this.drawnPointer = undefined;
    this.pointerNow = undefined;
    this.forceWhole = false;
    this.idleDue = false;
    this.resized = false;
    this.active = true;
    this.conn.watchDamage((area, geometry) => this.damaged(area, geometry));
    // The server reports a new damage object's whole window at once: the first (whole) read covers it.
    await this.conn.sync();
    if (run !== this.run) throw new PairuxError(ErrorCode.Closed, 'capture was stopped or restarted while it was starting');
    this.pending.take();
    if (settings.drawCursor) {
      // The pointer makes no damage, and XInput2 raw motion misses warps and XTEST moves on Xvfb:
      // it is looked up (QueryPointer) once a frame interval while it moves, 10 times a second
      // once still (at 30 Hz the look-ups alone cost ≈ 0.01 core; see helper/README.md). The
      // driver's moves, injected here, are looked up at once (pointerMoved).
      this.pointerMovedAt = performance.now();
      const poll = () => {
        this.lookAtPointer();
        const moving = performance.now() - this.pointerMovedAt < POINTER_STILL_MS;
        this.pointerTimer = setTimeout(poll, moving ? 1000 / settings.fps : POINTER_STILL_POLL_MS);
      };
      this.pointerTimer = setTimeout(poll, 1000 / settings.fps);
    }
    this.schedule();
    return { width: this.rect!.width, height: this.rect!.height, fps: settings.fps };
  }

  stop(): CaptureStats {
    const stats = this.stats();
    this.run++;
    this.active = false;
    this.inFlight = false;
    this.timer?.cancel();
    clearTimeout(this.idleTimer);
    clearTimeout(this.pointerTimer);
    this.timer = this.idleTimer = this.pointerTimer = undefined;
    if (!this.conn.isClosed) this.conn.unwatchDamage();
    return stats;
  }

  requestFrame(): void {
    this.forceWhole = true;
    this.schedule();
  }

  pointerMoved(): void {
    if (this.settings?.drawCursor) this.lookAtPointer();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.schedule();
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
      late: 0,
      errors: c.errors,
      grabMs: c.grabbed ? c.grabMs / c.grabbed : 0,
      tickMs: c.sent ? c.tickMs / c.sent : 0,
      damageEvents: c.damageEvents,
      megapixelsRead: Math.round(c.pixelsRead / 1e4) / 100,
      scrolled: c.scrolled,
      megapixelsMoved: Math.round(c.pixelsMoved / 1e4) / 100,
    };
  }

  private setArea(rect: Rect): void {
    this.rect = rect;
    this.copy = Buffer.alloc(rect.width * rect.height * 4);
    this.scratch = Buffer.alloc(rect.width * rect.height * 4);
    this.stamp = null;
    this.pending.reset({ width: rect.width, height: rect.height });
    this.needWhole = true;
  }

  private damaged(area: PixelRect, geometry: { width: number; height: number }): void {
    this.counts.damageEvents++;
    const rect = this.rect;
    if (!rect) return;
    if (geometry.width !== this.screen.width || geometry.height !== this.screen.height) this.resized = true;
    // Into shared-area coordinates; DamageRegion clips what is outside.
    this.pending.add({ x: area.x - rect.x, y: area.y - rect.y, w: area.w, h: area.h });
    this.schedule();
  }

  private lookAtPointer(): void {
    if (this.paused || !this.rect) return;
    if (this.pointerAsking || this.inFlight) {
      this.pointerAgain = true;
      return;
    }
    this.pointerAgain = false;
    this.pointerAsking = true;
    const run = this.run;
    this.conn.pointer().then(
      (p) => {
        this.pointerAsking = false;
        if (run !== this.run || !this.rect) return;
        const before = this.pointerNow;
        this.pointerNow = { x: p.x - this.rect.x, y: p.y - this.rect.y };
        if (!samePoint(this.pointerNow, before)) this.pointerMovedAt = performance.now();
        if (!samePoint(this.pointerNow, this.drawnPointer)) this.schedule();
        if (this.pointerAgain) this.lookAtPointer();
      },
      () => {
        // A dropped connection is reported by onClose; a failed look-up alone changes nothing.
        this.pointerAsking = false;
      },
    );
  }

  private pointerChanged(): boolean {
    return !!this.settings?.drawCursor && this.pointerNow !== undefined && !samePoint(this.pointerNow, this.drawnPointer);
  }

  /** Whether there is anything to send. */
  private due(): boolean {
    return this.needWhole || this.forceWhole || this.idleDue || this.resized || !this.pending.empty || this.pointerChanged();
  }

  /** Runs a frame as soon as allowed: now, or when the rate cap lets it. */
  private schedule(): void {
    if (!this.active || this.timer || this.inFlight || this.paused || !this.due()) return;
    const wait = ((1 - this.refill()) * 1000) / this.settings!.fps;
    if (wait > 0) {
      this.counts.held++;
      return this.retryLater(wait);
    }
    // setImmediate, not a direct call: damage events that arrived in the same read coalesce.
    const immediate = setImmediate(() => void this.frame());
    this.timer = { cancel: () => clearImmediate(immediate) };
  }

  /** The rate cap's tokens now. */
  private refill(): number {
    const now = performance.now();
    this.tokens = Math.min(BURST_FRAMES, this.tokens + ((now - this.tokensAt) * this.settings!.fps) / 1000);
    this.tokensAt = now;
    return this.tokens;
  }

  private retryLater(ms: number): void {
    const timeout = setTimeout(() => void this.frame(), ms);
    this.timer = { cancel: () => clearTimeout(timeout) };
  }

  private async frame(): Promise<void> {
    this.timer = undefined;
    const settings = this.settings;
    if (!this.active || !settings || this.paused || this.inFlight || !this.due()) return;
    if (!this.outlet.ready()) {
      this.counts.busy++;
      this.retryLater(BUSY_RETRY_MS);
      return;
    }
    const run = this.run;
    this.inFlight = true;
    try {
      if (this.resized && !(await this.followResize())) return;
      if (run !== this.run) return;
      await this.sendFrame(settings, run);
    } finally {
      if (run === this.run) {
        this.inFlight = false;
        if (this.pointerAgain) this.lookAtPointer();
        this.schedule();
      }
    }
  }

  private async sendFrame(settings: CaptureSettings, run: number): Promise<void> {
    const rect = this.rect!;
    const whole = this.needWhole;
    const t0 = performance.now();
    this.takePointerOut();
    // Subtract first, read after: damage from here on is reported again.
    this.conn.subtractDamage();
    const read = whole ? [{ x: 0, y: 0, w: rect.width, h: rect.height }] : this.pending.take();
    if (whole) this.pending.take();
    const pointerAsked = settings.drawCursor ? this.conn.pointer().catch(() => undefined) : undefined;
    const stride = rect.width * 4;
    // Patches are cut down to what differs from the copy, so they are read beside it; otherwise
    // rectangles as wide as the area are read straight into it.
    const compare = !whole && !!settings.patches;
    let at = 0;
    const into = read.map((r) => {
      if (!compare) return r.x === 0 && r.w === rect.width ? this.copy.subarray(r.y * stride, (r.y + r.h) * stride) : undefined;
      const bytes = r.w * r.h * 4;
      if (at + bytes > this.scratch.length) return undefined;
      at += bytes;
      return this.scratch.subarray(at - bytes, at);
    });
    let grabbed: Buffer[];
    try {
      grabbed = read.length
        ? await this.conn.grab(
            read.map((r) => ({ x: r.x + rect.x, y: r.y + rect.y, w: r.w, h: r.h })),
            rect.width * rect.height * 4,
            into,
          )
        : [];
    } catch (err) {
      if (run !== this.run) return;
      for (const r of read) this.pending.add(r);
      await this.readFailed(err);
      return;
    }
    const p = await pointerAsked;
    if (run !== this.run) return;
    const g1 = performance.now();
    this.consecutiveErrors = 0;
    if (read.length) {
      this.counts.grabbed++;
      this.counts.grabMs += g1 - t0;
    }
    const changed: PixelRect[] = [];
    const moves: PixelMove[] = [];
    const scroll = this.scrollLook();
    read.forEach((r, i) => {
      this.counts.pixelsRead += r.w * r.h;
      if (compare) {
        // A scroll: the receivers copy within their picture, as the copy does here; then only
        // what the move does not explain is compared and sent. (Rectangles are disjoint and each
        // move stays inside its own, so the receivers may apply all moves first.)
        const found = scroll.look(grabbed[i]!, r, rect.width);
        if (found.length && moves.length + found.length <= MAX_MOVES) {
          applyMoves(this.copy, rect.width, found);
          moves.push(...found);
        }
        changed.push(...changedWithin(grabbed[i]!, r, this.copy, rect.width));
      }
      if (compare || grabbed[i] !== into[i]) applyRects(this.copy, rect.width, [r], grabbed[i]!);
    });
    scroll.done();
    this.needWhole = false;
    if (p) this.pointerNow = { x: p.x - rect.x, y: p.y - rect.y };
    const pointer = settings.drawCursor ? this.pointerNow : undefined;
    const header: VideoFrameHeader = { seq: this.seq, width: rect.width, height: rect.height, format: 'BGRX', captureTime: performance.timeOrigin + t0 };
    let sentOk: boolean;
    if (!settings.patches) {
      const px = Buffer.from(this.copy);
      if (pointer) drawCursor(px, rect.width, rect.height, pointer.x, pointer.y);
      sentOk = this.outlet.send(header, [px]);
    } else if (whole || this.forceWhole) {
      if (pointer) this.stamp = drawCursor(this.copy, rect.width, rect.height, pointer.x, pointer.y);
      sentOk = this.outlet.send(header, [this.copy]);
    } else {
      let patchRects = changed;
      // The pointer's old place (restored from the copy) and its new one, when it moved.
      if (pointer && !samePoint(pointer, this.drawnPointer)) {
        for (const at of [this.drawnPointer, pointer]) {
          const c = at && clip({ x: at.x, y: at.y, w: CURSOR_WIDTH, h: CURSOR_HEIGHT }, rect);
          if (c) patchRects.push(c);
        }
      }
      if (moves.length) {
        // The receivers' pictures show the pointer where it was drawn: a move carries that copy
        // along, and may cover the place where it is now.
        const drawn = this.drawnPointer && clip({ x: this.drawnPointer.x, y: this.drawnPointer.y, w: CURSOR_WIDTH, h: CURSOR_HEIGHT }, rect);
        for (const m of moves) {
          const c = drawn && intersect(drawn, { x: m.sx, y: m.sy, w: m.w, h: m.h });
          if (c) patchRects.push({ x: c.x + m.x - m.sx, y: c.y + m.y - m.sy, w: c.w, h: c.h });
        }
        const now = pointer && clip({ x: pointer.x, y: pointer.y, w: CURSOR_WIDTH, h: CURSOR_HEIGHT }, rect);
        if (now && samePoint(pointer, this.drawnPointer)) patchRects.push(now);
      }
      if (patchRects.length > MAX_RECTS) patchRects = [bounds(patchRects)];
      if (patchRects.length === 0 && moves.length === 0 && !this.idleDue) {
        // Drawn again, but the same pixels: nothing to send.
        this.counts.unchanged++;
        this.counts.tickMs += performance.now() - g1;
        return;
      }
      if (pointer) this.stamp = drawCursor(this.copy, rect.width, rect.height, pointer.x, pointer.y);
      const pixels = patchRects.map((r) =>
        r.x === 0 && r.w === rect.width ? this.copy.subarray(r.y * stride, (r.y + r.h) * stride) : getRect(this.copy, rect.width, r),
      );
      sentOk = this.outlet.send(header, pixels, moves.length ? { rects: patchRects, moves } : { rects: patchRects });
      if (sentOk && moves.length) {
        this.counts.scrolled++;
        for (const m of moves) this.counts.pixelsMoved += m.w * m.h;
      }
    }
    if (sentOk) {
      this.seq = (this.seq + 1) >>> 0;
      this.counts.sent++;
      this.refill();
      this.tokens = Math.max(0, this.tokens - 1);
      this.drawnPointer = pointer;
      this.forceWhole = false;
      this.idleDue = false;
      this.armIdle(settings);
    } else {
      // Not delivered (rare: the outlet said it was ready). The copy already holds what it
      // carried, so a patch against it would find nothing: the next frame is whole.
      this.counts.dropped++;
      this.needWhole = true;
    }
    this.counts.tickMs += performance.now() - g1;
  }

  /**
   * Moves for a scroll in this frame's fresh reads, if any. After a frame whose large areas held
   * none, the next few frames are not looked at (1, 2, 4, then 8): a video playing costs a look
   * now and then, not ≈ 4 ms every frame, and a scroll that starts is found within 8 frames. Judged
   * per frame, not per area: a small box changing beside a scrolling page (a clock, a marker) is
   * no scroll, and as its own area it used to make the page's next frames go unlooked.
   */
  private scrollLook(): { look(fresh: Buffer, r: PixelRect, width: number): PixelMove[]; done(): void } {
    const skip = this.scrollSkip > 0;
    let large = false;
    let found = false;
    return {
      look: (fresh, r, width) => {
        if (!worthLooking(r)) return [];
        large = true;
        if (skip) return [];
        const moves = findMoves(fresh, r, this.copy, width);
        if (moves.length) found = true;
        return moves;
      },
      done: () => {
        if (!large) return;
        if (skip) this.scrollSkip--;
        else if (found) this.scrollMisses = this.scrollSkip = 0;
        else {
          this.scrollMisses++;
          this.scrollSkip = Math.min(8, 2 ** (this.scrollMisses - 1));
        }
      },
    };
  }

  /** Takes the pointer drawn into the copy out again (the frame that showed it has been written). */
  private takePointerOut(): void {
    const s = this.stamp;
    if (!s || !this.rect) return;
    this.stamp = null;
    const stride = this.rect.width * 4;
    const row = s.width * 4;
    for (let k = 0; k < s.height; k++) s.saved.copy(this.copy, (s.y + k) * stride + s.x * 4, k * row, (k + 1) * row);
  }

  private armIdle(settings: CaptureSettings): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (settings.idleFps <= 0) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.idleDue = true;
      this.schedule();
    }, 1000 / settings.idleFps);
  }

  /** The root window changed size: keep sharing the whole screen at its new size; a region must still fit. */
  private async followResize(): Promise<boolean> {
    this.resized = false;
    let screen: { width: number; height: number };
    try {
      screen = await this.conn.size();
    } catch (err) {
      await this.readFailed(err);
      return false;
    }
    if (screen.width === this.screen.width && screen.height === this.screen.height) return true;
    const before = this.screen;
    this.screen = screen;
    const r = this.settings!.region;
    if (r) {
      const lost = regionLost(screen, r);
      if (!lost) return true;
      this.stop();
      this.onError(lost, true);
      return false;
    }
    this.log(`capture: the screen changed from ${before.width}x${before.height} to ${screen.width}x${screen.height}; sharing it at its new size`);
    this.setArea({ x: 0, y: 0, width: screen.width, height: screen.height });
    return true;
  }

  private async readFailed(err: unknown): Promise<void> {
    this.counts.errors++;
    this.consecutiveErrors++;
    const message = `screen grab failed: ${(err as Error).message ?? String(err)}`;
    if (this.conn.isClosed) return; // onClose reports it, once
    if (this.consecutiveErrors >= MAX_CONSECUTIVE_ERRORS) {
      this.stop();
      this.onError(`${message}; capture stopped after ${MAX_CONSECUTIVE_ERRORS} failures in a row`, true);
      return;
    }
    if (this.consecutiveErrors === 1) this.onError(message, false);
    // A read off the screen's edge (BadMatch) usually means it shrank: look before trying again.
    this.resized = true;
    this.needWhole = true;
    await new Promise((resolve) => setTimeout(resolve, 1000 / this.settings!.fps));
  }
}

function newCounts() {
  return {
    grabbed: 0,
    sent: 0,
    unchanged: 0,
    busy: 0,
    held: 0,
    dropped: 0,
    errors: 0,
    grabMs: 0,
    tickMs: 0,
    damageEvents: 0,
    pixelsRead: 0,
    scrolled: 0,
    pixelsMoved: 0,
  };
}

function samePoint(a: { x: number; y: number } | undefined, b: { x: number; y: number } | undefined): boolean {
  return a === b || (!!a && !!b && a.x === b.x && a.y === b.y);
}

function clip(r: PixelRect, area: Rect): PixelRect | undefined {
  const x0 = Math.max(0, r.x);
  const y0 = Math.max(0, r.y);
  const x1 = Math.min(area.width, r.x + r.w);
  const y1 = Math.min(area.height, r.y + r.h);
  return x0 < x1 && y0 < y1 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : undefined;
}

/** A rectangle of the picture as tight pixels (a copy: the pointer is drawn into it). */
function getRect(picture: Buffer, width: number, r: PixelRect): Buffer {
  const stride = width * 4;
  const row = r.w * 4;
  const out = Buffer.allocUnsafe(row * r.h);
  for (let k = 0; k < r.h; k++) picture.copy(out, k * row, (r.y + k) * stride + r.x * 4, (r.y + k) * stride + r.x * 4 + row);
  return out;
}
