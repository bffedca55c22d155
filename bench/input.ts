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
 * Options: --events=300 --size=1920x1080
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { startXvfb } from '../test/helper/support/xvfb';
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
xev.stdout.setEncoding('utf8').on('data', (d: string) => {
  const arrivedAt = monoMs();
  pending += d;
  for (;;) {
    const m = /(MotionNotify|KeyPress) event[\s\S]*?time (\d+), \((-?\d+),(-?\d+)\)[\s\S]*?(?:keycode (\d+)|is_hint)/.exec(pending);
    if (!m) break;
    seen.push({ kind: m[1] === 'KeyPress' ? 'key' : 'motion', serverTime: Number(m[2]), x: Number(m[3]), y: Number(m[4]), keycode: Number(m[5] ?? 0), arrivedAt });
    pending = pending.slice(m.index + m[0].length);
  }
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
      if (!hit) await new Promise((r) => setImmediate(r));
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
} finally {
  xev.kill('SIGKILL');
  await helper.stop();
  await x.stop();
}

printTable(
  `Input latency, runner sendInput → X (${EVENTS} events per row: ⅔ moves, ⅓ key presses; ms; load average ${loadavg()[0]!.toFixed(1)})`,
  ['helper', 'move→X server p50', 'p95', 'move→X client p50', 'p95', 'max', 'key→X server p50', 'p95', 'lost'],
  rows,
);
console.log('X server: the X event timestamp (CLOCK_MONOTONIC ms, 1 ms resolution) minus the send time. X client: when xev\'s report of it reached the runner. Target: p95 ≤ 15 ms.');
