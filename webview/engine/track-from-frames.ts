/**
 * FrameSource → MediaStreamTrack, through Chromium's MediaStreamTrackGenerator. This is the one
 * place every host frame passes before encoding (masking and the text side channel attach here
 * later).
 *
 * Back-pressure: a frame is dropped, never queued, while earlier writes are still pending; a
 * live screen only cares about the newest picture, and an unbounded queue is unbounded latency
 * and memory. Every VideoFrame is closed whatever happens to its write.
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
  /** Pending writes tolerated before new frames are dropped (default 2). */
  maxInFlight?: number;
  /** MediaStreamTrack.contentHint: 'detail' (default) keeps resolution for text, 'motion' keeps frame rate. */
  contentHint?: '' | 'detail' | 'text' | 'motion';
  /** Sees every frame the source delivers, and whether it reached the track. */
  onFrame?(frame: RawFrame, written: boolean): void;
}

export class FrameTrack {
  readonly track: MediaStreamTrack;
  framesWritten = 0;
  framesDropped = 0;
  private readonly writer: WritableStreamDefaultWriter<VideoFrame>;
  private readonly maxInFlight: number;
  private inFlight = 0;
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
    this.source.stop();
  }

  private push(frame: RawFrame): void {
    if (this.ended || this.inFlight >= this.maxInFlight) {
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
    this.inFlight++;
    this.framesWritten++;
    this.options.onFrame?.(frame, true);
    traceFrame('track', frame.captureTime);
    this.writer.write(videoFrame).then(
      () => {
        traceFrame('accepted', frame.captureTime);
        this.inFlight--;
        videoFrame.close();
      },
      (err: unknown) => {
        this.inFlight--;
        videoFrame.close();
        if (!this.ended) console.warn('[pairux] track writer failed; stopping frames', err);
        this.end();
      },
    );
  }
}
