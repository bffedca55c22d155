/**
 * The runner's end of the host bridge (protocol/host-bridge.ts) over a loopback WebSocket, for
 * the demo's headless host page: the page connects, with a one-off key in its URL. JSON text is the
 * bridge's RPC; binary messages are helper video frames relayed to the page as they came.
 * The extension will carry the same boundary over webview postMessage instead.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
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
import type { BridgeBackend, RunnerBridge } from './bridge-backend';
import type { FrameTarget } from './frame-relay';

/** How long a frame may go unacknowledged before the next is sent anyway (a page that never acks). */
const TAKEN_TIMEOUT_MS = 1000;

export class HostBridgeServer implements RunnerBridge {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly key = randomBytes(18).toString('base64url');
  private page: { ws: WebSocket; endpoint: RpcEndpoint; sentAt: number | undefined } | undefined;
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
    connected: () => this.page !== undefined,
    ready: () => {
      const page = this.page;
      if (!page || page.ws.bufferedAmount !== 0) return false;
      return page.sentAt === undefined || performance.now() - page.sentAt > TAKEN_TIMEOUT_MS;
    },
    send: (bytes) => {
      const page = this.page;
      if (!page) return;
      this.framesSent++;
      page.sentAt = performance.now();
      page.ws.send(bytes, { binary: true });
    },
  };
  /** Frames the page said it took. */
  framesTaken = 0;

  constructor(private readonly backend: BridgeBackend) {
    this.http = createServer((_req, res) => res.writeHead(404).end());
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
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private attach(ws: WebSocket): void {
    // One host page at a time: a reloaded page replaces the old connection.
    this.page?.ws.close(4001, 'replaced');
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
    const page: { ws: WebSocket; endpoint: RpcEndpoint; sentAt: number | undefined } = { ws, endpoint, sentAt: undefined };
    endpoint.onNotification(BridgeFrameTaken, () => {
      this.framesTaken++;
      page.sentAt = undefined;
    });
    this.page = page;
    this.onPageConnected?.();
    ws.on('message', (data, isBinary) => {
      if (isBinary) return; // the page never sends binary on the bridge
      endpoint.receive(data.toString());
    });
    ws.on('close', () => {
      endpoint.close();
      if (this.page === page) this.page = undefined;
    });
  }
}
