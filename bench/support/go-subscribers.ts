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
import { TestClient } from '../../test/support/signaling-client';
import type { LightJoin } from './sfu-browser-subscribers';

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
  readonly joins: LightJoin[] = [];
  private readonly clients: TestClient[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
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

  /** The Go process (its CPU is the subscribers' cost). */
  get pid(): number {
    return this.child.pid!;
  }

  private send(command: object): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  private async joinOne(j: LightJoin, planeUrl: string, sessionId: string, token: string, region?: string): Promise<void> {
    const t0 = performance.now();
    try {
      const client = await TestClient.connect(planeUrl);
      this.clients.push(client);
      const joined = await client.join(sessionId, token, `Light ${j.index + 1}`, { client: { kind: 'bench' }, ...(region ? { region } : {}) });
      this.timers.push(setInterval(() => client.heartbeat(), Math.max(1000, joined.heartbeatIntervalMs / 2)));
      j.signalingMs = performance.now() - t0;
      if (!joined.sfu) throw new Error('the join result has no sfu access (not an SFU session?)');
      const reply = await new Promise<{ ms?: number; error?: string }>((resolve) => {
        this.waiting.set(j.index, resolve);
        this.send({ op: 'join', index: j.index, url: joined.sfu!.url, token: joined.sfu!.token });
      });
      if (reply.error) throw new Error(reply.error);
      j.subscribedMs = performance.now() - t0;
    } catch (err) {
      j.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
    }
  }

  /** Joins `n` more, `concurrency` at a time; failures are recorded in `joins`, not thrown. */
  async add(n: number, planeUrl: string, sessionId: string, token: string, options: { concurrency?: number; region?: string } = {}): Promise<void> {
    const todo = Array.from({ length: n }, (_, k) => ({ index: this.joins.length + k }) as LightJoin);
    this.joins.push(...todo);
    let next = 0;
    const worker = async () => {
      while (next < todo.length) await this.joinOne(todo[next++]!, planeUrl, sessionId, token, options.region);
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 10, n) }, worker));
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
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const c of this.clients.splice(0)) c.close();
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
