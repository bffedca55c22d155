/**
 * A bare signaling client for tests and benches: the real protocol over a real WebSocket, with
 * every notification recorded so a test can wait for one.
 */
import WebSocket from 'ws';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import type { NotificationType, RequestType } from '../../protocol/rpc';
import { Heartbeat, Join, AdmitGuest, LobbyKnock, signalingBoundary } from '../../protocol/signaling';
import type { PairuxError } from '../../protocol/errors';
import type { SignalingTransport as EngineTransport } from '../../webview/engine/signaling/transport';
import { SignalingClient } from '../../webview/engine/signaling/signaling-client';
import { memoryResumeStore } from '../../webview/engine/signaling/resume-store';
import { silentLogger } from '../../webview/engine/logger';

export interface Received {
  method: string;
  params: unknown;
}

export class TestClient {
  readonly endpoint: RpcEndpoint;
  readonly notifications: Received[] = [];
  readonly protocolErrors: PairuxError[] = [];
  /** Raw frames as they came, for tests of malformed input. */
  readonly raw: string[] = [];
  closeCode: number | undefined;
  closeReason = '';
  /**
   * As a host, lets every guest that knocks in (`lobby.admit`), as a host's user who expects them
   * would; tests of the lobby itself turn this off and answer knocks themselves.
   */
  autoAdmit = true;
  private waiters: Array<() => void> = [];
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    this.endpoint = new RpcEndpoint({
      boundary: signalingBoundary,
      side: 'a',
      send: (text) => ws.send(text),
      onProtocolError: (e) => {
        this.protocolErrors.push(e);
        this.wake();
      },
    });
    // Every notification the server may send, from the boundary itself: a list kept here went stale.
    for (const type of signalingBoundary.bToA.notifications as NotificationType<unknown>[]) {
      this.endpoint.onNotification(type, (params) => {
        this.notifications.push({ method: type.method, params });
        this.wake();
        if (type === LobbyKnock && this.autoAdmit) {
          this.request(AdmitGuest, { participantId: (params as { participantId: string }).participantId }).catch(() => undefined);
        }
      });
    }
    ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      this.endpoint.receive(text);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.endpoint.close();
        this.wake();
        resolve(code);
      });
    });
  }

  static async connect(baseUrl: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers, maxPayload: 1 << 20 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    return new TestClient(ws);
  }

  request<P, R>(type: RequestType<P, R>, params: P): Promise<R> {
    return this.endpoint.request(type, params, 5000);
  }

  join(sessionId: string, token: string, name = 'Tester', extra: Partial<Parameters<typeof Join.params.parse>[0]> = {}) {
    return this.request(Join, { sessionId, token, name, ...extra });
  }

  heartbeat(): void {
    this.endpoint.notify(Heartbeat, {});
  }

  sendRaw(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** Resolves with the first recorded notification of that type matching `where`. */
  async waitFor<P>(type: NotificationType<P>, where: (p: P) => boolean = () => true, timeoutMs = 5000): Promise<P> {
    return this.until(
      () => this.notifications.find((n) => n.method === type.method && where(n.params as P))?.params as P | undefined,
      `${type.method}`,
      timeoutMs,
    );
  }

  async until<T>(probe: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  received<P>(type: NotificationType<P>): P[] {
    return this.notifications.filter((n) => n.method === type.method).map((n) => n.params as P);
  }

  close(): void {
    this.ws.close();
  }

  kill(): void {
    this.ws.terminate();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/**
 * The media engine's `SignalingTransport` over Node's `ws`, so the real webview SignalingClient
 * (what the pages and the extension call) runs against the real server in Node tests.
 */
export function nodeWsTransport(baseUrl: string): EngineTransport {
  const url = `${baseUrl.replace(/^http/, 'ws')}/ws`;
  return {
    connect(handlers) {
      const ws = new WebSocket(url);
      let closed = false;
      ws.on('open', () => handlers.onOpen());
      ws.on('message', (data) => handlers.onMessage(data.toString()));
      ws.on('error', () => undefined);
      ws.on('close', (code, reason) => {
        if (closed) return;
        closed = true;
        handlers.onClose(code, reason.toString());
      });
      return {
        send: (text) => ws.send(text),
        close: (code = 1000, reason = '') => ws.close(code, reason),
      };
    },
  };
}

/** The pages' own SignalingClient on `baseUrl`, quiet and with its resume ticket in memory; not started. */
export function engineClient(baseUrl: string, sessionId: string, token: string, name: string): SignalingClient {
  return new SignalingClient({
    transport: nodeWsTransport(baseUrl),
    sessionId,
    token,
    name,
    client: { kind: 'bench' },
    resumeStore: memoryResumeStore(),
    log: silentLogger,
  });
}

/** `engineClient`, started and joined (rejects with the join's error). */
export async function joinedEngine(baseUrl: string, sessionId: string, token: string, name: string): Promise<SignalingClient> {
  const e = engineClient(baseUrl, sessionId, token, name);
  const joined = new Promise<void>((resolve, reject) => {
    e.once('joined', () => resolve());
    e.once('failed', ({ error }) => reject(error));
  });
  e.start();
  try {
    await joined;
  } catch (err) {
    e.dispose();
    throw err;
  }
  return e;
}

/**
 * `connect()` for a test file's `describe`: a TestClient on the plane `plane()` names at that
 * moment, each ended after the test (`close()`, or `kill()` when `end` says so). Call it before the
 * `afterEach` that closes the plane, so the clients go first.
 */
export function connectingTo(plane: () => { url: string }, end: 'close' | 'kill' = 'close'): () => Promise<TestClient> {
  const clients: TestClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c[end]();
  });
  return async () => {
    const c = await TestClient.connect(plane().url);
    clients.push(c);
    return c;
  };
}
