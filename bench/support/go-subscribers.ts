/**
 * Light SFU subscribers in one Go process (cascade/lightsubs: LiveKit's Go SDK, pion underneath),
 * for benches of hundreds of viewers: each joins the session through the control plane as a
 * viewer (its signaling here, as the browser subscribers do), then its LiveKit room in the Go
 * process, which counts the RTP it receives and decodes nothing. Measured on this 2-core machine:
 * 500 subscribers spread over five headless Chromiums loaded it past 13 and left 200 of them
 * unjoined, so the benches at that scale use these.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { LightJoins, type LightJoin } from './light-joins';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODULE = path.join(ROOT, 'cascade');

/** Builds cascade/lightsubs when its source changed (the bridge's Go module and cache: seconds once the bridge is built). */
export function ensureGoSubscribers(): string {
  const source = readFileSync(path.join(MODULE, 'lightsubs', 'main.go'));
  const hash = createHash('sha256')
    .update(source)
    .update(readFileSync(path.join(MODULE, 'go.sum')))
    .digest('hex')
    .slice(0, 16);
  const binary = path.join(ROOT, '.cache', 'bench', `lightsubs-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(path.dirname(binary), { recursive: true });
  const r = spawnSync('go', ['build', '-trimpath', '-o', binary, './lightsubs'], {
    cwd: MODULE,
    env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`building cascade/lightsubs failed (exit ${r.status ?? r.signal}): it needs Go, as the cascade bridge does`);
  return binary;
}

export interface GoCounts {
  packets: number;
  bytes: number;
  frames: number;
  state: string;
}

export class GoSfuSubscribers {
  private readonly joiner = new LightJoins(async (j, sfu) => {
    const reply = await new Promise<{ ms?: number; error?: string }>((resolve) => {
      this.waiting.set(j.index, resolve);
      this.send({ op: 'join', index: j.index, url: sfu.url, token: sfu.token });
    });
    if (reply.error) throw new Error(reply.error);
  });
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (reply: { ms?: number; error?: string }) => void>();
  private countsWaiting: Array<(c: Array<GoCounts & { index: number }>) => void> = [];
  private stderr = '';

  constructor() {
    this.child = spawn(ensureGoSubscribers(), [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { joined?: number; ms?: number; error?: string; counts?: Array<GoCounts & { index: number }> };
      if (msg.counts) this.countsWaiting.shift()?.(msg.counts);
      else if (msg.joined !== undefined) {
        this.waiting.get(msg.joined)?.(msg);
        this.waiting.delete(msg.joined);
      }
    });
    this.child.once('exit', (code, signal) => {
      const err = `lightsubs exited (${signal ?? code}): ${this.stderr.trim().split('\n').pop() ?? ''}`;
      for (const done of this.waiting.values()) done({ error: err });
      this.waiting.clear();
    });
  }

  get joins(): LightJoin[] {
    return this.joiner.joins;
  }

  /** The Go process (its CPU is the subscribers' cost). */
  get pid(): number {
    return this.child.pid!;
  }

  private send(command: object): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Joins `n` more, `concurrency` at a time; failures are recorded in `joins`, not thrown. */
  add(n: number, planeUrl: string, sessionId: string, token: string, options: { concurrency?: number; region?: string } = {}): Promise<void> {
    return this.joiner.add(n, planeUrl, sessionId, token, options);
  }

  /** Per subscriber, in join order. */
  async counts(): Promise<GoCounts[]> {
    const all = await new Promise<Array<GoCounts & { index: number }>>((resolve) => {
      this.countsWaiting.push(resolve);
      this.send({ op: 'counts' });
    });
    const byIndex = new Map(all.map((c) => [c.index, c]));
    return this.joins.map((j) => byIndex.get(j.index) ?? { packets: 0, bytes: 0, frames: 0, state: 'none' });
  }

  async close(): Promise<void> {
    this.joiner.close();
    this.child.stdin!.end();
    await new Promise((r) => {
      const t = setTimeout(() => {
        this.child.kill('SIGKILL');
        r(undefined);
      }, 5000);
      this.child.once('exit', () => {
        clearTimeout(t);
        r(undefined);
      });
    });
  }
}
