/**
 * A minimal signaling client for load benches: one socket, request ids, responses resolved by id,
 * nothing validated or recorded (the bench measures the server, not this client).
 */
import WebSocket from 'ws';

interface Reply {
  id?: number;
  result?: unknown;
  error?: { code: string; message: string };
}

export class LoadClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (msg: Reply) => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Reply;
      if (typeof msg.id === 'number') {
        this.waiting.get(msg.id)?.(msg);
        this.waiting.delete(msg.id);
      }
    });
    ws.on('error', () => undefined);
  }

  static open(url: string): Promise<LoadClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { perMessageDeflate: false });
      ws.once('open', () => resolve(new LoadClient(ws)));
      ws.once('error', reject);
    });
  }

  request(method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (msg) => (msg.error ? reject(new Error(`${msg.error.code}: ${msg.error.message}`)) : resolve(msg.result)));
      this.ws.send(JSON.stringify({ v: 1, id, method, params }));
    });
  }

  heartbeat(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send('{"v":1,"method":"heartbeat","params":{}}');
  }

  close(): void {
    this.ws.terminate();
  }
}
