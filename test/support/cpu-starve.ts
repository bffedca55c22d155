/**
 * Starves chosen processes of CPU for real: a cgroup (v1 `cpu` controller, or v2 where that is
 * what the machine mounts) with a CFS quota, as root. What a host whose machine is busy with a
 * build meets, without a CPU hog whose effect depends on how many cores the machine has.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const V1 = '/sys/fs/cgroup/cpu';
const V2 = '/sys/fs/cgroup';

export class CpuStarve {
  private readonly members = new Set<number>();

  private constructor(
    private readonly dir: string,
    private readonly root: string,
    private readonly v2: boolean,
  ) {}

  /** A new group allowed `share` of one core (0.1 = 10 %). Throws, saying why, where it cannot be made. */
  static create(name: string, share: number): CpuStarve {
    const v2 = !existsSync(join(V1, 'cpu.cfs_quota_us')) && existsSync(join(V2, 'cgroup.controllers'));
    const root = v2 ? V2 : V1;
    if (!existsSync(root)) throw new Error(`no cpu cgroup controller mounted at ${V1} or ${V2}: this test starves a process of CPU through one`);
    const dir = join(root, `pairux-${name}-${process.pid}`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new Error(`cannot make the cgroup ${dir} (this test needs root): ${String(err)}`, { cause: err });
    }
    const group = new CpuStarve(dir, root, v2);
    group.limit(share);
    return group;
  }

  /** The share of one core the group's processes may use from now on (Infinity: no limit). */
  limit(share: number): void {
    if (this.v2) writeFileSync(join(this.dir, 'cpu.max'), Number.isFinite(share) ? `${Math.round(share * 100_000)} 100000` : 'max 100000');
    else {
      writeFileSync(join(this.dir, 'cpu.cfs_period_us'), '100000');
      writeFileSync(join(this.dir, 'cpu.cfs_quota_us'), Number.isFinite(share) ? String(Math.round(share * 100_000)) : '-1');
    }
  }

  /** Moves these processes (each with every thread) into the group. */
  add(pids: Iterable<number>): void {
    for (const pid of pids) {
      try {
        writeFileSync(join(this.dir, 'cgroup.procs'), String(pid));
        this.members.add(pid);
      } catch {
        // Gone meanwhile (a renderer that closed).
      }
    }
  }

  /** How often the group hit its quota (throttled periods): proof the starving happened. */
  throttled(): number {
    const stat = readFileSync(join(this.dir, 'cpu.stat'), 'utf8');
    return Number(/nr_throttled (\d+)/.exec(stat)?.[1] ?? 0);
  }

  /** Lets its processes go back to the machine's root group and removes the group. Idempotent. */
  close(): void {
    if (!existsSync(this.dir)) return;
    const procs = readFileSync(join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    for (const pid of procs) {
      try {
        writeFileSync(join(this.root, 'cgroup.procs'), pid);
      } catch {
        // Exited.
      }
    }
    rmdirSync(this.dir);
  }
}

/** A process and all its descendants (Chromium: the browser, its zygotes, renderers, GPU and utility processes). */
export function processTree(root: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of rows) if (ppid === out[i]) out.push(pid);
  return out;
}

/** The pid of the process whose command line holds `tag` and no `--type=` (Chromium's browser process, not a child). */
export function browserPid(tag: string): number {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,args='], { encoding: 'utf8' }).trim().split('\n');
  const found = rows.map((l) => l.trim()).find((l) => l.includes(tag) && !l.includes('--type='));
  if (!found) throw new Error(`no browser process with ${tag} on its command line`);
  return Number(found.split(/\s+/)[0]);
}
