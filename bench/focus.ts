/**
 * `npm run bench:focus`: what the session focus's moves cost the people watching.
 *
 * Upgrade freeze: an `auto` session with the host page in Chromium sharing its generated marker
 * screen peer-to-peer to browser guests, plus signaling-only participants, until the 10th
 * participant makes the focus move the media to the real LiveKit. Every browser guest records
 * each frame it shows (the page's video, or the move's stage while it covers it) through the
 * move; the freeze is the longest time between two on-screen frames that showed a new picture,
 * against the same measure over the seconds before the move (the stream's own jitter). Target:
 * ≤ 500 ms.
 *
 * Failover: an `sfu` session on a pool of two real LiveKit servers (health checks every
 * --check=250 ms, down after 2 misses); the one holding the session is SIGKILLed, and each browser
 * guest's first on-screen frame that was captured after the kill is "pixels again". Also when the
 * focus announced the move (detection). The killed server is started again for the next round.
 * Target: ≤ 2 s.
 *
 * Options: --part=upgrade,failover --rounds=3 --viewers=3 --size=1280x720 --fps=30 --at=10 --check=250
 */
import { loadavg } from 'node:os';
import { launchChromium } from '../demo/chromium';
import { startHeadlessHost } from '../demo/headless-host';
import { SessionTopology } from '../protocol/signaling';
import { ViewerPage, longestFreeze } from '../test/support/browser-viewer';
import { createSession, tokenOf } from '../test/support/control-plane';
import { startPlane, startSfuRig } from '../test/support/livekit';
import { startTestServer } from '../test/support/control-plane';
import { startLocalLiveKit, type LocalLiveKit } from '../demo/livekit-server';
import { RoomServiceClient } from 'livekit-server-sdk';
import { expandCaptureTime } from '../webview/engine/frames/frame-marker';
import { TestClient } from '../test/support/signaling-client';
import { percentile, printTable } from './support/stats';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ROUNDS = Number(args.get('rounds') ?? 3);
const VIEWERS = Number(args.get('viewers') ?? 3);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1280x720').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);
const AT = Number(args.get('at') ?? 10);
const PARTS = new Set((args.get('part') ?? 'upgrade,failover').split(','));
const CHECK_MS = Number(args.get('check') ?? 250);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(0) : '–');

interface UpgradeSample {
  round: number;
  viewer: number;
  baselineMs: number;
  freezeMs: number;
  /** From the move's announcement to the stage's removal (the guest fully on the SFU). */
  moveMs: number;
  framesOnScreen: number;
}

async function upgradeRound(
  round: number,
  browser: Awaited<ReturnType<typeof launchChromium>>,
  plane: Awaited<ReturnType<typeof startPlane>>,
): Promise<UpgradeSample[]> {
  const session = await createSession(plane, { name: `bench ${round}` });
  const host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { width: WIDTH, height: HEIGHT, fps: FPS, browser, name: 'Host' });
  const viewers: ViewerPage[] = [];
  const extras: TestClient[] = [];
  try {
    for (let i = 0; i < VIEWERS; i++) viewers.push(await ViewerPage.open(browser, session.links.viewer.url, `Viewer ${i}`));
    for (const v of viewers) await v.waitForState('live', 60_000);
    // Everyone but the last participant, as signaling-only guests.
    while (1 + viewers.length + extras.length < AT - 1) {
      const c = await TestClient.connect(plane.url);
      extras.push(c);
      await c.join(session.sessionId, tokenOf(session.links.viewer.url), `Extra ${extras.length}`);
    }
    await sleep(3000); // bandwidth estimation settles at every viewer
    const watching = viewers.map((v) => v.collectVisible(12_000));
    await sleep(3000);
    const last = await TestClient.connect(plane.url);
    extras.push(last);
    await last.join(session.sessionId, tokenOf(session.links.viewer.url), 'The last one');
    await last.waitFor(SessionTopology, (t) => t.phase === 'moving', 10_000);
    const announcedAt = Date.now();
    const seen = await Promise.all(watching);
    return seen.map(({ frames, summary }, viewer) => {
      const removed = summary.stageRemovedAt ?? Number.NaN;
      // The stream's own worst gap before the move began (the stage's first frame, or the announcement).
      const stageFirst = frames.find((f) => f.video === 'stage')?.presentedAt ?? announcedAt;
      const before = frames.filter((f) => f.presentedAt < Math.min(stageFirst, announcedAt) - 200);
      return {
        round,
        viewer,
        baselineMs: longestFreeze(before).ms,
        freezeMs: longestFreeze(frames).ms,
        moveMs: removed - announcedAt,
        framesOnScreen: frames.length,
      };
    });
  } finally {
    for (const c of extras) c.close();
    for (const v of viewers) await v.close();
    await host.close();
  }
}

interface FailoverSample {
  round: number;
  viewer: number;
  /** SIGKILL → the focus's `session.topology` (failover) at a guest. */
  announcedMs: number;
  /** SIGKILL → the first on-screen frame captured after the kill. */
  pixelsMs: number;
}

async function failoverRounds(browser: Awaited<ReturnType<typeof launchChromium>>): Promise<FailoverSample[]> {
  const nodes: LocalLiveKit[] = [await startLocalLiveKit({ logLevel: 'warn' }), await startLocalLiveKit({ logLevel: 'warn' })];
  const plane = await startTestServer({
    sfuPools: {
      deployments: nodes.map((lk, i) => ({ id: `n${i + 1}`, region: 'default', url: lk.url, apiKey: lk.apiKey, apiSecret: lk.apiSecret })),
      checkIntervalMs: CHECK_MS,
      failuresToDown: 2,
    },
  });
  const samples: FailoverSample[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const session = await createSession(plane, { mode: 'sfu', name: `failover ${round}` });
      const host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { width: WIDTH, height: HEIGHT, fps: FPS, browser, name: 'Host' });
      const viewers: ViewerPage[] = [];
      const watcher = await TestClient.connect(plane.url);
      try {
        await watcher.join(session.sessionId, tokenOf(session.links.viewer.url), 'Watcher');
        for (let i = 0; i < VIEWERS; i++) viewers.push(await ViewerPage.open(browser, session.links.viewer.url, `Viewer ${i}`));
        for (const v of viewers) await v.waitForState('live', 60_000);
        await sleep(3000);
        const rooms = await Promise.all(nodes.map((lk) => new RoomServiceClient(lk.url.replace(/^ws/, 'http'), lk.apiKey, lk.apiSecret).listRooms()));
        const victim = rooms.findIndex((list) => list.some((r) => r.name === session.sessionId));
        if (victim < 0) throw new Error('no LiveKit holds the session');
        const watching = viewers.map((v) => v.collectVisible(12_000));
        await sleep(2000);
        const killedAt = Date.now();
        const old = nodes[victim]!;
        process.kill(old.pid, 'SIGKILL');
        await watcher.waitFor(SessionTopology, (t) => t.reason === 'failover' && t.phase === 'moving', 15_000);
        const announcedMs = Date.now() - killedAt;
        const seen = await Promise.all(watching);
        for (const [viewer, { frames }] of seen.entries()) {
          const fresh = frames.find((f) => expandCaptureTime(f.captureTimeLow32, f.presentedAt) > killedAt);
          samples.push({ round, viewer, announcedMs, pixelsMs: fresh ? fresh.presentedAt - killedAt : Number.POSITIVE_INFINITY });
        }
        console.log(
          `  failover round ${round}: announced after ${announcedMs} ms, pixels again ${samples
            .slice(-VIEWERS)
            .map((s) => fmt(s.pixelsMs))
            .join(' / ')} ms; load ${load()}`,
        );
        // The killed server comes back where it was, for the next round to kill either one.
        await old.exited;
        nodes[victim] = await startLocalLiveKit({ logLevel: 'warn', keys: { apiKey: old.apiKey, apiSecret: old.apiSecret }, ports: old.ports });
        await sleep(2000);
      } finally {
        watcher.close();
        for (const v of viewers) await v.close();
        await host.close();
      }
    }
  } finally {
    await plane.close();
    for (const lk of nodes) await lk.stop();
  }
  return samples;
}

async function main(): Promise<void> {
  if (PARTS.has('upgrade')) await upgrade();
  if (PARTS.has('failover')) await failover();
}

async function upgrade(): Promise<void> {
  console.log(
    `bench:focus — upgrade freeze at the ${AT}th participant; ${VIEWERS} browser viewers, ${WIDTH}×${HEIGHT}@${FPS}, ${ROUNDS} rounds; load ${load()}`,
  );
  const rig = await startSfuRig({ webhooks: false });
  const plane = await startPlane(rig, { focus: { autoSfuAt: AT } });
  const browser = await launchChromium();
  const samples: UpgradeSample[] = [];
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      const got = await upgradeRound(r, browser, plane);
      samples.push(...got);
      console.log(`  round ${r}: freeze ${got.map((s) => fmt(s.freezeMs)).join(' / ')} ms; load ${load()}`);
    }
  } finally {
    await browser.close();
    await plane.close();
    await rig.livekit.stop();
  }
  printTable(
    'Upgrade P2P → SFU: on-screen frames at each viewer (ms)',
    ['round', 'viewer', 'longest gap before', 'longest gap through the move', 'announced → on the SFU', 'frames on screen'],
    samples.map((s) => [s.round, s.viewer, fmt(s.baselineMs), fmt(s.freezeMs), fmt(s.moveMs), s.framesOnScreen]),
  );
  const freezes = samples.map((s) => s.freezeMs);
  const baselines = samples.map((s) => s.baselineMs);
  const moves = samples.map((s) => s.moveMs).filter(Number.isFinite);
  printTable(
    'Summary (target: freeze ≤ 500 ms)',
    ['measure', 'p50', 'p95', 'max'],
    [
      ['longest gap through the move', fmt(percentile(freezes, 50)), fmt(percentile(freezes, 95)), fmt(Math.max(...freezes))],
      ['longest gap before the move', fmt(percentile(baselines, 50)), fmt(percentile(baselines, 95)), fmt(Math.max(...baselines))],
      ['announced → on the SFU', fmt(percentile(moves, 50)), fmt(percentile(moves, 95)), fmt(Math.max(...moves))],
    ],
  );
  console.log(`load at the end ${load()}`);
}

async function failover(): Promise<void> {
  console.log(
    `bench:focus — failover: SIGKILL of the session's LiveKit, health checks every ${CHECK_MS} ms; ${VIEWERS} browser viewers, ${WIDTH}×${HEIGHT}@${FPS}, ${ROUNDS} rounds; load ${load()}`,
  );
  const browser = await launchChromium();
  let samples: FailoverSample[];
  try {
    samples = await failoverRounds(browser);
  } finally {
    await browser.close();
  }
  printTable(
    "Failover: SIGKILL of the session's LiveKit → (ms)",
    ['round', 'viewer', 'move announced', 'pixels again'],
    samples.map((s) => [s.round, s.viewer, fmt(s.announcedMs), fmt(s.pixelsMs)]),
  );
  const pixels = samples.map((s) => s.pixelsMs);
  const announced = samples.map((s) => s.announcedMs);
  printTable(
    'Summary (target: pixels again ≤ 2000 ms)',
    ['measure', 'p50', 'p95', 'max'],
    [
      ['move announced', fmt(percentile(announced, 50)), fmt(percentile(announced, 95)), fmt(Math.max(...announced))],
      ['pixels again', fmt(percentile(pixels, 50)), fmt(percentile(pixels, 95)), fmt(Math.max(...pixels))],
    ],
  );
  console.log(`load at the end ${load()}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
