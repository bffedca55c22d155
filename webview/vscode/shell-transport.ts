/**
 * The signaling client's transport inside a VS Code webview: the connection is the extension's
 * (`shell.signal*`, extension/core/signal-relay.ts), so the server never sees the webview's
 * origin, which on the web (code-server, vscode.dev) no deployed server could know.
 */
import type { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { ShellSignalClose, ShellSignalClosed, ShellSignalMessage, ShellSignalOpen, ShellSignalOpened, ShellSignalSend } from '../../protocol/webview-shell';
import { ABNORMAL_CLOSE, type SignalingTransport, type TransportConnection, type TransportHandlers } from '../engine/signaling/transport';

interface Connection {
  handlers: TransportHandlers;
  open: boolean;
}

export class ShellSignalingTransport implements SignalingTransport {
  private readonly connections = new Map<string, Connection>();
  private next = 0;
  /** Names connections apart from an earlier page's in the same webview (a reload keeps the extension's side). */
  private readonly prefix = Math.random().toString(36).slice(2, 10);

  constructor(private readonly shell: RpcEndpoint) {
    shell.onNotification(ShellSignalOpened, ({ id }) => {
      const c = this.connections.get(id);
      if (!c || c.open) return;
      c.open = true;
      c.handlers.onOpen();
    });
    shell.onNotification(ShellSignalMessage, ({ id, text }) => {
      const c = this.connections.get(id);
      if (c?.open) c.handlers.onMessage(text);
    });
    shell.onNotification(ShellSignalClosed, ({ id, code, reason }) => this.finish(id, code, reason));
  }

  connect(handlers: TransportHandlers): TransportConnection {
    const id = `${this.prefix}-${this.next++}`;
    this.connections.set(id, { handlers, open: false });
    if (this.shell.closed) queueMicrotask(() => this.finish(id, ABNORMAL_CLOSE, 'the editor is gone'));
    else this.shell.notify(ShellSignalOpen, { id });
    return {
      send: (text) => {
        if (!this.connections.get(id)?.open) throw new Error('the signaling connection is not open');
        this.shell.notify(ShellSignalSend, { id, text });
      },
      close: (code = 1000, reason = '') => {
        if (!this.connections.has(id)) return;
        // Only codes a page may send cross: anything else closes as a normal close.
        const sent = code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
        this.shell.notify(ShellSignalClose, { id, code: sent, reason: reason.slice(0, 123) });
        // Report now, as the WebSocket transport does: the owner has moved on.
        this.finish(id, code, reason);
      },
    };
  }

  private finish(id: string, code: number, reason: string): void {
    const c = this.connections.get(id);
    if (!c) return;
    this.connections.delete(id);
    c.handlers.onClose(code, reason);
  }
}
