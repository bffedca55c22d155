/**
 * The guest's side of direct video (protocol/direct-video.ts): frames from the `pairux-video`
 * channel are put back together, decoded with WebCodecs and written to a MediaStreamTrackGenerator
 * at once — no jitter buffer holding them for smoothness — so the `<video>` shows each one as
 * soon as it is decoded. A decoder that loses its place waits for the next key frame and asks
 * the host for one; one that keeps failing gives up, and the engine goes back to RTP video.
 */
import { PairuxError } from '../../../../protocol/errors';
import { VideoFrameAssembler, type EncodedVideoFrame } from '../../../../protocol/direct-video';
import type { Logger } from '../../logger';
import type { ChunkCipher } from '../../e2ee/chunk-cipher';

/** What a guest offers, best first; the host picks the first it encodes. */
const CANDIDATE_CODECS = ['avc1.42e02a', 'vp8', 'vp09.00.10.08'];
/** A key-frame request at most this often: a burst of bad messages asks once. */
const KEYFRAME_REQUEST_SPACING_MS = 500;
/** This many decoder failures within FAILURE_WINDOW_MS and direct video is given up. */
const MAX_FAILURES = 3;
const FAILURE_WINDOW_MS = 10_000;

export interface DirectVideoReceiverOptions {
  channel: RTCDataChannel;
  codec: string;
  /** Ask the host for a key frame (the decoder lost its place). */
  requestKeyframe: (reason: string) => void;
  /** Direct video cannot go on: show RTP video again. */
  onFailed: (reason: string) => void;
  /** The first frame is on the track: time to show it. */
  onFirstFrame: () => void;
  /** An end-to-end encrypted session: every chunk is opened before the decoder; one that does not open is dropped. */
  cipher?: ChunkCipher;
  log: Logger;
}

export interface DirectVideoReceiverStats {
  codec: string;
  framesReceived: number;
  framesDecoded: number;
  /** Frames dropped: refused messages, deltas while waiting for a key frame, frames a newer one overtook. */
  framesDropped: number;
  keyframeRequests: number;
  bytesReceived: number;
  /** Mean ms from a frame's last part received to decoded. */
  decodeMsPerFrame: number;
  frameWidth: number;
  frameHeight: number;
}

/** The codecs this page can receive as direct video; none where WebCodecs or the track generator is missing. */
export async function directVideoCodecs(): Promise<string[]> {
  if (typeof VideoDecoder !== 'function' || typeof MediaStreamTrackGenerator !== 'function') return [];
  const out: string[] = [];
  for (const codec of CANDIDATE_CODECS) {
    const { supported } = await VideoDecoder.isConfigSupported({ codec }).catch(() => ({ supported: false }));
    if (supported) out.push(codec);
  }
  return out;
}

export class DirectVideoReceiver {
  readonly track: MediaStreamTrack;
  private readonly writer: WritableStreamDefaultWriter<VideoFrame>;
  private readonly assembler = new VideoFrameAssembler();
  private decoder: VideoDecoder | undefined;
  private waitingForKey = true;
  private writing = false;
  private pending: VideoFrame | undefined;
  /** The newest decoded picture, for `repeatLast`. */
  private last: VideoFrame | undefined;
  private lastTimestamp = 0;
  private firstFrame = true;
  private lastKeyRequestAt = -Infinity;
  private failures: number[] = [];
  private readonly receivedAt = new Map<number, number>();
  private decodeMsTotal = 0;
  private readonly counts = { framesReceived: 0, framesDecoded: 0, framesDropped: 0, keyframeRequests: 0, bytesReceived: 0 };
  private size = { frameWidth: 0, frameHeight: 0 };
  private _closed = false;
  private readonly onMessage = (event: MessageEvent): void => this.receive(event.data);

  constructor(private readonly options: DirectVideoReceiverOptions) {
    const generator = new MediaStreamTrackGenerator({ kind: 'video' });
    this.track = generator;
    this.writer = generator.writable.getWriter();
    options.channel.binaryType = 'arraybuffer';
    options.channel.addEventListener('message', this.onMessage);
    this.decoder = this.makeDecoder();
  }

  get closed(): boolean {
    return this._closed;
  }

  stats(): DirectVideoReceiverStats {
    return {
      codec: this.options.codec,
      ...this.counts,
      decodeMsPerFrame: this.counts.framesDecoded > 0 ? this.decodeMsTotal / this.counts.framesDecoded : 0,
      ...this.size,
    };
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.options.channel.removeEventListener('message', this.onMessage);
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.decoder = undefined;
    this.pending?.close();
    this.pending = undefined;
    this.last?.close();
    this.last = undefined;
    this.writer.close().catch(() => undefined);
    this.track.stop();
  }

  private makeDecoder(): VideoDecoder {
    const decoder = new VideoDecoder({
      output: (frame) => this.onDecoded(frame),
      error: (err) => this.onDecoderError(`the ${this.options.codec} decoder failed: ${err.message}`),
    });
    decoder.configure({ codec: this.options.codec, optimizeForLatency: true });
    return decoder;
  }

  private receive(data: unknown): void {
    if (this._closed) return;
    if (!(data instanceof ArrayBuffer)) {
      this.lost('a text message on the video channel');
      return;
    }
    let frame: EncodedVideoFrame | undefined;
    try {
      frame = this.assembler.push(data);
    } catch (err) {
      this.lost(PairuxError.from(err).message);
      return;
    }
    if (!frame) return;
    this.counts.framesReceived++;
    this.counts.bytesReceived += frame.data.byteLength;
    const cipher = this.options.cipher;
    if (!cipher) return this.decode(frame);
    const sealed = frame;
    void cipher.open(new Uint8Array(sealed.data)).then((plain) => {
      if (this._closed) return;
      if (plain) return this.decode({ ...sealed, data: plain });
      // Not this session's key, or damaged: never to the decoder; the next key frame that opens starts it again.
      this.counts.framesDropped++;
      this.waitingForKey = true;
    });
  }

  private decode(frame: EncodedVideoFrame): void {
    const decoder = this.decoder;
    if (!decoder || decoder.state === 'closed') return;
    if (this.waitingForKey && !frame.key) {
      this.counts.framesDropped++;
      this.askForKey('waiting for a key frame');
      return;
    }
    this.waitingForKey = false;
    this.receivedAt.set(frame.timestamp, performance.now());
    try {
      decoder.decode(new EncodedVideoChunk({ type: frame.key ? 'key' : 'delta', timestamp: frame.timestamp, data: frame.data }));
    } catch (err) {
      this.onDecoderError(`frame ${frame.seq} not decodable: ${String(err)}`);
    }
  }

  private onDecoded(frame: VideoFrame): void {
    if (this._closed) {
      frame.close();
      return;
    }
    const at = this.receivedAt.get(frame.timestamp);
    this.receivedAt.delete(frame.timestamp);
    if (at !== undefined) this.decodeMsTotal += performance.now() - at;
    this.counts.framesDecoded++;
    this.size = { frameWidth: frame.displayWidth, frameHeight: frame.displayHeight };
    this.lastTimestamp = Math.max(frame.timestamp, this.lastTimestamp + 1);
    this.last?.close();
    try {
      this.last = frame.clone();
    } catch {
      this.last = undefined;
    }
    // One write at a time; a frame decoded meanwhile replaces the one waiting (the newest wins).
    if (this.writing) {
      if (this.pending) {
        this.pending.close();
        this.counts.framesDropped++;
      }
      this.pending = frame;
      return;
    }
    this.write(frame);
  }

  private write(frame: VideoFrame): void {
    this.writing = true;
    this.writer.write(frame).then(
      () => {
        this.writing = false;
        if (this.firstFrame && !this._closed) {
          this.firstFrame = false;
          this.options.onFirstFrame();
        }
        const next = this.pending;
        this.pending = undefined;
        if (next) this.write(next);
      },
      (err: unknown) => {
        this.writing = false;
        if (!this._closed) this.fail(`the video track refused a frame: ${String(err)}`);
      },
    );
  }

  /**
   * Writes the newest picture again. A <video> given this track shows only frames written after
   * it took the track, and on a still screen the next one may be seconds away.
   */
  repeatLast(): void {
    if (this._closed || !this.last || this.writing) return;
    let again: VideoFrame;
    try {
      this.lastTimestamp += 1;
      again = new VideoFrame(this.last, { timestamp: this.lastTimestamp });
    } catch {
      return;
    }
    this.write(again);
  }

  /** A message refused or a frame gone: drop to the next key frame. */
  private lost(why: string): void {
    this.counts.framesDropped++;
    this.options.log('warn', `direct video: ${why}`);
    this.waitingForKey = true;
    this.assembler.reset();
    this.askForKey(why);
  }

  private onDecoderError(why: string): void {
    if (this._closed) return;
    this.options.log('warn', `direct video: ${why}`);
    const now = performance.now();
    this.failures = this.failures.filter((t) => now - t < FAILURE_WINDOW_MS);
    this.failures.push(now);
    if (this.failures.length >= MAX_FAILURES) return this.fail(`${why} (${this.failures.length} times in ${FAILURE_WINDOW_MS / 1000} s)`);
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.receivedAt.clear();
    this.decoder = this.makeDecoder();
    this.waitingForKey = true;
    this.askForKey(why);
  }

  private askForKey(reason: string): void {
    const now = performance.now();
    if (now - this.lastKeyRequestAt < KEYFRAME_REQUEST_SPACING_MS) return;
    this.lastKeyRequestAt = now;
    this.counts.keyframeRequests++;
    this.options.requestKeyframe(reason.slice(0, 200));
  }

  private fail(reason: string): void {
    if (this._closed) return;
    this.close();
    this.options.onFailed(reason);
  }
}
