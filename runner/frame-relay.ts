/**
 * Relays the helper's screen to the host page as *changes*: the runner keeps the last picture,
 * and sends the page only the rectangles that changed since what the page last got (a full
 * frame first, and whenever the size changes). Pushing every raw 1080p frame into Chromium was
 * the real-screen path's bottleneck (measured: the page took 17 of 29 frames/s at 720p); a
 * typical screen changes a few small areas at a time (a pointer, a caret, a line of text).
 * Nothing is lost when the page is slow: changes accumulate until it can take the next message.
 *
 * Moves (a scroll, found by the helper) are passed on as moves: the page copies within its own
 * picture, which is the one the relay last sent. While the page is busy they queue, and an area
 * still owed to the page (dirty) that a move carries elsewhere is owed there too.
 */
import {
  applyMoves,
  applyRects,
  FrameKind,
  MAX_MOVES,
  MAX_RECTS,
  rectsPrefixBytes,
  VIDEO_HEADER_BYTES,
  writeRectsHeader,
  writeVideoHeader,
  type PixelMove,
  type PixelRect,
  type VideoFrameHeader,
} from '../protocol/helper-framing';
import { bounds, changedRects, intersect } from '../helper/capture/rects';

export interface FrameTarget {
  /** Whether a page is there at all; without one nothing is polled (reset() follows a connect). */
  connected(): boolean;
  /** Whether a message can go now (the previous one has drained). */
  ready(): boolean;
  send(bytes: Uint8Array): void;
}

export interface FrameRelayOptions {
  /**
   * Sees every message handed to the page (its header: the newest frame it carries) and when, in
   * epoch ms: benches time the runner's hop with it.
   */
  onSent?(header: VideoFrameHeader, at: number): void;
}

/** Accumulated rectangles beyond this are merged into their bounding box. */
const MAX_PENDING_RECTS = 64;

export class FrameRelay {
  private picture: Buffer | undefined;
  private header: VideoFrameHeader | undefined;
  private needFull = true;
  /** Areas changed since the page's last message. */
  private dirty: PixelRect[] = [];
  /** Moves the page has not been sent yet, in order (applied before `dirty`). */
  private moves: PixelMove[] = [];
  private pending = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  framesIn = 0;
  fullSent = 0;
  /** Change messages (kind 3) sent, empty ones included. */
  patchesSent = 0;
  bytesSent = 0;

  constructor(
    private readonly target: FrameTarget,
    private readonly options: FrameRelayOptions = {},
  ) {}

  /**
   * One helper frame (tightly packed pixels); or a helper change: with `change` a band of rows
   * (kind 2: `pixels` are only those rows) or rectangles (kind 3: `pixels` are theirs, in turn),
   * the rest unchanged since the helper's previous frame; `moves` (with rectangles) are applied
   * before them.
   */
  push(
    header: VideoFrameHeader,
    pixels: Uint8Array,
    change?: { firstRow: number; rows: number } | readonly PixelRect[],
    moves: readonly PixelMove[] = [],
  ): void {
    this.framesIn++;
    const incoming = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    const sameSize = this.picture && this.header && this.header.width === header.width && this.header.height === header.height;
    if (change) {
      // A change needs the picture it changes; the helper sends a full frame first and after restarts.
      if (!sameSize) return;
      const rects = Array.isArray(change) ? (change as readonly PixelRect[]) : bandRect(change as { firstRow: number; rows: number }, header.width);
      if (moves.length) this.addMoves(moves, header);
      applyRects(this.picture!, header.width, rects, incoming);
      this.addDirty(rects);
    } else if (!sameSize) {
      this.picture = Buffer.from(incoming);
      this.needFull = true;
    } else {
      this.addDirty(changedRects([incoming], [this.picture!], header.width, header.height, [true]));
      incoming.copy(this.picture!);
    }
    this.header = header;
    this.pending = true;
    this.flush();
  }

  /** The page (re)connected: it has no picture yet. */
  reset(): void {
    this.needFull = true;
    this.pending = this.picture !== undefined;
    this.flush();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private addMoves(moves: readonly PixelMove[], h: VideoFrameHeader): void {
    applyMoves(this.picture!, h.width, moves);
    if (this.needFull) return;
    if (this.moves.length + moves.length > MAX_MOVES) {
      // Too many queued: the page gets the whole area as changed instead (nothing lost).
      this.moves = [];
      this.dirty = [{ x: 0, y: 0, w: h.width, h: h.height }];
      return;
    }
    for (const m of moves) {
      // What the page still lacks inside the source lacks at the destination after the move.
      const carried: PixelRect[] = [];
      for (const d of this.dirty) {
        const c = intersect(d, { x: m.sx, y: m.sy, w: m.w, h: m.h });
        if (c) carried.push({ x: c.x + m.x - m.sx, y: c.y + m.y - m.sy, w: c.w, h: c.h });
      }
      this.addDirty(carried);
      this.moves.push(m);
    }
  }

  private addDirty(rects: readonly PixelRect[]): void {
    for (const r of rects) this.dirty.push(r);
    if (this.dirty.length > MAX_PENDING_RECTS) this.dirty = [bounds(this.dirty)];
  }

  /** Called again shortly while the page is still busy with the previous message. */
  private flush(): void {
    if (!this.pending || !this.picture || !this.header) return;
    if (!this.target.ready()) {
      if (!this.target.connected()) return;
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, 4);
      this.timer.unref?.();
      return;
    }
    const h = this.header;
    let message: Uint8Array;
    if (this.needFull) {
      message = new Uint8Array(1 + VIDEO_HEADER_BYTES + this.picture.byteLength);
      message[0] = FrameKind.Video;
      writeVideoHeader(new DataView(message.buffer), 1, h);
      message.set(this.picture, 1 + VIDEO_HEADER_BYTES);
      this.fullSent++;
    } else {
      // No rectangles still goes out: it repeats the picture, which new viewers need.
      message = rectsMessage(h, this.picture, this.dirty.length > MAX_RECTS ? [bounds(this.dirty)] : this.dirty, this.moves);
      this.patchesSent++;
    }
    this.needFull = false;
    this.dirty = [];
    this.moves = [];
    this.pending = false;
    this.bytesSent += message.byteLength;
    this.target.send(message);
    this.options.onSent?.(h, performance.timeOrigin + performance.now());
  }
}

function bandRect(band: { firstRow: number; rows: number }, width: number): PixelRect[] {
  return band.rows > 0 ? [{ x: 0, y: band.firstRow, w: width, h: band.rows }] : [];
}

/** kind byte + rectangles header (and moves) + the rectangles' pixels, read out of `picture`. */
function rectsMessage(h: VideoFrameHeader, picture: Uint8Array, rects: readonly PixelRect[], moves: readonly PixelMove[]): Uint8Array {
  const head = 1 + rectsPrefixBytes(rects.length, moves.length);
  let bytes = head;
  for (const r of rects) bytes += r.w * r.h * 4;
  const message = new Uint8Array(bytes);
  message[0] = FrameKind.Rects;
  writeRectsHeader(new DataView(message.buffer), 1, h, rects, moves);
  const stride = h.width * 4;
  let at = head;
  for (const r of rects) {
    const row = r.w * 4;
    let from = r.y * stride + r.x * 4;
    for (let y = 0; y < r.h; y++, at += row, from += stride) message.set(picture.subarray(from, from + row), at);
  }
  return message;
}
