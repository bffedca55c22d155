/**
 * The host page's end (side 'a') of the host bridge (protocol/host-bridge.ts) over a channel to
 * its runner: a WebSocket (the demo) or the VS Code webview's postMessage (the extension); JSON
 * RPC as text messages, helper video frames as binary postMessage data, or in the demo on the
 * runner's frame stream (protocol/bridge-frame-stream.ts). The runner owns
 * the helper and the host's own UI (the prompt, the panic action), so this is how the page asks
 * it about control requests, hands it the driver's input, and gets the screen's frames.
 */
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import {
  AskAdmit,
  AskControl,
  BridgeHello,
  BridgeInput,
  BridgeFrameTaken,
  BridgeInputRefused,
  ControlApprove,
  ControlState,
  hostBridgeBoundary,
  StopAllControl,
} from '../../../protocol/host-bridge';
import type { InputEvent } from '../../../protocol/input';
import type { ParamsOf, ResultOf } from '../../../protocol/rpc';
import { RpcEndpoint } from '../../../protocol/rpc-endpoint';
import { FrameStreamSplitter, frameStreamUrl } from '../../../protocol/bridge-frame-stream';
import type { AskAnswer, ControlAsker, Requester } from '../input/host-control';
import { TypedEmitter } from '../../../common/typed-emitter';
import type { Logger } from '../logger';

export type BridgeHelloResult = ResultOf<typeof BridgeHello>;

export interface HostBridgeEvents {
  /** The runner's panic action. */
  stopAll: Record<string, never>;
  /** The helper refused a driver's input further down. */
  inputRefused: ParamsOf<typeof BridgeInputRefused>;
  /** A binary message (a helper video frame, unchecked). */
  frame: { data: ArrayBuffer };
  closed: { code: number; reason: string };
}

/** The bridge's carrier, so the same client runs over a WebSocket and over webview postMessage. */
export interface BridgeChannel {
  isOpen(): boolean;
  send(text: string): void;
  close(code: number, reason: string): void;
  listen(handlers: { text(text: string): void; frame(data: ArrayBuffer): void; close(code: number, reason: string): void }): void;
  /**
   * Tells the runner each time a frame has been taken, so the runner sends the next one only then
   * (and merges changes meanwhile). Both carriers do: postMessage has no back-pressure at all, and
   * a WebSocket's is the kernel's buffers, megabytes deep.
   */
  readonly acksFrames: boolean;
}

/** Longer than any runner's own prompt timeout (the demo's is 20 s): its 'timeout' answer wins. */
const ASK_TIMEOUT_MS = 60_000;

export class HostBridgeClient extends TypedEmitter<HostBridgeEvents> implements ControlAsker {
  private readonly endpoint: RpcEndpoint;
  private closedWith: { code: number; reason: string } | undefined;
  /** Input events handed to the runner. */
  inputsSent = 0;

  private constructor(
    private readonly channel: BridgeChannel,
    private readonly log: Logger,
  ) {
    super();
    this.endpoint = new RpcEndpoint({
      boundary: hostBridgeBoundary,
      side: 'a',
      send: (text) => {
        if (!channel.isOpen()) throw new Error('the bridge is not open');
        channel.send(text);
      },
      onProtocolError: (error) => log('warn', `bridge protocol error: ${error.message}`),
    });
    this.endpoint.onNotification(StopAllControl, () => this.emit('stopAll', {}));
    this.endpoint.onNotification(BridgeInputRefused, (p) => this.emit('inputRefused', p));
    channel.listen({
      text: (text) => this.endpoint.receive(text),
      frame: (data) => {
        try {
          this.emit('frame', { data });
        } finally {
          if (channel.acksFrames && this.open) this.endpoint.notify(BridgeFrameTaken, {});
        }
      },
      close: (code, reason) => this.finish(code, reason),
    });
  }

  /** The bridge over a channel that is already open (the VS Code webview's postMessage). */
  static over(channel: BridgeChannel, log: Logger): HostBridgeClient {
    return new HostBridgeClient(channel, log);
  }

  /** Opens the bridge; rejects if it cannot (wrong URL, runner gone, wrong key). */
  static connect(url: string, log: Logger, timeoutMs = 10_000): Promise<HostBridgeClient> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch (err) {
        reject(new PairuxError(ErrorCode.BadMessage, `bad bridge URL: ${String(err)}`));
        return;
      }
      const timer = setTimeout(() => {
        ws.close();
        reject(new PairuxError(ErrorCode.Timeout, `the host bridge did not open within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.addEventListener(
        'open',
        () => {
          clearTimeout(timer);
          resolve(new HostBridgeClient(webSocketChannel(ws, url, log), log));
        },
        { once: true },
      );
      ws.addEventListener(
        'close',
        (event) => {
          clearTimeout(timer);
          reject(new PairuxError(ErrorCode.Closed, `the host bridge closed before it opened (${event.code}${event.reason ? ` ${event.reason}` : ''})`));
        },
        { once: true },
      );
    });
  }

  get open(): boolean {
    return this.closedWith === undefined && this.channel.isOpen();
  }

  hello(params: ParamsOf<typeof BridgeHello>): Promise<BridgeHelloResult> {
    return this.endpoint.request(BridgeHello, params);
  }

  ask(participantId: string, name: string, who: Requester = {}): Promise<AskAnswer> {
    return this.endpoint.request(AskControl, { participantId, name, ...who }, ASK_TIMEOUT_MS);
  }

  /** Someone waits in the lobby: the runner asks the host (no answer in time is a no). */
  admit(knock: ParamsOf<typeof AskAdmit>): Promise<ResultOf<typeof AskAdmit>> {
    return this.endpoint.request(AskAdmit, knock, ASK_TIMEOUT_MS);
  }

  controlState(params: ParamsOf<typeof ControlState>): void {
    if (this.open) this.endpoint.notify(ControlState, params);
  }

  /** The host granted this participant itself (not in answer to a request the runner was asked about). */
  approve(participantId: string): void {
    if (this.open) this.endpoint.notify(ControlApprove, { participantId });
  }

  /** Hands one checked event to the runner; false when the bridge is down. */
  input(controllerId: string, event: InputEvent): boolean {
    if (!this.open) return false;
    try {
      this.endpoint.notify(BridgeInput, { controllerId, event });
      this.inputsSent++;
      return true;
    } catch (err) {
      this.log('warn', `input not handed to the runner: ${String(err)}`);
      return false;
    }
  }

  close(): void {
    this.channel.close(1000, 'host page closing');
    this.finish(1000, 'host page closing');
  }

  private finish(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    this.endpoint.close(`bridge closed (${code})`);
    this.log('warn', `host bridge closed (${code}${reason ? ` ${reason}` : ''})`);
    this.emit('closed', { code, reason });
  }
}

function webSocketChannel(ws: WebSocket, url: string, log: Logger): BridgeChannel {
  ws.binaryType = 'arraybuffer';
  return {
    // The runner's socket drains into the kernel long before this page has taken a frame; only
    // the page can say it is ready for the next one.
    acksFrames: true,
    isOpen: () => ws.readyState === WebSocket.OPEN,
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
    listen(handlers) {
      ws.addEventListener('message', (event: MessageEvent) => {
        if (typeof event.data === 'string') handlers.text(event.data);
      });
      ws.addEventListener('close', (event) => handlers.close(event.code, event.reason));
      const onFrame = (data: ArrayBuffer) => {
        try {
          handlers.frame(data);
        } catch (err) {
          log('warn', `host bridge: a frame's handler failed: ${String(err)}`);
        }
      };
      void readFrameStream(url, onFrame).then(
        (why) => {
          // Without its frames the page shares nothing: closing says so, and the runner's reconnect follows.
          if (ws.readyState !== WebSocket.OPEN) return;
          log('warn', `host bridge: ${why}`);
          ws.close(4002, why.slice(0, 120));
        },
        () => undefined,
      );
    },
  };
}

/** Reads the runner's frame stream (protocol/bridge-frame-stream.ts) until it ends; resolves with why. */
async function readFrameStream(bridgeUrl: string, onFrame: (data: ArrayBuffer) => void): Promise<string> {
  let response: Response;
  try {
    response = await fetch(frameStreamUrl(bridgeUrl), { cache: 'no-store' });
  } catch (err) {
    return `the frame stream could not be opened: ${String(err)}`;
  }
  if (!response.ok || !response.body) return `the frame stream was refused (${response.status} ${await response.text().catch(() => '')})`;
  const splitter = new FrameStreamSplitter(onFrame);
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return 'the frame stream ended';
      splitter.push(value);
    }
  } catch (err) {
    void reader.cancel().catch(() => undefined);
    return `the frame stream broke: ${err instanceof Error ? err.message : String(err)}`;
  }
}
