/**
 * `npm run bench:server`: the control plane under load, in its own process on loopback.
 *  1. join throughput and latency with N concurrent clients (each: connect, join, leave);
 *  2. memory per idle session;
 *  3. 10,000 idle joined participants with heartbeats: server CPU and memory.
 * Clients speak the real protocol with hand-built frames (no validation cost on the client side).
 */
import WebSocket from 'ws';
import { CREATE_SESSION_PATH, CreateSessionResponse } from '../protocol/http-api';
import { CpuMeter, cpuSeconds, percentile, printTable, rssBytes } from './support/stats';
import { startServerProcess, type ServerProcess } from './support/server-process';
import { LoadClient } from './support/load-client';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const IDLE_PARTICIPANTS = Number(args.get('idle') ?? 10_000);
const JOINS_PER_ROW = Number(args.get('joins') ?? 3000);
const CONCURRENCY = (args.get('concurrency') ?? '1,10,100').split(',').map(Number);
const IDLE_HOLD_MS = Number(args.get('hold') ?? 30_000);

interface Session {
  sessionId: string;
  viewerToken: string;
}

async function createSessions(server: ServerProcess, n: number): Promise<Session[]> {
  const out: Session[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, async () => {
        const res = await fetch(`${server.url}${CREATE_SESSION_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        const s = CreateSessionResponse.parse(await res.json());
        return { sessionId: s.sessionId, viewerToken: new URL(s.links.viewer.url).hash.slice(3) };
      }),
    );
    out.push(...batch);
  }
  return out;
}

async function joinThroughput(server: ServerProcess, concurrency: number, total: number) {
  const sessions = await createSessions(server, Math.max(1, Math.ceil(concurrency / 50)));
  const clients = await Promise.all(Array.from({ length: concurrency }, () => LoadClient.open(server.url)));
  const latencies: number[] = [];
  let issued = 0;
  const meter = new CpuMeter(() => cpuSeconds(server.pid));
  const t0 = performance.now();
  // Each client joins, leaves (freeing the slot) and reconnects, until the total is reached.
  await Promise.all(
    clients.map(async (first, i) => {
      let client = first;
      const s = sessions[i % sessions.length]!;
      while (issued < total) {
        issued++;
        const start = performance.now();
        await client.request('session.join', { sessionId: s.sessionId, token: s.viewerToken, name: `load ${i}` });
        latencies.push(performance.now() - start);
        await client.request('session.leave', {});
        client.close();
        client = await LoadClient.open(server.url);
      }
      client.close();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { concurrency, joinsPerSecond: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpu: meter.cores() };
}

async function main(): Promise<void> {
  console.log(`bench:server — control plane in its own process on loopback (Node ${process.version}, ${(await import('node:os')).cpus().length} cores)`);
  // Viewer limit raised so the throughput rows are not capped by the P2P role limit.
  const server = await startServerProcess({ PAIRUX_VIEWER_LIMIT: '1000', PAIRUX_RECONNECT_GRACE_MS: '0' });
  try {
    const rows = [];
    await joinThroughput(server, 10, 300); // warm-up
    for (const c of CONCURRENCY) rows.push(await joinThroughput(server, c, JOINS_PER_ROW));
    printTable(
      `Join throughput (connect → session.join → session.leave, ${JOINS_PER_ROW} joins per row; join latency = request → response)`,
      ['concurrent clients', 'joins/s', 'join p50 ms', 'join p99 ms', 'server CPU (cores)'],
      rows.map((r) => [r.concurrency, r.joinsPerSecond, r.p50, r.p99, r.cpu]),
    );
  } finally {
    await server.stop();
  }

  const idle = await startServerProcess({ PAIRUX_RECONNECT_GRACE_MS: '30000' });
  const clients: LoadClient[] = [];
  try {
    global.gc?.();
    await new Promise((r) => setTimeout(r, 500));
    const rss0 = rssBytes(idle.pid);
    const sessionCount = Math.ceil(IDLE_PARTICIPANTS / 25);
    const sessions = await createSessions(idle, sessionCount);
    await new Promise((r) => setTimeout(r, 500));
    const rssSessions = rssBytes(idle.pid);
    const t0 = performance.now();
    for (let i = 0; i < IDLE_PARTICIPANTS; i += 200) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(200, IDLE_PARTICIPANTS - i) }, async (_, k) => {
          const c = await LoadClient.open(idle.url);
          const s = sessions[Math.floor((i + k) / 25)]!;
          await c.request('session.join', { sessionId: s.sessionId, token: s.viewerToken, name: `idle ${i + k}` });
          return c;
        }),
      );
      clients.push(...batch);
    }
    const joinSeconds = (performance.now() - t0) / 1000;
    // Heartbeats spread over the interval, as real clients send them.
    const timers = clients.map((c, i) => setTimeout(() => setInterval(() => c.heartbeat(), 10_000), (i * 10_000) / clients.length));
    await new Promise((r) => setTimeout(r, 2000));
    const meter = new CpuMeter(() => cpuSeconds(idle.pid));
    await new Promise((r) => setTimeout(r, IDLE_HOLD_MS));
    const idleCpu = meter.cores();
    const rssAll = rssBytes(idle.pid);
    const open = clients.filter((c) => c.ws.readyState === WebSocket.OPEN).length;
    const metrics = await (await fetch(`${idle.url}/metrics`)).text();
    const connected = Number(/pairux_participants\{role="viewer",connected="true"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    for (const t of timers) clearTimeout(t);
    printTable(
      `Idle capacity (${IDLE_PARTICIPANTS} viewers in ${sessionCount} sessions, heartbeat every 10 s, held ${IDLE_HOLD_MS / 1000} s)`,
      ['measure', 'value'],
      [
        ['participants still connected (server /metrics)', connected],
        ['sockets still open (client side)', open],
        ['time to join them all, s', joinSeconds],
        ['server CPU while idle (cores)', idleCpu],
        ['server RSS before sessions, MiB', rss0 / 2 ** 20],
        ['memory per empty session, KiB', (rssSessions - rss0) / sessionCount / 1024],
        ['memory per idle participant (socket + state), KiB', (rssAll - rssSessions) / IDLE_PARTICIPANTS / 1024],
        ['server RSS with everyone, MiB', rssAll / 2 ** 20],
      ],
    );
  } finally {
    for (const c of clients) c.close();
    await idle.stop();
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
