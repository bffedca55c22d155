/**
 * A real screen for the latency bench: Xvfb, a headed Chromium painting the frame marker on it
 * full screen, the helper capturing it, and the demo's runner relaying frames over the bridge.
 */
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../../demo/chromium';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import { HostRunner } from '../../runner/host-runner';
import { HelperProcess } from '../../helper/client';
import { startXvfb } from '../../test/helper/support/xvfb';
import { serveBenchPages } from './browsers';
import { cpuSeconds } from './stats';
import { decodeMarker, expandCaptureTime, markerGeometry } from '../../webview/engine/frame-marker';
import { applyRects } from '../../protocol/helper-framing';

/** Where one painted marker was first seen on the host side (epoch ms). */
export interface MarkerSeen {
  painted: number;
  /** captureTime of the first helper frame holding it: the key later hops are found by. */
  grabbed: number;
}

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
  /** Painted on X → grabbed by the helper, ms, per distinct marker since the last call (the first hop). */
  takePaintToGrab(): number[];
  /** Grabbed by the helper → frame complete at the runner, ms (the stdout link), since the last call. */
  takeGrabToRunner(): number[];
  /** The runner's hops since the last call (and forgets them). */
  takeTrace(): RunnerTrace;
  /** Frames the helper sent, and what the relay sent the page (whole frames, patches). */
  frameStats(): { fromHelper: number; fullSent: number; patchesSent: number };
  helperCpuSeconds(): number;
  close(): Promise<void>;
}

export async function startRealScreen(
  width: number,
  height: number,
  fps: number,
  frames: 'bridge' | 'websocket' = 'bridge',
  captureFps = fps,
): Promise<RealScreen> {
  const x = await startXvfb(width, height);
  const pages = await serveBenchPages();
  const painter = await chromium.launch({
    executablePath: findChromium(),
    headless: false,
    env: x.env as Record<string, string>,
    args: [...CHROMIUM_ARGS, `--window-size=${width},${height}`, '--window-position=0,0'],
  });
  const page = await (await painter.newContext({ viewport: null })).newPage();
  await page.goto(`${pages.url}/page?fps=${fps}`);
  // --kiosk is not honoured under Playwright; full screen through the DevTools protocol is.
  const cdp = await page.context().newCDPSession(page);
  const { windowId } = (await cdp.send('Browser.getWindowForTarget')) as { windowId: number };
  await cdp.send('Browser.setWindowBounds', { windowId, bounds: { windowState: 'fullscreen' } });
  await page.addScriptTag({ url: `${pages.url}/painter.js`, type: 'module' });
  await page.waitForFunction(() => 'painterFrames' in window);
  const helper = new HelperProcess({ env: x.env });
  // Its counts (grabs, frames sent, changes held back by the rate cap, …), logged when capture stops.
  helper.on('log', (line) => {
    const m = /capture stopped: (\{.*\})$/.exec(line);
    if (m) process.stderr.write(`  helper capture: ${m[1]}\n`);
  });
  await helper.start();
  const capture = await helper.startCapture({
    fps: captureFps,
    drawCursor: false,
    deliver: frames === 'websocket' ? 'websocket' : 'link',
    patches: process.env.BENCH_HELPER_PATCHES !== '0',
  });
  let trace: RunnerTrace = { markers: new Map(), arrived: [], sent: [] };
  const runner = new HostRunner({
    helper,
    capture,
    prompt: { ask: async () => ({ allow: false, reason: 'disabled' }) },
    say: () => undefined,
    frames,
    controlRequests: false,
    onFrameSent: (h, at) => trace.sent.push([h.captureTime, at]),
  });
  const bridge = new HostBridgeServer(runner);
  runner.attach(bridge);
  const bridgeUrl = await bridge.listen();
  let fromHelper = 0;
  let paintToGrab: number[] = [];
  let lastMarker = -1;
  let grabToRunner: number[] = [];
  // The picture as the relay rebuilds it: a change below row 0 can still touch the marker.
  let picture: Buffer | undefined;
  helper.on('frame', (f) => {
    const at = performance.timeOrigin + performance.now();
    fromHelper++;
    grabToRunner.push(at - f.header.captureTime);
    trace.arrived.push([f.header.captureTime, at]);
    const stride = f.header.width * 4;
    const rows = Math.min(markerGeometry(f.header.width).height, f.header.height);
    if (!f.band && !f.rects) picture = Buffer.from(f.pixels);
    else if (!picture) return;
    else if (f.rects) {
      if (!f.rects.some((r) => r.y < rows)) return;
      applyRects(picture, f.header.width, f.rects, f.pixels);
    } else if (f.band) {
      if (f.band.rows === 0 || f.band.firstRow >= rows) return;
      f.pixels.copy(picture, f.band.firstRow * stride);
    }
    const top = picture;
    const m = decodeMarker(top, f.header.width, rows);
    if (m && m.frame !== lastMarker) {
      lastMarker = m.frame;
      const painted = expandCaptureTime(m.captureTimeLow32, f.header.captureTime);
      paintToGrab.push(f.header.captureTime - painted);
      if (!trace.markers.has(m.frame)) trace.markers.set(m.frame, { painted, grabbed: f.header.captureTime });
    }
  });
  return {
    bridgeUrl,
    takeTrace: () => {
      const out = trace;
      trace = { markers: new Map(), arrived: [], sent: [] };
      return out;
    },
    takeGrabToRunner: () => {
      const out = grabToRunner;
      grabToRunner = [];
      return out;
    },
    takePaintToGrab: () => {
      const out = paintToGrab;
      paintToGrab = [];
      return out;
    },
    frameStats: () => {
      const r = runner.relayStats();
      return { fromHelper, fullSent: r?.fullSent ?? 0, patchesSent: r?.patchesSent ?? 0 };
    },
    helperCpuSeconds: () => (helper.pid ? cpuSeconds(helper.pid) : 0),
    async close() {
      await bridge.close();
      await helper.stopCapture().catch(() => undefined);
      await helper.stop();
      await painter.close();
      await pages.close();
      await x.stop();
    },
  };
}
