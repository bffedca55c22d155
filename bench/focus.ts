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
 * Options: --rounds=3 --viewers=3 --size=1280x720 --fps=30 --at=10
 */
import { loadavg } from 'node:os';
import { launchChromium } from '../demo/chromium';
import { startHeadlessHost } from '../demo/headless-host';
import { SessionTopology } from '../protocol/signaling';
import { ViewerPage, longestFreeze } from '../test/support/browser-viewer';
import { createSession, tokenOf } from '../test/support/control-plane';
import { startPlane, startSfuRig } from '../test/support/livekit';
import { TestClient } from '../test/support/signaling-client';
import { percentile, printTable } from './support/stats';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ROUNDS = Number(args.get('rounds') ?? 3);
const VIEWERS = Number(args.get('viewers') ?? 3);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1280x720').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);
const AT = Number(args.get('at') ?? 10);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg().map((l) => l.toFixed(1)).join(' / ');
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

async function upgradeRound(round: number, browser: Awaited<ReturnType<typeof launchChromium>>, plane: Awaited<ReturnType<typeof startPlane>>): Promise<UpgradeSample[]> {
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

async function main(): Promise<void> {
  console.log(`bench:focus — upgrade freeze at the ${AT}th participant; ${VIEWERS} browser viewers, ${WIDTH}×${HEIGHT}@${FPS}, ${ROUNDS} rounds; load ${load()}`);
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

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
