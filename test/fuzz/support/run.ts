/**
 * What every fuzz harness shares: how many messages and which seed (PAIRUX_FUZZ_COUNT,
 * PAIRUX_FUZZ_SEED; `npm test` runs a small fixed slice, `npm run fuzz` 100,000 per boundary),
 * the tally a run prints as one table row, and memory readings taken after a forced GC.
 */
import { appendFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** `count` is the default for `npm test`'s slice; PAIRUX_FUZZ_COUNT overrides it for every boundary. */
export function fuzzCount(sliceDefault: number): number {
  const n = Number(process.env.PAIRUX_FUZZ_COUNT);
  return Number.isInteger(n) && n > 0 ? n : sliceDefault;
}

export function fuzzSeed(): number {
  const n = Number(process.env.PAIRUX_FUZZ_SEED);
  return Number.isInteger(n) ? n : 12;
}

/** Whether this is the long run (`npm run fuzz`): harnesses may then allow themselves more time. */
export const longRun = (): number => Math.max(1, fuzzCount(1) / 2000);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap after a full GC, and RSS, of this process (in MB). */
export function memory(): { heapMb: number; rssMb: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapMb: m.heapUsed / 2 ** 20, rssMb: m.rss / 2 ** 20 };
}

/** RSS of another process from /proc (in MB). */
export async function rssOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

export class Tally {
  messages = 0;
  refused = 0;
  accepted = 0;
  /** Sent, and neither answered nor refused (notifications, messages to a part that answers nothing). */
  silent = 0;
  crashes = 0;
  injectedWithoutGrant = 0;
  before = { heapMb: 0, rssMb: 0 };
  after = { heapMb: 0, rssMb: 0 };
  readonly started = Date.now();
  seconds = 0;
  constructor(
    readonly boundary: string,
    readonly seed: number,
  ) {}

  /** One row of `npm run fuzz`'s table, printed and (with PAIRUX_FUZZ_REPORT) appended as JSON. */
  finish(memoryNote: string): void {
    this.seconds = (Date.now() - this.started) / 1000;
    const row = {
      boundary: this.boundary,
      seed: this.seed,
      messages: this.messages,
      refused: this.refused,
      accepted: this.accepted,
      silent: this.silent,
      crashes: this.crashes,
      before: this.before,
      after: this.after,
      injectedWithoutGrant: this.injectedWithoutGrant,
      seconds: Math.round(this.seconds * 10) / 10,
      memoryNote,
    };
    console.log(
      `      fuzz ${this.boundary}: ${this.messages} messages (seed ${this.seed}), refused ${this.refused}, accepted ${this.accepted}, ` +
        `silent ${this.silent}, crashes ${this.crashes}, ${memoryNote}, injected without grant ${this.injectedWithoutGrant}, ${row.seconds} s`,
    );
    if (process.env.PAIRUX_FUZZ_REPORT) appendFileSync(process.env.PAIRUX_FUZZ_REPORT, `${JSON.stringify(row)}\n`);
  }
}

/** Asserts nothing reached Object.prototype through a parsed `__proto__` key. */
export function prototypeClean(): boolean {
  return !('polluted' in ({} as Record<string, unknown>)) && !('polluted' in Object.prototype);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
