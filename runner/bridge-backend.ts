/**
 * The two sides of a runner's bridge to its host page, whatever carries it: the WebSocket of
 * `websocket-bridge.ts` (the demo) or a VS Code webview's postMessage (extension/core/webview-bridge.ts).
 */
import type { ParamsOf, ResultOf } from '../protocol/rpc';
import type { AskAdmit, AskControl, BridgeHello, BridgeInputRefused, ControlState } from '../protocol/host-bridge';
import type { FrameTarget } from './frame-relay';

/** What the runner plugs in behind the bridge: the helper, the host's prompt, the frame source. */
export interface BridgeBackend {
  hello(params: ParamsOf<typeof BridgeHello>): ResultOf<typeof BridgeHello> | Promise<ResultOf<typeof BridgeHello>>;
  askControl(params: ParamsOf<typeof AskControl>): Promise<ResultOf<typeof AskControl>>;
  controlState(params: ParamsOf<typeof ControlState>): void;
  /** Someone waits in the lobby: the host's answer. Without it, nobody is let in. */
  askAdmit?(params: ParamsOf<typeof AskAdmit>): Promise<ResultOf<typeof AskAdmit>>;
  /** The host granted this participant itself (a backend that checks grants records it). */
  approve?(participantId: string): void;
  input(controllerId: string, event: unknown): void;
}

/** The runner's view of a bridge to its host page, whatever carries it (WebSocket, webview postMessage). */
export interface RunnerBridge {
  readonly frameTarget: FrameTarget;
  /** Called when a host page (re)connects: it has no picture yet. */
  onPageConnected: (() => void) | undefined;
  stopAllControl(): void;
  inputRefused(params: ParamsOf<typeof BridgeInputRefused>): void;
}
