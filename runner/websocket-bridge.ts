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

export class HostBridgeServer implements RunnerBridge {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly key = randomBytes(18).toString('base64url');
  private page: { ws: WebSocket; endpoint: RpcEndpoint } | undefined;
  /** Frames dropped because the page had not taken the previous one yet. */
  framesDropped = 0;
  framesSent = 0;
  url = '';
  /** Called when a host page (re)connects: it has no picture yet. */
  onPageConnected: (() => void) | undefined;

  /** Where the frame relay sends: ready when the page has drained the previous message. */
  readonly frameTarget: FrameTarget = {
    connected: () => this.page !== undefined,
    ready: () => this.page !== undefined && this.page.ws.bufferedAmount === 0,
    send: (bytes) => {
      this.framesSent++;
      this.page?.ws.send(bytes, { binary: true });
    },
  };

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
    const page = { ws, endpoint };
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
