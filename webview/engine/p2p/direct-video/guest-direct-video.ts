/**
 * A guest's switch to direct video on one P2P connection: once both channels are open it asks
 * the host (`VideoDirect`), runs the receiver, and hands the engine the track to show when its
 * first frame is on it. Any failure — this page cannot decode, the host refuses, the decoder
 * gives up — ends in `onFallback`, and the engine keeps (or goes back to) RTP video.
 */
import { PairuxError } from '../../../../protocol/errors';
import { VideoDirect, VideoDirectStop, VideoKeyframe } from '../../../../protocol/peer';
import type { RpcEndpoint } from '../../../../protocol/rpc-endpoint';
import type { Logger } from '../../logger';
import type { ChunkCipher } from '../../e2ee/chunk-cipher';
import { DirectVideoReceiver, directVideoCodecs, type DirectVideoReceiverStats } from './direct-video-receiver';

export interface GuestDirectVideoOptions {
  endpoint: RpcEndpoint;
  channel: RTCDataChannel;
  /** The direct track has its first frame: show it. */
  onTrack: (track: MediaStreamTrack) => void;
  /** Direct video did not start or stopped: show RTP video. */
  onFallback: (reason: string) => void;
  /** An end-to-end encrypted session's chunk cipher (direct-video-receiver.ts). */
  cipher?: ChunkCipher;
  log: Logger;
}

export class GuestDirectVideo {
  private receiver: DirectVideoReceiver | undefined;
  private _showing = false;
  private _closed = false;

  constructor(private readonly options: GuestDirectVideoOptions) {
    options.endpoint.onNotification(VideoDirectStop, ({ reason }) => this.end(`the host stopped it: ${reason}`, false));
    options.channel.addEventListener('close', () => this.end('its channel closed', false));
  }

  /** True once the direct track is on screen. */
  get showing(): boolean {
    return this._showing;
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Writes the newest picture to the track again (for a <video> that took the track after it came). */
  refresh(): void {
    this.receiver?.repeatLast();
  }

  stats(): DirectVideoReceiverStats | undefined {
    return this.receiver?.stats();
  }

  async start(): Promise<void> {
    const codecs = await directVideoCodecs();
    if (this._closed) return;
    if (codecs.length === 0) return this.end('this browser cannot decode it (WebCodecs or MediaStreamTrackGenerator missing)', false);
    let codec: string;
    try {
      ({ codec } = await this.options.endpoint.request(VideoDirect, { codecs }));
    } catch (err) {
      return this.end(`the host did not start it: ${PairuxError.from(err).message}`, false);
    }
    if (this._closed) return;
    const { endpoint, log } = this.options;
    this.receiver = new DirectVideoReceiver({
      channel: this.options.channel,
      codec,
      ...(this.options.cipher ? { cipher: this.options.cipher } : {}),
      log,
      requestKeyframe: (reason) => {
        if (!endpoint.closed) endpoint.notify(VideoKeyframe, { reason });
      },
      onFailed: (reason) => this.end(reason, true),
      onFirstFrame: () => {
        if (this._closed || !this.receiver) return;
        this._showing = true;
        log('info', `direct video (${codec}) on screen`);
        this.options.onTrack(this.receiver.track);
      },
    });
  }

  /** Stops receiving; the track (if shown) ends with it. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this._showing = false;
    this.receiver?.close();
    this.receiver = undefined;
  }

  private end(reason: string, tellHost: boolean): void {
    if (this._closed) return;
    const endpoint = this.options.endpoint;
    if (tellHost && !endpoint.closed) {
      try {
        endpoint.notify(VideoDirectStop, { reason: reason.slice(0, 200) });
      } catch {
        // The channel is going: so is the connection, and the host with it.
      }
    }
    this.close();
    this.options.log('info', `direct video off: ${reason}`);
    this.options.onFallback(reason);
  }
}
