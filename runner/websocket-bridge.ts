/**
 * The runner's end of the host bridge (protocol/host-bridge.ts) over a loopback WebSocket, for
 * the demo's headless host page: the page connects, with a one-off key in its URL. JSON text is the
 * bridge's RPC; the screen goes to the page on the frame stream it then opens on the same port
 * (protocol/bridge-frame-stream.ts: a DevTools-driven page copies every WebSocket message into a
 * DevTools event). The extension carries the same boundary over webview postMessage instead.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { RpcEndpoint } from '../protocol/rpc-endpoint';
import type { ParamsOf } from '../protocol/rpc';
import {
  AskAdmit,
  AskControl,
  BridgeFrameTaken,
  BridgeHello,
  BridgeInput,
  BridgeInputRefused,
  ControlApprove,
  ControlState,
  hostBridgeBoundary,
  MAX_BRIDGE_JSON_BYTES,
  StopAllControl,
} from '../protocol/host-bridge';
import { MAX_VIDEO_FRAME_BYTES } from '../protocol/helper-framing';
import { FRAME_STREAM_PATH, frameLengthPrefix } from '../protocol/bridge-frame-stream';
import type { BridgeBackend, RunnerBridge } from './bridge-backend';
import type { FrameTarget } from './frame-relay';

/** How long a frame may go unacknowledged before the next is sent anyway (a page that never acks). */
const TAKEN_TIMEOUT_MS = 1000;

interface BridgePage {
  ws: WebSocket;
  endpoint: RpcEndpoint;
  /** The page's frame stream, once it has opened it. */
  stream: ServerResponse | undefined;
  sentAt: number | undefined;
}

export class HostBridgeServer implements RunnerBridge {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly key = randomBytes(18).toString('base64url');
  private page: BridgePage | undefined;
  /** Frames dropped because the page had not taken the previous one yet. */
  framesDropped = 0;
  framesSent = 0;
  url = '';
  /** Called when a host page (re)connects: it has no picture yet. */
  onPageConnected: (() => void) | undefined;

  /**
   * Where the frame relay sends: ready when the page has taken the previous message (`frame.taken`),
   * not merely when the socket drained it. An empty bufferedAmount only means the kernel took the
   * bytes: a page busy with whole-screen patches (a scrolling 1080p window) then had seconds of
   * them queued in the socket and its own message queue, each shown seconds late (bench:latency's
   * scroll row: runner → page p50 2.6–4.4 s). Held back here, changes merge in the relay instead.
   * A page that never says (an older build) still gets a message every TAKEN_TIMEOUT_MS.
   */
  readonly frameTarget: FrameTarget = {
    connected: () => this.page?.stream !== undefined,
    ready: () => {
      const page = this.page;
      if (!page?.stream || page.stream.writableLength !== 0) return false;
      return page.sentAt === undefined || performance.now() - page.sentAt > TAKEN_TIMEOUT_MS;
    },
    send: (bytes) => {
      const stream = this.page?.stream;
      if (!stream) return;
      this.framesSent++;
      this.page!.sentAt = performance.now();
      stream.cork();
      stream.write(frameLengthPrefix(bytes.byteLength));
      stream.write(bytes);
      stream.uncork();
    },
  };
  /** Frames the page said it took. */
  framesTaken = 0;

  constructor(private readonly backend: BridgeBackend) {
    this.http = createServer((req, res) => this.serveFrameStream(req, res));
    this.wss = new WebSocketServer({ server: this.http, maxPayload: MAX_BRIDGE_JSON_BYTES, perMessageDeflate: false });
    this.wss.on('connection', (ws, req) => {
      // `ws` reports an over-size or malformed frame as an 'error' and closes the socket itself
      // (1009/1002); unheard, that error would take the whole runner (and the demo) down.
      ws.on('error', () => undefined);
      if (new URL(req.url ?? '/', 'http://x').searchParams.get('k') !== this.key) {
        ws.close(1008, 'wrong key');
        return;
      }
      this.attach(ws);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    const { port } = this.http.address() as AddressInfo;
    this.url = `ws://127.0.0.1:${port}/bridge?k=${this.key}`;
    return this.url;
  }

  get connected(): boolean {
    return this.page !== undefined;
  }

  /**
   * Sends one ready-made frame message (kind byte + header + pixels) as it is, dropped while the
   * page is still taking the previous one. The runner's screen goes through `FrameRelay`; this is
   * for callers that already hold whole frames.
   */
  sendFrame(frame: Uint8Array): void {
    if (frame.byteLength > MAX_VIDEO_FRAME_BYTES) return;
    if (!this.frameTarget.ready()) {
      if (this.frameTarget.connected()) this.framesDropped++;
      return;
    }
    this.frameTarget.send(frame);
  }

  stopAllControl(): void {
    this.page?.endpoint.notify(StopAllControl, {});
  }

  inputRefused(params: ParamsOf<typeof BridgeInputRefused>): void {
    this.page?.endpoint.notify(BridgeInputRefused, params);
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.page?.stream?.end();
    this.wss.close();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    // The frame stream is a response that never ends by itself.
    this.http.closeAllConnections();
    await closed;
  }

  /** `GET /bridge/frames?k=…` from the page whose WebSocket is connected: its frames from now on. */
  private serveFrameStream(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== FRAME_STREAM_PATH || req.method !== 'GET') return void res.writeHead(404).end();
    // The page is served from the control plane's origin, not this port; the key is what guards.
    res.setHeader('access-control-allow-origin', '*');
    if (url.searchParams.get('k') !== this.key) return void res.writeHead(403).end('wrong key');
    const page = this.page;
    if (!page) return void res.writeHead(409).end('connect the bridge WebSocket first');
    page.stream?.end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
    res.flushHeaders();
    // Loopback: a frame's bytes go out at once, not after Nagle's wait for the previous ack.
    req.socket.setNoDelay(true);
    page.stream = res;
    page.sentAt = undefined;
    res.on('close', () => {
      if (page.stream === res) page.stream = undefined;
    });
    this.onPageConnected?.();
  }

  private attach(ws: WebSocket): void {
    // One host page at a time: a reloaded page replaces the old connection.
    this.page?.ws.close(4001, 'replaced');
    this.page?.stream?.end();
    const endpoint = new RpcEndpoint({
      boundary: hostBridgeBoundary,
      side: 'b',
      send: (text) => ws.send(text),
      requestTimeoutMs: 60_000,
    });
    endpoint.onRequest(BridgeHello, (p) => this.backend.hello(p));
    endpoint.onRequest(AskControl, (p) => this.backend.askControl(p));
    endpoint.onRequest(AskAdmit, (p) => this.backend.askAdmit?.(p) ?? Promise.resolve({ admit: false, reason: 'denied' as const }));
    endpoint.onNotification(ControlState, (p) => this.backend.controlState(p));
    endpoint.onNotification(ControlApprove, (p) => this.backend.approve?.(p.participantId));
    endpoint.onNotification(BridgeInput, (p) => this.backend.input(p.controllerId, p.event));
    const page: BridgePage = { ws, endpoint, stream: undefined, sentAt: undefined };
    endpoint.onNotification(BridgeFrameTaken, () => {
      this.framesTaken++;
      page.sentAt = undefined;
    });
    // Connected for frames once its stream is open (serveFrameStream).
    this.page = page;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return; // the page never sends binary on the bridge
      endpoint.receive(data.toString());
    });
    ws.on('close', () => {
      endpoint.close();
      page.stream?.end();
      if (this.page === page) this.page = undefined;
    });
  }
}
