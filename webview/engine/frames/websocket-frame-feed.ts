/**
 * Reads helper frames from the helper's own loopback WebSocket (the runner's `bridge.hello`
 * answer `via: 'websocket'`) into a BridgeFrameSource. A helper that restarts comes back on the
 * same URL, so a dropped socket is reopened with backoff until stop().
 */
import type { BridgeFrameSource } from './bridge-frame-source';
import type { Logger } from '../logger';

export class WebSocketFrameFeed {
  private ws: WebSocket | undefined;
  private stopped = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  connected = false;

  constructor(
    private readonly url: string,
    private readonly source: BridgeFrameSource,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.ws?.close(1000, 'host page stopping');
    this.ws = undefined;
  }

  private open(): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.log('error', `bad helper frame URL ${this.url}: ${String(err)}`);
      return;
    }
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      this.attempt = 0;
      this.connected = true;
      this.log('info', 'helper frame socket open');
    };
    ws.onmessage = (event: MessageEvent) => {
      if (event.data instanceof ArrayBuffer) this.source.push(event.data);
    };
    ws.onclose = (event) => {
      this.connected = false;
      if (this.stopped || this.ws !== ws) return;
      const delay = Math.min(5000, 250 * 2 ** this.attempt++);
      this.log('warn', `helper frame socket closed (${event.code}); reopening in ${delay} ms`);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
