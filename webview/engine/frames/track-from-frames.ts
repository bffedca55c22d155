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
 *
 * Repeats: the newest picture is written again when no newer frame follows it: `settleRepeats`
 * times `settleMs` apart, then every `repeatMs` for as long as the screen stays still. Each costs
 * the encoder a delta frame of a few bytes. The quick ones are there because Chromium's VP9
 * screen-share encoder drops the first frames that follow a still stretch (measured: the change
 * and the next frame, so a change after the helper's 1 fps idle frames showed 1-2 s late); a
 * change must not wait for whatever frame happens to come next. The slow ones keep receivers
 * warm: LiveKit keeps forwarding the layer, a viewer's stall check sees frames, a viewer who just
 * arrived gets a picture; the helper need not re-send whole pictures for that (each of its idle
 * frames costs a grab, a relay hop and a copy).
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
   * While no new frame comes for this long (ms), the last picture is written again (default
   * 1000; 0: never). Repeats skip a turn while a write is pending; `onFrame` does not see them.
   */
  repeatMs?: number;
  /** Quick repeats of a new picture that no newer frame followed (default 3; 0: none)… */
  settleRepeats?: number;
  /** …this far apart, in ms (default 50). */
  settleMs?: number;
  /**
   * Sees every frame the source delivers, and whether it reached the track: at once, or for a
   * frame that waited in the slot, when it was written or replaced (its `data` is then no longer valid).
   */
  onFrame?(frame: RawFrame, written: boolean): void;
}

/** Keep-warm period: one tiny frame a second on a still screen (see the file comment). */
export const DEFAULT_REPEAT_MS = 1000;
export const DEFAULT_SETTLE_MS = 50;
export const DEFAULT_SETTLE_REPEATS = 3;

export class FrameTrack {
  readonly track: MediaStreamTrack;
  framesWritten = 0;
  framesDropped = 0;
  /** Keep-warm writes of the last picture (not in framesWritten). */
  framesRepeated = 0;
  private readonly writer: WritableStreamDefaultWriter<VideoFrame>;
  private readonly maxInFlight: number;
  private inFlight = 0;
  /** The newest frame, waiting for a write to finish. */
  private waiting: { frame: RawFrame; videoFrame: VideoFrame } | undefined;
  private ended = false;
  /** The last picture written (a handle on the same pixels, not a copy), for keep-warm repeats. */
  private last: VideoFrame | undefined;
  private lastTimestamp = -1;
  private repeatTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly repeatMs: number;
  private readonly settleMs: number;
  private readonly settleRepeats: number;
  /** Quick repeats still due for the newest picture. */
  private settling = 0;

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
    this.repeatMs = Math.max(0, options.repeatMs ?? DEFAULT_REPEAT_MS);
    this.settleMs = Math.max(1, options.settleMs ?? DEFAULT_SETTLE_MS);
    this.settleRepeats = Math.max(0, options.settleRepeats ?? DEFAULT_SETTLE_REPEATS);
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
    clearTimeout(this.repeatTimer);
    this.repeatTimer = undefined;
    this.last?.close();
    this.last = undefined;
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
        // After a keep-warm repeat (stamped with this page's clock) time must still move on.
        timestamp: Math.max(frame.timestamp, this.lastTimestamp + 1),
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
    this.framesWritten++;
    this.options.onFrame?.(frame, true);
    traceFrame('track', frame.captureTime);
    this.remember(videoFrame);
    this.send(videoFrame, () => traceFrame('accepted', frame.captureTime));
  }

  /** Keeps a handle on the newest picture and (re)starts the keep-warm wait from now. */
  private remember(videoFrame: VideoFrame): void {
    this.lastTimestamp = Math.max(this.lastTimestamp, videoFrame.timestamp);
    if (this.repeatMs === 0 && this.settleRepeats === 0) return;
    this.last?.close();
    try {
      this.last = videoFrame.clone();
    } catch {
      this.last = undefined;
    }
    this.settling = this.settleRepeats;
    this.armRepeat();
  }

  private armRepeat(): void {
    clearTimeout(this.repeatTimer);
    this.repeatTimer = undefined;
    const ms = this.settling > 0 ? this.settleMs : this.repeatMs;
    if (ms > 0) this.repeatTimer = setTimeout(() => this.repeat(), ms);
  }

  /** The last picture again, with a new timestamp (an encoder drops frames whose time does not move on). */
  private repeat(): void {
    this.repeatTimer = undefined;
    const last = this.last;
    if (this.ended || !last) return;
    // A frame is on its way (or waiting): the track is not idle, so no repeat this turn.
    if (this.inFlight > 0 || this.waiting) return this.armRepeat();
    let again: VideoFrame;
    try {
      this.lastTimestamp = Math.max(Math.round(performance.now() * 1000), this.lastTimestamp + 1);
      again = new VideoFrame(last, { timestamp: this.lastTimestamp });
    } catch (err) {
      // The picture is gone (closed): nothing to repeat until the next frame.
      console.warn('[pairux] could not repeat the last frame', err);
      last.close();
      this.last = undefined;
      return;
    }
    this.framesRepeated++;
    if (this.settling > 0) this.settling--;
    this.armRepeat();
    this.send(again);
  }

  private send(videoFrame: VideoFrame, accepted?: () => void): void {
    this.inFlight++;
    this.writer.write(videoFrame).then(
      () => {
        accepted?.();
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
