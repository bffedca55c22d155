/**
 * `npm run bench:latency`: glass-to-glass latency of the P2P path and delivered frame rate,
 * 1/5/10/25 viewers of one host at 1080p30, with the host's CPU per viewer. Latency = the moment
 * the host grabbed a frame (stamped into its pixels) → the moment a viewer presented it
 * (requestVideoFrameCallback's expectedDisplayTime), read from the decoded pixels. The bare
 * WebRTC floor (one page, loopback peer connection pair) is measured in the same run.
 *
 * The real-screen rows run the whole host path: a headed Chromium paints the marker (frame
 * counter + paint time) on an Xvfb screen, the helper captures it, the runner relays frames over
 * the bridge to the host page; latency is then X screen paint → viewer present.
 *
 * With --modes=p2p,sfu each row is measured peer-to-peer and through a local LiveKit SFU
 * (glass-to-glass through the SFU vs P2P, same method).
 *
 * Options: --modes=p2p --viewers=1,5,10,25 --real=1,5 --frames=bridge|websocket --seconds=10 --size=1920x1080
 *          --fps=30 --capture-fps=30 --codec=vp9 --hint=detail --jb=<viewer jitter-buffer target ms, default Chromium's>; BENCH_HELPER_PATCHES=0 has the helper send whole frames instead of changed rows.
 */
import { loadavg } from 'node:os';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../demo/chromium';
import { startHeadlessHost } from '../demo/headless-host';
import { startControlPlane } from '../server/control-plane';
import { TEST_PAGES } from '../test/support/test-pages';
import { startLocalLiveKit, type LocalLiveKit } from '../demo/livekit-server';
import { expandCaptureTime } from '../webview/engine/frame-marker';
import { ViewerPage } from '../test/support/browser-viewer';
import { launchMeteredChromium, serveBenchPages } from './support/browsers';
import { CpuMeter, percentile, printTable } from './support/stats';
import { startRealScreen, type RealScreen } from './support/real-screen';
import { formatHops, splitHops, startPageTrace, takePageTrace, viewerTimings } from './support/hops';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const VIEWERS = (args.get('viewers') ?? '1,5,10,25').split(',').filter(Boolean).map(Number);
const SECONDS = Number(args.get('seconds') ?? 10);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1920x1080').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);
const CODEC = (args.get('codec') ?? 'vp9') as 'vp9' | 'vp8' | 'av1' | 'h264';
const REAL = (args.get('real') ?? '1,5').split(',').filter(Boolean).map(Number);
const FRAMES = (args.get('frames') ?? 'bridge') as 'bridge' | 'websocket';
/** The helper's capture rate on the real screen (the painter paints at --fps). */
const CAPTURE_FPS = Number(args.get('capture-fps') ?? FPS);
const HINT = args.get('hint') as 'detail' | 'motion' | 'text' | '' | undefined;
const MODES = (args.get('modes') ?? 'p2p').split(',').filter((m): m is 'p2p' | 'sfu' => m === 'p2p' || m === 'sfu');
let livekit: LocalLiveKit | undefined;

interface Row {
  label: string;
  p50: number;
  p95: number;
  fpsMean: number;
  fpsMin: number;
  hostCores: number;
  perViewer: number;
  resolution: string;
  /** 1-minute load average at the end of the row (others share the 2 cores). */
  load: number;
}

async function floor(browser: Browser): Promise<Row> {
  const pages = await serveBenchPages();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${pages.url}/page`);
  await page.addScriptTag({ url: `${pages.url}/floor.js`, type: 'module' });
  await page.waitForFunction(() => 'pairuxFloor' in window);
  const r = await page.evaluate(
    (o) =>
      (
        window as unknown as {
          pairuxFloor: { run(o: unknown): Promise<{ latencies: number[]; frames: number; seconds: number; width: number; height: number }> };
        }
      ).pairuxFloor.run(o),
    { width: WIDTH, height: HEIGHT, fps: FPS, codec: CODEC, ms: SECONDS * 1000 },
  );
  await context.close();
  await pages.close();
  const fps = r.frames / r.seconds;
  return {
    label: 'floor (1 page, loopback pair)',
    p50: percentile(r.latencies, 50),
    p95: percentile(r.latencies, 95),
    fpsMean: fps,
    fpsMin: fps,
    hostCores: Number.NaN,
    perViewer: Number.NaN,
    resolution: `${r.width}×${r.height}`,
    load: loadavg()[0]!,
  };
}

async function measure(viewerCount: number, viewerBrowser: Browser, real?: RealScreen, mode: 'p2p' | 'sfu' = 'p2p'): Promise<Row> {
  if (mode === 'sfu') livekit ??= await startLocalLiveKit();
  const plane = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    viewerLimitP2p: Math.max(25, viewerCount),
    ...TEST_PAGES,
    ...(mode === 'sfu' && livekit ? { livekit: { url: livekit.url, apiKey: livekit.apiKey, apiSecret: livekit.apiSecret } } : {}),
  });
  const hostBrowser = await launchMeteredChromium();
  const viewers: ViewerPage[] = [];
  try {
    const session = await plane.service.createSession({ mode });
    const host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, {
      width: WIDTH,
      height: HEIGHT,
      fps: FPS,
      codec: CODEC,
      browser: hostBrowser.browser,
      ...(HINT !== undefined ? { hint: HINT } : {}),
      ...(real ? { bridge: real.bridgeUrl } : {}),
    });
    const jb = args.get('jb');
    const link = jb === undefined ? session.links.viewer.url : `${session.links.viewer.url}&jb=${jb}`;
    for (let i = 0; i < viewerCount; i++) viewers.push(await ViewerPage.open(viewerBrowser, link, `Bench ${i + 1}`));
    for (const v of viewers) await v.waitForState('live', 60_000);
    for (const v of viewers) await v.waitForMarker(30_000);
    if (real) await startPageTrace(host.page);
    await new Promise((r) => setTimeout(r, 3000));
    real?.takePaintToGrab();
    real?.takeGrabToRunner();
    real?.takeTrace();
    if (real) await takePageTrace(host.page);
    const meter = new CpuMeter(() => hostBrowser.cpuSeconds() + (real ? real.helperCpuSeconds() : 0));
    const [collected, timings] = await Promise.all([
      Promise.all(viewers.map((v) => v.collect(SECONDS * 1000))),
      real ? viewerTimings(viewers[0]!.page, SECONDS * 1000) : Promise.resolve([]),
    ]);
    const hostCores = meter.cores();
    if (real) {
      const firstHop = real.takePaintToGrab();
      process.stderr.write(
        `  first hop, painted on X → grabbed by the helper: p50 ${percentile(firstHop, 50).toFixed(1)} ms, p95 ${percentile(firstHop, 95).toFixed(1)} ms (${firstHop.length} frames)\n`,
      );
      const link = real.takeGrabToRunner();
      process.stderr.write(
        `  second hop, grab started → whole frame at the runner (stdout link): p50 ${percentile(link, 50).toFixed(1)} ms, p95 ${percentile(link, 95).toFixed(1)} ms\n`,
      );
    }
    if (real) {
      const runnerTrace = real.takeTrace();
      const pageTrace = await takePageTrace(host.page);
      const presented = new Map<number, number>();
      for (const f of collected[0] ?? []) if (!presented.has(f.frame)) presented.set(f.frame, f.presentedAt);
      process.stderr.write(formatHops(splitHops(presented, runnerTrace, pageTrace, timings)));
      const [st] = await host.page.evaluate(() =>
        (
          window as unknown as {
            pairuxHost: {
              stats(): Promise<Array<{ encodeMsPerFrame: number; framesEncoded: number; qualityLimitationReason: string; encoderImplementation: string }>>;
            };
          }
        ).pairuxHost.stats(),
      );
      if (st)
        process.stderr.write(
          `  encoder: ${st.encoderImplementation}, ${st.encodeMsPerFrame.toFixed(1)} ms per frame (mean), ${st.framesEncoded} frames, limited by ${st.qualityLimitationReason}\n`,
        );
    }
    const latencies: number[] = [];
    const fpsPerViewer: number[] = [];
    let resolution = '';
    for (const frames of collected) {
      const unique = new Set<number>();
      for (const f of frames) {
        if (unique.has(f.frame)) continue;
        unique.add(f.frame);
        latencies.push(f.presentedAt - expandCaptureTime(f.captureTimeLow32, f.presentedAt));
        resolution = `${f.width}×${f.height}`;
      }
      fpsPerViewer.push(unique.size / SECONDS);
    }
    await host.close();
    return {
      label: `${real ? 'real screen, ' : ''}${viewerCount} viewer${viewerCount > 1 ? 's' : ''}`,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      fpsMean: fpsPerViewer.reduce((a, b) => a + b, 0) / fpsPerViewer.length,
      fpsMin: Math.min(...fpsPerViewer),
      hostCores,
      perViewer: hostCores / viewerCount,
      resolution,
      load: loadavg()[0]!,
    };
  } finally {
    for (const v of viewers) await v.close();
    await hostBrowser.close();
    await plane.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `bench:latency — ${MODES.map((m) => m.toUpperCase()).join(' and ')}, ${WIDTH}×${HEIGHT} @ ${FPS} fps, ${CODEC.toUpperCase()}, ${SECONDS} s per row; host and viewers in separate Chromium instances on one 2-core machine`,
  );
  const viewerBrowser = await launchChromium();
  const rows: Row[] = [];
  try {
    rows.push(await floor(viewerBrowser));
    for (const n of VIEWERS) {
      for (const mode of MODES) {
        process.stderr.write(`measuring ${n} viewer(s), ${mode}…\n`);
        const row = await measure(n, viewerBrowser, undefined, mode);
        if (MODES.length > 1) row.label = `${mode.toUpperCase()}: ${row.label}`;
        rows.push(row);
      }
    }
    if (REAL.length) {
      process.stderr.write('starting the real screen (Xvfb, painter, helper)…\n');
      const real = await startRealScreen(WIDTH, HEIGHT, FPS, FRAMES, CAPTURE_FPS);
      try {
        for (const n of REAL) {
          for (const mode of MODES) {
            process.stderr.write(`measuring ${n} viewer(s) of the real screen, ${mode}…\n`);
            const row = await measure(n, viewerBrowser, real, mode);
            if (MODES.length > 1) row.label = `${mode.toUpperCase()}: ${row.label}`;
            rows.push(row);
          }
        }
      } finally {
        await real.close();
      }
    }
  } finally {
    await viewerBrowser.close();
    await livekit?.stop();
  }
  printTable(
    'Frame grabbed on the host → presented at the viewer (ms); fps = distinct frames presented per second per viewer',
    ['setup', 'p50 ms', 'p95 ms', 'fps mean', 'fps worst viewer', 'host CPU (cores)*', 'host CPU per viewer', 'received', 'load avg'],
    rows.map((r) => [r.label, r.p50, r.p95, r.fpsMean, r.fpsMin, r.hostCores, r.perViewer, r.resolution, r.load]),
  );
  console.log("* host CPU = the host page's Chromium; real-screen rows add the helper process (capture, cursor, link).");
  const floorRow = rows[0]!;
  const one = rows.find((r) => r.label === '1 viewer');
  if (one) console.log(`1 viewer vs floor: p95 ×${(one.p95 / floorRow.p95).toFixed(2)}, fps ×${(one.fpsMean / floorRow.fpsMean).toFixed(2)}`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
