/**
 * Process bookkeeping for `npm run bench:extension`: who is who in a process tree (by command
 * line), CPU in cores over a window for a set of processes, RSS, and the load average.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { cpuSeconds, descendants, rssBytes } from './stats';

export interface Proc {
  pid: number;
  ppid: number;
  /** Command line, NULs as spaces. */
  cmd: string;
}

export function proc(pid: number): Proc | undefined {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { pid, ppid, cmd };
  } catch {
    return undefined;
  }
}

/** The tree under `root` (root included), as live processes. */
export function tree(root: number): Proc[] {
  return descendants(root)
    .map(proc)
    .filter((p): p is Proc => p !== undefined);
}

/** `--type=renderer` and friends; the Chromium browser process has none. */
export function chromiumKind(p: Proc): string {
  const type = /--type=(\S+)/.exec(p.cmd)?.[1];
  if (!type) return 'browser';
  // Headless Chromium's own omnibox pages (chrome://omnibox-popup.top-chrome): idle, not ours.
  if (type === 'renderer' && p.cmd.includes('--top-chrome-webui')) return 'renderer (Chromium top-chrome UI)';
  if (type === 'renderer') return 'renderer (pages, their iframes and workers)';
  if (type === 'utility') return `utility (${/--utility-sub-type=([\w.]+)/.exec(p.cmd)?.[1]?.replace(/\.mojom\.\w+$/, '') ?? '?'})`;
  return type;
}

export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    return rssBytes(pid) / 2 ** 20;
  } catch {
    return Number.NaN;
  }
}

export function sumRssMiB(pids: number[]): number {
  return pids.reduce((s, pid) => s + (Number.isFinite(rssMiB(pid)) ? rssMiB(pid) : 0), 0);
}

function cpuOr0(pid: number): number {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
}

/**
 * CPU of named groups of processes over one window. Groups are re-resolved at the end too, so a
 * process that appeared meanwhile counts (from its start); one that died is lost.
 */
export class GroupMeter {
  private readonly t0 = performance.now();
  private readonly before = new Map<number, number>();
  constructor(private readonly groups: () => Record<string, number[]>) {
    for (const pids of Object.values(groups())) for (const pid of pids) this.before.set(pid, cpuOr0(pid));
  }
  /** Cores per group since construction (1.0 = one core busy all the time), and the pids seen. */
  cores(): Record<string, { cores: number; pids: number[]; each: number[] }> {
    const seconds = (performance.now() - this.t0) / 1000;
    const out: Record<string, { cores: number; pids: number[]; each: number[] }> = {};
    for (const [name, pids] of Object.entries(this.groups())) {
      const each = pids.map((pid) => Math.max(0, cpuOr0(pid) - (this.before.get(pid) ?? 0)) / seconds);
      out[name] = { cores: each.reduce((a, b) => a + b, 0), pids, each };
    }
    return out;
  }
}

export function loadAverage(): string {
  return `load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')} (${os.cpus().length} cores)`;
}

export function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Busy CPU seconds of the whole machine so far (/proc/stat: everything but idle and iowait). */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return (user + nice + system + irq + softirq + steal) / 100;
}
