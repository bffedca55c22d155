/**
 * The helper's side of the link: answers the runner's requests with capture and injection.
 * Injection only through the GrantGate; capture only where the platform probe allowed it.
 */
import { ErrorCode, PairuxError } from '../protocol/errors';
import {
  CaptureError,
  GrantControl,
  Hello,
  Input,
  InputRefused,
  InputStats,
  RevokeControl,
  StartCapture,
  StopCapture,
} from '../protocol/helper-link';
import type { VideoFrameHeader } from '../protocol/helper-framing';
import type { ParamsOf, ResultOf } from '../protocol/rpc';
import type { FrameWebSocketServer } from './capture/frame-websocket';
import { frameSocketFromEnv } from './capture/frame-socket-env';
import { robotGrabber } from './capture/robot-grabber';
import { ScreenCapturer, type Rect } from './capture/screen-capturer';
import { HELPER_VERSION } from './exit-codes';
import { GrantGate } from './inject/grant-gate';
import type { InputSink } from './inject/input-sink';
import type { Keymap } from './inject/keymap';
import { OsInputSink } from './inject/os-sink';
import { xdotoolType } from './inject/xdotool';
import type { HelperLink } from './link/helper-link';
import type { PlatformReport } from './platform';

export interface HelperServiceOptions {
  link: HelperLink;
  platform: PlatformReport;
  keymap: Keymap;
  releasedAtStart: string[];
  env: NodeJS.ProcessEnv;
  log(line: string): void;
}

/** Stands in when injection is unavailable; unreachable in practice, since grants are refused. */
const NO_SINK: InputSink = {
  name: 'none',
  inject() {
    throw new Error('injection is not available');
  },
  releaseAll: () => [],
};

export class HelperService {
  private readonly gate: GrantGate;
  private readonly sink: OsInputSink | undefined;
  private readonly capturer: ScreenCapturer | undefined;
  private frameServer: FrameWebSocketServer | undefined;

  constructor(private readonly o: HelperServiceOptions) {
    const { link, platform, log } = o;
    const robot = platform.robot;
    const notifyCaptureError = (message: string, fatal: boolean) => {
      log(`capture ${fatal ? 'stopped' : 'error'}: ${message}`);
      link.rpc.notify(CaptureError, { message: message.slice(0, 1000), fatal });
      if (fatal) void this.closeFrameServer();
    };
    if (robot && platform.capture.available) {
      this.capturer = new ScreenCapturer(robotGrabber(robot), (h, p) => this.deliver(h, p), notifyCaptureError);
    }
    if (robot && platform.inject.available) {
      this.sink = new OsInputSink({
        robot,
        keymap: o.keymap,
        target: () => this.target(),
        ...(platform.x11 && platform.inject.xdotool ? { typeUnicode: (text: string) => xdotoolType(text, o.env) } : {}),
        onError: (m) => log(`input: ${m}`),
      });
    }
    this.gate = new GrantGate(this.sink ?? NO_SINK, {
      onRefused: (r) => link.rpc.notify(InputRefused, r),
      onSinkError: (m) => log(`input: ${m}`),
    });
    const rpc = link.rpc;
    rpc.onRequest(Hello, () => this.hello());
    rpc.onRequest(StartCapture, (p) => this.startCapture(p));
    rpc.onRequest(StopCapture, async () => {
      await this.stopCapture();
      return {};
    });
    rpc.onRequest(GrantControl, ({ controllerId }) => {
      if (!this.sink) throw unavailable('input injection', platform.inject.reason);
      const released = this.gate.grant(controllerId);
      log(`control granted to ${controllerId}${released.length ? `; released ${released.join(' ')}` : ''}`);
      return {};
    });
    rpc.onRequest(RevokeControl, ({ reason }) => {
      const was = this.gate.controller;
      const released = this.gate.revoke();
      log(`control revoked (${reason})${was ? ` from ${was}` : ''}${released.length ? `; released ${released.join(' ')}` : ''}`);
      return { released };
    });
    rpc.onRequest(InputStats, () => this.gate.stats());
    rpc.onNotification(Input, ({ controllerId, event }) => this.gate.handle(controllerId, event));
  }

  /** Stops injection and capture; returns what was still held. Synchronous parts first: it also runs at exit. */
  shutdown(): string[] {
    const released = this.gate.revoke();
    this.gate.flush();
    this.gate.dispose();
    if (this.capturer?.running) this.logStats(this.capturer.stop());
    void this.closeFrameServer();
    return released;
  }

  private hello(): ResultOf<typeof Hello> {
    const { platform } = this.o;
    return {
      version: HELPER_VERSION,
      pid: process.pid,
      platform: platform.platform,
      screen: platform.screen,
      capture: platform.capture,
      inject: platform.inject,
      releasedAtStart: this.o.releasedAtStart,
    };
  }

  private async startCapture(p: ParamsOf<typeof StartCapture>): Promise<ResultOf<typeof StartCapture>> {
    const capturer = this.capturer;
    if (!capturer) throw unavailable('screen capture', this.o.platform.capture.reason);
    await this.stopCapture();
    const settings = { fps: p.fps, region: p.region, drawCursor: p.drawCursor, idleFps: p.idleFps };
    if (p.deliver === 'link') {
      capturer.setPaused(false);
      const r = capturer.start(settings);
      this.o.log(`capture started: ${r.width}x${r.height} at ${r.fps} fps over the link`);
      return r;
    }
    // Loaded on first use: `ws` is not needed by a helper that never serves frames itself.
    const { FrameWebSocketServer } = await import('./capture/frame-websocket');
    const server = await FrameWebSocketServer.start(
      () => capturer.requestFrame(),
      (viewers) => capturer.setPaused(viewers === 0),
      frameSocketFromEnv(this.o.env),
    );
    this.frameServer = server;
    capturer.setPaused(true);
    const r = capturer.start(settings);
    this.o.log(`capture started: ${r.width}x${r.height} at ${r.fps} fps on a loopback WebSocket`);
    return { ...r, websocketUrl: server.url };
  }

  private async stopCapture(): Promise<void> {
    if (this.capturer?.running) this.logStats(this.capturer.stop());
    await this.closeFrameServer();
  }

  private deliver(header: VideoFrameHeader, pixels: Buffer): boolean {
    return this.frameServer ? this.frameServer.send(header, pixels) : this.o.link.sendVideo(header, pixels);
  }

  private async closeFrameServer(): Promise<void> {
    const server = this.frameServer;
    this.frameServer = undefined;
    await server?.close();
  }

  /** One line benches and people can read: the capture stats are not part of the protocol (yet). */
  private logStats(stats: ReturnType<ScreenCapturer['stats']>): void {
    this.o.log(`capture stopped: ${JSON.stringify({ ...stats, link: this.o.link.videoStats })}`);
  }

  private target(): Rect {
    const t = this.capturer?.target;
    if (t) return t;
    const size = this.o.platform.robot?.getScreenSize() ?? { width: 1, height: 1 };
    return { x: 0, y: 0, width: size.width, height: size.height };
  }
}

/**
 * There is no UNAVAILABLE code in protocol/errors.ts (yet): INTERNAL with the reason in the
 * message and `data.unavailable`, so the runner can tell it from a bug.
 */
function unavailable(what: string, reason: string | undefined): PairuxError {
  return new PairuxError(ErrorCode.Internal, `${what} is not available here: ${reason ?? 'unknown reason'}`, { unavailable: what });
}
