/**
 * `npm run bench:sfu`: SFU fan-out on one LiveKit node. One host (the control plane's host page in
 * headless Chromium, generated 1080p screen, SFU session: it publishes its screen once, as
 * simulcast) and N light subscribers: @livekit/rtc-node rooms in this Node process, each joined
 * to the PairUX session as a viewer through the signaling WebSocket (the join's `sfu` access is
 * its LiveKit URL and token), auto-subscribed to the screen, with no VideoStream made (no frame
 * handed to the app; the stats show whether libwebrtc decoded anyway).
 *
 * Measured: LiveKit's CPU (/proc utime+stime of its process over the window), delivered fps per
 * subscriber (inbound-rtp framesReceived of its subscriber connection, from rtc-node's
 * getRtcStats, over the window: complete frames reassembled from RTP, counted without decoding),
 * received bitrate, join time (signaling join → LiveKit connect → video track subscribed),
 * failures, and LiveKit's own participant count (RoomService).
 *
 * Options: --subscribers=100 --seconds=10 --steps=<cumulative counts, default: subscribers>
 *          --size=1920x1080 --fps=30 --concurrency=10 (joins at once) --settle=4 (s before a window)
 */
import { loadavg } from 'node:os';
import { launchMeteredChromium } from './support/browsers';
import { BenchHostPage, outboundDelta } from './support/modes-host';
import { joinSubscribers, type LightSfuSubscriber, type SubscriberStats } from './support/sfu-subscribers';
import { CpuMeter, percentile, printTable, treeCpuSeconds } from './support/stats';
import { startPlane, startSfuRig } from '../test/support/livekit';
import { tokenOf } from '../test/support/control-plane';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SUBSCRIBERS = Number(args.get('subscribers') ?? 100);
const SECONDS = Number(args.get('seconds') ?? 10);
const STEPS = (args.get('steps') ?? String(SUBSCRIBERS)).split(',').filter(Boolean).map(Number).sort((a, b) => a - b);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1920x1080').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);
const CONCURRENCY = Number(args.get('concurrency') ?? 10);
const SETTLE = Number(args.get('settle') ?? 4);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);
const benchCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Row {
  subscribers: number;
  receiving: number;
  failed: number;
  joinP50: number;
  joinP95: number;
  joinMax: number;
  liveKitCores: number;
  liveKitPerSub: number;
  fpsMean: number;
  fpsP5: number;
  fpsMin: number;
  mbpsPerSub: number;
  fanoutMbps: number;
  decoded: number;
  resolution: string;
  hostCores: number;
  hostMbps: number;
  subsCores: number;
  inRoom: number;
  load: string;
}

async function main(): Promise<void> {
  console.log(`bench:sfu — one host, generated ${WIDTH}×${HEIGHT} @ ${FPS} fps, SFU session (LiveKit v1.13.5 on loopback, one node), up to ${SUBSCRIBERS} rtc-node subscribers in this Node process; ${SECONDS} s window per step; 2-core machine shared by all of it`);
  const rig = await startSfuRig();
  const plane = await startPlane(rig, {}, { viewerLimit: Math.max(100, SUBSCRIBERS) });
  const hostBrowser = await launchMeteredChromium();
  const subs: LightSfuSubscriber[] = [];
  const rows: Row[] = [];
  try {
    const session = await plane.service.createSession({ mode: 'sfu' });
    const token = tokenOf(session.links.viewer.url);
    const host = await BenchHostPage.open(hostBrowser.browser, plane.url, session.sessionId, session.hostToken, { width: WIDTH, height: HEIGHT, fps: FPS });
    await host.waitForSfuPublished();
    process.stderr.write('host publishing to LiveKit\n');
    for (const step of STEPS) {
      const add = step - subs.length;
      if (add > 0) {
        process.stderr.write(`joining ${add} subscriber(s) (${CONCURRENCY} at a time)…\n`);
        const t = performance.now();
        subs.push(...(await joinSubscribers(plane.url, session.sessionId, token, add, { concurrency: CONCURRENCY, firstIndex: subs.length })));
        process.stderr.write(`  ${step} joined in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
      }
      await sleep(SETTLE * 1000);
      const live = subs.filter((s) => s.hasVideo);
      const lk = new CpuMeter(() => treeCpuSeconds(rig.livekit.pid));
      const hostCpu = new CpuMeter(() => hostBrowser.cpuSeconds());
      const mine = new CpuMeter(benchCpuSeconds);
      const out0 = await host.outbound();
      const before = await Promise.all(live.map((s) => s.stats()));
      const t0 = performance.now();
      await sleep(SECONDS * 1000);
      const after = await Promise.all(live.map((s) => s.stats()));
      const dt = (performance.now() - t0) / 1000;
      const out = outboundDelta(out0, await host.outbound());
      const liveKitCores = lk.cores();
      const hostCores = hostCpu.cores();
      const subsCores = mine.cores();
      const fps: number[] = [];
      const mbps: number[] = [];
      let decoded = 0;
      const sizes = new Map<string, number>();
      after.forEach((b: SubscriberStats, i) => {
        const a = before[i]!;
        fps.push((b.framesReceived - a.framesReceived) / dt);
        mbps.push(((b.bytesReceived - a.bytesReceived) * 8) / dt / 1e6);
        decoded += b.framesDecoded - a.framesDecoded;
        const size = `${b.width}×${b.height}`;
        sizes.set(size, (sizes.get(size) ?? 0) + 1);
      });
      const joins = subs.map((s) => s.times.subscribedMs).filter((v): v is number => v !== undefined);
      const inRoom = (await rig.api.listParticipants(session.sessionId).catch(() => [])).length;
      const failed = subs.filter((s) => s.error);
      for (const f of failed.slice(0, 3)) process.stderr.write(`  subscriber ${f.index + 1} failed: ${f.error}\n`);
      const [l1, l5, l15] = loadavg();
      rows.push({
        subscribers: step,
        receiving: fps.filter((f) => f > 0).length,
        failed: failed.length,
        joinP50: percentile(joins, 50),
        joinP95: percentile(joins, 95),
        joinMax: Math.max(...joins),
        liveKitCores,
        liveKitPerSub: liveKitCores / Math.max(1, live.length),
        fpsMean: mean(fps),
        fpsP5: percentile(fps, 5),
        fpsMin: Math.min(...fps),
        mbpsPerSub: mean(mbps),
        fanoutMbps: mbps.reduce((a, b) => a + b, 0),
        decoded,
        resolution: [...sizes].map(([s, n]) => `${s}×${n}`).join(' '),
        hostCores,
        hostMbps: (out.bytesSent * 8) / dt / 1e6,
        subsCores,
        inRoom,
        load: `${l1!.toFixed(2)} / ${l5!.toFixed(2)} / ${l15!.toFixed(2)}`,
      });
      process.stderr.write(`  ${step}: LiveKit ${liveKitCores.toFixed(2)} cores, fps mean ${mean(fps).toFixed(1)}, host keyframes ${out.keyFramesEncoded} / PLI ${out.pliCount} in the window\n`);
    }
    await host.close();
    // The session ends with the host: let the control plane delete its LiveKit room before LiveKit stops.
    await sleep(1500);
  } finally {
    await Promise.all(subs.map((s) => s.close()));
    await hostBrowser.close();
    await plane.close();
    await rig.livekit.stop();
  }
  printTable(
    `SFU fan-out: one ${WIDTH}×${HEIGHT}@${FPS} host → N rtc-node subscribers on one LiveKit node (${SECONDS} s window; fps = inbound-rtp framesReceived per second per subscriber, not decoded)`,
    ['subscribers', 'receiving', 'failed', 'in LiveKit room', 'join p50 ms', 'join p95 ms', 'join max ms', 'LiveKit CPU (cores)', 'LiveKit CPU per sub', 'fps mean', 'fps p5', 'fps worst', 'Mbit/s per sub', 'fan-out Mbit/s', 'frames decoded', 'received (size×subs)', 'host CPU (cores)', 'host egress Mbit/s', 'subscribers\' process CPU', 'load avg 1/5/15'],
    rows.map((r) => [r.subscribers, r.receiving, r.failed, r.inRoom, r.joinP50, r.joinP95, r.joinMax, r.liveKitCores, r.liveKitPerSub, r.fpsMean, r.fpsP5, r.fpsMin, r.mbpsPerSub, r.fanoutMbps, r.decoded, r.resolution, r.hostCores, r.hostMbps, r.subsCores, r.load]),
  );
  console.log('join = session.join over the signaling WebSocket → rtc-node Room.connect with the join\'s LiveKit token → the host\'s video track subscribed (all of it, per subscriber, while others join alongside: ' + `${CONCURRENCY} at a time).`);
  console.log('in LiveKit room = RoomService listParticipants (subscribers + the host). host egress = the host page\'s outbound-rtp bytesSent summed over the simulcast layers. subscribers\' process CPU = this Node process (rtc-node/libwebrtc for every subscriber, plus the bench itself).');
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
