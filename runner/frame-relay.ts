/**
 * Relays the helper's screen to the host page as *changes*: the runner keeps the last picture,
 * and sends the page only the rectangles that changed since what the page last got (a full
 * frame first, and whenever the size changes). Pushing every raw 1080p frame into Chromium was
 * the real-screen path's bottleneck (measured: the page took 17 of 29 frames/s at 720p); a
 * typical screen changes a few small areas at a time (a pointer, a caret, a line of text).
 * Nothing is lost when the page is slow: changes accumulate until it can take the next message.
 */
import {
  applyRects,
  FrameKind,
  MAX_RECTS,
  rectsPrefixBytes,
  VIDEO_HEADER_BYTES,
  writeRectsHeader,
  writeVideoHeader,
  type PixelRect,
  type VideoFrameHeader,
} from '../protocol/helper-framing';
import { bounds, changedRects } from '../helper/capture/rects';

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
   * the rest unchanged since the helper's previous frame.
   */
  push(header: VideoFrameHeader, pixels: Uint8Array, change?: { firstRow: number; rows: number } | readonly PixelRect[]): void {
    this.framesIn++;
    const incoming = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    const sameSize = this.picture && this.header && this.header.width === header.width && this.header.height === header.height;
    if (change) {
      // A change needs the picture it changes; the helper sends a full frame first and after restarts.
      if (!sameSize) return;
      const rects = Array.isArray(change) ? (change as readonly PixelRect[]) : bandRect(change as { firstRow: number; rows: number }, header.width);
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
      message = rectsMessage(h, this.picture, this.dirty.length > MAX_RECTS ? [bounds(this.dirty)] : this.dirty);
      this.patchesSent++;
    }
    this.needFull = false;
    this.dirty = [];
    this.pending = false;
    this.bytesSent += message.byteLength;
    this.target.send(message);
    this.options.onSent?.(h, performance.timeOrigin + performance.now());
  }
}

function bandRect(band: { firstRow: number; rows: number }, width: number): PixelRect[] {
  return band.rows > 0 ? [{ x: 0, y: band.firstRow, w: width, h: band.rows }] : [];
}

/** kind byte + rectangles header + the rectangles' pixels, read out of `picture`. */
function rectsMessage(h: VideoFrameHeader, picture: Uint8Array, rects: readonly PixelRect[]): Uint8Array {
  const head = 1 + rectsPrefixBytes(rects.length);
  let bytes = head;
  for (const r of rects) bytes += r.w * r.h * 4;
  const message = new Uint8Array(bytes);
  message[0] = FrameKind.Rects;
  writeRectsHeader(new DataView(message.buffer), 1, h, rects);
  const stride = h.width * 4;
  let at = head;
  for (const r of rects) {
    const row = r.w * 4;
    let from = r.y * stride + r.x * 4;
    for (let y = 0; y < r.h; y++, at += row, from += stride) message.set(picture.subarray(from, from + row), at);
  }
  return message;
}
