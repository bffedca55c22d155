/**
 * The webview's end of its postMessage channel to the extension (protocol/webview-shell.ts): the
 * shell RPC endpoint, and, for the host page, the host bridge's carrier with binary frames. Every
 * message is checked against `WebviewEnvelope` first; a bad one is counted and dropped, since
 * nothing else in the webview can be trusted to have sent it.
 */
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { WebviewEnvelope, webviewShellBoundary } from '../../protocol/webview-shell';
import type { BridgeChannel } from '../engine/frames/host-bridge-client';
import type { Logger } from '../engine/logger';

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export class VsCodeChannel {
  readonly shell: RpcEndpoint;
  private readonly api: VsCodeApi;
  private bridgeHandlers: Parameters<BridgeChannel['listen']>[0] | undefined;
  private bridgeOpen = true;
  /** Messages that were not a valid envelope. */
  rejected = 0;

  constructor(private readonly log: Logger) {
    // acquireVsCodeApi may be called once per page: this object is the page's only handle.
    this.api = acquireVsCodeApi();
    this.shell = new RpcEndpoint({
      boundary: webviewShellBoundary,
      side: 'a',
      send: (text) => this.api.postMessage({ ch: 'shell', text }),
      requestTimeoutMs: 30_000,
      onProtocolError: (error) => log('warn', `shell protocol error: ${error.message}`),
    });
    window.addEventListener('message', (event: MessageEvent) => this.receive(event.data));
  }

  /** The host bridge on this channel (host page only). It is open as long as the page lives. */
  readonly bridge: BridgeChannel = {
    acksFrames: true,
    isOpen: () => this.bridgeOpen,
    send: (text) => this.api.postMessage({ ch: 'bridge', text }),
    close: (code, reason) => {
      if (!this.bridgeOpen) return;
      this.bridgeOpen = false;
      this.bridgeHandlers?.close(code, reason);
    },
    listen: (handlers) => {
      this.bridgeHandlers = handlers;
    },
  };

  private receive(data: unknown): void {
    // Frames may arrive as a Uint8Array or (older hosts) a bare ArrayBuffer.
    const raw = isFrameWithBuffer(data) ? { ch: 'frame', data: new Uint8Array(data.data) } : data;
    const parsed = WebviewEnvelope.safeParse(raw);
    if (!parsed.success) {
      this.rejected++;
      if (this.rejected <= 3) this.log('warn', `dropped a message that is not a PairUX envelope (${this.rejected} so far)`);
      return;
    }
    const message = parsed.data;
    if (message.ch === 'shell') this.shell.receive(message.text);
    else if (message.ch === 'bridge') this.bridgeHandlers?.text(message.text);
    else this.bridgeHandlers?.frame(exactBuffer(message.data));
  }
}

function isFrameWithBuffer(data: unknown): data is { ch: 'frame'; data: ArrayBuffer } {
  return typeof data === 'object' && data !== null && (data as { ch?: unknown }).ch === 'frame' && (data as { data?: unknown }).data instanceof ArrayBuffer;
}

/** The frame parser wants an ArrayBuffer holding exactly the message. */
function exactBuffer(view: Uint8Array): ArrayBuffer {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) return view.buffer;
  return view.slice().buffer as ArrayBuffer;
}
