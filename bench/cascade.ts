/**
 * `npm run bench:cascade`: a cascaded session over three regions (issue 17). Three LiveKit
 * servers on this machine stand for deployments in regions a, b and c (no delay between them
 * here: this is load, not latency); one host on a (the control plane's host page in headless
 * Chromium, generated screen, SFU session) and light subscribers joined as viewers with each
 * region's hint, `--viewers=a:N,b:N,c:N`. The subscribers count the RTP they receive and decode
 * nothing, so the machine's two cores go to the SFUs and the bridges: by default LiveKit Go SDK
 * participants in one process (bench/support/go-subscribers.ts, cascade/lightsubs), or with
 * `--subscribers=browser` livekit-client Rooms, `--per-browser` of them in each headless Chromium
 * (bench/support/spread-subscribers.ts: one page stalls past ~150; five of them cannot carry 500
 * on two cores). The same counts are then run with cascading off (every viewer on a), in the same run.
 *
 * Per region: subscribers receiving, fps mean / 5th percentile / worst, join time, that region's
 * LiveKit CPU; per bridge: frames and kbit/s carried per layer, its own delay per packet, its
 * process's CPU. The bridge carries one copy of each layer into its region whatever the number
 * of viewers there: compare its kbit/s with the region's viewers × their kbit/s.
 *
 * Options: --viewers=a:50,b:100,c:100 --seconds=10 --settle=17 --size=1920x1080 --fps=30
 *          --concurrency=10 --subscribers=go|browser --per-browser=100 --compare=0 (skip the all-on-a run) --pli-throttle=15 (as bench:sfu:
 *          subscribers that decode nothing ask for key frames every ~200 ms)
 */
import { loadavg } from 'node:os';
import { RoomServiceClient } from 'livekit-server-sdk';
import { launchMeteredChromium, serveBenchPages } from './support/browsers';
import { SpreadSubscribers } from './support/spread-subscribers';
import { GoSfuSubscribers } from './support/go-subscribers';
import { BenchHostPage } from './support/modes-host';
import { CpuMeter, cpuSeconds, percentile, printTable, treeCpuSeconds } from './support/stats';
import { startLocalLiveKit, type LocalLiveKit } from '../demo/livekit-server';
import { startControlPlane } from '../server/control-plane';
import { LIVEKIT_WEBHOOK_PATH } from '../server/sfu/webhooks';
import { httpUrlOf } from '../server/sfu/rooms';
import { TEST_PAGES } from '../test/support/test-pages';
import { tokenOf } from '../test/support/control-plane';
import { freePort } from '../test/support/livekit';
import { ensureCascadeBridge } from '../scripts/cascade-bridge.mjs';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const VIEWERS = (args.get('viewers') ?? 'a:50,b:100,c:100').split(',').map((pair) => {
  const [region, n] = pair.split(':');
  return { region: region!, n: Number(n) };
});
const REGIONS = ['a', 'b', 'c'];
const SECONDS = Number(args.get('seconds') ?? 10);
const PLI_THROTTLE = Number(args.get('pli-throttle') ?? 15);
const SETTLE = Number(args.get('settle') ?? PLI_THROTTLE + 2);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1920x1080').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);
const CONCURRENCY = Number(args.get('concurrency') ?? 10);
const PER_BROWSER = Number(args.get('per-browser') ?? 100);
const GO_SUBSCRIBERS = (args.get('subscribers') ?? 'go') === 'go';
const COMPARE = args.get('compare') !== '0';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);
const say = (s: string) => process.stderr.write(`${s}\n`);

interface RegionRow {
  run: string;
  region: string;
  subscribers: number;
  receiving: number;
  fpsMean: number;
  fpsP5: number;
  fpsMin: number;
  kbpsPerSub: number;
  joinP50: number;
  joinP95: number;
  liveKitCores: number;
}
interface BridgeRow {
  run: string;
  region: string;
  layers: string;
  kbps: number;
  relayMs: string;
  cores: number;
  restarts: number;
}

async function runOnce(
  cascade: boolean,
  lk: Record<string, LocalLiveKit>,
  planePort: number,
): Promise<{ regions: RegionRow[]; bridges: BridgeRow[]; hostCores: number; subscriberCores: number }> {
  const label = cascade ? 'cascaded' : 'all on a';
  const plane = await startControlPlane({
    host: '127.0.0.1',
    port: planePort,
    ...TEST_PAGES,
    lobby: 'off',
    focus: { cascade },
    sfuPools: {
      deployments: REGIONS.map((r) => ({ id: `${r}1`, region: r, url: lk[r]!.url, apiKey: lk[r]!.apiKey, apiSecret: lk[r]!.apiSecret, viewerLimit: 5000 })),
      defaultRegion: 'a',
    },
  });
  const hostBrowser = await launchMeteredChromium();
  const pages = await serveBenchPages();
  const subs = GO_SUBSCRIBERS ? new GoSfuSubscribers() : new SpreadSubscribers(`${pages.url}/page`, PER_BROWSER);
  try {
    const session = await plane.service.createSession({ mode: 'sfu', region: 'a' });
    const token = tokenOf(session.links.viewer.url);
    const host = await BenchHostPage.open(hostBrowser.browser, plane.url, session.sessionId, session.hostToken, { width: WIDTH, height: HEIGHT, fps: FPS });
    await host.waitForSfuPublished();
    const ranges: Array<{ region: string; from: number; to: number }> = [];
    for (const { region, n } of VIEWERS) {
      const from = subs.joins.length;
      const t = performance.now();
      await subs.add(n, plane.url, session.sessionId, token, { concurrency: CONCURRENCY, region });
      ranges.push({ region, from, to: subs.joins.length });
      const failed = subs.joins.slice(from).filter((j) => j.error);
      const why = [...new Set(failed.map((j) => j.error))].slice(0, 3).join(' | ');
      say(
        `${label}: ${n - failed.length} of ${n} subscriber(s) of region ${region} joined in ${((performance.now() - t) / 1000).toFixed(1)} s${failed.length ? `; ${failed.length} failed: ${why}` : ''}`,
      );
    }
    await sleep(SETTLE * 1000);
    const lkCpu = Object.fromEntries(REGIONS.map((r) => [r, new CpuMeter(() => treeCpuSeconds(lk[r]!.pid))]));
    const bridgePids = new Map(plane.service.cascades.snapshot().map((b) => [b.region, b.pid]));
    const bridgeCpu = new Map([...bridgePids].map(([r, pid]) => [r, new CpuMeter(() => (pid ? cpuSeconds(pid) : 0))]));
    const hostCpu = new CpuMeter(() => hostBrowser.cpuSeconds());
    const subsCpu = new CpuMeter(() => (subs instanceof GoSfuSubscribers ? cpuSeconds(subs.pid) : subs.browsers.reduce((t, b) => t + b.cpuSeconds(), 0)));
    const before = await subs.counts();
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const after = await subs.counts();
    const dt = (performance.now() - t0) / 1000;
    const regions: RegionRow[] = ranges.map(({ region, from, to }) => {
      const fps: number[] = [];
      const kbps: number[] = [];
      for (let i = from; i < to; i++) {
        fps.push(((after[i]?.frames ?? 0) - (before[i]?.frames ?? 0)) / dt);
        kbps.push((((after[i]?.bytes ?? 0) - (before[i]?.bytes ?? 0)) * 8) / 1000 / dt);
      }
      const joins = subs.joins.slice(from, to).flatMap((j) => (j.subscribedMs === undefined ? [] : [j.subscribedMs]));
      return {
        run: label,
        region,
        subscribers: to - from,
        receiving: fps.filter((f) => f > 0).length,
        fpsMean: mean(fps),
        fpsP5: percentile(fps, 5),
        fpsMin: Math.min(...fps),
        kbpsPerSub: mean(kbps),
        joinP50: percentile(joins, 50),
        joinP95: percentile(joins, 95),
        liveKitCores: lkCpu[region]!.cores(),
      };
    });
    const bridges: BridgeRow[] = plane.service.cascades.snapshot().map((b) => ({
      run: label,
      region: b.region,
      layers: b.layers.map((l) => `${l.rid} ${l.fps.toFixed(1)} fps`).join(', '),
      kbps: b.layers.reduce((s, l) => s + l.kbps, 0),
      relayMs: b.layers.map((l) => `${l.rid} ${l.relayMs.toFixed(3)}`).join(', '),
      cores: bridgeCpu.get(b.region)?.cores() ?? 0,
      restarts: b.restarts,
    }));
    const inRooms = await Promise.all(
      REGIONS.map(
        async (r) =>
          (await new RoomServiceClient(httpUrlOf(lk[r]!.url), lk[r]!.apiKey, lk[r]!.apiSecret).listParticipants(session.sessionId).catch(() => [])).length,
      ),
    );
    say(`${label}: LiveKit participants in the session's room per region ${REGIONS.map((r, i) => `${r} ${inRooms[i]}`).join(', ')}`);
    const hostCores = hostCpu.cores();
    const subscriberCores = subsCpu.cores();
    await host.close();
    return { regions, bridges, hostCores, subscriberCores };
  } finally {
    await subs.close();
    await hostBrowser.close();
    await pages.close();
    await plane.close();
  }
}

async function main(): Promise<void> {
  const total = VIEWERS.reduce((s, v) => s + v.n, 0);
  console.log(
    `bench:cascade — one host on region a, generated ${WIDTH}×${HEIGHT} @ ${FPS} fps, ${total} light subscribers (${VIEWERS.map((v) => `${v.region} ${v.n}`).join(', ')}); three LiveKit v1.13.5 servers on loopback as regions a, b, c; ${SECONDS} s window; 2-core machine shared by all of it`,
  );
  ensureCascadeBridge();
  const planePort = await freePort();
  const webhookUrl = `http://127.0.0.1:${planePort}${LIVEKIT_WEBHOOK_PATH}`;
  const lk: Record<string, LocalLiveKit> = {};
  for (const r of REGIONS) lk[r] = await startLocalLiveKit({ logLevel: 'warn', webhookUrl, pliThrottleMs: PLI_THROTTLE * 1000 });
  const results = [];
  try {
    results.push(await runOnce(true, lk, planePort));
    if (COMPARE) results.push(await runOnce(false, lk, planePort));
  } finally {
    for (const r of REGIONS) await lk[r]!.stop().catch(() => undefined);
  }
  printTable(
    'Per region: what its viewers received, and its LiveKit (fps = encoded frames per subscriber per second)',
    ['run', 'region', 'subscribers', 'receiving', 'fps mean', 'fps p5', 'fps worst', 'kbit/s each', 'join p50 ms', 'join p95 ms', 'LiveKit cores'],
    results.flatMap((r) =>
      r.regions.map((x) => [x.run, x.region, x.subscribers, x.receiving, x.fpsMean, x.fpsP5, x.fpsMin, x.kbpsPerSub, x.joinP50, x.joinP95, x.liveKitCores]),
    ),
  );
  printTable(
    'Cascade bridges: one per far region, one copy of each layer whatever the viewers there',
    ['run', 'region', 'layers carried', 'kbit/s carried', 'own delay ms/packet', 'bridge cores', 'restarts'],
    results.flatMap((r) => r.bridges.map((b) => [b.run, b.region, b.layers, b.kbps, b.relayMs, b.cores, b.restarts])),
  );
  console.log(
    `Host page cores: ${results.map((r, i) => `${i === 0 ? 'cascaded' : 'all on a'} ${r.hostCores.toFixed(2)}`).join(', ')}; the subscribers' (${GO_SUBSCRIBERS ? 'Go' : 'Chromium'}) ${results.map((r) => r.subscriberCores.toFixed(2)).join(', ')}. Load average (1 min) at the end ${loadavg()[0]!.toFixed(1)}.`,
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
