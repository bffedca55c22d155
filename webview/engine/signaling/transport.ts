/**
 * The signaling client's only view of the network: something that opens a text connection and
 * reports open/message/close. The browser viewer and host page use a WebSocket; inside a VS Code
 * webview the same client runs over postMessage through the extension.
 */

export interface TransportHandlers {
  onOpen(): void;
  onMessage(text: string): void;
  /** Called once per connection, whether it failed to open or dropped later. */
  onClose(code: number, reason: string): void;
}

export interface TransportConnection {
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

export interface SignalingTransport {
  /** Opens a fresh connection; called again for every reconnect attempt. */
  connect(handlers: TransportHandlers): TransportConnection;
}

/** Close code for a connection that ended without a close frame (WebSocket's 1006). */
export const ABNORMAL_CLOSE = 1006;

export class WebSocketTransport implements SignalingTransport {
  constructor(private readonly url: string) {}

  connect(handlers: TransportHandlers): TransportConnection {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      // A malformed URL throws synchronously; report it like any failed connection.
      queueMicrotask(() => handlers.onClose(ABNORMAL_CLOSE, String(err)));
      return { send: () => undefined, close: () => undefined };
    }
    let closed = false;
    const finish = (code: number, reason: string): void => {
      if (closed) return;
      closed = true;
      handlers.onClose(code, reason);
    };
    ws.onopen = () => handlers.onOpen();
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data === 'string') handlers.onMessage(event.data);
    };
    ws.onclose = (event) => finish(event.code, event.reason);
    return {
      send: (text) => {
        if (ws.readyState !== WebSocket.OPEN) throw new Error('WebSocket is not open');
        ws.send(text);
      },
      close: (code = 1000, reason = '') => {
        try {
          ws.close(code, reason);
        } catch {
          ws.close();
        }
        // Report now: the owner has moved on and must not wait for the closing handshake.
        finish(code, reason);
      },
    };
  }
}
