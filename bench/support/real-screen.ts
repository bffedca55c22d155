/**
 * A real screen for the latency bench: Xvfb, a headed Chromium painting a scene with the frame
 * marker on it full screen (painter-screen.ts; or x-painter.ts straight on X), the helper capturing it with the backend asked,
 * and the demo's runner relaying frames over the bridge.
 */
import { HostBridgeServer } from '../../runner/websocket-bridge';
import { HostRunner } from '../../runner/host-runner';
import { HelperProcess, resolveHelperCommand } from '../../helper/client';
import { startWayland } from '../../test/helper/support/wayland';
import { startXvfb } from '../../test/helper/support/xvfb';
import type { SceneName } from '../pages/scenes';
import { watchMarkers, type ChangeStats, type MarkerSeen } from './marker-watch';
import { startPainter } from './painter-screen';
import { startXPainter } from './x-painter';
import { cpuSeconds, treeCpuSeconds } from './stats';
import { splitAtX, watchMarkerDamage } from './x-damage-times';

export type { MarkerSeen } from './marker-watch';

/** What the runner saw, for the per-hop breakdown: epoch ms, in arrival order. */
export interface RunnerTrace {
  markers: Map<number, MarkerSeen>;
  /** [captureTime, at]: a helper frame complete at the runner. */
  arrived: Array<[number, number]>;
  /** [captureTime of the newest frame it carries, at]: a message handed to the page's WebSocket. */
  sent: Array<[number, number]>;
}

export interface RealScreen {
  bridgeUrl: string;
  /** The backend the helper's StartCapture answer names (undefined: the answer named none), and why it fell back. */
  backend: string | undefined;
  fallback: string | undefined;
  /** Starts a painter scene from change 0 (`rate`: changes per second for busy and scroll). */
  scene(name: SceneName, rate: number): Promise<void>;
  /** [change number, epoch ms painted] of the painter's changes since the last call. */
  takePainted(): Promise<Array<[number, number]>>;
  /** Painted on X → grabbed by the helper, ms, per distinct marker since the last call (the first hop). */
  takePaintToGrab(): number[];
  /**
   * Painted → on X (the application's part) and on X → grabbed (capture's), ms, per distinct
   * marker since the last call; on X = the first DAMAGE report of the marker's box after it was painted.
   */
  takePaintSplit(): { paintToX: number[]; xToGrab: number[] };
  /** Grabbed by the helper → frame complete at the runner, ms (the stdout link), since the last call. */
  takeGrabToRunner(): number[];
  /** The runner's hops since the last call (and forgets them). */
  takeTrace(): RunnerTrace;
  /** Frames from the helper and the screen area they changed, since the last call. */
  takeChanges(): ChangeStats;
  /** Frames the helper sent, and what the relay sent the page (whole frames, patches). */
  frameStats(): { fromHelper: number; fullSent: number; patchesSent: number };
  helperCpuSeconds(): number;
  /** The painting Chromium (the "application"), not part of the host's cost. */
  painterCpuSeconds(): number;
  xCpuSeconds(): number;
  close(): Promise<void>;
}

export interface RealScreenOptions {
  frames?: 'bridge' | 'websocket';
  /** The helper's capture rate (default: the painter's rate). */
  captureFps?: number;
  /** `portal`: a Wayland desktop (headless sway) instead of Xvfb, painted by Chromium as a Wayland client. */
  backend?: 'robotjs' | 'x11' | 'portal';
  scene?: SceneName;
  /** Who paints: a headed Chromium page (an application's own frame production included) or this process straight on X. */
  painter?: 'chromium' | 'x11';
}

export async function startRealScreen(width: number, height: number, fps: number, opts: RealScreenOptions = {}): Promise<RealScreen> {
  const frames = opts.frames ?? 'bridge';
  const wayland = opts.backend === 'portal';
  const x = wayland ? undefined : await startXvfb(width, height);
  const wl = wayland ? await startWayland({ width, height, maxFps: 60 }) : undefined;
  const closers: Array<() => Promise<unknown>> = [() => (x ?? wl)!.stop()];
  const closeAll = async () => {
    // Each step bounded: a bridge or page still swamped by a heavy row must not hold the run.
    for (const c of closers.reverse()) await Promise.race([c().catch(() => undefined), new Promise((r) => setTimeout(r, 15_000))]);
  };
  try {
    const painter = x
      ? await (opts.painter === 'x11' ? startXPainter : startPainter)(x, width, height, opts.scene ?? 'busy', fps)
      : await startPainter({ env: wl!.env, wayland: true }, width, height, opts.scene ?? 'busy', fps);
    closers.push(() => painter.close());
    // On Wayland the helper runs as the desktop's user, as on a real desktop (the portal asks who calls).
    const helper = new HelperProcess({ env: (x ?? wl)!.env, ...(wl ? { command: wl.asUser(resolveHelperCommand()) } : {}) });
    // Its counts (grabs, frames sent, changes held back by the rate cap, …), logged when capture stops.
    helper.on('log', (line) => {
      const m = /capture stopped: (\{.*\})$/.exec(line);
      if (m) process.stderr.write(`  helper capture: ${m[1]}\n`);
    });
    await helper.start();
    closers.push(() => helper.stop());
    const capture = await helper.startCapture({
      fps: opts.captureFps ?? fps,
      drawCursor: false,
      deliver: frames === 'websocket' ? 'websocket' : 'link',
      patches: process.env.BENCH_HELPER_PATCHES !== '0',
      ...(opts.backend ? { backend: opts.backend } : {}),
    });
    closers.push(() => helper.stopCapture());
    const watch = watchMarkers(helper);
    // On X the marker box's DAMAGE report splits painted → grabbed at "on X"; a compositor tells no one.
    const damage = x ? await watchMarkerDamage(x.env, width) : undefined;
    if (damage) closers.push(async () => damage.close());
    let sent: Array<[number, number]> = [];
    const runner = new HostRunner({
      helper,
      capture,
      prompt: { ask: async () => ({ allow: false, reason: 'disabled' }) },
      say: () => undefined,
      frames,
      controlRequests: false,
      onFrameSent: (h, at) => sent.push([h.captureTime, at]),
    });
    const bridge = new HostBridgeServer(runner);
    runner.attach(bridge);
    const bridgeUrl = await bridge.listen();
    closers.push(() => bridge.close());
    return {
      bridgeUrl,
      backend: capture.backend,
      fallback: capture.fallback,
      scene: (name, rate) => painter.scene(name, rate),
      takePainted: () => painter.takePainted(),
      takeTrace: () => {
        const out = { ...watch.takeSeen(), sent };
        sent = [];
        return out;
      },
      takeGrabToRunner: () => watch.takeGrabToRunner(),
      takePaintToGrab: () => watch.takePaintToGrab(),
      takePaintSplit: () => (damage ? splitAtX(watch.takePaintedGrabbed(), damage.take()) : { paintToX: [], xToGrab: [] }),
      takeChanges: () => watch.takeChanges(),
      frameStats: () => {
        const r = runner.relayStats();
        return { fromHelper: watch.total(), fullSent: r?.fullSent ?? 0, patchesSent: r?.patchesSent ?? 0 };
      },
      // On Wayland with its GStreamer child; the display: Xvfb, or sway + PipeWire + the portal backend.
      helperCpuSeconds: () => (helper.pid ? (wl ? treeCpuSeconds(helper.pid) : cpuSeconds(helper.pid)) : 0),
      painterCpuSeconds: () => painter.cpuSeconds(),
      xCpuSeconds: () => (x ? cpuSeconds(x.pid) : (['sway', 'pipewire', 'portalBackend'] as const).reduce((sum, k) => sum + cpuOf(wl!.processes[k].pid), 0)),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function cpuOf(pid: number | undefined): number {
  try {
    return pid ? cpuSeconds(pid) : 0;
  } catch {
    return 0;
  }
}
