/**
 * One end of the runner ⇄ helper link: the frame decoder on the incoming stream, the frame
 * encoder on the outgoing one, and an RpcEndpoint for the JSON frames. The same class serves the
 * helper (side b, on its stdin/stdout) and the runner (side a, on the child's pipes).
 */
import type { Readable, Writable } from 'node:stream';
import { PairuxError } from '../../protocol/errors';
import type { PixelMove, PixelRect, VideoFrameHeader } from '../../protocol/helper-framing';
import { helperBoundary } from '../../protocol/helper-link';
import { PROTOCOL_VERSION } from '../../protocol/rpc';
import { RpcEndpoint, type Side } from '../../protocol/rpc-endpoint';
import { FrameDecoder, type DecodedVideoFrame } from './frame-decoder';
import { FrameEncoder } from './frame-encoder';

export interface HelperLinkOptions {
  side: Side;
  input: Readable;
  output: Writable;
  requestTimeoutMs?: number;
  /** Video frames from the helper (side a only). */
  onVideo?(frame: DecodedVideoFrame): void;
  /** Anything wrong that arrived (bad frame, bad JSON, bad params); the link goes on. */
  onProtocolError?(error: PairuxError): void;
  /** Called once when the link closes: input ended, output failed, framing lost, or `close()`. */
  onClose?(reason: string): void;
}

export class HelperLink {
  readonly rpc: RpcEndpoint;
  private readonly encoder: FrameEncoder;
  private readonly decoder: FrameDecoder;
  private closeReason: string | undefined;
  private readonly onData = (chunk: Buffer) => this.decoder.push(chunk);
  private readonly onEnd = () => {
    this.decoder.end();
    this.close('the other end closed the link');
  };
  private readonly onInputError = (err: Error) => this.close(`reading the link failed: ${err.message}`);
  private readonly onOutputError = (err: Error) => this.close(`writing the link failed: ${err.message}`);

  constructor(private readonly options: HelperLinkOptions) {
    this.encoder = new FrameEncoder(options.output);
    this.rpc = new RpcEndpoint({
      boundary: helperBoundary,
      side: options.side,
      send: (text) => this.sendJson(text),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      onProtocolError: (e) => options.onProtocolError?.(e),
    });
    this.decoder = new FrameDecoder({
      acceptVideo: options.side === 'a',
      onJson: (text) => this.rpc.receive(text),
      onVideo: (frame) => options.onVideo?.(frame),
      onError: (e) => this.frameError(e),
      onFatal: (e) => {
        this.frameError(e);
        this.close(e.message);
      },
    });
    options.input.on('data', this.onData);
    options.input.once('end', this.onEnd);
    options.input.on('error', this.onInputError);
    options.output.on('error', this.onOutputError);
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  get reason(): string | undefined {
    return this.closeReason;
  }

  /** Sends one video frame, or drops it (false) while the previous one is not flushed yet. */
  sendVideo(
    header: VideoFrameHeader,
    pixels: Buffer | readonly Buffer[],
    patch?: { firstRow: number; rows: number } | { rects: readonly PixelRect[]; moves?: readonly PixelMove[] },
  ): boolean {
    return this.encoder.writeVideo(header, pixels, patch);
  }

  /** Whether a video frame sent now would be written rather than dropped. */
  get videoReady(): boolean {
    return !this.closed && !this.encoder.videoBusy;
  }

  get videoStats(): { sent: number; dropped: number } {
    return { sent: this.encoder.stats.videoFrames, dropped: this.encoder.stats.videoDropped };
  }

  /** Rejects every pending request and stops reading and writing. Idempotent. */
  close(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.rpc.close(reason);
    this.encoder.stop();
    const { input } = this.options;
    input.off('data', this.onData);
    input.off('end', this.onEnd);
    // Keep draining (into nothing) so a peer still writing never blocks on a full pipe.
    if (!input.destroyed) input.resume();
    this.options.onClose?.(reason);
  }

  /** The peer hears about a frame it got wrong the way RpcEndpoint answers an unparseable message. */
  private frameError(error: PairuxError): void {
    this.options.onProtocolError?.(error);
    this.writeError(null, error);
  }

  private writeError(id: number | null, error: PairuxError): void {
    try {
      this.encoder.writeJson(JSON.stringify({ v: PROTOCOL_VERSION, id, error: error.toBody() }));
    } catch {
      // Only TOO_LARGE can throw here, and an error body is far below the cap.
    }
  }

  /**
   * RpcEndpoint's transport. A request over the cap throws (request() turns that into a rejected
   * promise); a response over the cap becomes a TOO_LARGE error for its id; a notification over
   * the cap is reported and not sent. Nothing else may throw: responses and notifications are
   * sent from places where a throw would be an unhandled rejection.
   */
  private sendJson(text: string): void {
    try {
      this.encoder.writeJson(text);
    } catch (err) {
      const error = PairuxError.from(err);
      let msg: { id?: unknown; method?: unknown } = {};
      try {
        msg = JSON.parse(text) as typeof msg;
      } catch {
        // Ours, so it parses; if not, it is reported below like a notification.
      }
      if (typeof msg.method === 'string' && typeof msg.id === 'number') throw error;
      this.options.onProtocolError?.(new PairuxError(error.code, `not sent: ${error.message}`, error.data));
      if (typeof msg.id === 'number') this.writeError(msg.id, error);
    }
  }
}
