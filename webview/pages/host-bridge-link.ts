/**
 * Ties the host page to its runner over the host bridge (`bridge=` in the page's fragment):
 * says hello once the page has joined (the runner needs the host's participant id), takes the
 * screen from where the runner says, asks the runner about control requests, hands it the
 * driver's checked input, tells it who drives, and obeys its stop-all at once.
 */
import { BridgeFrameSource } from '../engine/frames/bridge-frame-source';
import { GeneratedScreenSource } from '../engine/frames/generated-screen';
import type { HostBridgeClient, BridgeHelloResult } from '../engine/frames/host-bridge-client';
import type { ControlAsker, HostControl } from '../engine/input/host-control';
import type { HostLobby } from '../engine/signaling/host-lobby';
import type { HostInputGate } from '../engine/input/host-input';
import type { Logger } from '../engine/logger';
import type { SignalingClient } from '../engine/signaling/signaling-client';
import type { SourceSwitch } from '../engine/frames/source-switch';
import { WebSocketFrameFeed } from '../engine/frames/websocket-frame-feed';
import type { HostParams } from './host-params';
import type { HostMediaEngine, ScreenDescription } from '../engine/engine-types';

export type BridgeState = 'connecting' | 'open' | 'closed' | 'failed';

export interface BridgeStatus {
  state: BridgeState;
  via: BridgeHelloResult['frames']['via'] | undefined;
  message: string;
  controlRequests: boolean | undefined;
}

export interface BridgeLinkDeps {
  /** Opens the runner's bridge (a WebSocket for the demo, postMessage in VS Code). */
  connect(): Promise<HostBridgeClient>;
  params: HostParams;
  signaling: SignalingClient;
  engine: HostMediaEngine;
  control: HostControl;
  /** Asks the runner about lobby knocks while the bridge is open. */
  lobby?: HostLobby;
  gate: HostInputGate;
  sources: SourceSwitch;
  log: Logger;
  onStatus(status: BridgeStatus): void;
}

/** Refuses every request without bothering the host (the runner's setting said no). */
const requestsDisabled: ControlAsker = { ask: () => Promise.resolve({ allow: false, reason: 'disabled' }) };

function sane(n: number, min: number, max: number): boolean {
  return Number.isFinite(n) && n >= min && n <= max;
}

export class BridgeLink {
  private client: HostBridgeClient | undefined;
  private feed: WebSocketFrameFeed | undefined;
  /** Where frames come from when the runner supplies them (bridge or helper socket). */
  frames: BridgeFrameSource | undefined;
  status: BridgeStatus = { state: 'connecting', via: undefined, message: 'connecting to the runner…', controlRequests: undefined };

  constructor(private readonly deps: BridgeLinkDeps) {}

  get inputsSent(): number {
    return this.client?.inputsSent ?? 0;
  }

  /** Connects and says hello; call once the page has joined as host. Never throws. */
  async start(): Promise<void> {
    const { deps } = this;
    const hostId = deps.signaling.self?.id;
    if (!hostId) return this.setStatus({ state: 'failed', message: 'cannot greet the runner before joining' });
    let client: HostBridgeClient;
    let hello: BridgeHelloResult;
    try {
      client = await deps.connect();
      this.client = client;
      client.on('closed', ({ code }) => this.onClosed(code));
      hello = await client.hello({ sessionId: deps.params.sessionId, hostId });
    } catch (err) {
      this.client?.close();
      deps.lobby?.setAsker(undefined);
      return this.setStatus({ state: 'failed', message: `could not reach the runner's bridge: ${String(err)}` });
    }
    this.useFrames(client, hello);
    deps.control.setAsker(hello.controlRequests ? client : requestsDisabled);
    deps.lobby?.setAsker(client);
    if (hello.lobbyEveryone) {
      deps.signaling.setLobbyMode(true).catch((err: unknown) => deps.log('warn', `could not turn the lobby on for viewers: ${String(err)}`));
    }
    deps.gate.setSink({ input: (controllerId, event) => client.input(controllerId, event) });
    client.on('stopAll', () => deps.control.stopAll());
    client.on('inputRefused', ({ controllerId, seq, code, reason, count }) => {
      deps.gate.refuse(controllerId, { ...(seq === undefined ? {} : { seq }), code, reason }, count);
    });
    // The server's word as it is: the runner checks it against its own record of the host's decisions.
    deps.control.on('changed', ({ driverId, driverName, reason }) => client.controlState({ driverId, driverName, reason }));
    deps.control.on('approved', ({ participantId }) => client.approve(participantId));
    this.setStatus({
      state: 'open',
      via: hello.frames.via,
      controlRequests: hello.controlRequests,
      message: `runner connected: frames via ${hello.frames.via}, screen ${hello.screen.width}×${hello.screen.height} (${hello.screen.source}), control requests ${hello.controlRequests ? 'on' : 'off'}`,
    });
  }

  stop(): void {
    this.feed?.stop();
    this.client?.close();
  }

  private useFrames(client: HostBridgeClient, hello: BridgeHelloResult): void {
    const { deps } = this;
    const p = deps.params;
    // The runner's screen, unless it is nonsense; the page's own size otherwise.
    const given = hello.screen;
    const ok = sane(given.width, 16, 7680) && sane(given.height, 16, 4320);
    const screen: ScreenDescription = {
      width: ok ? given.width : p.width,
      height: ok ? given.height : p.height,
      fps: sane(given.fps, 1, 120) ? given.fps : p.fps,
      source: given.source || hello.frames.via,
    };
    const frames = hello.frames;
    if (frames.via === 'generated') {
      // Encoders want even sizes; the generated screen is exactly what was asked for.
      const width = screen.width - (screen.width % 2);
      const height = screen.height - (screen.height % 2);
      deps.sources.use(new GeneratedScreenSource({ width: Math.max(16, width), height: Math.max(16, height), fps: screen.fps }));
      deps.engine.setScreen({ ...screen, width, height, source: 'generated' });
      return;
    }
    const source = new BridgeFrameSource({
      ...screen,
      name: screen.source,
      keepPicture: frames.via === 'bridge',
      onResize: (width, height) => {
        deps.log('info', `shared screen is now ${width}×${height}`);
        deps.engine.setScreen({ ...deps.engine.screen, width, height });
      },
    });
    this.frames = source;
    if (frames.via === 'bridge') {
      client.on('frame', ({ data }) => source.push(data));
    } else {
      this.feed = new WebSocketFrameFeed(frames.url, source, deps.log);
      this.feed.start();
    }
    deps.sources.use(source);
    deps.engine.setScreen(screen);
  }

  private onClosed(code: number): void {
    const { deps } = this;
    // Nobody to ask and nowhere to send input: requests are denied and input refused from now on.
    deps.control.setAsker(undefined);
    deps.lobby?.setAsker(undefined);
    deps.gate.setSink(undefined);
    if (this.status.state === 'open' || this.status.state === 'connecting') {
      this.setStatus({ state: 'closed', message: `the runner's bridge closed (${code}); control is off` });
    }
  }

  private setStatus(next: Partial<BridgeStatus> & { state: BridgeState; message: string }): void {
    this.status = { ...this.status, ...next };
    if (next.state === 'failed' || next.state === 'closed') this.deps.log('warn', next.message);
    this.deps.onStatus(this.status);
  }
}
