/**
 * Relays the helper's screen to the host page as *changes*: the runner keeps the last picture,
 * and sends the page only the band of rows that changed since what the page last got (a full
 * frame first, and whenever the size changes). Pushing every raw 1080p frame into Chromium was
 * the real-screen path's bottleneck (measured: the page took 17 of 29 frames/s at 720p); a
 * typical screen changes a few rows at a time. Nothing is lost when the page is slow: changes
 * accumulate into one band until it can take the next message.
 */
import { FrameKind, PATCH_HEADER_BYTES, VIDEO_HEADER_BYTES, writePatchHeader, writeVideoHeader, type VideoFrameHeader } from '../protocol/helper-framing';

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

export class FrameRelay {
  private picture: Buffer | undefined;
  private header: VideoFrameHeader | undefined;
  private needFull = true;
  /** Rows changed since the page's last message, [first, last]; none when first > last. */
  private first = Number.POSITIVE_INFINITY;
  private last = -1;
  private pending = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  framesIn = 0;
  fullSent = 0;
  patchesSent = 0;
  bytesSent = 0;

  constructor(
    private readonly target: FrameTarget,
    private readonly options: FrameRelayOptions = {},
  ) {}

  /**
   * One helper frame (tightly packed pixels), or with `band` a helper patch: only those rows, the
   * rest unchanged since the helper's previous frame.
   */
  push(header: VideoFrameHeader, pixels: Uint8Array, band?: { firstRow: number; rows: number }): void {
    this.framesIn++;
    const rowBytes = header.width * 4;
    const incoming = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    if (band) {
      // A patch needs the picture it patches; the helper sends a full frame first and after restarts.
      if (!this.picture || !this.header || this.header.width !== header.width || this.header.height !== header.height) return;
      if (band.rows > 0) {
        incoming.copy(this.picture, band.firstRow * rowBytes, 0, band.rows * rowBytes);
        if (band.firstRow < this.first) this.first = band.firstRow;
        if (band.firstRow + band.rows - 1 > this.last) this.last = band.firstRow + band.rows - 1;
      }
      this.header = header;
      this.pending = true;
      this.flush();
      return;
    }
    if (!this.picture || !this.header || this.header.width !== header.width || this.header.height !== header.height) {
      this.picture = Buffer.from(incoming);
      this.needFull = true;
    } else {
      for (let y = 0; y < header.height; y++) {
        const at = y * rowBytes;
        if (incoming.compare(this.picture, at, at + rowBytes, at, at + rowBytes) === 0) continue;
        incoming.copy(this.picture, at, at, at + rowBytes);
        if (y < this.first) this.first = y;
        if (y > this.last) this.last = y;
      }
    }
    this.header = header;
    this.pending = true;
    this.flush();
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
    const rowBytes = h.width * 4;
    let message: Uint8Array;
    if (this.needFull) {
      message = new Uint8Array(1 + VIDEO_HEADER_BYTES + this.picture.byteLength);
      message[0] = FrameKind.Video;
      writeVideoHeader(new DataView(message.buffer), 1, h);
      message.set(this.picture, 1 + VIDEO_HEADER_BYTES);
      this.fullSent++;
    } else {
      // An empty band still goes out: it repeats the picture, which new viewers need.
      const rows = this.last >= this.first ? this.last - this.first + 1 : 0;
      const firstRow = rows ? this.first : 0;
      message = new Uint8Array(1 + PATCH_HEADER_BYTES + rows * rowBytes);
      message[0] = FrameKind.Patch;
      writePatchHeader(new DataView(message.buffer), 1, { ...h, firstRow, rows });
      if (rows) message.set(this.picture.subarray(firstRow * rowBytes, (firstRow + rows) * rowBytes), 1 + PATCH_HEADER_BYTES);
      this.patchesSent++;
    }
    this.needFull = false;
    this.first = Number.POSITIVE_INFINITY;
    this.last = -1;
    this.pending = false;
    this.bytesSent += message.byteLength;
    this.target.send(message);
    this.options.onSent?.(h, performance.timeOrigin + performance.now());
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
}
