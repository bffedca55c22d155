/**
 * The extension's end of one webview's postMessage channel (protocol/webview-shell.ts): the shell
 * RPC endpoint (side b) and, for the host page, the host bridge's text. Every message from the
 * webview is checked against `WebviewEnvelope` before anything reads it; a frame never comes
 * this way (frames only go to the webview), so one is refused like any other bad message.
 */
import type { PairuxError } from '../../protocol/errors';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { WebviewEnvelope, webviewShellBoundary } from '../../protocol/webview-shell';

export interface WebviewPoster {
  /** `Webview.postMessage`; resolves false when the webview is gone. */
  post(message: unknown): PromiseLike<boolean>;
}

export class WebviewPort {
  readonly shell: RpcEndpoint;
  /** Host bridge JSON from the page (set by the host bridge that uses this port). */
  onBridgeText: ((text: string) => void) | undefined;
  rejected = 0;
  private closed = false;

  constructor(
    private readonly poster: WebviewPoster,
    onProtocolError: (error: PairuxError) => void,
  ) {
    this.shell = new RpcEndpoint({
      boundary: webviewShellBoundary,
      side: 'b',
      send: (text) => void this.post({ ch: 'shell', text }),
      requestTimeoutMs: 15_000,
      onProtocolError,
    });
  }

  /** A message from the webview (`onDidReceiveMessage`). */
  receive(message: unknown): void {
    if (this.closed) return;
    const parsed = WebviewEnvelope.safeParse(message);
    if (!parsed.success || parsed.data.ch === 'frame') {
      this.rejected++;
      return;
    }
    if (parsed.data.ch === 'shell') this.shell.receive(parsed.data.text);
    else this.onBridgeText?.(parsed.data.text);
  }

  post(message: unknown): PromiseLike<boolean> {
    if (this.closed) return Promise.resolve(false);
    return this.poster.post(message);
  }

  close(reason = 'the panel was closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.shell.close(reason);
  }
}
