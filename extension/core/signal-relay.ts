/**
 * A webview page's signaling socket, opened by the extension host (protocol/webview-shell.ts,
 * `shell.signal*`). A page in a webview has its editor's origin (vscode-webview:// on the desktop,
 * the code-server or vscode.dev page's own on the web), which a deployed server cannot know and
 * refuses; this socket carries no origin, as any native client's. It goes only to the session's
 * own signaling URL, never to one the page names, and at most a few at once (a page reconnecting
 * opens a new one as the old one closes).
 */
import WebSocket from 'ws';
import { MAX_SIGNALING_DOWN_BYTES } from '../../protocol/limits';
import type { RpcEndpoint } from '../../protocol/rpc-endpoint';
import {
  MAX_SHELL_JSON_BYTES,
  ShellSignalClose,
  ShellSignalClosed,
  ShellSignalMessage,
  ShellSignalOpen,
  ShellSignalOpened,
  ShellSignalSend,
} from '../../protocol/webview-shell';

export interface SignalRelayOptions {
  /** The session's signaling URL (ws:// or wss://), read when a connection opens: it can change (a host transfer). */
  url(): string;
  /** Open connections allowed at once; more are refused (close code 1013). */
  maxOpen?: number;
  /** Opening handshake limit. */
  handshakeTimeoutMs?: number;
  log?(line: string): void;
}

/** What the page is told when the relay refuses a connection or ends it. */
const TRY_AGAIN_LATER = 1013;
const TOO_BIG = 1009;
const GOING_AWAY = 1001;

export class SignalRelay {
  private readonly sockets = new Map<string, WebSocket>();
  closed = false;

  constructor(
    private readonly shell: RpcEndpoint,
    private readonly options: SignalRelayOptions,
  ) {
    shell.onNotification(ShellSignalOpen, ({ id }) => this.open(id));
    shell.onNotification(ShellSignalSend, ({ id, text }) => {
      const ws = this.sockets.get(id);
      if (ws?.readyState === WebSocket.OPEN) ws.send(text);
    });
    shell.onNotification(ShellSignalClose, ({ id, code, reason }) => {
      const ws = this.sockets.get(id);
      this.sockets.delete(id);
      try {
        ws?.close(code, reason);
      } catch {
        ws?.close(code); // a reason over 123 bytes in UTF-8
      }
    });
  }

  get openCount(): number {
    return this.sockets.size;
  }

  private open(id: string): void {
    if (this.closed) return this.tell(id, GOING_AWAY, 'the editor closed this session');
    if (this.sockets.has(id)) return;
    if (this.sockets.size >= (this.options.maxOpen ?? 4)) return this.tell(id, TRY_AGAIN_LATER, 'too many signaling connections from this page');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.options.url(), { maxPayload: MAX_SIGNALING_DOWN_BYTES, handshakeTimeout: this.options.handshakeTimeoutMs ?? 15_000 });
    } catch (err) {
      return this.tell(id, GOING_AWAY, `cannot open ${this.options.url()}: ${(err as Error).message}`);
    }
    this.sockets.set(id, ws);
    let failure = '';
    ws.on('open', () => this.shell.notify(ShellSignalOpened, { id }));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return; // the signaling protocol is text only
      const text = data.toString();
      // The page's channel refuses a message over its cap: better a clear close than a lost message.
      if (JSON.stringify(text).length + 200 > MAX_SHELL_JSON_BYTES) {
        this.options.log?.(`a signaling message of ${text.length} characters is too large for the webview; reconnecting`);
        return ws.close(TOO_BIG, 'message too large for the webview');
      }
      this.shell.notify(ShellSignalMessage, { id, text });
    });
    ws.on('error', (err) => {
      failure = err.message;
      this.options.log?.(`signaling connection ${id}: ${err.message}`);
    });
    ws.on('close', (code, reason) => {
      if (this.sockets.get(id) === ws) this.sockets.delete(id);
      // 1005/1006 (no close frame) are not codes a close frame carries; the page knows 1006 as "dropped".
      const said = reason.toString() || failure;
      this.tell(id, code >= 1000 && code <= 4999 && code !== 1005 ? code : 1006, said);
    });
  }

  private tell(id: string, code: number, reason: string): void {
    if (this.shell.closed) return;
    this.shell.notify(ShellSignalClosed, { id, code, reason: reason.slice(0, 1000) });
  }

  /** Closes every connection (the page is told each one closed). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ws of this.sockets.values()) ws.close(GOING_AWAY, 'the editor closed this session');
  }
}
