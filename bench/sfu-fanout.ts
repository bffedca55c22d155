/**
 * `npm run bench:sfu`: SFU fan-out on one LiveKit node. One host (the control plane's host page in
 * headless Chromium, generated 1080p screen, SFU session: it publishes its screen once, as
 * simulcast) and N light subscribers, each joined to the PairUX session as a viewer through the
 * signaling WebSocket (a bare protocol client in this process; the join's `sfu` access is its
 * LiveKit URL and token) and auto-subscribed to the host's screen share. Two kinds:
 *
 *  --client=browser (default): N livekit-client Rooms in ONE headless Chromium page whose
 *    RTCPeerConnections drop the encoded video frames (insertable streams) after counting them:
 *    nothing decoded, nothing rendered (bench/support/sfu-browser-subscribers.ts). fps = encoded
 *    frames handed to the receiver's transform per second (complete frames, after the jitter
 *    buffer's reassembly). Side effect: a receiver that decodes nothing asks for a keyframe every
 *    ~200 ms (libwebrtc; PLI cannot be negotiated away); LiveKit throttles what it forwards to
 *    the host, and the table shows the host's keyframe rate that results.
 *  --client=rtc-node: @livekit/rtc-node rooms in this process, no VideoStream; fps = inbound-rtp
 *    framesReceived. Its libwebrtc decodes every frame anyway (framesDecoded column), ≈2 ms a
 *    1080p frame: 100 of them do not fit on 2 cores, which is why it is not the default.
 *
 * Measured per step: LiveKit's CPU (/proc utime+stime of its process over the window), delivered
 * fps per subscriber, received bitrate, join time (signaling join → LiveKit connect → the host's
 * video track subscribed), failures, LiveKit's own participant count (RoomService), the host's
 * CPU, egress and keyframe rate.
 *
 * Options: --subscribers=100 --seconds=10 --steps=<cumulative counts, default: subscribers>
 *          --client=browser|rtc-node --size=1920x1080 --fps=30 --concurrency=10 (joins at once)
 *          --settle=<s before a window; default max(6, pli-throttle + 2)> --pli-throttle=<s, LiveKit's rtc.pli_throttle; default 15 with
 *          --client=browser, whose receivers ask for a keyframe every ~200 ms; 0 = LiveKit's defaults>
 */
import { loadavg } from 'node:os';
import { launchMeteredChromium, serveBenchPages, type MeteredBrowser } from './support/browsers';
import { BrowserSfuSubscribers } from './support/sfu-browser-subscribers';
import { BenchHostPage, outboundDelta } from './support/modes-host';
import { joinSubscribers, type LightSfuSubscriber } from './support/sfu-subscribers';
import { CpuMeter, percentile, printTable, treeCpuSeconds } from './support/stats';
import { startPlane } from '../test/support/livekit';
import { startBenchSfuRig } from './support/sfu-livekit';
import { tokenOf } from '../test/support/control-plane';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SUBSCRIBERS = Number(args.get('subscribers') ?? 100);
const SECONDS = Number(args.get('seconds') ?? 10);
const STEPS = (args.get('steps') ?? String(SUBSCRIBERS))
  .split(',')
  .filter(Boolean)
  .map(Number)
  .sort((a, b) => a - b);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1920x1080').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);
const CONCURRENCY = Number(args.get('concurrency') ?? 10);
const SETTLE_ARG = args.get('settle');
const CLIENT = (args.get('client') ?? 'browser') as 'browser' | 'rtc-node';
/** LiveKit's PLI throttle, s (0 = the launcher's default, 0.3 s): see bench/support/sfu-livekit.ts. */
const PLI_THROTTLE = Number(args.get('pli-throttle') ?? (CLIENT === 'browser' ? 15 : 0));
/** A new subscriber starts on a keyframe: with a long PLI throttle it may wait that long for one. */
const SETTLE = SETTLE_ARG !== undefined ? Number(SETTLE_ARG) : Math.max(6, PLI_THROTTLE + 2);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);
/** A close that cannot hang the bench (an rtc-node disconnect can, once LiveKit dropped the room). */
const bounded = (p: Promise<unknown>, ms = 10_000) => Promise.race([p.catch(() => undefined), sleep(ms)]);
const benchCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Reading {
  frames: number;
  bytes: number;
  width: number;
  height: number;
}

/** Either kind of subscriber, behind one face. */
interface Fleet {
  add(n: number): Promise<void>;
  joins(): Array<{ index: number; subscribedMs?: number | undefined; error?: string | undefined }>;
  read(): Promise<Reading[]>;
  /** Frames decoded so far, summed (0 = nothing decoded). */
  decoded(): Promise<number>;
  /** CPU seconds of the process(es) the subscribers run in. */
  cpuSeconds(): number;
  close(): Promise<void>;
}

async function browserFleet(planeUrl: string, sessionId: string, token: string): Promise<Fleet> {
  const browser: MeteredBrowser = await launchMeteredChromium();
  const pages = await serveBenchPages();
  const subs = await BrowserSfuSubscribers.open(browser.browser, `${pages.url}/page`);
  return {
    add: (n) => subs.add(n, planeUrl, sessionId, token, { concurrency: CONCURRENCY }),
    joins: () => subs.joins,
    async read() {
      const all = await subs.counts();
      const silent = all.filter((c) => c.frames === 0);
      if (silent.length) {
        const states = new Map<string, number>();
        for (const c of silent)
          states.set(
            `${c.state}/${c.streamState}/${c.counted ? 'counted' : 'not counted'}/${c.packets > 0 ? 'packets' : 'no packets'}`,
            (states.get(`${c.state}/${c.streamState}/${c.counted ? 'counted' : 'not counted'}/${c.packets > 0 ? 'packets' : 'no packets'}`) ?? 0) + 1,
          );
        process.stderr.write(`  ${silent.length} subscriber(s) with no frame counted: ${[...states].map(([k, n]) => `${k} ×${n}`).join(', ')}\n`);
      }
      return all.map((c) => ({ frames: c.frames, bytes: c.bytes, width: c.width, height: c.height }));
    },
    decoded: async () => (await subs.decoded()).framesDecoded,
    cpuSeconds: () => browser.cpuSeconds(),
    async close() {
      await subs.close();
      await browser.close();
      await pages.close();
    },
  };
}

function rtcNodeFleet(planeUrl: string, sessionId: string, token: string): Fleet {
  const subs: LightSfuSubscriber[] = [];
  let decoded = 0;
  return {
    async add(n) {
      subs.push(...(await joinSubscribers(planeUrl, sessionId, token, n, { concurrency: CONCURRENCY, firstIndex: subs.length })));
    },
    joins: () => subs.map((s) => ({ index: s.index, subscribedMs: s.times.subscribedMs, error: s.error })),
    async read() {
      const all = await Promise.all(subs.map((s) => s.stats()));
      decoded = all.reduce((sum, r) => sum + r.framesDecoded, 0);
      return all.map((r) => ({ frames: r.framesReceived, bytes: r.bytesReceived, width: r.width, height: r.height }));
    },
    decoded: async () => decoded,
    cpuSeconds: benchCpuSeconds,
    close: async () => void (await Promise.all(subs.map((s) => bounded(s.close(), 5000)))),
  };
}

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
  hostKeyFps: number;
  hostFps: number;
  subsCores: number;
  inRoom: number;
  load: string;
}

async function main(): Promise<void> {
  console.log(
    `bench:sfu — one host, generated ${WIDTH}×${HEIGHT} @ ${FPS} fps, SFU session (LiveKit v1.13.5 on loopback, one node), up to ${SUBSCRIBERS} ${CLIENT === 'browser' ? 'livekit-client subscribers in one Chromium page (frames dropped, not decoded)' : 'rtc-node subscribers in this Node process'}; ${SECONDS} s window per step; 2-core machine shared by all of it`,
  );
  const rig = await startBenchSfuRig(PLI_THROTTLE || undefined);
  const plane = await startPlane(rig, {}, { viewerLimit: Math.max(100, SUBSCRIBERS) });
  const hostBrowser = await launchMeteredChromium();
  let fleet: Fleet | undefined;
  const rows: Row[] = [];
  try {
    const session = await plane.service.createSession({ mode: 'sfu' });
    const token = tokenOf(session.links.viewer.url);
    const host = await BenchHostPage.open(hostBrowser.browser, plane.url, session.sessionId, session.hostToken, { width: WIDTH, height: HEIGHT, fps: FPS });
    await host.waitForSfuPublished();
    process.stderr.write('host publishing to LiveKit\n');
    fleet = CLIENT === 'rtc-node' ? rtcNodeFleet(plane.url, session.sessionId, token) : await browserFleet(plane.url, session.sessionId, token);
    const f = fleet;
    for (const step of STEPS) {
      const add = step - f.joins().length;
      if (add > 0) {
        process.stderr.write(`joining ${add} subscriber(s) (${CONCURRENCY} at a time)…\n`);
        const t = performance.now();
        await f.add(add);
        process.stderr.write(`  ${step} joined in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
      }
      await sleep(SETTLE * 1000);
      const lk = new CpuMeter(() => treeCpuSeconds(rig.livekit.pid));
      const hostCpu = new CpuMeter(() => hostBrowser.cpuSeconds());
      const subsCpu = new CpuMeter(() => f.cpuSeconds());
      const out0 = await host.outbound();
      const tb = performance.now();
      const before = await f.read();
      const decoded0 = await f.decoded();
      const t0 = performance.now();
      await sleep(SECONDS * 1000);
      const ta = performance.now();
      const after = await f.read();
      /** Between the two readings' starts: each reading copies the counters as it begins. */
      const readDt = (ta - tb) / 1000;
      const dt = (performance.now() - t0) / 1000;
      const decoded = (await f.decoded()) - decoded0;
      const out = outboundDelta(out0, await host.outbound());
      const [enc] = await host.page
        .evaluate(() => (window as unknown as { pairuxHost: { stats(): Promise<Array<{ fps: number }>> } }).pairuxHost.stats())
        .catch(() => [] as Array<{ fps: number }>);
      const liveKitCores = lk.cores();
      const hostCores = hostCpu.cores();
      const subsCores = subsCpu.cores();
      const joins = f.joins();
      const ok = joins.map((j, i) => ({ j, i })).filter(({ j }) => !j.error);
      const fps = ok.map(({ i }) => (after[i]!.frames - before[i]!.frames) / readDt);
      const mbps = ok.map(({ i }) => ((after[i]!.bytes - before[i]!.bytes) * 8) / readDt / 1e6);
      const sizes = new Map<string, number>();
      for (const { i } of ok) {
        const size = `${after[i]!.width}×${after[i]!.height}`;
        sizes.set(size, (sizes.get(size) ?? 0) + 1);
      }
      const joinMs = joins.map((j) => j.subscribedMs).filter((v): v is number => v !== undefined);
      const inRoom = (await rig.api.listParticipants(session.sessionId).catch(() => [])).length;
      const failed = joins.filter((j) => j.error);
      for (const x of failed.slice(0, 3)) process.stderr.write(`  subscriber ${x.index + 1} failed: ${x.error}\n`);
      const [l1, l5, l15] = loadavg();
      rows.push({
        subscribers: step,
        receiving: fps.filter((v) => v > 0).length,
        failed: failed.length,
        joinP50: percentile(joinMs, 50),
        joinP95: percentile(joinMs, 95),
        joinMax: Math.max(...joinMs),
        liveKitCores,
        liveKitPerSub: liveKitCores / Math.max(1, ok.length),
        fpsMean: mean(fps),
        fpsP5: percentile(fps, 5),
        fpsMin: Math.min(...fps),
        mbpsPerSub: mean(mbps),
        fanoutMbps: mbps.reduce((a, b) => a + b, 0),
        decoded,
        resolution: [...sizes].map(([size, n]) => `${size} ×${n}`).join(', '),
        hostCores,
        hostMbps: (out.bytesSent * 8) / dt / 1e6,
        hostKeyFps: out.keyFramesEncoded / dt,
        hostFps: enc?.fps ?? Number.NaN,
        subsCores,
        inRoom,
        load: `${l1!.toFixed(2)} / ${l5!.toFixed(2)} / ${l15!.toFixed(2)}`,
      });
      process.stderr.write(
        `  ${step}: LiveKit ${liveKitCores.toFixed(2)} cores, fps mean ${mean(fps).toFixed(1)}, host keyframes ${out.keyFramesEncoded} / PLI ${out.pliCount} in the window\n`,
      );
    }
    // Subscribers leave first, then the host; the session ends with it: let the control plane
    // delete its LiveKit room before LiveKit stops.
    await bounded(f.close());
    fleet = undefined;
    await host.close();
    await sleep(1500);
  } finally {
    await bounded(fleet?.close() ?? Promise.resolve(), 10_000);
    await hostBrowser.close();
    await plane.close();
    await rig.stop();
  }
  printTable(
    `SFU fan-out: one ${WIDTH}×${HEIGHT}@${FPS} host → N light subscribers (${CLIENT}) on one LiveKit node, ${SECONDS} s window, LiveKit PLI throttle ${PLI_THROTTLE ? `${PLI_THROTTLE} s` : "0.3 s (the launcher's default)"}`,
    [
      'subscribers',
      'receiving',
      'failed',
      'in LiveKit room',
      'join p50 ms',
      'join p95 ms',
      'join max ms',
      'LiveKit CPU (cores)',
      'LiveKit millicores per sub',
      'fps mean',
      'fps p5',
      'fps worst',
      'Mbit/s per sub',
      'fan-out Mbit/s',
      'frames decoded',
      'received (size×subs)',
      'host CPU (cores)',
      'host sends fps (top layer)',
      'host egress Mbit/s',
      'host keyframes/s',
      "subscribers' CPU",
      'load avg 1/5/15',
    ],
    rows.map((r) => [
      r.subscribers,
      r.receiving,
      r.failed,
      r.inRoom,
      r.joinP50,
      r.joinP95,
      r.joinMax,
      r.liveKitCores,
      r.liveKitPerSub * 1000,
      r.fpsMean,
      r.fpsP5,
      r.fpsMin,
      r.mbpsPerSub,
      r.fanoutMbps,
      r.decoded,
      r.resolution,
      r.hostCores,
      r.hostFps,
      r.hostMbps,
      r.hostKeyFps,
      r.subsCores,
      r.load,
    ]),
  );
  console.log(
    CLIENT === 'browser'
      ? "subscribers = livekit-client Rooms in one headless Chromium page, encoded frames counted and dropped (never decoded); fps = encoded frames delivered to each receiver per second; subscribers' CPU = that Chromium's process tree."
      : "subscribers = @livekit/rtc-node rooms in the bench process, no VideoStream (libwebrtc decodes anyway: frames decoded); fps = inbound-rtp framesReceived per second; subscribers' CPU = the bench process (subscribers, control plane, bench).",
  );
  if (CLIENT === 'browser')
    console.log(
      `These receivers never decode, so each asks for a keyframe every ~200 ms (libwebrtc; PLI is always on); LiveKit passes one on per layer per ${PLI_THROTTLE ? `${PLI_THROTTLE} s (--pli-throttle)` : "0.3 s (the launcher's default throttle)"}: host keyframes/s shows what the host paid for it.`,
    );
  console.log(
    `join = signaling WebSocket + session.join → LiveKit connect with the join's token → the host's video track subscribed, per subscriber, ${CONCURRENCY} joining at a time. in LiveKit room = RoomService listParticipants (subscribers + host).`,
  );
  console.log(
    "LiveKit CPU = its process over the window; host egress = the host page's outbound-rtp bytesSent summed over its simulcast layers; Mbit/s per sub = bytes received (payload) per subscriber.",
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
