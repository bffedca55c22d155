/**
 * `npm run bench:e2ee`: what end-to-end encryption costs (issue 15). The same session with and
 * without E2EE, side by side in one run, P2P and through a local LiveKit SFU, the host page's
 * generated 1080p30 screen and one viewer, each in its own metered Chromium: frame grabbed on the
 * host → presented at the viewer (p50/p95), frames presented per second, the host's and the
 * viewer's CPU, and the video bytes the viewer received.
 *
 * P2P has two pairs: the default path (direct video: WebCodecs chunks over a data channel, sealed
 * whole when encrypted) and RTP video (the fallback; VP9 in both rows, since an encrypted session's
 * RTP video must be VP9: AV1's and H.264's packetizers cannot carry sealed frames). The SFU rows
 * both publish H.264 simulcast. Configurations alternate within each round (--rounds, default 2) so
 * the machine's drift hits them alike; targets: E2EE against its plain twin p50 within +2 ms, CPU
 * within +10 %, no fps loss.
 *
 * Options: --seconds=10 --rounds=2 --fps=30 --size=1920x1080 --modes=p2p,sfu
 */
import { loadavg } from 'node:os';
import { startHeadlessHost, type HeadlessHost } from '../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../demo/livekit-server';
import { withMediaKey } from '../protocol/share-link';
import { startControlPlane, type ControlPlane } from '../server/control-plane';
import { TEST_PAGES } from '../test/support/test-pages';
import { ViewerPage } from '../test/support/browser-viewer';
import { launchMeteredChromium, type MeteredBrowser } from './support/browsers';
import { grabToPresent } from './support/change-latency';
import { CpuMeter, percentile, printTable, waitForQuiet } from './support/stats';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SECONDS = Number(args.get('seconds') ?? 10);
const ROUNDS = Number(args.get('rounds') ?? 2);
const FPS = Number(args.get('fps') ?? 30);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1920x1080').split('x').map(Number) as [number, number];
const MODES = (args.get('modes') ?? 'p2p,sfu').split(',').filter((m): m is 'p2p' | 'sfu' => m === 'p2p' || m === 'sfu');

interface Config {
  label: string;
  mode: 'p2p' | 'sfu';
  e2ee: boolean;
  codec: 'av1' | 'vp9' | 'h264';
  direct: boolean;
  /** The plain configuration this one is compared with. */
  twin?: string;
}

const CONFIGS: Config[] = [
  { label: 'P2P, default (direct video)', mode: 'p2p' as const, e2ee: false, codec: 'av1' as const, direct: true },
  { label: 'P2P, E2EE (direct video)', mode: 'p2p' as const, e2ee: true, codec: 'av1' as const, direct: true, twin: 'P2P, default (direct video)' },
  { label: 'P2P, VP9 over RTP', mode: 'p2p' as const, e2ee: false, codec: 'vp9' as const, direct: false },
  { label: 'P2P, E2EE (VP9 over RTP)', mode: 'p2p' as const, e2ee: true, codec: 'vp9' as const, direct: false, twin: 'P2P, VP9 over RTP' },
  { label: 'SFU (H.264 simulcast)', mode: 'sfu' as const, e2ee: false, codec: 'h264' as const, direct: false },
  { label: 'SFU, E2EE (H.264 simulcast)', mode: 'sfu' as const, e2ee: true, codec: 'h264' as const, direct: false, twin: 'SFU (H.264 simulcast)' },
].filter((c) => MODES.includes(c.mode));

interface Sample {
  latencies: number[];
  fps: number;
  hostCores: number;
  viewerCores: number;
  kbps: number;
}

const say = (line: string) => process.stderr.write(`[bench:e2ee] ${line}\n`);

let livekit: LocalLiveKit | undefined;

async function measure(c: Config, hostBrowser: MeteredBrowser, viewerBrowser: MeteredBrowser): Promise<Sample> {
  if (c.mode === 'sfu') livekit ??= await startLocalLiveKit({});
  const plane: ControlPlane = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    lobby: 'off',
    ...TEST_PAGES,
    ...(c.mode === 'sfu' && livekit ? { livekit: { url: livekit.url, apiKey: livekit.apiKey, apiSecret: livekit.apiSecret } } : {}),
  });
  let host: HeadlessHost | undefined;
  let viewer: ViewerPage | undefined;
  try {
    const session = await plane.service.createSession({ mode: c.mode, ...(c.e2ee ? { e2ee: true } : {}) });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, {
      width: WIDTH,
      height: HEIGHT,
      fps: FPS,
      codec: c.codec,
      direct: c.direct,
      browser: hostBrowser.browser,
    });
    const key = c.e2ee ? await host.mediaKey() : undefined;
    const link = key ? withMediaKey(session.links.viewer.url, key.key, key.gen) : session.links.viewer.url;
    viewer = await ViewerPage.open(viewerBrowser.browser, link, 'Bench viewer');
    await viewer.waitForState('live', 60_000);
    await viewer.waitForMarker(30_000);
    await new Promise((r) => setTimeout(r, 3000));
    await waitForQuiet(1.6, 5000);
    const bytes0 = (await viewer.stats()).bytesReceived ?? 0;
    const hostMeter = new CpuMeter(() => hostBrowser.cpuSeconds());
    const viewerMeter = new CpuMeter(() => viewerBrowser.cpuSeconds());
    const frames = await viewer.collect(SECONDS * 1000);
    const hostCores = hostMeter.cores();
    const viewerCores = viewerMeter.cores();
    const bytes = ((await viewer.stats()).bytesReceived ?? 0) - bytes0;
    const g = grabToPresent(frames);
    return { latencies: g.latencies, fps: g.distinct / SECONDS, hostCores, viewerCores, kbps: (bytes * 8) / 1000 / SECONDS };
  } finally {
    await viewer?.close();
    await host?.close();
    await plane.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `bench:e2ee — ${WIDTH}×${HEIGHT} @ ${FPS} fps generated screen, one viewer, ${SECONDS} s per measurement, ${ROUNDS} round(s), configurations alternating; host and viewer in separate Chromium instances on one machine (load ${loadavg()[0]!.toFixed(1)})`,
  );
  const hostBrowser = await launchMeteredChromium();
  const viewerBrowser = await launchMeteredChromium();
  const samples = new Map<string, Sample[]>(CONFIGS.map((c) => [c.label, []]));
  const failures: string[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of CONFIGS) {
        say(`round ${round}: ${c.label}…`);
        try {
          samples.get(c.label)!.push(await measure(c, hostBrowser, viewerBrowser));
        } catch (err) {
          failures.push(`${c.label} (round ${round}): ${String(err).split('\n')[0]}`);
          say(`  failed: ${String(err).split('\n')[0]}`);
        }
      }
    }
  } finally {
    await hostBrowser.close();
    await viewerBrowser.close();
    await livekit?.stop();
  }
  const summary = new Map<string, { p50: number; p95: number; fps: number; host: number; viewer: number; kbps: number }>();
  for (const c of CONFIGS) {
    const s = samples.get(c.label)!;
    if (!s.length) continue;
    const all = s.flatMap((x) => x.latencies);
    const mean = (f: (x: Sample) => number) => s.reduce((a, x) => a + f(x), 0) / s.length;
    summary.set(c.label, {
      p50: percentile(all, 50),
      p95: percentile(all, 95),
      fps: mean((x) => x.fps),
      host: mean((x) => x.hostCores),
      viewer: mean((x) => x.viewerCores),
      kbps: mean((x) => x.kbps),
    });
  }
  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  printTable(
    "Grabbed on the host → presented at the viewer (ms), fps presented, CPU in cores (host page's Chromium; viewer's Chromium), video received",
    ['setup', 'p50 ms', 'p95 ms', 'fps', 'host CPU', 'viewer CPU', 'kbit/s'],
    CONFIGS.filter((c) => summary.has(c.label)).map((c) => {
      const r = summary.get(c.label)!;
      return [c.label, f1(r.p50), f1(r.p95), f1(r.fps), f2(r.host), f2(r.viewer), Math.round(r.kbps)];
    }),
  );
  const rows = CONFIGS.filter((c) => c.twin && summary.has(c.label) && summary.has(c.twin)).map((c) => {
    const e = summary.get(c.label)!;
    const p = summary.get(c.twin!)!;
    const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(0)} %`;
    const met = e.p50 - p.p50 <= 2 && e.host <= p.host * 1.1 && e.viewer <= p.viewer * 1.1 && e.fps >= p.fps * 0.95;
    return [
      c.label,
      `${e.p50 - p.p50 >= 0 ? '+' : ''}${f1(e.p50 - p.p50)} ms`,
      `${e.p95 - p.p95 >= 0 ? '+' : ''}${f1(e.p95 - p.p95)} ms`,
      pct(e.fps, p.fps),
      pct(e.host, p.host),
      pct(e.viewer, p.viewer),
      pct(e.kbps, p.kbps),
      met ? 'met' : 'NOT met',
    ];
  });
  printTable(
    'E2EE against its plain twin (targets: p50 within +2 ms, CPU within +10 %, no fps loss)',
    ['E2EE setup', 'Δ p50', 'Δ p95', 'fps', 'host CPU', 'viewer CPU', 'bytes', 'targets'],
    rows,
  );
  if (failures.length) console.log(`Not measured (failed):\n${failures.map((f) => `  ${f}`).join('\n')}`);
  process.exit(failures.length ? 1 : 0);
}

void main();
