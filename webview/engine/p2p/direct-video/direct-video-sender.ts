/**
 * The host's side of direct video (protocol/direct-video.ts): reads the shared screen's frames
 * with a MediaStreamTrackProcessor, encodes each once with WebCodecs, and sends the result to
 * every guest that asked for it over that guest's `pairux-video` channel. One encoder for all of
 * them, where RTP video runs one per guest.
 *
 * Codec: H.264 (OpenH264, constrained baseline) where both ends have it, else VP8. Measured in
 * Chromium 156 on a 2-core machine (1080p, a page of code scrolling a line per frame, 4 Mbit/s):
 * with the cores shared with three busy processes, H.264 encoded a frame in 8.5 / 17.6 ms
 * (p50 / p95) and VP8 in 193 / 257 ms (libvpx's encoder threads wait on each other); text at
 * 41.8 dB PSNR against VP8's 25.2 (VP8's decoded colours come out darker). bench:latency P2P at
 * 1080p30: busy 170/283 -> 15.7/32 ms, typing 57/93 -> 24/45, scroll 1415/>2000 (12 misses) ->
 * 124/215 (none).
 *
 * Latency before completeness: a frame is not encoded while the encoder is still busy with two,
 * or while every guest's channel still has more than QUEUE_LOW_BYTES to send (the frame after
 * it carries the same change, fresher; skipping before the encoder leaves no gap in what the
 * decoders get). A guest far behind the others (over BACKLOG_BYTES queued) misses frames and
 * gets a key frame once it drains, as its decoder cannot continue from a gap.
 */
import { ErrorCode, PairuxError } from '../../../../protocol/errors';
import { splitVideoFrame } from '../../../../protocol/direct-video';
import { TypedEmitter } from '../../../../common/typed-emitter';
import type { Logger } from '../../logger';
import type { ChunkCipher } from '../../e2ee/chunk-cipher';
import type { DirectVideoSenderStats } from '../../engine-types';

/** What the host encodes, best first (see the file comment). */
export const DIRECT_VIDEO_CODECS = ['avc1.42e02a', 'vp8', 'vp09.00.10.08'] as const;
/** A guest's channel queue past this is dropped to a key frame when it drains (about 1 s at 4 Mbit/s). */
export const BACKLOG_BYTES = 512 * 1024;
/** Frames wait (are not encoded) while every guest has more than this still to send: a standing queue is latency. */
export const QUEUE_LOW_BYTES = 64 * 1024;
const DEFAULT_BITRATE_KBPS = 4000;
/** Frames waiting in the encoder beyond this mean it is behind: the newest frame waits for the next turn. */
const MAX_ENCODE_QUEUE = 1;

export interface DirectVideoSenderOptions {
  /** The shared screen; the sender reads a clone of it, so stopping the sender leaves it alone. */
  track: MediaStreamTrack;
  bitrateKbps?: number;
  framerate?: number;
  /** An end-to-end encrypted session: every chunk is sealed once, before it goes to any guest. */
  cipher?: ChunkCipher;
  log: Logger;
}

export interface DirectVideoSenderEvents {
  /** The encoder failed for good: every guest goes back to RTP video. */
  failed: { reason: string };
}

interface Peer {
  channel: RTCDataChannel;
  needsKey: boolean;
  /** When this guest last asked for a key frame (performance.now ms). */
  keyAskedAt: number;
}

/** A guest's key-frame requests count at most this often: a key frame costs every guest bandwidth and the host CPU. */
const KEYFRAME_REQUEST_SPACING_MS = 300;

/** Whether this page can send direct video at all (Chromium: WebCodecs and the main-thread track processor). */
export function canSendDirectVideo(): boolean {
  return typeof VideoEncoder === 'function' && typeof MediaStreamTrackProcessor === 'function';
}

export class DirectVideoSender extends TypedEmitter<DirectVideoSenderEvents> {
  private readonly peers = new Map<string, Peer>();
  private codec: string | undefined;
  private encoder: VideoEncoder | undefined;
  private size = { width: 0, height: 0 };
  private reader: ReadableStreamDefaultReader<VideoFrame> | undefined;
  private source: MediaStreamTrack | undefined;
  private seq = 0;
  private lastTimestamp = 0;
  private wantKey = false;
  private readonly startedAt = new Map<number, number>();
  private encodeMsTotal = 0;
  private readonly counts = { framesRead: 0, framesEncoded: 0, keyFrames: 0, framesSkipped: 0, framesWaited: 0, framesHeldBack: 0, bytesSent: 0 };
  private _closed = false;

  constructor(private readonly options: DirectVideoSenderOptions) {
    super();
  }

  get closed(): boolean {
    return this._closed;
  }

  /** The first of our codecs that the guest lists and this browser encodes; undefined when none. */
  async codecFor(guestCodecs: readonly string[]): Promise<string | undefined> {
    if (this.codec) return guestCodecs.includes(this.codec) ? this.codec : undefined;
    for (const codec of DIRECT_VIDEO_CODECS) {
      if (!guestCodecs.includes(codec)) continue;
      const { supported } = await VideoEncoder.isConfigSupported(this.config(codec, 1920, 1080)).catch(() => ({ supported: false }));
      if (supported) return codec;
    }
    return undefined;
  }

  /** Starts sending to this guest (from its next key frame). Every guest gets the same codec: the first one's. */
  addPeer(guestId: string, channel: RTCDataChannel, codec: string): void {
    if (this._closed) throw new PairuxError(ErrorCode.Closed, 'direct video has stopped on the host');
    if (this.codec && codec !== this.codec) throw new PairuxError(ErrorCode.Unavailable, `direct video is already encoding ${this.codec}`);
    this.codec = codec;
    channel.binaryType = 'arraybuffer';
    this.peers.set(guestId, { channel, needsKey: true, keyAskedAt: -Infinity });
    this.wantKey = true;
    this.options.log('info', `direct video to ${guestId} (${codec})`);
    if (!this.reader) void this.readFrames();
  }

  removePeer(guestId: string): void {
    if (!this.peers.delete(guestId)) return;
    this.options.log('info', `direct video to ${guestId} stopped`);
    // Nobody left to send to: stop reading (and encoding) until someone asks again.
    if (this.peers.size === 0) this.stopReading();
  }

  hasPeer(guestId: string): boolean {
    return this.peers.has(guestId);
  }

  /** The guest's decoder lost its place. */
  requestKeyframe(guestId: string): void {
    const peer = this.peers.get(guestId);
    if (!peer) return;
    const now = performance.now();
    if (now - peer.keyAskedAt < KEYFRAME_REQUEST_SPACING_MS) return;
    peer.keyAskedAt = now;
    peer.needsKey = true;
    this.wantKey = true;
  }

  stats(): DirectVideoSenderStats {
    return {
      codec: this.codec ?? '',
      peers: this.peers.size,
      ...this.counts,
      encodeMsPerFrame: this.counts.framesEncoded > 0 ? this.encodeMsTotal / this.counts.framesEncoded : 0,
      ...this.size,
    };
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.peers.clear();
    this.stopReading();
    this.removeAllListeners();
  }

  private config(codec: string, width: number, height: number): VideoEncoderConfig {
    return {
      codec,
      width,
      height,
      bitrate: (this.options.bitrateKbps ?? DEFAULT_BITRATE_KBPS) * 1000,
      framerate: this.options.framerate ?? 30,
      latencyMode: 'realtime',
      // Key frames carry their parameter sets in-band: the guest's decoder needs no description.
      ...(codec.startsWith('avc1') ? { avc: { format: 'annexb' as const } } : {}),
      // VP8's screen tuning halved its encode time on a text screen (108 -> 44 ms a frame);
      // OpenH264's screen mode doubled its own (busy row 16 -> 49 ms p50) for no sharper text.
      ...(codec === 'vp8' ? ({ contentHint: 'text' } as object) : {}),
    };
  }

  private async readFrames(): Promise<void> {
    const source = this.options.track.clone();
    this.source = source;
    const reader = new MediaStreamTrackProcessor({ track: source, maxBufferSize: 1 }).readable.getReader();
    this.reader = reader;
    try {
      for (;;) {
        const { value: frame, done } = await reader.read();
        if (done || !frame) break;
        this.counts.framesRead++;
        try {
          this.encode(frame);
        } finally {
          frame.close();
        }
      }
    } catch (err) {
      if (this.reader === reader) this.options.log('warn', 'direct video: reading the screen track failed', err);
    } finally {
      if (this.reader === reader) this.stopReading();
    }
  }

  private stopReading(): void {
    const reader = this.reader;
    this.reader = undefined;
    reader?.cancel().catch(() => undefined);
    this.source?.stop();
    this.source = undefined;
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    this.encoder = undefined;
    this.startedAt.clear();
  }

  private encode(frame: VideoFrame): void {
    const width = frame.displayWidth;
    const height = frame.displayHeight;
    if (!this.encoder || width !== this.size.width || height !== this.size.height) {
      if (!this.configure(width, height)) return;
    }
    const encoder = this.encoder!;
    if (encoder.encodeQueueSize >= MAX_ENCODE_QUEUE) {
      this.counts.framesSkipped++;
      return;
    }
    if (![...this.peers.values()].some((p) => p.channel.readyState === 'open' && p.channel.bufferedAmount <= QUEUE_LOW_BYTES)) {
      this.counts.framesWaited++;
      return;
    }
    const keyFrame = this.wantKey;
    this.wantKey = false;
    // Our own strictly increasing time: the processor hands the page's keep-warm repeats over with
    // the timestamp of the frame they repeat, and a guest's <video> skips a frame whose time it has
    // shown already, so a change would wait for the next one (a second on a still screen).
    const timestamp = Math.max(Math.round(performance.now() * 1000), this.lastTimestamp + 1);
    this.lastTimestamp = timestamp;
    const stamped = new VideoFrame(frame, { timestamp });
    this.startedAt.set(timestamp, performance.now());
    try {
      encoder.encode(stamped, { keyFrame });
    } finally {
      stamped.close();
    }
  }

  private configure(width: number, height: number): boolean {
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    this.size = { width, height };
    const codec = this.codec!;
    try {
      const encoder = new VideoEncoder({
        output: (chunk) => this.onChunk(chunk),
        error: (err) => this.fail(`the ${codec} encoder failed: ${err.message}`),
      });
      // Even-sized: 4:2:0 encoders refuse odd sizes; the page's frames are even already.
      encoder.configure(this.config(codec, width, height));
      this.encoder = encoder;
    } catch (err) {
      this.fail(`the ${codec} encoder refused ${width}×${height}: ${String(err)}`);
      return false;
    }
    for (const peer of this.peers.values()) peer.needsKey = true;
    this.wantKey = true;
    return true;
  }

  private onChunk(chunk: EncodedVideoChunk): void {
    const started = this.startedAt.get(chunk.timestamp);
    this.startedAt.delete(chunk.timestamp);
    if (started !== undefined) this.encodeMsTotal += performance.now() - started;
    this.counts.framesEncoded++;
    const key = chunk.type === 'key';
    if (key) this.counts.keyFrames++;
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const send = (payload: Uint8Array): void => {
      const parts = splitVideoFrame({ seq: this.seq++, key, timestamp: chunk.timestamp, data: payload });
      for (const peer of this.peers.values()) this.sendTo(peer, parts, key);
    };
    const cipher = this.options.cipher;
    if (!cipher) return send(data);
    // Sealed in order (the cipher keeps it); without a key yet, nothing goes out rather than a clear chunk.
    void cipher.seal(data).then(
      (sealed) => {
        if (sealed && !this._closed) send(sealed);
      },
      (err: unknown) => this.options.log('warn', `direct video: a chunk could not be sealed: ${String(err)}`),
    );
  }

  private sendTo(peer: Peer, parts: Uint8Array[], key: boolean): void {
    if (peer.channel.readyState !== 'open') return;
    if (peer.needsKey && !key) {
      // Still waiting for a key frame; ask again in case the last one went to a backed-up channel.
      this.wantKey = true;
      return;
    }
    if (peer.channel.bufferedAmount > BACKLOG_BYTES) {
      this.counts.framesHeldBack++;
      peer.needsKey = true;
      return;
    }
    try {
      for (const part of parts) {
        peer.channel.send(part as Uint8Array<ArrayBuffer>);
        this.counts.bytesSent += part.byteLength;
      }
      if (key) peer.needsKey = false;
    } catch (err) {
      // A channel closing under us: its peer is removed by the engine when the connection goes.
      this.options.log('debug', 'direct video: send failed', err);
      peer.needsKey = true;
    }
  }

  private fail(reason: string): void {
    if (this._closed) return;
    this.options.log('warn', `direct video: ${reason}`);
    this.peers.clear();
    this.stopReading();
    this.codec = undefined;
    this.emit('failed', { reason });
  }
}
