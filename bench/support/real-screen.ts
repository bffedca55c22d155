/**
 * A real screen for the latency bench: Xvfb, a headed Chromium painting the frame marker on it
 * full screen, the helper capturing it, and the demo's runner relaying frames over the bridge.
 */
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../../demo/chromium';
import { HostBridgeServer } from '../../demo/host-bridge-server';
import { HostRunner } from '../../demo/host-runner';
import { HelperProcess } from '../../helper/client';
import { startXvfb } from '../../test/helper/support/xvfb';
import { serveBenchPages } from './browsers';
import { cpuSeconds } from './stats';
import { decodeMarker, expandCaptureTime } from '../../webview/engine/frame-marker';

export interface RealScreen {
  bridgeUrl: string;
  /** Painted on X → grabbed by the helper, ms, per distinct marker since the last call (the first hop). */
  takePaintToGrab(): number[];
  /** Grabbed by the helper → frame complete at the runner, ms (the stdout link), since the last call. */
  takeGrabToRunner(): number[];
  /** Frames the helper sent, and what the relay sent the page (whole frames, patches). */
  frameStats(): { fromHelper: number; fullSent: number; patchesSent: number };
  helperCpuSeconds(): number;
  close(): Promise<void>;
}

export async function startRealScreen(width: number, height: number, fps: number, frames: 'bridge' | 'websocket' = 'bridge'): Promise<RealScreen> {
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
  await helper.start();
  const capture = await helper.startCapture({ fps, drawCursor: false, deliver: frames === 'websocket' ? 'websocket' : 'link', patches: process.env.BENCH_HELPER_PATCHES !== '0' });
  const runner = new HostRunner({
    helper, capture, prompt: { ask: async () => ({ allow: false, reason: 'disabled' }) }, say: () => undefined, frames, controlRequests: false,
  });
  const bridge = new HostBridgeServer(runner);
  runner.attach(bridge);
  const bridgeUrl = await bridge.listen();
  let fromHelper = 0;
  let paintToGrab: number[] = [];
  let lastMarker = -1;
  let grabToRunner: number[] = [];
  helper.on('frame', (f) => {
    fromHelper++;
    grabToRunner.push(performance.timeOrigin + performance.now() - f.header.captureTime);
    // Only the marker rows are read: cheap enough to do on every frame.
    // Patches that do not reach the top rows carry no marker.
    if (f.band && f.band.firstRow > 0) return;
    const m = f.band ? (f.band.rows ? decodeMarker(f.pixels, f.header.width, f.band.rows) : null) : decodeMarker(f.pixels, f.header.width, f.header.height);
    if (m && m.frame !== lastMarker) {
      lastMarker = m.frame;
      paintToGrab.push(f.header.captureTime - expandCaptureTime(m.captureTimeLow32, f.header.captureTime));
    }
  });
  return {
    bridgeUrl,
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
      await helper.stop();
      await painter.close();
      await pages.close();
      await x.stop();
    },
  };
}
