/**
 * Capture backends side by side on a 1080p Xvfb, for choosing one (issue 13): robotjs sampling,
 * X11 damage with MIT-SHM, and X11 damage with the core GetImage (an Xvfb without MIT-SHM).
 * Per scenario: frames/s received, painted → grabbed (the frame's captureTime) and painted →
 * received by this process (through the link), p50/p95 ms, and the CPU of the helper and of the
 * X server. The painter is this process (x11 package): "painted" is when its request was sent.
 *
 *   node --import tsx bench/support/capture-backends.ts [--seconds=5] [--backends=robotjs,x11,x11-core] [--scenarios=still,typing,…] [--cursor=0]
 *
 * The official rows live in bench/capture.ts and bench/latency.ts (the `backend` param).
 */
import { loadavg } from 'node:os';
import type { HelperFrame } from '../../helper/client';
import { helperOn } from '../../test/helper/support/helper';
import { openPainter, type Painter } from '../../test/helper/support/x11-painter';
import { startXvfb, type Xvfb } from '../../test/helper/support/xvfb';
import { CpuMeter, cpuSeconds, percentile, printTable } from './stats';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SECONDS = Number(args.get('seconds') ?? 5);
const BACKENDS = (args.get('backends') ?? 'robotjs,x11,x11-core').split(',');
const W = 1920;
const H = 1080;

interface Scenario {
  name: string;
  fps: number;
  /** Paints every `everyMs`; returns the point whose colour tells which paint a frame shows. */
  area: { x: number; y: number; w: number; h: number };
  everyMs: number;
  paint(p: Painter, n: number, color: number): { x: number; y: number } | undefined;
}

const allScenarios: Scenario[] = [
  { name: 'still screen', fps: 30, area: { x: 10, y: 10, w: 4, h: 4 }, everyMs: 0, paint: () => undefined },
  {
    name: 'small change 1/s',
    fps: 30,
    area: { x: 700, y: 400, w: 180, h: 110 },
    everyMs: 1000,
    paint: (p, _n, c) => (p.paint(c), { x: 790, y: 455 }),
  },
  {
    name: 'typing (3 small rects 10/s)',
    fps: 30,
    area: { x: 200, y: 600, w: 800, h: 16 },
    everyMs: 100,
    paint: (p, n, c) => {
      const at = (n * 24) % 780;
      for (let k = 0; k < 3; k++) p.paint(c, { x: (at + k * 8) % 790, y: 0, w: 8, h: 16 });
      return { x: 200 + ((at + 16) % 790) + 4, y: 608 };
    },
  },
  { name: 'full screen 30 Hz', fps: 30, area: { x: 0, y: 0, w: W, h: H }, everyMs: 1000 / 30, paint: (p, _n, c) => (p.paint(c), { x: 900, y: 500 }) },
  { name: 'full screen 60 Hz', fps: 60, area: { x: 0, y: 0, w: W, h: H }, everyMs: 1000 / 60, paint: (p, _n, c) => (p.paint(c), { x: 900, y: 500 }) },
];

const only = args.get('scenarios');
const scenarios = only ? allScenarios.filter((s) => only.split(',').some((o) => s.name.includes(o))) : allScenarios;

function rgbAt(f: HelperFrame, x: number, y: number): number | undefined {
  let base = 0;
  for (const r of f.rects ?? [{ x: 0, y: 0, w: f.header.width, h: f.header.height }]) {
    if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h) {
      const at = base + ((y - r.y) * r.w + (x - r.x)) * 4;
      return (f.pixels[at + 2]! << 16) | (f.pixels[at + 1]! << 8) | f.pixels[at]!;
    }
    base += r.w * r.h * 4;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

async function run(backend: string, x: Xvfb): Promise<Array<Array<string | number>>> {
  const helper = helperOn(x, { standby: false, env: { ...x.env, PAIRUX_CAPTURE: backend === 'robotjs' ? 'robotjs' : 'x11' } });
  await helper.start();
  const rows: Array<Array<string | number>> = [];
  for (const s of scenarios) {
    const painter = await openPainter(x.display, s.area, 0x203040);
    const pending = new Map<number, number>();
    let probe: { x: number; y: number } | undefined;
    const grabbed: number[] = [];
    const received: number[] = [];
    let frames = 0;
    const onFrame = (f: HelperFrame) => {
      frames++;
      if (!probe) return;
      const c = rgbAt(f, probe.x, probe.y);
      const at = c === undefined ? undefined : pending.get(c);
      if (at === undefined) return;
      pending.delete(c!);
      grabbed.push(f.header.captureTime - at);
      received.push(now() - at);
    };
    helper.on('frame', onFrame);
    await helper.startCapture({ fps: s.fps, idleFps: 0, patches: true, drawCursor: args.get('cursor') !== '0' });
    await sleep(1000);
    frames = 0;
    const helperCpu = new CpuMeter(() => cpuSeconds(helper.info!.pid));
    const xCpu = new CpuMeter(() => cpuSeconds(x.pid));
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      if (!s.everyMs) {
        await sleep(200);
        continue;
      }
      const color = 0x100000 + ((n * 7919) % 0xefffff);
      pending.set(color, now());
      probe = s.paint(painter, n++, color);
      const next = t0 + n * s.everyMs;
      await sleep(Math.max(0, next - performance.now()));
    }
    const fps = frames / ((performance.now() - t0) / 1000);
    const cores = [helperCpu.cores(), xCpu.cores()];
    await sleep(300);
    helper.off('frame', onFrame);
    await helper.stopCapture();
    await painter.close();
    const shown = `${received.length}/${n}`;
    rows.push([
      backend,
      s.name,
      s.fps,
      fps,
      percentile(grabbed, 50),
      percentile(grabbed, 95),
      percentile(received, 50),
      percentile(received, 95),
      shown,
      cores[0]!,
      cores[1]!,
      loadavg()[0]!.toFixed(2),
    ]);
  }
  if (process.env.BENCH_VERBOSE) console.log(helper.logLines.filter((l) => l.includes('capture stopped')).join('\n'));
  await helper.stop();
  return rows;
}

const rows: Array<Array<string | number>> = [];
for (const backend of BACKENDS) {
  const x = await startXvfb(W, H, backend === 'x11-core' ? ['-extension', 'MIT-SHM'] : []);
  try {
    rows.push(...(await run(backend, x)));
  } finally {
    await x.stop();
  }
}
printTable(
  `capture backends, ${W}x${H}, ${SECONDS} s per row, idleFps 0, patches, pointer drawn`,
  [
    'backend',
    'scenario',
    'fps',
    'frames/s',
    'painted→grabbed p50',
    'p95',
    'painted→received p50',
    'p95',
    'changes seen',
    'helper cores',
    'Xvfb cores',
    'load1',
  ],
  rows,
);
