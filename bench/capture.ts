/**
 * `npm run bench:capture`: what the helper's screen capture achieves and costs, on Xvfb.
 *
 * 1. Capture at 1080p and 1440p, a still screen and one that changes ~100×/s, at 30 and 60 fps
 *    requested: frames/s that reach the runner, the helper's CPU (from /proc) and its own figures
 *    (mean grab time, frames skipped as unchanged, frames dropped for backpressure).
 * 2. The cost of getting frames out: the stdout link to the runner (decoded by HelperLink, as the
 *    demo and extension will) against the helper's loopback WebSocket read by a Node `ws` client,
 *    on the changing screen: frames/s, MB/s, CPU of the helper and of the receiving process.
 *
 * Options: --seconds=5 --sizes=1920x1080,2560x1440 --fps=30,60
 */
import { cpus, loadavg } from 'node:os';
import WebSocket from 'ws';
import { startXvfb, type Xvfb } from '../test/helper/support/xvfb';
import { benchHelper, changingScreen, sleep, type BenchHelper } from './support/helper-bench';
import { CpuMeter, cpuSeconds, printTable } from './support/stats';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SECONDS = Number(args.get('seconds') ?? 5);
const SIZES = (args.get('sizes') ?? '1920x1080,2560x1440').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const RATES = (args.get('fps') ?? '30,60').split(',').map(Number);

interface Measured {
  fps: number;
  mbps: number;
  helperCores: number;
  runnerCores: number;
  xCores: number;
  grabMs: number;
  unchanged: number;
  dropped: number;
}

const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Runs one capture for SECONDS (after a second of warm-up) and measures it at the receiving end. */
async function run(x: Xvfb, b: BenchHelper, fps: number, deliver: 'link' | 'websocket'): Promise<Measured> {
  const { helper } = b;
  let frames = 0;
  let bytes = 0;
  let counting = false;
  const count = (n: number) => {
    if (!counting) return;
    frames++;
    bytes += n;
  };
  const onFrame = (f: { frame: Buffer }) => count(f.frame.length);
  let ws: WebSocket | undefined;
  helper.on('frame', onFrame);
  try {
    const r = await helper.startCapture({ fps, deliver, idleFps: 1 });
    if (deliver === 'websocket') {
      ws = new WebSocket(r.websocketUrl!);
      ws.on('message', (d: Buffer) => count(d.length));
      await new Promise((resolve, reject) => ws!.once('open', resolve).once('error', reject));
    }
    await sleep(1000);
    const pid = helper.pid!;
    const helperCpu = new CpuMeter(() => cpuSeconds(pid));
    const runnerCpu = new CpuMeter(selfCpu);
    const xCpu = new CpuMeter(() => cpuSeconds(x.pid));
    const t0 = performance.now();
    counting = true;
    await sleep(SECONDS * 1000);
    counting = false;
    const secs = (performance.now() - t0) / 1000;
    const m = { helperCores: helperCpu.cores(), runnerCores: runnerCpu.cores(), xCores: xCpu.cores() };
    await helper.stopCapture();
    await sleep(100);
    const stats = b.lastStats();
    return {
      fps: frames / secs,
      mbps: bytes / secs / 1e6,
      ...m,
      grabMs: stats?.grabMs ?? Number.NaN,
      unchanged: stats?.unchanged ?? Number.NaN,
      // Ticks that found the previous frame still being written (no grab), and frames dropped after one.
      dropped: (stats?.busy ?? 0) + (stats?.dropped ?? 0) + (stats?.link.dropped ?? 0),
    };
  } finally {
    helper.off('frame', onFrame);
    ws?.close();
  }
}

const loadBefore = loadavg()[0]!;
const captureRows: Array<Array<string | number>> = [];
const deliveryRows: Array<Array<string | number>> = [];

for (const [w, h] of SIZES) {
  let x: Xvfb | undefined;
  let b: BenchHelper | undefined;
  try {
    x = await startXvfb(w, h);
    x.run('xsetroot', '-solid', '#22384f');
    b = await benchHelper(x);
    for (const changing of [false, true]) {
      const changer = changing ? changingScreen(x) : undefined;
      try {
        for (const fps of RATES) {
          const m = await run(x, b, fps, 'link');
          captureRows.push([`${w}×${h}`, changing ? 'changing' : 'still', fps, m.fps, m.helperCores * 100, m.xCores * 100, m.grabMs, m.unchanged, m.dropped]);
          if (changing) {
            const ws = await run(x, b, fps, 'websocket');
            for (const [via, r] of [
              ['stdout link → runner', m],
              ['helper WebSocket → ws client', ws],
            ] as const) {
              deliveryRows.push([`${w}×${h}`, fps, via, r.fps, r.mbps, r.helperCores * 100, r.runnerCores * 100, r.dropped]);
            }
          }
        }
      } finally {
        changer?.stop();
      }
    }
  } finally {
    await b?.helper.stop();
    await x?.stop();
  }
}

printTable(
  `Capture (robotjs on Xvfb, ${SECONDS} s per row; still = idleFps 1; changing = root colour changed ~100×/s)`,
  ['screen', 'content', 'fps asked', 'fps received', 'helper CPU %', 'X server CPU %', 'grab ms', 'skipped unchanged', 'skipped busy'],
  captureRows,
);
printTable(
  "Getting frames out of the helper (changing screen): stdout link vs the helper's own loopback WebSocket",
  ['screen', 'fps asked', 'path', 'fps received', 'MB/s', 'helper CPU %', 'receiver CPU %', 'skipped busy'],
  deliveryRows,
);
console.log('CPU % is of one core (100 = one core busy). The receiver is this bench process: HelperLink decoding stdout, or a `ws` client.');
console.log(
  `Load average (1 min) ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after, on ${cpus().length} cores: other work on the machine moves these figures.`,
);
console.log("X server CPU includes repainting the changing screen and serving robotjs's XGetImage (8 MB per 1080p grab, no MIT-SHM).");
