/**
 * A FrameSource fed with binary messages from outside the page: helper frames relayed by the
 * host bridge, or read from the helper's own WebSocket. It checks every message (a bad one is
 * counted and dropped; the stream goes on), follows screen size changes, and stamps frames with
 * this page's clock, so a helper whose clock or sequence numbers misbehave cannot upset the
 * encoder's timeline.
 */
import { epochNow, type FrameSink, type FrameSource, type FrameSourceInfo } from './frame-source';
import { applyMoves, applyRects } from '../../../protocol/helper-framing';
import { traceFrame } from './track-from-frames';
import { parseVideoMessage } from './video-message';

export interface BridgeFrameSourceOptions {
  /** Nominal size and rate until the first frame says otherwise. */
  width: number;
  height: number;
  fps: number;
  name: string;
  /** Keep the last full picture so changes (kinds 2 and 3, from the bridge relay) can update it. */
  keepPicture?: boolean;
  /** The screen size changed (the first frame of a new size is about to be delivered). */
  onResize?(width: number, height: number): void;
}

export class BridgeFrameSource implements FrameSource {
  private current: FrameSourceInfo;
  private sink: FrameSink | undefined;
  private lastTimestamp = -1;
  /** The last full picture, kept when patches may follow (bridge relay): they update it in place. */
  private picture: Uint8Array | undefined;
  /** Valid frames handed on / received while stopped / rejected, and why the last one was. */
  framesDelivered = 0;
  framesIdle = 0;
  framesBad = 0;
  lastBadReason: string | undefined;

  constructor(private readonly options: BridgeFrameSourceOptions) {
    this.current = { width: options.width, height: options.height, fps: options.fps, name: options.name };
  }

  get info(): FrameSourceInfo {
    return this.current;
  }

  get running(): boolean {
    return this.sink !== undefined;
  }

  start(sink: FrameSink): void {
    this.sink = sink;
  }

  stop(): void {
    this.sink = undefined;
  }

  /** One binary message; never throws. */
  push(data: ArrayBuffer | Uint8Array): void {
    const message = parseVideoMessage(data);
    if (!message.ok) {
      if (message.ignored) return;
      this.framesBad++;
      this.lastBadReason = message.reason;
      return;
    }
    const { header, band, rects, moves } = message;
    traceFrame('page', header.captureTime);
    let pixels = message.pixels;
    if (band || rects) {
      const picture = this.picture;
      if (!picture || picture.byteLength !== header.width * header.height * 4) {
        this.framesBad++;
        this.lastBadReason = 'a patch arrived without a full picture of its size to apply it to';
        return;
      }
      if (moves) applyMoves(picture, header.width, moves);
      if (rects) applyRects(picture, header.width, rects, pixels);
      else picture.set(pixels, band!.firstRow * header.width * 4);
      pixels = picture;
    } else if (this.options.keepPicture) {
      // One copy per full frame, so later patches have something to update.
      if (!this.picture || this.picture.byteLength !== pixels.byteLength) this.picture = new Uint8Array(pixels.byteLength);
      this.picture.set(pixels);
    }
    if (header.width !== this.current.width || header.height !== this.current.height) {
      this.current = { ...this.current, width: header.width, height: header.height };
      try {
        this.options.onResize?.(header.width, header.height);
      } catch (err) {
        console.error('[pairux] resize listener threw', err);
      }
    }
    traceFrame('applied', header.captureTime);
    const sink = this.sink;
    if (!sink) {
      this.framesIdle++;
      return;
    }
    const arrived = performance.now();
    // Strictly increasing µs timestamps, even for two frames within one microsecond.
    const timestamp = Math.max(Math.round(arrived * 1000), this.lastTimestamp + 1);
    this.lastTimestamp = timestamp;
    const captureTime = Number.isFinite(header.captureTime) && header.captureTime > 0 ? header.captureTime : epochNow();
    this.framesDelivered++;
    try {
      sink({ format: header.format, width: header.width, height: header.height, data: pixels, timestamp, captureTime, seq: header.seq });
    } catch (err) {
      console.error('[pairux] frame sink threw', err);
    }
  }
}
