/**
 * `npm run bench:tuning`: which sender settings keep screen text sharp without the frame rate
 * collapsing. One host at 1080p30 behind a capped uplink (default 2.5 Mbps), one viewer, per
 * row: codec × contentHint × degradationPreference. Sharpness = PSNR of the code area against a
 * local render of the same screen; plus received resolution, fps, latency, bitrate, host CPU.
 *
 * Options: --seconds=6 --warmup=8 --maxKbps=2500 --size=1920x1080 --fps=30
 *          --configs=vp9/detail/maintain-resolution,vp9/motion/balanced (default: the grid below)
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../demo/chromium';
import { startHeadlessHost, type HostPageOptions } from '../demo/headless-host';
import { startControlPlane } from '../server/control-plane';
import { expandCaptureTime } from '../webview/engine/frames/frame-marker';
import { ViewerPage } from '../test/support/browser-viewer';
import { launchMeteredChromium } from './support/browsers';
import { CpuMeter, percentile, printTable } from './support/stats';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SECONDS = Number(args.get('seconds') ?? 6);
const WARMUP = Number(args.get('warmup') ?? 8);
const MAX_KBPS = Number(args.get('maxKbps') ?? 2500);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1920x1080').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);

type Config = Required<Pick<HostPageOptions, 'codec' | 'hint' | 'degradation'>>;
const GRID: Config[] = [
  ...(['vp9', 'vp8', 'av1', 'h264'] as const).flatMap((codec) =>
    (['detail', 'motion'] as const).map((hint) => ({ codec, hint, degradation: 'maintain-resolution' as const })),
  ),
  { codec: 'vp9', hint: 'detail', degradation: 'balanced' },
  { codec: 'av1', hint: 'detail', degradation: 'balanced' },
];
const CONFIGS: Config[] = args.get('configs')
  ? args
      .get('configs')!
      .split(',')
      .map((c) => {
        const [codec, hint, degradation] = c.split('/') as [Config['codec'], Config['hint'], Config['degradation']];
        return { codec, hint, degradation };
      })
  : GRID;

async function main(): Promise<void> {
  console.log(
    `bench:tuning — ${WIDTH}×${HEIGHT} @ ${FPS} fps generated code screen, host uplink capped at ${MAX_KBPS} kbps, 1 viewer, ${WARMUP} s warm-up + ${SECONDS} s per row`,
  );
  const quality = await readFile(fileURLToPath(new URL('../dist/bench/quality.js', import.meta.url)), 'utf8');
  const viewerBrowser = await launchChromium();
  const rows: Array<Array<string | number>> = [];
  try {
    for (const config of CONFIGS) {
      process.stderr.write(`measuring ${config.codec} / ${config.hint} / ${config.degradation}…\n`);
      const plane = await startControlPlane({ host: '127.0.0.1', port: 0 });
      const hostBrowser = await launchMeteredChromium();
      let viewer: ViewerPage | undefined;
      try {
        const session = await plane.service.createSession({ mode: 'p2p' });
        const host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, {
          width: WIDTH,
          height: HEIGHT,
          fps: FPS,
          maxKbps: MAX_KBPS,
          browser: hostBrowser.browser,
          ...config,
        });
        viewer = await ViewerPage.open(viewerBrowser, session.links.viewer.url, 'Tuner', { bypassCSP: true });
        await viewer.waitForState('live', 30_000);
        await viewer.waitForMarker(30_000);
        await viewer.page.addScriptTag({ content: quality, type: 'module' });
        await new Promise((r) => setTimeout(r, WARMUP * 1000));
        const before = await viewer.stats();
        const meter = new CpuMeter(() => hostBrowser.cpuSeconds());
        const t0 = Date.now();
        const frames = await viewer.collect(SECONDS * 1000);
        const hostCores = meter.cores();
        const after = await viewer.stats();
        const kbps = (((after.bytesReceived ?? 0) - (before.bytesReceived ?? 0)) * 8) / (Date.now() - t0);
        const psnrs: number[] = [];
        for (let i = 0; i < 3; i++) {
          psnrs.push(await viewer.page.evaluate(() => (window as unknown as { pairuxQuality: { psnr(): Promise<number> } }).pairuxQuality.psnr()));
          await new Promise((r) => setTimeout(r, 300));
        }
        const unique = new Map<number, number>();
        for (const f of frames) if (!unique.has(f.frame)) unique.set(f.frame, f.presentedAt - expandCaptureTime(f.captureTimeLow32, f.presentedAt));
        const lat = [...unique.values()];
        rows.push([
          config.codec.toUpperCase(),
          config.hint,
          config.degradation,
          `${after.frameWidth ?? 0}×${after.frameHeight ?? 0}`,
          unique.size / SECONDS,
          percentile(lat, 50),
          percentile(lat, 95),
          kbps,
          percentile(psnrs, 50),
          hostCores,
          after.codec ?? '',
        ]);
        await host.close();
      } catch (err) {
        rows.push([
          config.codec.toUpperCase(),
          config.hint,
          config.degradation,
          `failed: ${(err as Error).message.slice(0, 60)}`,
          NaN,
          NaN,
          NaN,
          NaN,
          NaN,
          NaN,
          '',
        ]);
      } finally {
        await viewer?.close();
        await hostBrowser.close();
        await plane.close();
      }
    }
  } finally {
    await viewerBrowser.close();
  }
  printTable(
    'Sender settings for screen text (PSNR-Y of the code area vs a local render; higher is sharper)',
    ['codec', 'contentHint', 'degradation', 'received', 'fps', 'p50 ms', 'p95 ms', 'kbps', 'PSNR-Y dB', 'host CPU', 'negotiated'],
    rows,
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
