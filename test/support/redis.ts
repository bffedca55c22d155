/**
 * A real Redis (Debian's `redis-server`) on a free loopback port for one test file: no
 * persistence, its own temp dir, killed (with its whole process) by `stop()`. `pause()` /
 * `resume()` stop and continue the process (SIGSTOP/SIGCONT), the "Redis briefly unreachable"
 * fault: connections stay open but nothing answers; `restart()` kills it and starts it again on
 * the same port, empty.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './livekit';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface TestRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** `url` with a database number, for LiveKit clusters sharing this Redis. */
  urlFor(db: number): string;
  pause(): void;
  resume(): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function untilListening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not listen on ${port} within 10 s: ${log()}`);
}

/** One redis-server process on `port` with `args`, its output kept for errors; `kill()` is SIGKILL. */
async function redisProcess(port: number, args: string[]): Promise<{ kill(): Promise<void>; output(): string }> {
  let output = '';
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  await untilListening(port, child, () => output);
  return {
    output: () => output,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface TestSentinelRedis {
  /** Where the three sentinels listen (quorum 2). */
  sentinels: Array<{ host: string; port: number }>;
  name: string;
  /** The port of the primary the sentinels name now. */
  primaryPort(): Promise<number>;
  /** Waits until the replica has every write the primary took (so a failover loses none of them). */
  synced(): Promise<void>;
  /** SIGKILL of the current primary, like a crashed machine; resolves at once (the failover takes ~2 s). */
  killPrimary(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Redis under Sentinel: a primary, one replica, and three sentinels (quorum 2) that promote the
 * replica 1 s after the primary stops answering. All on loopback, no persistence.
 */
export async function startSentinelRedis(name = 'pairux'): Promise<TestSentinelRedis> {
  if (!existsSync(REDIS_SERVER)) throw new Error('redis-server is not installed: run `npm run bootstrap` as root, or apt-get install redis-server');
  const dir = mkdtempSync(path.join(tmpdir(), 'pairux-sentinel-'));
  const [p1, p2] = [await freePort(), await freePort()];
  const base = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const nodes = new Map<number, Awaited<ReturnType<typeof redisProcess>>>();
  nodes.set(p1, await redisProcess(p1, base(p1)));
  nodes.set(p2, await redisProcess(p2, [...base(p2), '--replicaof', '127.0.0.1', String(p1)]));
  const sentinels: Array<{ host: string; port: number }> = [];
  const watchers: Array<Awaited<ReturnType<typeof redisProcess>>> = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const conf = path.join(dir, `sentinel-${i}.conf`);
    // Sentinel rewrites its config file as it learns; each has its own.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${p1} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        '',
      ].join('\n'),
    );
    watchers.push(await redisProcess(port, [conf, '--sentinel']));
    sentinels.push({ host: '127.0.0.1', port });
  }
  const ask = (args: string[], port: number): Promise<string> => {
    return new Promise((resolve, reject) =>
      execFile('/usr/bin/redis-cli', ['-p', String(port), ...args], { timeout: 8000 }, (err, out) => (err ? reject(err) : resolve(out.trim()))),
    );
  };
  // The replica has done its first sync, and every sentinel knows the replica and the two other
  // sentinels (without that, no majority can elect the one that runs a failover).
  const deadline = Date.now() + 20_000;
  for (;;) {
    const linked = (await ask(['info', 'replication'], p2)).includes('master_link_status:up');
    const known = await Promise.all(
      sentinels.map(async (x) => {
        const replicas = await ask(['sentinel', 'replicas', name], x.port).catch(() => '');
        const peers = await ask(['sentinel', 'sentinels', name], x.port).catch(() => '');
        return replicas.includes(String(p2)) && sentinels.every((o) => o.port === x.port || peers.includes(String(o.port)));
      }),
    );
    if (linked && known.every(Boolean)) break;
    if (Date.now() > deadline)
      throw new Error(
        `Sentinel set-up did not settle in 20 s (replica linked: ${linked}, sentinels that know it and their peers: ${known.filter(Boolean).length} of 3)`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
  const primaryPort = async () => Number((await ask(['sentinel', 'get-master-addr-by-name', name], sentinels[0]!.port)).split('\n')[1]);
  return {
    sentinels,
    name,
    primaryPort,
    async synced() {
      const acked = await ask(['WAIT', '1', '5000'], await primaryPort());
      if (acked !== '1') throw new Error(`the replica did not acknowledge the primary's writes (WAIT answered ${acked})`);
    },
    async killPrimary() {
      const port = await primaryPort();
      await nodes.get(port)?.kill();
      return port;
    },
    async stop() {
      await Promise.all([...watchers, ...nodes.values()].map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startRedis(): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER)) throw new Error('redis-server is not installed: run `npm run bootstrap` as root, or apt-get install redis-server');
  const dir = mkdtempSync(path.join(tmpdir(), 'pairux-redis-'));
  const port = await freePort();
  let child: ChildProcess;
  let output = '';
  const launch = async () => {
    output = '';
    child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--databases', '16'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    await untilListening(port, child, () => output);
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  };
  await launch();
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    port,
    urlFor: (db) => `${url}/${db}`,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
