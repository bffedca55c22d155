/**
 * The helper's side of the link: answers the runner's requests with capture and injection.
 * Injection only through the GrantGate; capture only where the platform probe allowed it. The
 * probe (and the release of leftovers) runs on the first request: see startup.ts.
 */
import { ErrorCode, PairuxError } from '../protocol/errors';
import {
  CaptureError,
  GrantControl,
  Hello,
  Input,
  InputRefused,
  InputStats,
  ListMonitors,
  RevokeControl,
  StartCapture,
  StopCapture,
} from '../protocol/helper-link';
import type { PixelMove, PixelRect, VideoFrameHeader } from '../protocol/helper-framing';
import type { ParamsOf, ResultOf } from '../protocol/rpc';
import type { FrameWebSocketServer } from './capture/frame-websocket';
import { frameSocketFromEnv } from './capture/frame-socket-env';
import { captureTarget, MonitorWatch, type Shared } from './capture/monitor-watch';
import { wholeScreenMonitor, type MonitorLayout } from './capture/monitors';
import { RandrMonitors } from './capture/randr-monitors';
import { CaptureBackends } from './capture/capture-backend';
import { HeldRecord } from './inject/wayland-held';
import { WaylandInputSink } from './inject/wayland-sink';
import { outputForCast } from './native/wayland-outputs';
import type { CaptureSettings, CaptureStats, Capturer, Rect } from './capture/capturer';
import { HELPER_VERSION } from './exit-codes';
import { GrantGate } from './inject/grant-gate';
import type { InputSink } from './inject/input-sink';
import { OsInputSink } from './inject/os-sink';
import { X11UnicodeTyper } from './inject/x11-unicode';
import { xdotoolType, type Cancelable } from './inject/xdotool';
import type { HelperLink } from './link/helper-link';
import type { Startup } from './startup';

export interface HelperServiceOptions {
  link: HelperLink;
  env: NodeJS.ProcessEnv;
  log(line: string): void;
  startUp(): Promise<Startup>;
}

interface Core {
  startup: Startup;
  sink?: OsInputSink | WaylandInputSink;
  /** Chooses the capturer for each capture.start (X11 damage or robotjs sampling). */
  capture?: CaptureBackends;
  /** The capturer of the current (or last) capture. */
  capturer?: Capturer;
  /** Keycodes it bound to characters outside the layout, undone at shutdown. */
  unicode?: X11UnicodeTyper;
}

export class HelperService {
  private readonly gate: GrantGate;
  private core: Core | undefined;
  private starting: Promise<Core> | undefined;
  private frameServer: FrameWebSocketServer | undefined;
  /** The RandR connection (monitors and their changes), opened on first need. */
  private randr: Promise<RandrMonitors> | undefined;
  /** Keeps a capture of a monitor or region on something that still exists. */
  private monitorWatch: MonitorWatch | undefined;
  /**
   * Bumped by every grant and revoke. A grant waits for start-up; if a revoke (or another grant)
   * arrives meanwhile, the waiting grant must not take effect after it: the later word wins.
   */
  private grantEpoch = 0;

  constructor(private readonly o: HelperServiceOptions) {
    const { link, log } = o;
    // Nobody can be granted before start-up is done, so the gate never reaches a missing sink.
    const sink: InputSink = {
      name: 'os',
      inject: (event) => {
        if (!this.core?.sink) throw new Error('injection is not available');
        this.core.sink.inject(event);
        // The X11 capturer looks for the pointer at once instead of at its next look-up.
        if (event.t === 'move') this.core.capturer?.pointerMoved?.();
      },
      releaseAll: () => this.core?.sink?.releaseAll() ?? [],
    };
    this.gate = new GrantGate(sink, {
      onRefused: (r) => link.rpc.notify(InputRefused, r),
      onSinkError: (m) => log(`input: ${m}`),
    });
    const rpc = link.rpc;
    rpc.onRequest(Hello, async () => this.hello((await this.ready()).startup));
    rpc.onRequest(StartCapture, async (p) => this.startCapture(await this.ready(), p));
    rpc.onRequest(ListMonitors, async () => ({ monitors: (await this.layout(await this.ready())).monitors }));
    rpc.onRequest(StopCapture, async () => {
      await this.stopCapture();
      return {};
    });
    rpc.onRequest(GrantControl, async ({ controllerId }) => {
      const epoch = ++this.grantEpoch;
      const core = await this.ready();
      if (!core.sink) throw unavailable('input injection', core.startup.platform.inject.reason);
      if (epoch !== this.grantEpoch) throw new PairuxError(ErrorCode.Forbidden, `the grant to ${controllerId} was overtaken by a later revoke or grant`);
      const released = this.gate.grant(controllerId);
      log(`control granted to ${controllerId}${released.length ? `; released ${released.join(' ')}` : ''}`);
      return {};
    });
    rpc.onRequest(RevokeControl, ({ reason }) => {
      this.grantEpoch++;
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
    const capturer = this.core?.capturer;
    if (capturer?.running) this.logStats(capturer.stop());
    this.core?.capture?.close();
    void this.closeFrameServer();
    this.monitorWatch?.stop();
    void this.randr?.then(
      (r) => r.close(),
      () => undefined,
    );
    this.core?.unicode?.restore();
    return released;
  }

  private ready(): Promise<Core> {
    this.starting ??= this.o.startUp().then((startup) => {
      this.core = this.build(startup);
      return this.core;
    });
    return this.starting;
  }

  private build(startup: Startup): Core {
    const { platform } = startup;
    const { link, log, env } = this.o;
    const robot = platform.robot;
    const core: Core = { startup };
    if ((robot || platform.wayland) && platform.capture.available) {
      const onError = (message: string, fatal: boolean) => {
        log(`capture ${fatal ? 'stopped' : 'error'}: ${message}`);
        link.rpc.notify(CaptureError, { message: message.slice(0, 1000), fatal });
        if (fatal) void this.closeFrameServer();
      };
      const outlet = {
        ready: () => (this.frameServer ? this.frameServer.ready() : this.o.link.videoReady),
        send: (h: VideoFrameHeader, strips: Buffer[], patch?: { rects: PixelRect[]; moves?: PixelMove[] }) =>
          this.frameServer ? this.frameServer.send(h, strips) : this.o.link.sendVideo(h, strips, patch),
      };
      core.capture = new CaptureBackends({ env, platform, outlet, onError, log });
    }
    if (platform.waylandInput && platform.inject.available) {
      const devices = platform.waylandInput;
      core.sink = new WaylandInputSink({
        devices,
        // A pointer bound to the shared output spans it alone; else it spans the whole layout.
        target: () => {
          const t = this.target();
          return devices.output ? { x: 0, y: 0, width: t.width, height: t.height } : t;
        },
        layout: () => {
          const t = this.target();
          return devices.output ? { width: t.width, height: t.height } : { width: t.x + t.width, height: t.y + t.height };
        },
        record: HeldRecord.forDisplay(env),
        onError: (m) => log(`input: ${m}`),
      });
    } else if (robot && platform.inject.available) {
      let typeUnicode: ((text: string) => Cancelable) | undefined;
      if (platform.x11 && platform.inject.xdotool) {
        const unicode = new X11UnicodeTyper(startup.keymap.spareKeycodes, env);
        if (unicode.usable) core.unicode = unicode;
        else log('no spare keycodes on this layout: text outside it is typed with `xdotool type`, which can drop characters on a busy machine');
        typeUnicode = unicode.usable ? (text) => unicode.type(text) : (text) => xdotoolType(text, env);
      }
      core.sink = new OsInputSink({
        robot,
        keymap: startup.keymap,
        target: () => this.target(),
        ...(typeUnicode ? { typeUnicode } : {}),
        onError: (m) => log(`input: ${m}`),
      });
    }
    return core;
  }

  private hello(startup: Startup): ResultOf<typeof Hello> {
    const { platform } = startup;
    return {
      version: HELPER_VERSION,
      pid: process.pid,
      platform: platform.platform,
      screen: platform.screen,
      desktop: platform.x11 ? 'x11' : platform.desktop === 'wayland' ? 'wayland' : platform.platform === 'linux' ? undefined : 'other',
      capture: platform.capture,
      inject: platform.inject,
      releasedAtStart: startup.releasedAtStart,
    };
  }

  private async startCapture(core: Core, p: ParamsOf<typeof StartCapture>): Promise<ResultOf<typeof StartCapture>> {
    if (!core.capture) throw unavailable('screen capture', core.startup.platform.capture.reason);
    await this.stopCapture();
    // A monitor is looked up (its region made absolute) before a backend is chosen.
    // A region alone is shared without the watch when the monitors cannot be asked for.
    const layout =
      p.monitor !== undefined
        ? await this.layout(core)
        : p.region && core.startup.platform.x11
          ? await this.layout(core).catch((err: Error) => void this.o.log(`monitor changes are not watched: ${err.message}`))
          : undefined;
    const target = layout ? captureTarget(layout, p.monitor, p.region) : undefined;
    const shown = target?.monitor && { monitor: { name: target.monitor.name, ...target.rect } };
    const chosen = await core.capture.choose(p.backend, { restoreToken: p.restoreToken, drawCursor: p.drawCursor });
    const capturer = chosen.capturer;
    core.capturer = capturer;
    const how = {
      backend: chosen.backend,
      ...(chosen.fallback ? { fallback: chosen.fallback } : {}),
      ...(chosen.restoreToken ? { restoreToken: chosen.restoreToken } : {}),
    };
    // Patches only on the link: the runner rebuilds the picture; the helper's own socket sends whole frames.
    const settings = {
      fps: p.fps,
      region: target?.monitor ? target.rect : p.region,
      drawCursor: p.drawCursor,
      idleFps: p.idleFps,
      patches: p.patches && p.deliver === 'link',
    };
    if (p.deliver === 'link') {
      capturer.setPaused(false);
      const r = await capturer.start(settings);
      if (chosen.backend === 'portal') this.pointAtCast(core, capturer);
      this.o.log(
        `capture started: ${r.width}x${r.height} at ${r.fps} fps over the link (${chosen.backend})${shown ? ` of monitor ${shown.monitor.name}` : ''}`,
      );
      if (target) this.watchMonitors(capturer, target, settings);
      return { ...r, ...how, ...shown };
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
    const r = await capturer.start(settings);
    if (chosen.backend === 'portal') this.pointAtCast(core, capturer);
    this.o.log(
      `capture started: ${r.width}x${r.height} at ${r.fps} fps on a loopback WebSocket (${chosen.backend})${shown ? ` of monitor ${shown.monitor.name}` : ''}`,
    );
    if (target) this.watchMonitors(capturer, target, settings);
    return { ...r, ...how, ...shown, websocketUrl: server.url };
  }

  /** The screen's monitors: RandR on X11, the one screen elsewhere. */
  private async layout(core: Core): Promise<MonitorLayout> {
    const { platform } = core.startup;
    if (platform.wayland) throw unavailable('the monitor list', "on Wayland the desktop's own dialog picks the monitor to share");
    if (!platform.x11) {
      const screen = platform.robot?.getScreenSize() ?? platform.screen;
      if (!screen) throw unavailable('screen capture', platform.capture.reason);
      return { screen, monitors: [wholeScreenMonitor(screen)] };
    }
    if (!this.randr) {
      const opening = RandrMonitors.open(this.o.env).catch((err: Error) => {
        throw unavailable('the monitor list', err.message);
      });
      this.randr = opening;
      // A failed connection is tried afresh next time.
      opening.catch(() => (this.randr === opening ? (this.randr = undefined) : undefined));
    }
    const randr = await this.randr;
    if (randr.closed) {
      this.randr = undefined;
      return this.layout(core);
    }
    return randr.list();
  }

  /** On X11: the shared monitor unplugged, or the screen shrunk under the region, moves or stops the capture, and the runner hears why. */
  private watchMonitors(capturer: Capturer, target: Shared, settings: CaptureSettings): void {
    const randr = this.randr;
    if (!randr) return;
    const notify = (message: string, fatal: boolean) => {
      this.o.log(`capture ${fatal ? 'stopped' : 'moved'}: ${message}`);
      this.o.link.rpc.notify(CaptureError, { message: message.slice(0, 1000), fatal });
    };
    void randr.then((source) => {
      if (this.core?.capturer !== capturer || !capturer.running) return;
      this.monitorWatch?.stop();
      this.monitorWatch = new MonitorWatch(
        source,
        target,
        async (d) => {
          if (this.core?.capturer !== capturer || !capturer.running) return;
          if (d.kind === 'stop') {
            await this.stopCapture();
            return notify(d.message, true);
          }
          try {
            await capturer.start({ ...settings, region: d.shared.rect });
          } catch (err) {
            await this.stopCapture();
            return notify(`${d.message}, but capture could not move there (${(err as Error).message}): capture stopped`, true);
          }
          notify(d.message, false);
        },
        this.o.log,
      );
    });
  }

  private async stopCapture(): Promise<void> {
    this.monitorWatch?.stop();
    this.monitorWatch = undefined;
    const capturer = this.core?.capturer;
    if (capturer?.running) this.logStats(capturer.stop());
    await this.closeFrameServer();
  }

  private async closeFrameServer(): Promise<void> {
    const server = this.frameServer;
    this.frameServer = undefined;
    await server?.close();
  }

  /** One line benches and people can read: the capture stats are not part of the protocol (yet). */
  private logStats(stats: CaptureStats): void {
    this.o.log(`capture stopped: ${JSON.stringify({ ...stats, link: this.o.link.videoStats })}`);
  }

  /**
   * On a wlroots desktop with several monitors, the guest's pointer must land on the shared one:
   * the virtual pointer is bound to the monitor of the cast's size (the portal does not say which
   * it is). With one monitor, or none that can be told apart, the pointer spans the layout.
   */
  private pointAtCast(core: Core, capturer: Capturer): void {
    const devices = core.startup.platform.waylandInput;
    const cast = capturer.target;
    if (!devices || !cast || devices.outputs.length < 2) return;
    const { output, reason } = outputForCast(devices.outputs, cast);
    try {
      if (output && devices.pointTo(output)) {
        this.o.log(
          `input: the pointer moves on monitor ${output.name || `#${output.id}`} (${output.width}x${output.height} at ${output.x},${output.y}), the one shared`,
        );
        return;
      }
      devices.pointTo(undefined);
    } catch (err) {
      this.o.log(`input: binding the pointer to the shared monitor failed: ${(err as Error).message}`);
      return;
    }
    this.o.log(
      `input: ${reason ?? "this compositor's virtual pointer cannot be bound to one monitor (zwlr_virtual_pointer_manager_v1 version 1)"}; clicks are placed as if the shared monitor sat at the layout's top left`,
    );
  }

  private target(): Rect {
    const t = this.core?.capturer?.target;
    if (t) return t;
    const size = this.core?.startup.platform.robot?.getScreenSize() ?? { width: 1, height: 1 };
    return { x: 0, y: 0, width: size.width, height: size.height };
  }
}

/**
 * There is no UNAVAILABLE code in protocol/errors.ts (yet): INTERNAL with the reason in the
 * message and `data.unavailable`, so the runner can tell it from a bug.
 */
function unavailable(what: string, reason: string | undefined): PairuxError {
  return new PairuxError(ErrorCode.Unavailable, `${what} is not available here: ${reason ?? 'unknown reason'}`, { unavailable: what });
}
