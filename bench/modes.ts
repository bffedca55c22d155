/**
 * `npm run bench:modes`: what the host pays, P2P vs SFU, at 1/5/10/25 viewers: the host's CPU
 * (its Chromium's processes, /proc utime+stime over the window) and its egress (the host page's
 * WebRTC stats: outbound-rtp bytesSent summed over every connection and encoding, Mbit/s), so
 * the crossover the scaling strategy places at 5–15 viewers shows. One table.
 *
 * The host is the control plane's real host page in headless Chromium without a bridge: it
 * shares its generated screen (1080p30 by default). Each mode has its own host Chromium and
 * session; viewers are added cumulatively (1, then 4 more, …) and each row is measured after a
 * settle time, so bandwidth estimation has ramped up for the new viewers.
 *
 * Viewers (light, so 25 fit on 2 cores beside the host):
 *  - P2P: ONE Chromium page holding N RTCPeerConnections, each the answer to the host's offer for
 *    one PairUX guest (signaling: a bare protocol client per guest in this process); the received
 *    track is never attached to an element: decoded by libwebrtc, not rendered
 *    (bench/support/modes-p2p-viewers.ts says why decoding stays on).
 *  - SFU: @livekit/rtc-node rooms in this process, each joined as a PairUX guest through the
 *    signaling WebSocket and connected to LiveKit with the join's `sfu` access, auto-subscribed,
 *    no VideoStream (its libwebrtc decodes all the same: the inbound-rtp stats say so).
 * LiveKit (v1.13.5, loopback) runs for the whole bench; its own CPU is a separate column.
 *
 * Then the early-upgrade row (bench/support/early-upgrade.ts): an `auto` session, --early real
 * viewers of a busy screen, each guest's frame rate in P2P, when the host's own verdict moved the
 * session to the SFU, and each guest's frame rate there. A second table.
 *
 * Options: --viewers=1,5,10,25 --seconds=10 --settle=5 --size=1920x1080 --fps=30
 *          --codec=<both modes; default: each mode's own default>
 *          --early=5 (viewers of the early-upgrade row; 0 leaves it out) --move-timeout=60 (s)
 */
import { loadavg } from 'node:os';
import { launchMeteredChromium, serveBenchPages } from './support/browsers';
import { BenchHostPage, outboundDelta, type HostOutbound } from './support/modes-host';
import { LightP2pViewers } from './support/modes-p2p-viewers';
import { joinSubscribers, type LightSfuSubscriber } from './support/sfu-subscribers';
import { CpuMeter, printTable, treeCpuSeconds } from './support/stats';
import { measureEarlyUpgrade, type EarlyUpgradeResult } from './support/early-upgrade';
import { startPlane, startSfuRig } from '../test/support/livekit';
import { tokenOf } from '../test/support/control-plane';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const VIEWERS = (args.get('viewers') ?? '1,5,10,25')
  .split(',')
  .filter(Boolean)
  .map(Number)
  .sort((a, b) => a - b);
const SECONDS = Number(args.get('seconds') ?? 10);
const SETTLE = Number(args.get('settle') ?? 5);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1920x1080').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);
const CODEC = args.get('codec') as 'vp9' | 'vp8' | 'av1' | 'h264' | undefined;
const EARLY = Number(args.get('early') ?? 5);
const MOVE_TIMEOUT_S = Number(args.get('move-timeout') ?? 60);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);
const benchCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** A close that cannot hang the bench (an rtc-node disconnect can, once LiveKit dropped the room). */
const bounded = (p: Promise<unknown>, ms = 5000) => Promise.race([p.catch(() => undefined), sleep(ms)]);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

interface Measured {
  viewers: number;
  hostCores: number;
  egressMbps: number;
  fpsMean: number;
  fpsMin: number;
  viewerCores: number;
  liveKitCores: number;
  keyFramesPerSecond: number;
  receiving: number;
  resolution: string;
  codec: string;
  streams: number;
  load: string;
}

/** A table row from one window, the same for both modes. */
function measuredRow(viewers: number, w: Awaited<ReturnType<typeof measureWindow<{ width: number; height: number }>>>): Measured {
  return {
    viewers,
    hostCores: w.hostCores,
    egressMbps: (w.out.bytesSent * 8) / w.dt / 1e6,
    fpsMean: mean(w.fps),
    fpsMin: Math.min(...w.fps),
    viewerCores: w.viewerCores,
    liveKitCores: w.liveKitCores,
    keyFramesPerSecond: w.out.keyFramesEncoded / w.dt,
    receiving: w.fps.filter((f) => f > 0).length,
    resolution: [...new Set(w.after.map((c) => `${c.width}×${c.height}`))].join(' '),
    codec: w.codec,
    streams: w.out.streams,
    load: load(),
  };
}

/** One window: CPU meters and counters read at both ends. */
async function measureWindow<T>(
  host: BenchHostPage,
  meters: { host: () => number; viewers: () => number; liveKit: () => number },
  readViewers: () => Promise<T[]>,
  frames: (a: T, b: T) => number,
): Promise<{ codec: string; dt: number; out: HostOutbound; hostCores: number; viewerCores: number; liveKitCores: number; fps: number[]; after: T[] }> {
  const hostCpu = new CpuMeter(meters.host);
  const viewerCpu = new CpuMeter(meters.viewers);
  const lkCpu = new CpuMeter(meters.liveKit);
  const out0 = await host.outbound();
  const before = await readViewers();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const after = await readViewers();
  const out = outboundDelta(out0, await host.outbound());
  const dt = (performance.now() - t0) / 1000;
  const hostCores = hostCpu.cores();
  const viewerCores = viewerCpu.cores();
  const liveKitCores = lkCpu.cores();
  const enc = await host.page
    .evaluate(() =>
      (
        window as unknown as { pairuxHost: { stats(): Promise<Array<{ fps: number; qualityLimitationReason: string; frameWidth: number; codec: string }>> } }
      ).pairuxHost.stats(),
    )
    .catch(() => []);
  const reasons = new Map<string, number>();
  for (const e of enc) reasons.set(e.qualityLimitationReason || '?', (reasons.get(e.qualityLimitationReason || '?') ?? 0) + 1);
  process.stderr.write(
    `  encoder(s): ${enc.length}, output fps mean ${mean(enc.map((e) => e.fps)).toFixed(1)}, widths ${[...new Set(enc.map((e) => e.frameWidth))].join('/')}, limited by ${[...reasons].map(([r, n]) => `${r}×${n}`).join(', ')}\n`,
  );
  const codec = [...new Set(enc.map((e) => e.codec))].join('/');
  return { dt, out, hostCores, viewerCores, liveKitCores, fps: after.map((b, i) => frames(before[i]!, b) / dt), after, codec };
}

async function main(): Promise<void> {
  console.log(
    `bench:modes — host CPU and egress, P2P vs SFU; generated ${WIDTH}×${HEIGHT} @ ${FPS} fps screen, codec ${CODEC ?? "each mode's default"}, ${SECONDS} s window per row after ${SETTLE} s settling; 2-core machine shared by host, viewers, LiveKit and the control plane`,
  );
  const rig = await startSfuRig();
  const plane = await startPlane(rig, { viewerLimitP2p: Math.max(25, ...VIEWERS) }, { viewerLimit: Math.max(100, ...VIEWERS) });
  const pages = await serveBenchPages();
  const p2p: Measured[] = [];
  const sfu: Measured[] = [];
  const early: EarlyUpgradeResult[] = [];
  const liveKitCpu = () => treeCpuSeconds(rig.livekit.pid);
  try {
    // ---- P2P ----
    {
      const hostBrowser = await launchMeteredChromium();
      const viewerBrowser = await launchMeteredChromium();
      let viewers: LightP2pViewers | undefined;
      try {
        const session = await plane.service.createSession({ mode: 'p2p' });
        const host = await BenchHostPage.open(hostBrowser.browser, plane.url, session.sessionId, session.hostToken, {
          width: WIDTH,
          height: HEIGHT,
          fps: FPS,
          ...(CODEC ? { codec: CODEC } : {}),
        });
        viewers = await LightP2pViewers.open(viewerBrowser.browser, `${pages.url}/page`, plane.url, session.sessionId, tokenOf(session.links.viewer.url));
        for (const n of VIEWERS) {
          process.stderr.write(`P2P: ${n} viewer(s)…\n`);
          await viewers.add(n - viewers.count);
          await sleep(SETTLE * 1000);
          const v = viewers;
          const w = await measureWindow(
            host,
            { host: () => hostBrowser.cpuSeconds(), viewers: () => viewerBrowser.cpuSeconds(), liveKit: liveKitCpu },
            () => v.counts(),
            (a, b) => b.framesDecoded - a.framesDecoded,
          );
          p2p.push(measuredRow(n, w));
          process.stderr.write(
            `  host ${w.hostCores.toFixed(2)} cores, ${((w.out.bytesSent * 8) / w.dt / 1e6).toFixed(2)} Mbit/s over ${w.out.connections} connections, keyframes ${w.out.keyFramesEncoded} / PLI ${w.out.pliCount} in the window\n`,
          );
        }
        await bounded(viewers.close());
        viewers = undefined;
        await host.close();
      } finally {
        await bounded(viewers?.close() ?? Promise.resolve());
        await viewerBrowser.close();
        await hostBrowser.close();
      }
    }
    // ---- SFU ----
    {
      const hostBrowser = await launchMeteredChromium();
      const subs: LightSfuSubscriber[] = [];
      try {
        const session = await plane.service.createSession({ mode: 'sfu' });
        const token = tokenOf(session.links.viewer.url);
        const host = await BenchHostPage.open(hostBrowser.browser, plane.url, session.sessionId, session.hostToken, {
          width: WIDTH,
          height: HEIGHT,
          fps: FPS,
          ...(CODEC ? { codec: CODEC } : {}),
        });
        await host.waitForSfuPublished();
        for (const n of VIEWERS) {
          process.stderr.write(`SFU: ${n} viewer(s)…\n`);
          subs.push(...(await joinSubscribers(plane.url, session.sessionId, token, n - subs.length, { firstIndex: subs.length })));
          for (const s of subs.filter((x) => x.error)) process.stderr.write(`  subscriber ${s.index + 1} failed: ${s.error}\n`);
          await sleep(SETTLE * 1000);
          const w = await measureWindow(
            host,
            { host: () => hostBrowser.cpuSeconds(), viewers: benchCpuSeconds, liveKit: liveKitCpu },
            () => Promise.all(subs.map((s) => s.stats())),
            (a, b) => b.framesDecoded - a.framesDecoded,
          );
          sfu.push(measuredRow(n, w));
          process.stderr.write(
            `  host ${w.hostCores.toFixed(2)} cores, ${((w.out.bytesSent * 8) / w.dt / 1e6).toFixed(2)} Mbit/s over ${w.out.streams} layer(s), LiveKit ${w.liveKitCores.toFixed(2)} cores, keyframes ${w.out.keyFramesEncoded} / PLI ${w.out.pliCount} in the window\n`,
          );
        }
        // Viewers leave first, then the host; the session ends with it: let the control plane
        // delete its LiveKit room before LiveKit stops.
        await Promise.all(subs.splice(0).map((s) => bounded(s.close())));
        await host.close();
        await sleep(1500);
      } finally {
        await Promise.all(subs.map((s) => bounded(s.close())));
        await hostBrowser.close();
      }
    }
    // ---- early upgrade ----
    for (const direct of EARLY > 0 ? [true, false] : [])
      early.push(
        await measureEarlyUpgrade({
          plane,
          viewers: EARLY,
          direct,
          width: WIDTH,
          height: HEIGHT,
          fps: FPS,
          ...(CODEC ? { codec: CODEC } : {}),
          seconds: SECONDS,
          settle: SETTLE,
          moveTimeoutS: MOVE_TIMEOUT_S,
          progress: (line) => process.stderr.write(`${line}\n`),
        }),
      );
  } finally {
    await pages.close();
    await plane.close();
    await rig.livekit.stop();
  }
  const rows = VIEWERS.map((n) => {
    const p = p2p.find((r) => r.viewers === n);
    const s = sfu.find((r) => r.viewers === n);
    return [
      n,
      p?.hostCores ?? Number.NaN,
      s?.hostCores ?? Number.NaN,
      s?.liveKitCores ?? Number.NaN,
      p?.egressMbps ?? Number.NaN,
      s?.egressMbps ?? Number.NaN,
      p && s ? p.egressMbps / s.egressMbps : Number.NaN,
      p && s ? p.hostCores / s.hostCores : Number.NaN,
      p ? `${p.fpsMean.toFixed(1)} / ${p.fpsMin.toFixed(1)}` : '–',
      s ? `${s.fpsMean.toFixed(1)} / ${s.fpsMin.toFixed(1)}` : '–',
      p?.viewerCores ?? Number.NaN,
      s?.viewerCores ?? Number.NaN,
      `P2P ${p?.resolution ?? '–'}; SFU ${s?.resolution ?? '–'}`,
      `P2P ${p?.load ?? '–'}; SFU ${s?.load ?? '–'}`,
    ];
  });
  printTable(
    `Host CPU (cores) and host egress (outbound-rtp bytesSent, Mbit/s), P2P vs SFU, ${WIDTH}×${HEIGHT}@${FPS} generated screen, ${SECONDS} s windows`,
    [
      'viewers',
      'P2P host CPU',
      'SFU host CPU',
      'LiveKit CPU (SFU)',
      'P2P egress Mbit/s',
      'SFU egress Mbit/s',
      'egress ratio P2P/SFU',
      'host CPU ratio P2P/SFU',
      'P2P fps mean / worst',
      'SFU fps mean / worst',
      "P2P viewers' CPU",
      "SFU viewers' CPU",
      'received',
      'load avg 1/5/15 at the row',
    ],
    rows,
  );
  console.log(
    "host CPU = the host page's Chromium process tree (it also draws the generated screen, the same in both modes); LiveKit CPU = its process, SFU rows only (≈0 in P2P).",
  );
  console.log('fps = frames decoded per second per viewer (inbound-rtp framesDecoded over the window), mean / worst viewer.');
  console.log(
    "viewers: P2P = one Chromium page with N RTCPeerConnections answering the host (decoded, never rendered); viewers' CPU = that Chromium's process tree.",
  );
  console.log(
    "         SFU = N @livekit/rtc-node rooms in the bench process (joined through PairUX signaling, auto-subscribed, no VideoStream; libwebrtc decodes anyway); viewers' CPU = the bench process (the subscribers, the control plane, the bench).",
  );
  console.log(
    `host encodes: P2P ${p2p.map((r) => `${r.streams}× ${r.codec}`).join(', ')} (one stream per viewer); SFU ${sfu.map((r) => `${r.codec} simulcast, ${r.streams} layers`).join(', ')} (once, whatever the viewer count).`,
  );
  console.log(
    `host keyframes per second, P2P: ${p2p.map((r) => r.keyFramesPerSecond.toFixed(2)).join(', ')}; SFU: ${sfu.map((r) => r.keyFramesPerSecond.toFixed(2)).join(', ')}`,
  );
  for (const e of early) printEarly(e);
  process.exit(0);
}

function printEarly(e: EarlyUpgradeResult): void {
  const moved = e.movedAfterS === null ? `no move within ${MOVE_TIMEOUT_S} s` : `moved after ${e.movedAfterS.toFixed(1)} s`;
  printTable(
    `Early upgrade, P2P guests on ${e.direct ? 'direct video (one shared encoder)' : 'RTP video (an encoder each)'}: an auto session, ${e.viewers} browser viewers of a busy ${WIDTH}×${HEIGHT}@${FPS} screen (its code scrolling a line a frame): ${moved}; the host page's last P2P reading: ${e.verdict}`,
    ['media', 'host CPU', ...Array.from({ length: e.viewers }, (_, i) => `viewer ${i + 1} fps`), 'fps mean / worst', 'load avg'],
    e.phases.map((p) => [
      p.mode === 'sfu' ? 'SFU (after the move)' : 'P2P (before the move)',
      p.hostCores,
      ...p.fps,
      `${mean(p.fps).toFixed(1)} / ${Math.min(...p.fps).toFixed(1)}`,
      p.load,
    ]),
  );
  console.log('fps = frames decoded per second at each viewer page (its inbound video, either mode), over the window.');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
