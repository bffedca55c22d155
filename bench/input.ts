/**
 * `npm run bench:input`: how long a driver's event takes from the runner to the X server, on
 * loopback (target p95 ≤ 15 ms).
 *
 * How it is observed: `xev -root` (an ordinary X client, line-buffered through stdbuf) watches the
 * root window of an empty Xvfb. For every event the runner stamps the send time on the monotonic
 * clock and calls `helper.sendInput`; the latency is taken two ways:
 *   - X server: the timestamp the X server put on the resulting MotionNotify/KeyPress. Xorg's
 *     clock is CLOCK_MONOTONIC in ms, the same clock as process.hrtime, so the two subtract
 *     directly (1 ms resolution): runner → link → helper → robotjs/XTEST → X server.
 *   - X client: when xev's line about the event reached this process; adds X → client delivery,
 *     xev's formatting and a pipe: an upper bound.
 * Events go one at a time (the next after the previous was seen), ~40 per second, so this is
 * latency, not queueing. Measured with the helper idle and while it captures 1080p (every grab is
 * a synchronous ~5–10 ms XGetImage on the helper's event loop, which input has to wait behind).
 *
 * The last row is the whole path from a guest: a controller's browser page sends each move over
 * its WebRTC data channel → host page (grant check, allowlist) → bridge → runner → helper → X.
 * Its send time is the page's epoch clock, mapped onto the monotonic clock through this
 * process's own epoch/monotonic offset (same machine, ~1 ms).
 *
 * Options: --events=300 --size=1920x1080
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { startXvfb } from '../test/helper/support/xvfb';
import { launchChromium } from '../demo/chromium';
import { startHeadlessHost } from '../demo/headless-host';
import { HostBridgeServer } from '../runner/websocket-bridge';
import { HostRunner } from '../runner/host-runner';
import { startControlPlane } from '../server/control-plane';
import { TEST_PAGES } from '../test/support/test-pages';
import { ViewerPage } from '../test/support/browser-viewer';
import { benchHelper, sleep } from './support/helper-bench';
import { percentile, printTable } from './support/stats';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const EVENTS = Number(args.get('events') ?? 300);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1920x1080').split('x').map(Number) as [number, number];

const monoMs = () => Number(process.hrtime.bigint() / 1000n) / 1000;

interface Seen {
  kind: 'motion' | 'key';
  serverTime: number;
  x: number;
  y: number;
  keycode: number;
  arrivedAt: number;
}

const x = await startXvfb(WIDTH, HEIGHT);
const xev = spawn('stdbuf', ['-oL', 'xev', '-root', '-event', 'mouse', '-event', 'keyboard'], { env: x.env, stdio: ['ignore', 'pipe', 'ignore'] });
const seen: Seen[] = [];
let pending = '';
// Waiters are woken by xev's output. Polling (setImmediate) kept one of the 2 cores spinning in
// the very process that relays the input, which is what the bench measures.
let wake: (() => void) | undefined;
const nextOutput = (deadline: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, deadline - monoMs()));
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
xev.stdout.setEncoding('utf8').on('data', (d: string) => {
  const arrivedAt = monoMs();
  pending += d;
  for (;;) {
    const m = /(MotionNotify|KeyPress) event[\s\S]*?time (\d+), \((-?\d+),(-?\d+)\)[\s\S]*?(?:keycode (\d+)|is_hint)/.exec(pending);
    if (!m) break;
    seen.push({
      kind: m[1] === 'KeyPress' ? 'key' : 'motion',
      serverTime: Number(m[2]),
      x: Number(m[3]),
      y: Number(m[4]),
      keycode: Number(m[5] ?? 0),
      arrivedAt,
    });
    pending = pending.slice(m.index + m[0].length);
  }
  const w = wake;
  wake = undefined;
  w?.();
});
await sleep(500);

const b = await benchHelper(x);
const { helper } = b;
await helper.grant('bench');

/** X timestamps are 32-bit ms of CLOCK_MONOTONIC. */
const serverDelta = (serverTime: number, sentAt: number) => ((serverTime - Math.floor(sentAt)) >>> 0) - (sentAt - Math.floor(sentAt));

async function measure(label: string): Promise<Array<string | number>> {
  const moveServer: number[] = [];
  const moveClient: number[] = [];
  const keyServer: number[] = [];
  let lost = 0;
  let seq = 1;
  for (let i = 0; i < EVENTS; i++) {
    const key = i % 3 === 2;
    const from = seen.length;
    const sentAt = monoMs();
    let match: (s: Seen) => boolean;
    if (key) {
      helper.sendInput('bench', { t: 'keydown', seq: seq++, key: 'a', mods: [] });
      match = (s) => s.kind === 'key';
    } else {
      // A new spot every time, so each move makes exactly one MotionNotify we can recognise.
      const px = 100 + ((i * 37) % 1000);
      const py = 100 + ((i * 53) % 700);
      helper.sendInput('bench', { t: 'move', seq: seq++, x: px / WIDTH, y: py / HEIGHT });
      match = (s) => s.kind === 'motion' && s.x === px && s.y === py;
    }
    const deadline = sentAt + 1000;
    let hit: Seen | undefined;
    while (!hit && monoMs() < deadline) {
      hit = seen.slice(from).find(match);
      if (!hit) await nextOutput(deadline);
    }
    if (key) helper.sendInput('bench', { t: 'keyup', seq: seq++, key: 'a', mods: [] });
    if (!hit) {
      if (process.env.DEBUG_LOST) console.error('lost', i, key, seen.slice(from));
      lost++;
      continue;
    }
    if (key) keyServer.push(serverDelta(hit.serverTime, sentAt));
    else {
      moveServer.push(serverDelta(hit.serverTime, sentAt));
      moveClient.push(hit.arrivedAt - sentAt);
    }
    await sleep(25);
  }
  return [
    label,
    percentile(moveServer, 50),
    percentile(moveServer, 95),
    percentile(moveClient, 50),
    percentile(moveClient, 95),
    Math.max(...moveClient),
    percentile(keyServer, 50),
    percentile(keyServer, 95),
    lost,
  ];
}

/** The full path: guest page → data channel → host page → bridge → runner → helper → X. */
async function measureFromGuest(drawCursor: boolean): Promise<Array<string | number>> {
  // With the pointer drawn into frames every move changes the picture, so each event races a
  // fresh 1080p frame through runner, bridge, host page and encoder: the loaded case.
  const capture = await helper.startCapture({ fps: 30, idleFps: 1, drawCursor, patches: true });
  const runner = new HostRunner({
    helper,
    capture,
    prompt: { ask: async () => ({ allow: true, reason: 'allowed' }) },
    say: () => undefined,
    frames: 'bridge',
    controlRequests: true,
    // The bench's driver joins through a controller link: the host lets it in from the lobby.
    lobby: { admit: async () => ({ admit: true, reason: 'allowed' }) },
  });
  // The runner's hop: when each move reached it (from the host page over the bridge), by seq.
  const atRunner = new Map<number, number>();
  const relay = runner.input.bind(runner);
  runner.input = (controllerId, event) => {
    const seq = (event as { seq?: unknown }).seq;
    if (typeof seq === 'number') atRunner.set(seq, monoMs());
    relay(controllerId, event);
  };
  const bridge = new HostBridgeServer(runner);
  runner.attach(bridge);
  await bridge.listen();
  const plane = await startControlPlane({ host: '127.0.0.1', port: 0, ...TEST_PAGES });
  const browser = await launchChromium();
  try {
    const session = await plane.service.createSession({ mode: 'p2p' });
    await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { browser, bridge: bridge.url });
    const guest = await ViewerPage.open(browser, session.links.controller.url, 'Bench driver');
    await guest.waitForState('live');
    await guest.page.click('#control-request');
    await guest.page.waitForFunction(() => document.body.dataset.control === 'driving', null, { timeout: 15_000 });
    const moveServer: number[] = [];
    const moveClient: number[] = [];
    const toRunner: number[] = [];
    const runnerToX: number[] = [];
    let lost = 0;
    for (let i = 0; i < EVENTS; i++) {
      const px = 100 + ((i * 41) % 1000);
      const py = 100 + ((i * 59) % 700);
      const from = seen.length;
      const offset = performance.timeOrigin + performance.now() - monoMs();
      const sentEpoch = await guest.page.evaluate(
        ([seq, nx, ny]) => {
          const t = performance.timeOrigin + performance.now();
          (window as unknown as { pairuxViewer: { sendRawInput(e: unknown): boolean } }).pairuxViewer.sendRawInput({ t: 'move', seq, x: nx, y: ny });
          return t;
        },
        [100_000 + i, px / WIDTH, py / HEIGHT] as const,
      );
      const sentAt = sentEpoch - offset;
      let hit: Seen | undefined;
      const deadline = monoMs() + 1000;
      while (!hit && monoMs() < deadline) {
        hit = seen.slice(from).find((s) => s.kind === 'motion' && s.x === px && s.y === py);
        if (!hit) await nextOutput(deadline);
      }
      if (!hit) {
        lost++;
        continue;
      }
      moveServer.push(serverDelta(hit.serverTime, sentAt));
      moveClient.push(hit.arrivedAt - sentAt);
      const r = atRunner.get(100_000 + i);
      if (r !== undefined) {
        toRunner.push(r - sentAt);
        runnerToX.push(serverDelta(hit.serverTime, r));
      }
      await sleep(25);
    }
    const f = (v: number[]) => `p50 ${percentile(v, 50).toFixed(1)} p95 ${percentile(v, 95).toFixed(1)} ms`;
    process.stderr.write(
      `  ${drawCursor ? 'pointer drawn' : 'still screen'}: guest page → runner ${f(toRunner)}; runner → X server ${f(runnerToX)} (${toRunner.length} moves)\n`,
    );
    return [
      `guest page → X (full path; ${drawCursor ? 'pointer drawn: every move sends a frame' : 'still screen'})`,
      percentile(moveServer, 50),
      percentile(moveServer, 95),
      percentile(moveClient, 50),
      percentile(moveClient, 95),
      Math.max(...moveClient),
      NaN,
      NaN,
      lost,
    ];
  } finally {
    await browser.close();
    await plane.close();
    await bridge.close();
    await helper.stopCapture().catch(() => undefined);
  }
}

const rows: Array<Array<string | number>> = [];
try {
  rows.push(await measure('helper idle'));
  for (const fps of [30, 60]) {
    // A still screen: every tick grabs (to see whether anything changed) but little is sent.
    await helper.startCapture({ fps, idleFps: 1 });
    await sleep(500);
    rows.push(await measure(`capturing ${WIDTH}×${HEIGHT} at ${fps} fps`));
    await helper.stopCapture();
  }
  rows.push(await measureFromGuest(false));
  rows.push(await measureFromGuest(true));
} finally {
  xev.kill('SIGKILL');
  await helper.stop();
  await x.stop();
}

printTable(
  `Input latency, runner sendInput → X, and guest page → X (${EVENTS} events per row: ⅔ moves, ⅓ key presses; ms; load average ${loadavg()[0]!.toFixed(1)})`,
  ['helper', 'move→X server p50', 'p95', 'move→X client p50', 'p95', 'max', 'key→X server p50', 'p95', 'lost'],
  rows,
);
console.log(
  "X server: the X event timestamp (CLOCK_MONOTONIC ms, 1 ms resolution) minus the send time. X client: when xev's report of it reached the runner. Target: p95 ≤ 15 ms.",
);
