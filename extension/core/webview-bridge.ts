/**
 * The runner's end of the host bridge (protocol/host-bridge.ts) over a webview's postMessage,
 * the extension's counterpart of the demo's WebSocket `HostBridgeServer`. postMessage has no
 * back-pressure to read, so the page acknowledges each frame (`frame.taken`) and the relay sends
 * the next only then: a slow webview gets fewer, newer pictures instead of a growing queue.
 */
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import type { ParamsOf } from '../../protocol/rpc';
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
  StopAllControl,
} from '../../protocol/host-bridge';
import { MAX_VIDEO_FRAME_BYTES } from '../../protocol/helper-framing';
import type { BridgeBackend, RunnerBridge } from '../../runner/bridge-backend';
import type { FrameTarget } from '../../runner/frame-relay';
import type { WebviewPort } from './webview-port';

/** A frame not acknowledged in this time is taken as lost (a reloaded webview), so frames go on. */
const ACK_TIMEOUT_MS = 2000;

export class WebviewBridge implements RunnerBridge {
  private endpoint: RpcEndpoint | undefined;
  private inFlight = false;
  private sentAt = 0;
  framesSent = 0;
  framesAcked = 0;
  onPageConnected: (() => void) | undefined;

  readonly frameTarget: FrameTarget = {
    connected: () => this.endpoint !== undefined,
    ready: () => {
      if (!this.endpoint) return false;
      if (this.inFlight && Date.now() - this.sentAt > ACK_TIMEOUT_MS) this.inFlight = false;
      return !this.inFlight;
    },
    send: (bytes) => {
      if (bytes.byteLength > MAX_VIDEO_FRAME_BYTES) return;
      this.inFlight = true;
      this.sentAt = Date.now();
      this.framesSent++;
      void this.port.post({ ch: 'frame', data: bytes });
    },
  };

  constructor(
    private readonly port: WebviewPort,
    private readonly backend: BridgeBackend,
    private readonly log: (line: string) => void,
  ) {
    port.onBridgeText = (text) => this.receive(text);
  }

  private receive(text: string): void {
    // The page's first bridge message is its hello: that is when it is connected.
    if (!this.endpoint) this.open();
    this.endpoint?.receive(text);
  }

  private open(): void {
    const endpoint = new RpcEndpoint({
      boundary: hostBridgeBoundary,
      side: 'b',
      send: (text) => void this.port.post({ ch: 'bridge', text }),
      requestTimeoutMs: 60_000,
      onProtocolError: (error) => this.log(`host bridge: ${error.message}`),
    });
    endpoint.onRequest(BridgeHello, (p) => {
      // A hello again means the page reloaded: it has no picture and nothing in flight.
      this.inFlight = false;
      const answer = this.backend.hello(p);
      this.onPageConnected?.();
      return answer;
    });
    endpoint.onRequest(AskControl, (p) => this.backend.askControl(p));
    endpoint.onRequest(AskAdmit, (p) => this.backend.askAdmit?.(p) ?? Promise.resolve({ admit: false, reason: 'denied' as const }));
    endpoint.onNotification(ControlState, (p) => this.backend.controlState(p));
    endpoint.onNotification(ControlApprove, (p) => this.backend.approve?.(p.participantId));
    endpoint.onNotification(BridgeInput, (p) => this.backend.input(p.controllerId, p.event));
    endpoint.onNotification(BridgeFrameTaken, () => {
      this.framesAcked++;
      this.inFlight = false;
    });
    this.endpoint = endpoint;
  }

  stopAllControl(): void {
    this.endpoint?.notify(StopAllControl, {});
  }

  inputRefused(params: ParamsOf<typeof BridgeInputRefused>): void {
    this.endpoint?.notify(BridgeInputRefused, params);
  }

  close(): void {
    this.endpoint?.close('the host panel closed');
    this.endpoint = undefined;
  }
}
