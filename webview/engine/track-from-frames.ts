/**
 * FrameSource → MediaStreamTrack, through Chromium's MediaStreamTrackGenerator. This is the one
 * place every host frame passes before encoding (masking and the text side channel attach here
 * later).
 *
 * Back-pressure: while `maxInFlight` writes are pending, the newest frame waits in one slot (a
 * newer one replaces it) and is written as soon as a write finishes; a live screen only cares
 * about the newest picture, and an unbounded queue is unbounded latency and memory. The slot
 * matters because the bridge sends only changes: a dropped frame's change would otherwise show
 * only with the next message, which on a still screen is the idle keep-alive a second later.
 * Every VideoFrame is closed whatever happens to its write.
 */
import type { FrameSource, RawFrame } from './frame-source';

/**
 * Per-hop timing for benches: when a page defines `window.pairuxFrameTrace`, every frame is
 * reported at each stage with its capture time (the key that follows a frame from the helper's
 * grab on) and the epoch time it reached the stage. Absent, it costs one property read.
 */
export type FrameTraceStage = 'page' | 'applied' | 'track' | 'accepted';
type FrameTraceHook = (stage: FrameTraceStage, captureTime: number, at: number) => void;

export function traceFrame(stage: FrameTraceStage, captureTime: number): void {
  const hook = (globalThis as { pairuxFrameTrace?: FrameTraceHook }).pairuxFrameTrace;
  if (hook) hook(stage, captureTime, performance.timeOrigin + performance.now());
}

export interface FrameTrackOptions {
  /** Pending writes tolerated before a new frame waits in the slot (default 2). */
  maxInFlight?: number;
  /** MediaStreamTrack.contentHint: 'detail' (default) keeps resolution for text, 'motion' keeps frame rate. */
  contentHint?: '' | 'detail' | 'text' | 'motion';
  /**
   * Sees every frame the source delivers, and whether it reached the track: at once, or for a
   * frame that waited in the slot, when it was written or replaced (its `data` is then no longer valid).
   */
  onFrame?(frame: RawFrame, written: boolean): void;
}

export class FrameTrack {
  readonly track: MediaStreamTrack;
  framesWritten = 0;
  framesDropped = 0;
  private readonly writer: WritableStreamDefaultWriter<VideoFrame>;
  private readonly maxInFlight: number;
  private inFlight = 0;
  /** The newest frame, waiting for a write to finish. */
  private waiting: { frame: RawFrame; videoFrame: VideoFrame } | undefined;
  private ended = false;

  constructor(
    private readonly source: FrameSource,
    private readonly options: FrameTrackOptions = {},
  ) {
    if (typeof MediaStreamTrackGenerator !== 'function') {
      throw new Error('MediaStreamTrackGenerator is not available in this browser (PairUX needs Chromium 94 or later)');
    }
    const generator = new MediaStreamTrackGenerator({ kind: 'video' });
    generator.contentHint = options.contentHint ?? 'detail';
    this.track = generator;
    this.writer = generator.writable.getWriter();
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 2);
    this.writer.closed.catch(() => undefined).finally(() => this.end());
  }

  start(): void {
    if (this.ended) throw new Error('FrameTrack has ended');
    this.source.start((frame) => this.push(frame));
  }

  /** Stops the source and ends the track. */
  stop(): void {
    this.source.stop();
    this.end();
    this.writer.close().catch(() => undefined);
    this.track.stop();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.dropWaiting();
    this.source.stop();
  }

  private push(frame: RawFrame): void {
    if (this.ended) {
      this.framesDropped++;
      this.options.onFrame?.(frame, false);
      return;
    }
    let videoFrame: VideoFrame;
    try {
      // Copies the bytes, so the source may reuse its buffer as soon as we return.
      videoFrame = new VideoFrame(frame.data, {
        format: frame.format,
        codedWidth: frame.width,
        codedHeight: frame.height,
        timestamp: frame.timestamp,
      });
    } catch (err) {
      this.framesDropped++;
      console.error('[pairux] could not make a VideoFrame', err);
      this.options.onFrame?.(frame, false);
      return;
    }
    if (this.inFlight >= this.maxInFlight) {
      this.dropWaiting();
      this.waiting = { frame, videoFrame };
      return;
    }
    this.write(frame, videoFrame);
  }

  private write(frame: RawFrame, videoFrame: VideoFrame): void {
    this.inFlight++;
    this.framesWritten++;
    this.options.onFrame?.(frame, true);
    traceFrame('track', frame.captureTime);
    this.writer.write(videoFrame).then(
      () => {
        traceFrame('accepted', frame.captureTime);
        this.inFlight--;
        videoFrame.close();
        const next = this.waiting;
        this.waiting = undefined;
        if (next && !this.ended) this.write(next.frame, next.videoFrame);
        else if (next) next.videoFrame.close();
      },
      (err: unknown) => {
        this.inFlight--;
        videoFrame.close();
        if (!this.ended) console.warn('[pairux] track writer failed; stopping frames', err);
        this.end();
      },
    );
  }

  private dropWaiting(): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = undefined;
    w.videoFrame.close();
    this.framesDropped++;
    this.options.onFrame?.(w.frame, false);
  }
}
