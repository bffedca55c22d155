/**
 * `npm run bench:scale`: join throughput and latency of the control plane on one instance in
 * memory, one instance on Redis, and two instances on Redis behind a TCP load balancer, on
 * loopback. Each row: S sessions (their hosts joined first, spread like the guests), then
 * S × G guests connect and join with at most C joins in flight; join latency = request →
 * response. Instances run as their own processes (server/main.ts through tsx), Redis is Debian's
 * redis-server, clients speak the real protocol with hand-built frames. The balancer is the
 * tests' TCP proxy, in this process: the row "1 instance, Redis, balancer" shows what it costs.
 * Each row sums `rounds` rounds (fresh sessions each).
 *
 *   --sessions=200 --guests=5 --concurrency=200 --rounds=3
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { CREATE_SESSION_PATH, CreateSessionResponse } from '../protocol/http-api';
import { startPlaneProcess, type PlaneProcess } from '../test/support/plane-process';
import { startRedis, type TestRedis } from '../test/support/redis';
import { TcpBalancer } from '../test/support/tcp-balancer';
import { cpuSeconds, percentile, printTable } from './support/stats';
import { LoadClient } from './support/load-client';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SESSIONS = Number(args.get('sessions') ?? 200);
const GUESTS = Number(args.get('guests') ?? 5);
const CONCURRENCY = Number(args.get('concurrency') ?? 200);
const ROUNDS = Number(args.get('rounds') ?? 3);
const SECRET = 'bench-scale-token-secret-0123456789abcdef';

interface Session {
  sessionId: string;
  hostToken: string;
  viewerToken: string;
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

async function createSessions(url: string, n: number): Promise<Session[]> {
  return pool(Array.from({ length: n }), 20, async () => {
    const res = await fetch(`${url}${CREATE_SESSION_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (res.status !== 201) throw new Error(`create session: HTTP ${res.status} ${await res.text()}`);
    const s = CreateSessionResponse.parse(await res.json());
    return { sessionId: s.sessionId, hostToken: s.hostToken, viewerToken: new URL(s.links.viewer.url).hash.slice(3) };
  });
}

/** redis-server's pid, found by its port in /proc (the test helper does not expose it). */
function redisPid(port: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // redis-server rewrites its title to "redis-server 127.0.0.1:<port>".
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (/redis-server/.test(cmd) && (cmd.includes(`:${port}`) || cmd.includes(`--port ${port}`))) return Number(name);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

interface Setup {
  name: string;
  /** Where clients and session creation go. */
  url: string;
  pids: number[];
  redisPid?: number;
  stop(): Promise<void>;
}

let prefixN = 0;
type Kind = 'memory' | 'redis-1' | 'redis-1-lb' | 'redis-2';

async function setup(kind: Kind, redis: TestRedis): Promise<Setup> {
  // One client creates every session and opens every socket here: lift the per-address limits.
  const common = {
    PAIRUX_VIEWER_LIMIT: '1000',
    PAIRUX_RECONNECT_GRACE_MS: '0',
    PAIRUX_TOKEN_SECRET: SECRET,
    PAIRUX_SESSION_CREATES_PER_MINUTE: '0',
    PAIRUX_MAX_UNJOINED_SOCKETS_PER_IP: '100000',
    PAIRUX_MAX_UNJOINED_SOCKETS: '100000',
  };
  if (kind === 'memory') {
    const p = await startPlaneProcess(common);
    return { name: '1 instance, in memory', url: p.url, pids: [p.pid], stop: () => p.kill('SIGTERM') };
  }
  const lb = await TcpBalancer.start();
  const env = { ...common, PAIRUX_REDIS_URL: redis.url, PAIRUX_REDIS_PREFIX: `bench${++prefixN}:`, PAIRUX_PUBLIC_URL: lb.url };
  const n = kind === 'redis-2' ? 2 : 1;
  const instances: PlaneProcess[] = [];
  for (let i = 0; i < n; i++) instances.push(await startPlaneProcess({ ...env, PAIRUX_INSTANCE_ID: `bench-${i}` }));
  lb.setBackends(instances.map((p) => ({ port: p.port })));
  const rp = redisPid(redis.port);
  return {
    name: kind === 'redis-1' ? '1 instance, Redis' : kind === 'redis-1-lb' ? '1 instance, Redis, balancer' : '2 instances, Redis, balancer',
    url: kind === 'redis-1' ? instances[0]!.url : lb.url,
    pids: instances.map((p) => p.pid),
    ...(rp ? { redisPid: rp } : {}),
    async stop() {
      await Promise.all(instances.map((p) => p.kill('SIGTERM')));
      await lb.close();
    },
  };
}

interface Round {
  latencies: number[];
  errors: number;
  firstError: string;
  seconds: number;
  serverCpuSeconds: number;
  redisCpuSeconds: number | undefined;
}

async function round(s: Setup, sessionsN: number, guestsN: number): Promise<Round> {
  const sessions = await createSessions(s.url, sessionsN);
  const clients: LoadClient[] = [];
  try {
    // Hosts first, so every guest's join is announced to someone (across instances with two).
    await pool(sessions, CONCURRENCY, async (session, i) => {
      const c = await LoadClient.open(s.url);
      clients.push(c);
      await c.request('session.join', { sessionId: session.sessionId, token: session.hostToken, name: `host ${i}` });
    });
    const guests = sessions.flatMap((session) => Array.from({ length: guestsN }, () => session));
    const sockets = await pool(guests, CONCURRENCY, async () => LoadClient.open(s.url));
    clients.push(...sockets);
    const latencies: number[] = [];
    let errors = 0;
    let firstError = '';
    const serverCpu0 = s.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const redisCpu0 = s.redisPid ? cpuSeconds(s.redisPid) : 0;
    const t0 = performance.now();
    await pool(guests, CONCURRENCY, async (session, i) => {
      const start = performance.now();
      try {
        await sockets[i]!.request('session.join', { sessionId: session.sessionId, token: session.viewerToken, name: `guest ${i}` });
        latencies.push(performance.now() - start);
      } catch (err) {
        errors++;
        firstError ||= (err as Error).message;
      }
    });
    return {
      latencies,
      errors,
      firstError,
      seconds: (performance.now() - t0) / 1000,
      serverCpuSeconds: s.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - serverCpu0,
      redisCpuSeconds: s.redisPid ? cpuSeconds(s.redisPid) - redisCpu0 : undefined,
    };
  } finally {
    for (const c of clients) c.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `bench:scale — ${SESSIONS} sessions × ${GUESTS} guests, ≤ ${CONCURRENCY} joins in flight, on loopback ` +
      `(Node ${process.version}, ${cpus().length} cores; clients, instances and Redis share them)`,
  );
  const redis = await startRedis();
  const rows: Array<Array<string | number>> = [];
  try {
    for (const kind of ['memory', 'redis-1', 'redis-1-lb', 'redis-2'] as const) {
      const s = await setup(kind, redis);
      try {
        await round(s, 20, GUESTS); // warm-up: JIT, connections, scripts loaded
        const rounds: Round[] = [];
        for (let r = 0; r < ROUNDS; r++) rounds.push(await round(s, SESSIONS, GUESTS));
        const latencies = rounds.flatMap((m) => m.latencies);
        const seconds = rounds.reduce((t, m) => t + m.seconds, 0);
        const errors = rounds.reduce((t, m) => t + m.errors, 0);
        const redisCpu = rounds.every((m) => m.redisCpuSeconds !== undefined) ? rounds.reduce((t, m) => t + m.redisCpuSeconds!, 0) / seconds : undefined;
        rows.push([
          s.name,
          latencies.length,
          errors,
          latencies.length / seconds,
          percentile(latencies, 50),
          percentile(latencies, 95),
          percentile(latencies, 99),
          rounds.reduce((t, m) => t + m.serverCpuSeconds, 0) / seconds,
          redisCpu ?? '–',
        ]);
        if (errors) console.log(`${s.name}: ${errors} joins failed, first: ${rounds.find((m) => m.firstError)?.firstError}`);
      } finally {
        await s.stop();
      }
    }
  } finally {
    await redis.stop();
  }
  printTable(
    `Guest joins, ${ROUNDS} rounds of ${SESSIONS * GUESTS} (connect first, then session.join; latency = request → response; CPU over the join phases, in cores)`,
    ['setup', 'joins', 'errors', 'joins/s', 'p50 ms', 'p95 ms', 'p99 ms', 'instances CPU', 'Redis CPU'],
    rows,
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
