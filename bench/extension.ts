/**
 * `npm run bench:extension`: PairUX inside a real VS Code workbench (code-server + headless
 * Chromium, as test/vscode/support runs it) against the browser host (`npm run demo`'s runner +
 * headless Chromium host page). Measurements printed as markdown tables, never asserted.
 *
 *   npm run bench:extension -- --runs=3 --seconds=10 --size=1920x1080 --fps=30 --warmup=5 --rounds=2
 *
 *   --runs=N        workbench loads for the activation table (fresh code-server each), default 3
 *   --seconds=S     CPU window per case, default 10
 *   --warmup=S      after the viewer shows frames, before the window opens, default 5
 *   --size=WxH      the Xvfb screen both cases share, default 1920x1080
 *   --fps=N         capture (pairux.capture.fps / demo --fps) and painter rate, default 30
 *   --rounds=N      frame-path rounds, VS Code and browser alternating; tables show medians, default 2
 *   --cases=…       activation,vscode,browser (default all three)
 *
 * 1. Activation: per load, the extension's own "PairUX 0.1.0 activated in X ms" (inside activate),
 *    remoteexthost.log "_doActivateExtension pairux.pairux" → that line (bundle load + activate),
 *    page.goto → that line, and Developer: Show Running Extensions' "Activation: N ms"
 *    (VS Code's codeLoadingTime + activateCallTime). Extension-host RSS 3 s after activation.
 * 2. Memory: VmRSS of the extension host (idle, session with 0 viewers, with 1 viewer) and of the
 *    helper it spawned; the demo's runner and helper beside them.
 * 3. Frame path: Xvfb with a headed Chromium painting bench/pages/painter.ts (a 120-row marker
 *    band repainted at --fps over static code text); the session started through the palette
 *    (F1 → PairUX: Start Pairing Session → P2P) in VS Code, or the demo's parts (control plane,
 *    demo/real-screen.ts runner + helper, demo/headless-host.ts page) in a child process; ONE
 *    browser viewer (its own Chromium, not counted) on the viewer link; CPU from
 *    /proc/<pid>/stat utime+stime over --seconds; the host page's counters (window.pairuxHost)
 *    and the viewer's (window.pairuxViewer.stats()) over the same window.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { launchMeteredChromium, type MeteredBrowser } from './support/browsers';
import { pickItem, readClipboard, runCommand, statusBarText, webviewFrame, writeClipboard } from '../test/vscode/support/ui';
import { chromiumKind, GroupMeter, loadAverage, machineBusySeconds, median, rssMiB, sumRssMiB, tree, type Proc } from './support/extension-procs';
import { startPaintedScreen, type PaintedScreen } from './support/extension-screen';
import { openWorkbench, readActivation, runningExtensionsActivationMs, ROOT, type Activation, type Workbench } from './support/extension-workbench';
import { cpuSeconds, printTable } from './support/stats';
import { HOST_COUNTERS_EXPRESSION, type HostPageCounters } from './support/extension-host-stats';
import { TEST_PAGES_ENV } from '../test/support/test-pages';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    size: { type: 'string', default: '1920x1080' },
    fps: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '2' },
    cases: { type: 'string', default: 'activation,vscode,browser' },
  },
  strict: true,
});
const RUNS = Math.max(1, Number(args.runs));
const SECONDS = Math.max(1, Number(args.seconds));
const WARMUP = Math.max(0, Number(args.warmup));
const FPS = Number(args.fps);
const [WIDTH, HEIGHT] = (/^(\d+)x(\d+)$/.exec(args.size!) ?? [0, '1920', '1080']).slice(1).map(Number) as [number, number];
const ROUNDS = Math.max(1, Number(args.rounds));
const CASES = new Set(args.cases!.split(','));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => process.stderr.write(`  [bench] ${line}\n`);
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (${last.message.split('\n')[0]})` : ''}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Viewer: one browser viewer in its own Chromium (not counted in either case's CPU).

interface ViewerStats {
  framesDecoded: number;
  framesDropped: number;
  frameWidth: number;
  frameHeight: number;
  bytesReceived: number;
  codec: string;
}
interface Viewer {
  metered: MeteredBrowser;
  page: Page;
  stats(): Promise<ViewerStats>;
  close(): Promise<void>;
}

async function openViewer(link: string): Promise<Viewer> {
  const metered = await launchMeteredChromium();
  const page = await (await metered.browser.newContext({ viewport: { width: 1600, height: 1000 } })).newPage();
  const stats = () => page.evaluate(() => (window as unknown as { pairuxViewer: { stats(): Promise<ViewerStats> } }).pairuxViewer.stats());
  try {
    await page.goto(link);
    await until('the viewer to decode frames', 30_000, async () => ((await stats()).framesDecoded > 0 ? true : undefined));
  } catch (err) {
    const body = await page.evaluate(() => document.body?.innerText.slice(0, 300)).catch(() => '');
    await metered.close().catch(() => undefined);
    throw new Error(`${(err as Error).message}; viewer page: ${JSON.stringify(body)}`, { cause: err });
  }
  return { metered, page, stats, close: () => metered.close().catch(() => undefined) };
}

interface Received {
  fps: number;
  kbps: number;
  dropped: number;
  resolution: string;
  codec: string;
}
function received(a: ViewerStats, b: ViewerStats, seconds: number): Received {
  return {
    fps: (b.framesDecoded - a.framesDecoded) / seconds,
    kbps: ((b.bytesReceived - a.bytesReceived) * 8) / 1000 / seconds,
    dropped: b.framesDropped - a.framesDropped,
    resolution: `${b.frameWidth}×${b.frameHeight}`,
    codec: b.codec,
  };
}

// ---------------------------------------------------------------------------------------------
// Process groups: what each case's CPU and memory rows are made of.

function chromiumGroups(prefix: string, procs: Proc[], pages: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const p of procs) {
    const kind = chromiumKind(p).replace('renderer (pages, their iframes and workers)', `renderer: ${pages}`);
    // zygotes and the crashpad handler do next to nothing; keep them with the browser process.
    const row = kind === 'zygote' ? 'browser' : kind;
    (out[`${prefix} ${row}`] ??= []).push(p.pid);
  }
  return out;
}

interface HostRates {
  /** Per second over the window. */
  delivered: number;
  written: number;
  dropped: number;
  encoded: number;
  encodeMsPerFrame: number;
  limitation: string;
  encoder: string;
}

interface CaseResult {
  rows: Array<{ name: string; processes: number; cores: number; each: number[]; group: 'runner' | 'helper' | 'chromium' | 'server' | 'other' }>;
  viewer: Received;
  host: HostRates | undefined;
  painted: number;
  screenCores: number;
  viewerCores: number;
  /** Busy cores of the whole machine over the window (/proc/stat). */
  machineCores: number;
  /** 1-minute load average at the end of the window (one per round once merged). */
  load: number[];
}

async function meterWindow(
  groups: () => Record<string, number[]>,
  kind: (name: string) => CaseResult['rows'][number]['group'],
  viewer: Viewer,
  screen: PaintedScreen,
  counters: () => Promise<HostPageCounters | undefined>,
): Promise<CaseResult> {
  const screenGroups = () => ({ screen: [screen.xvfbPid, ...tree(screen.painterPid).map((p) => p.pid)] });
  const quiet = <T>(p: Promise<T>) =>
    p.catch((err: Error) => {
      say(`host counters: ${err.message.split('\n')[0]}`);
      return undefined;
    });
  const [s0, p0, c0] = [await viewer.stats(), await screen.painted(), await quiet(counters())];
  const meter = new GroupMeter(groups);
  const screenMeter = new GroupMeter(screenGroups);
  const viewer0 = viewer.metered.cpuSeconds();
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const used = meter.cores();
  const screenUsed = screenMeter.cores();
  const seconds = (performance.now() - t0) / 1000;
  const viewerCores = (viewer.metered.cpuSeconds() - viewer0) / seconds;
  const machineCores = (machineBusySeconds() - busy0) / seconds;
  const [s1, p1, c1] = [await viewer.stats(), await screen.painted(), await quiet(counters())];
  return {
    rows: Object.entries(used).map(([name, u]) => ({
      name,
      processes: u.pids.length,
      cores: u.cores,
      each: [...u.each].sort((a, b) => b - a),
      group: kind(name),
    })),
    viewer: received(s0, s1, seconds),
    host:
      c0 && c1
        ? {
            delivered: (c1.delivered - c0.delivered) / seconds,
            written: (c1.written - c0.written) / seconds,
            dropped: (c1.dropped - c0.dropped) / seconds,
            encoded: (c1.encoded - c0.encoded) / seconds,
            encodeMsPerFrame: c1.encodeMsPerFrame,
            limitation: c1.limitation,
            encoder: c1.encoder,
          }
        : undefined,
    painted: (p1 - p0) / seconds,
    screenCores: screenUsed.screen!.cores,
    viewerCores,
    machineCores,
    load: [os.loadavg()[0]!],
  };
}

/** The helper client keeps a spare helper idle beside the active one: the busier is the active one. */
interface HelperRss {
  active: number;
  spare: number;
  processes: number;
}
function helperRss(helpers: Proc[]): HelperRss {
  const byCpu = helpers
    .map((p) => {
      try {
        return { pid: p.pid, cpu: cpuSeconds(p.pid) };
      } catch {
        return { pid: p.pid, cpu: -1 };
      }
    })
    .sort((a, b) => b.cpu - a.cpu);
  return { active: rssMiB(byCpu[0]?.pid), spare: sumRssMiB(byCpu.slice(1).map((h) => h.pid)), processes: helpers.length };
}

// ---------------------------------------------------------------------------------------------
// 1. Activation

interface ActivationRun extends Activation {
  visibleMs: number;
  idleRssMiB: number;
}

async function activationRuns(): Promise<ActivationRun[]> {
  const out: ActivationRun[] = [];
  for (let i = 1; i <= RUNS; i++) {
    say(`activation run ${i}/${RUNS}: code-server + workbench…`);
    const wb = await openWorkbench();
    try {
      const a = await readActivation(wb);
      await sleep(3000);
      const idleRssMiB = rssMiB(wb.extensionHost()?.pid);
      const runningExtensionsMs = await runningExtensionsActivationMs(wb).catch((err: Error) => {
        say(`Running Extensions: ${err.message}`);
        return Number.NaN;
      });
      out.push({ ...a, runningExtensionsMs, visibleMs: wb.visibleMs, idleRssMiB });
    } finally {
      await wb.close();
    }
  }
  return out;
}

function printActivation(runs: ActivationRun[]): void {
  const col = (f: (r: ActivationRun) => number) => [...runs.map((r) => fmt(f(r), 1)), fmt(median(runs.map(f)), 1)];
  const rows: Array<[string, (r: ActivationRun) => number]> = [
    ['inside activate() (the extension\'s own "activated in X ms")', (r) => r.insideActivateMs],
    ['Running Extensions "Activation" (codeLoadingTime + activateCallTime)', (r) => r.runningExtensionsMs],
    ['exthost log "_doActivateExtension pairux.pairux" → "activated" line', (r) => r.hostToActivatedMs],
    ['page.goto → "activated" line', (r) => r.openToActivatedMs],
    ['page.goto → workbench status bar visible', (r) => r.visibleMs],
    ['extension host VmRSS 3 s after activation (MiB)', (r) => r.idleRssMiB],
  ];
  printTable(
    `Extension activation, ${runs.length} workbench loads (fresh code-server each; activation event '${runs[0]?.activationEvent}'); ms unless stated; ${loadAverage()}`,
    ['measure', ...runs.map((_, i) => `run ${i + 1}`), 'median'],
    rows.map(([name, f]) => [name, ...col(f)]),
  );
}

// ---------------------------------------------------------------------------------------------
// 2 + 3. VS Code case

interface Memory {
  idle?: number;
  session: number;
  viewer: number;
  helperSession: HelperRss;
  helperViewer: HelperRss;
}

async function vscodeCase(screen: PaintedScreen): Promise<{ result: CaseResult; memory: Memory; idleCores: Record<string, number> }> {
  say('VS Code case: code-server + workbench with DISPLAY on the painted Xvfb…');
  // The embedded server serves the test pages: the viewer's stats come from their hook.
  const wb: Workbench = await openWorkbench({
    env: { DISPLAY: screen.display, ...TEST_PAGES_ENV },
    settings: { 'pairux.links.copyRole': 'viewer', 'pairux.capture.fps': FPS },
  });
  let viewer: Viewer | undefined;
  try {
    await readActivation(wb);
    await sleep(3000);
    const ext = await until('the extension host process', 10_000, () => wb.extensionHost());
    const serverPids = () =>
      wb
        .codeServerTree()
        .filter((p) => p.pid !== ext.pid && !wb.helpers().some((h) => h.pid === p.pid) && !tree(ext.pid).some((c) => c.pid === p.pid))
        .map((p) => p.pid);
    const groups = (): Record<string, number[]> => ({
      'extension host (runner, control plane, webview bridge)': [ext.pid],
      'helper (capture)': wb.helpers().map((p) => p.pid),
      'code-server server (remote agent: exthost ⇄ workbench traffic)': serverPids(),
      // code-server serves the webviews from the workbench's own origin: one renderer runs both.
      ...chromiumGroups('workbench Chromium', tree(wb.chromiumPid), 'workbench + its webviews (host panel), and any spare renderer'),
    });
    const kind = (name: string) =>
      (name.startsWith('extension host')
        ? 'runner'
        : name.startsWith('helper')
          ? 'helper'
          : name.startsWith('code-server')
            ? 'server'
            : 'chromium') as CaseResult['rows'][number]['group'];
    const idle = rssMiB(ext.pid);
    // Idle baseline of the same processes: the workbench alone costs something.
    const idleMeter = new GroupMeter(groups);
    await sleep(Math.min(SECONDS, 5) * 1000);
    const idleCores = Object.fromEntries(Object.entries(idleMeter.cores()).map(([k, v]) => [k, v.cores]));

    say('starting the session from the palette (F1 → PairUX: Start Pairing Session → P2P → Not encrypted)…');
    await writeClipboard(wb.page, '');
    await runCommand(wb.page, 'PairUX: Start Pairing Session');
    await pickItem(wb.page, 'P2P');
    await pickItem(wb.page, 'Not encrypted');
    await until(
      'the status bar to show the P2P session',
      45_000,
      async () => ((await statusBarText(wb.page, 'pairux.status', 1000)).text.includes('P2P') ? true : undefined),
      300,
    );
    const link = await until('the viewer link on the clipboard', 15_000, async () => {
      const t = await readClipboard(wb.page);
      return t.includes('/s/') ? t : undefined;
    });
    await until('the helper process', 10_000, () => (wb.helpers().length ? true : undefined));
    await sleep(3000);
    const session = rssMiB(ext.pid);
    const helperSession = helperRss(wb.helpers());

    say('one browser viewer on the link…');
    viewer = await openViewer(link);
    await sleep(WARMUP * 1000);
    say(`metering ${SECONDS} s…`);
    const counters = async () =>
      (await webviewFrame(wb.page, { title: 'PairUX host', timeoutMs: 5000 })).evaluate(HOST_COUNTERS_EXPRESSION) as Promise<HostPageCounters | undefined>;
    const result = await meterWindow(groups, kind, viewer, screen, counters);
    const memory: Memory = { idle, session, viewer: rssMiB(ext.pid), helperSession, helperViewer: helperRss(wb.helpers()) };
    return { result, memory, idleCores };
  } finally {
    await viewer?.close();
    // Stopping code-server's process group also stops the extension host and the helper it spawned.
    await wb.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Browser case: the demo's runner + headless host page (bench/support/extension-browser-host.ts,
// demo/main.ts's parts) in a child process on the same screen.

async function browserCase(screen: PaintedScreen): Promise<{ result: CaseResult; memory: Memory }> {
  say('browser case: the demo runner + headless host page (child process) on the painted Xvfb…');
  const child: ChildProcess = fork(path.join(ROOT, 'bench', 'support', 'extension-browser-host.ts'), [String(WIDTH), String(HEIGHT), String(FPS)], {
    cwd: ROOT,
    detached: true,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, DISPLAY: screen.display, NODE_OPTIONS: '' },
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // gone
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  const pending: Array<(m: { type: string; viewer?: string; counters?: HostPageCounters; error?: string }) => void> = [];
  child.on('message', (m: { type: string }) => pending.shift()?.(m));
  const next = () =>
    new Promise<{ type: string; viewer?: string; counters?: HostPageCounters; error?: string }>((resolve, reject) => {
      pending.push(resolve);
      child.once('exit', (code) => reject(new Error(`the browser host exited (${code})`)));
    });
  let viewer: Viewer | undefined;
  try {
    const ready = await Promise.race([
      next(),
      sleep(60_000).then(() => {
        throw new Error('the browser host did not start within 60 s');
      }),
    ]);
    const link = ready.viewer!;
    const runner = child.pid!;
    const runnerTree = () => tree(runner);
    const helpers = () => runnerTree().filter((p) => /\bhelper\.js\b/.test(p.cmd));
    const chromiumRoot = () => runnerTree().find((p) => p.ppid === runner && /chrom/.test(p.cmd) && !/--type=/.test(p.cmd));
    const groups = (): Record<string, number[]> => {
      const root = chromiumRoot();
      return {
        'runner node (runner, control plane, bridge WebSocket)': [runner],
        'helper (capture)': helpers().map((p) => p.pid),
        ...(root ? chromiumGroups('headless host Chromium', tree(root.pid), 'host page, and any spare renderer') : {}),
      };
    };
    const kind = (name: string) =>
      (name.startsWith('runner') ? 'runner' : name.startsWith('helper') ? 'helper' : 'chromium') as CaseResult['rows'][number]['group'];
    const counters = async () => {
      const m = next();
      child.send({ type: 'counters' });
      return (await m).counters;
    };
    await sleep(3000);
    const session = rssMiB(runner);
    const helperSession = helperRss(helpers());
    say('one browser viewer on the link…');
    viewer = await openViewer(link);
    await sleep(WARMUP * 1000);
    say(`metering ${SECONDS} s…`);
    const result = await meterWindow(groups, kind, viewer, screen, counters);
    return { result, memory: { session, viewer: rssMiB(runner), helperSession, helperViewer: helperRss(helpers()) } };
  } finally {
    await viewer?.close();
    if (child.connected) child.send({ type: 'stop' });
    else killGroup('SIGTERM');
    if ((await Promise.race([exited.then(() => 'done'), sleep(15_000).then(() => 'late')])) === 'late') killGroup('SIGKILL');
    await exited;
    // Whatever it left behind in its group (Chromium, the helper) goes too.
    killGroup('SIGKILL');
    process.off('exit', onExit);
  }
}

// ---------------------------------------------------------------------------------------------

const loadOf = (r: CaseResult | undefined) =>
  r ? `1-min load average at the end of each window ${r.load.map((l) => l.toFixed(2)).join(', ')} (${os.cpus().length} cores)` : '';

function printCase(title: string, r: CaseResult, idle?: Record<string, number>): void {
  const total = r.rows.reduce((s, x) => s + x.cores, 0);
  const header = ['process', 'processes', ...(idle ? ['idle, no session (cores)'] : []), 'CPU (cores)', 'per process (one round)'];
  const rows = r.rows.map((x) => [
    x.name,
    x.processes,
    ...(idle ? [fmt(idle[x.name] ?? Number.NaN)] : []),
    fmt(x.cores),
    x.each.length > 1 ? x.each.map((c) => fmt(c)).join(' + ') : '',
  ]);
  const idleTotal = idle ? Object.values(idle).reduce((s, v) => s + v, 0) : 0;
  rows.push(['**total**', r.rows.reduce((s, x) => s + x.processes, 0), ...(idle ? [fmt(idleTotal)] : []), `**${fmt(total)}**`, '']);
  printTable(`${title}; median of ${r.load.length} round(s); ${loadOf(r)}`, header, rows);
}

function medianRecord(records: Array<Record<string, number>>): Record<string, number> {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, median(records.map((r) => r[k] ?? Number.NaN))]));
}

/** Row by row (by name), the median over rounds; strings from the last round. */
function medianCase(results: CaseResult[]): CaseResult {
  const last = results.at(-1)!;
  const names = [...new Set(results.flatMap((r) => r.rows.map((x) => x.name)))];
  const m = (f: (r: CaseResult) => number) => median(results.map(f));
  const hosts = results.map((r) => r.host).filter((h): h is HostRates => h !== undefined);
  const mh = (f: (h: HostRates) => number) => median(hosts.map(f));
  return {
    rows: names.map((name) => {
      const rows = results.map((r) => r.rows.find((x) => x.name === name));
      const first = rows.find((x) => x)!;
      // `each`: the round whose total is the median's lower neighbour, for the per-process split.
      const sorted = rows.filter((x) => x).sort((a, b) => a!.cores - b!.cores);
      return {
        name,
        group: first.group,
        processes: Math.max(...rows.map((x) => x?.processes ?? 0)),
        cores: median(rows.map((x) => x?.cores ?? 0)),
        each: sorted[Math.floor((sorted.length - 1) / 2)]!.each,
      };
    }),
    viewer: { ...last.viewer, fps: m((r) => r.viewer.fps), kbps: m((r) => r.viewer.kbps), dropped: m((r) => r.viewer.dropped) },
    host: hosts.length
      ? {
          ...hosts.at(-1)!,
          delivered: mh((h) => h.delivered),
          written: mh((h) => h.written),
          dropped: mh((h) => h.dropped),
          encoded: mh((h) => h.encoded),
          encodeMsPerFrame: mh((h) => h.encodeMsPerFrame),
        }
      : undefined,
    painted: m((r) => r.painted),
    screenCores: m((r) => r.screenCores),
    viewerCores: m((r) => r.viewerCores),
    machineCores: m((r) => r.machineCores),
    load: results.flatMap((r) => r.load),
  };
}

function medianMemory(ms: Memory[]): Memory {
  const h = (f: (m: Memory) => HelperRss): HelperRss => ({
    active: median(ms.map((m) => f(m).active)),
    spare: median(ms.map((m) => f(m).spare)),
    processes: Math.max(...ms.map((m) => f(m).processes)),
  });
  return {
    idle: ms.some((m) => m.idle !== undefined) ? median(ms.map((m) => m.idle ?? Number.NaN)) : undefined,
    session: median(ms.map((m) => m.session)),
    viewer: median(ms.map((m) => m.viewer)),
    helperSession: h((m) => m.helperSession),
    helperViewer: h((m) => m.helperViewer),
  };
}

function sumGroup(r: CaseResult, g: CaseResult['rows'][number]['group']): number {
  return r.rows.filter((x) => x.group === g).reduce((s, x) => s + x.cores, 0);
}

async function main(): Promise<void> {
  console.log(
    `# npm run bench:extension -- --runs=${RUNS} --seconds=${SECONDS} --warmup=${WARMUP} --size=${WIDTH}x${HEIGHT} --fps=${FPS} --rounds=${ROUNDS} --cases=${[...CASES].join(',')}`,
  );
  console.log(`\n${new Date().toISOString()}, Node ${process.version}, code-server 4.100.3 (VS Code 1.100), ${loadAverage()} at start`);
  if (CASES.has('activation')) printActivation(await activationRuns());
  if (!CASES.has('vscode') && !CASES.has('browser')) return;

  say(`Xvfb ${WIDTH}x${HEIGHT} + painter Chromium at ${FPS} fps…`);
  const screen = await startPaintedScreen(WIDTH, HEIGHT, FPS);
  const vsRounds: Array<Awaited<ReturnType<typeof vscodeCase>>> = [];
  const brRounds: Array<Awaited<ReturnType<typeof browserCase>>> = [];
  const roundRows: Array<Array<string | number>> = [];
  const roundRow = (round: number, name: string, r: CaseResult) =>
    roundRows.push([
      round,
      name,
      fmt(r.rows.reduce((t, x) => t + x.cores, 0)),
      fmt(r.host?.delivered ?? NaN, 1),
      fmt(r.host?.encoded ?? NaN, 1),
      fmt(r.viewer.fps, 1),
      fmt(r.machineCores),
      loadAverage(),
    ]);
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      say(`round ${round}/${ROUNDS}`);
      if (CASES.has('vscode')) {
        vsRounds.push(await vscodeCase(screen));
        roundRow(round, 'VS Code', vsRounds.at(-1)!.result);
      }
      if (CASES.has('browser')) {
        brRounds.push(await browserCase(screen));
        roundRow(round, 'browser host', brRounds.at(-1)!.result);
      }
    }
  } finally {
    await screen.close();
  }
  printTable(
    `Frame-path rounds (${SECONDS} s windows; the tables below are medians of these)`,
    ['round', 'case', 'frame path cores', 'host frames in/s', 'encoded/s', 'viewer fps', 'machine busy cores', 'at the end'],
    roundRows,
  );
  const vs = vsRounds.length
    ? {
        result: medianCase(vsRounds.map((r) => r.result)),
        memory: medianMemory(vsRounds.map((r) => r.memory)),
        idleCores: medianRecord(vsRounds.map((r) => r.idleCores)),
      }
    : undefined;
  const br = brRounds.length ? { result: medianCase(brRounds.map((r) => r.result)), memory: medianMemory(brRounds.map((r) => r.memory)) } : undefined;

  const mem = (m: Memory | undefined, f: (m: Memory) => number | undefined) => (m && f(m) !== undefined ? fmt(f(m)!, 0) : '–');
  printTable(
    `Memory (VmRSS, MiB): the VS Code extension host vs the browser host's runner process, and the helpers each spawned (${WIDTH}×${HEIGHT}@${FPS}); median of ${ROUNDS} round(s); VS Code ${loadOf(vs?.result)}; browser ${loadOf(br?.result)}`,
    ['process', 'idle, after activation', 'session, 0 viewers', 'session, 1 viewer streaming', 'VS Code / browser (1 viewer)'],
    [
      [
        'VS Code extension host (runner + control plane in it)',
        mem(vs?.memory, (m) => m.idle),
        mem(vs?.memory, (m) => m.session),
        mem(vs?.memory, (m) => m.viewer),
        ratio(vs?.memory.viewer ?? NaN, br?.memory.viewer ?? NaN),
      ],
      [
        '  helper, active (spawned by the extension host)',
        '–',
        mem(vs?.memory, (m) => m.helperSession.active),
        mem(vs?.memory, (m) => m.helperViewer.active),
        ratio(vs?.memory.helperViewer.active ?? NaN, br?.memory.helperViewer.active ?? NaN),
      ],
      [
        '  helper, idle standby',
        '–',
        mem(vs?.memory, (m) => m.helperSession.spare),
        mem(vs?.memory, (m) => m.helperViewer.spare),
        ratio(vs?.memory.helperViewer.spare ?? NaN, br?.memory.helperViewer.spare ?? NaN),
      ],
      ['browser host runner node (runner + control plane)', '–', mem(br?.memory, (m) => m.session), mem(br?.memory, (m) => m.viewer), ''],
      ['  helper, active (spawned by the runner)', '–', mem(br?.memory, (m) => m.helperSession.active), mem(br?.memory, (m) => m.helperViewer.active), ''],
      ['  helper, idle standby', '–', mem(br?.memory, (m) => m.helperSession.spare), mem(br?.memory, (m) => m.helperViewer.spare), ''],
    ],
  );

  if (vs) printCase(`Frame path CPU inside VS Code, ${WIDTH}×${HEIGHT}@${FPS} changing screen, 1 browser viewer, ${SECONDS} s window`, vs.result, vs.idleCores);
  if (br)
    printCase(
      `Frame path CPU with the browser host (the demo's runner + headless host page), ${WIDTH}×${HEIGHT}@${FPS} changing screen, 1 browser viewer, ${SECONDS} s window`,
      br.result,
    );
  if (vs || br) {
    const v = vs?.result;
    const b = br?.result;
    const val = (r: CaseResult | undefined, f: (r: CaseResult) => number, d = 2) => (r ? fmt(f(r), d) : '–');
    const cmp = (f: (r: CaseResult) => number) => ratio(v ? f(v) : NaN, b ? f(b) : NaN);
    const total = (r: CaseResult) => r.rows.reduce((s, x) => s + x.cores, 0);
    const rows: Array<[string, (r: CaseResult) => number, number]> = [
      ['runner process: extension host / runner node (cores)', (r) => sumGroup(r, 'runner'), 2],
      ['helper (cores)', (r) => sumGroup(r, 'helper'), 2],
      ['host Chromium, all processes: workbench / headless host page (cores)', (r) => sumGroup(r, 'chromium'), 2],
      ['code-server server process(es) (cores)', (r) => sumGroup(r, 'server'), 2],
      ['**total frame path (cores)**', total, 2],
      ['frame path CPU ms per frame the viewer received (total cores × 1000 / viewer fps)', (r) => (total(r) * 1000) / r.viewer.fps, 1],
      ['host page: frames in from the bridge per s', (r) => r.host?.delivered ?? NaN, 1],
      ['host page: frames to the track per s', (r) => r.host?.written ?? NaN, 1],
      ['host page: frames dropped (back-pressure) per s', (r) => r.host?.dropped ?? NaN, 1],
      ['host encoder: frames encoded per s', (r) => r.host?.encoded ?? NaN, 1],
      ['host encoder: ms per frame', (r) => r.host?.encodeMsPerFrame ?? NaN, 1],
      ['viewer received fps', (r) => r.viewer.fps, 1],
      ['viewer received kbit/s', (r) => r.viewer.kbps, 0],
      ['viewer frames dropped in the window', (r) => r.viewer.dropped, 0],
      ['painter fps (the screen change rate)', (r) => r.painted, 1],
      ['screen itself: Xvfb + painter Chromium (cores, not in the totals)', (r) => r.screenCores, 2],
      ["the viewer's Chromium (cores, not in the totals)", (r) => r.viewerCores, 2],
      ['whole machine busy, every process (/proc/stat, cores)', (r) => r.machineCores, 2],
    ];
    printTable(
      `Frame path, VS Code vs browser host (${WIDTH}×${HEIGHT}@${FPS}, 1 viewer: ${v?.viewer.resolution ?? b?.viewer.resolution} ${v?.viewer.codec ?? b?.viewer.codec}), medians of ${ROUNDS} round(s); VS Code ${loadOf(v)}; browser ${loadOf(b)}`,
      ['measure', 'VS Code', 'browser host', 'VS Code / browser'],
      [
        ...rows.map(([name, f, d]) => [name, val(v, f, d), val(b, f, d), name.startsWith('code-server') ? '–' : cmp(f)]),
        ['host encoder: quality limitation at the end', v?.host?.limitation || '–', b?.host?.limitation || '–', ''],
      ],
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:extension failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
