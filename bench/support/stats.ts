/** Percentiles, process CPU/memory from /proc, and tables printed the same way by every bench. */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far; Linux /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds of a process and all its descendants (Chromium is many processes). */
export function treeCpuSeconds(rootPid: number): number {
  return descendants(rootPid).reduce((sum, pid) => {
    try {
      return sum + cpuSeconds(pid);
    } catch {
      return sum;
    }
  }, 0);
}

export function descendants(rootPid: number): number[] {
  const out = [rootPid];
  for (let i = 0; i < out.length; i++) {
    try {
      const children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (children) out.push(...children.split(/\s+/).map(Number));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/** Measures a process's CPU use (as a fraction of one core) over a stretch of wall time. */
export class CpuMeter {
  private cpu0: number;
  private t0 = performance.now();
  constructor(private readonly read: () => number) {
    this.cpu0 = read();
  }
  /** Cores used since construction (1.0 = one core busy all the time). */
  cores(): number {
    return (this.read() - this.cpu0) / ((performance.now() - this.t0) / 1000);
  }
}

export function printTable(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: Array<string | number>) => `| ${r.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(line(cells[0]!));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
  console.log();
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** The machine's CPU in use over the last `ms`, in cores (all processes, from os.cpus()). */
async function busyCores(ms: number): Promise<number> {
  const sample = () =>
    cpus().reduce(
      (acc, c) => ({
        busy: acc.busy + c.times.user + c.times.nice + c.times.sys + c.times.irq,
        all: acc.all + c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle,
      }),
      { busy: 0, all: 0 },
    );
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  const all = b.all - a.all;
  return all > 0 ? ((b.busy - a.busy) / all) * cpus().length : 0;
}

/**
 * Waits until the machine is quiet (under `cores` busy for two half-second samples in a row) or
 * `maxMs` passed; resolves with the ms waited. A row that follows a heavy one (the scroll row:
 * the viewer and host still decoding and encoding its backlog) would otherwise measure the
 * previous row's tail.
 */
export async function waitForQuiet(cores = 0.8, maxMs = 20_000): Promise<number> {
  const start = performance.now();
  let quiet = 0;
  while (performance.now() - start < maxMs) {
    quiet = (await busyCores(500)) < cores ? quiet + 1 : 0;
    if (quiet >= 2) break;
  }
  return performance.now() - start;
}
