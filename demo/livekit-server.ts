/**
 * Runs the real LiveKit server (built by scripts/livekit.mjs) on loopback for the demo's `--mode
 * sfu`, the tests and the benches: a config generated per run on free ports, API key and secret
 * generated per run (never written anywhere but a private temp dir), its own process group so
 * nothing outlives `stop()` or the parent process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureLiveKit, liveKitBinary } from '../scripts/livekit.mjs';

export interface LocalLiveKitOptions {
  /** Where LiveKit POSTs its signed webhooks (the control plane's /livekit/webhook). */
  webhookUrl?: string;
  /** LiveKit's log level: debug, info (default), warn, error. */
  logLevel?: string;
  /** Receives each line LiveKit logs (default: kept only for error messages). */
  log?: (line: string) => void;
  /** A LiveKit server binary; default: the pinned build, built first when missing. */
  binary?: string;
  /** How long to wait for it to answer (default 30 s: it is slow to start on a loaded machine). */
  startTimeoutMs?: number;
  /**
   * LiveKit's multi-node mode: nodes given the same Redis (and the same `keys`) form one cluster,
   * share their rooms and signal for each other, and each writes its statistics into the Redis
   * hash `nodes`. Absent: a single node with its state in memory.
   */
  redis?: { address: string; db?: number; username?: string; password?: string };
  /** API key and secret; default generated per run. Nodes of one cluster must share them. */
  keys?: { apiKey: string; apiSecret: string };
  /** LiveKit's `region` of this node (what its `regionaware` node selector compares). */
  region?: string;
  /** Where a cluster places new rooms (LiveKit's `node_selector`); LiveKit's default is `any`, random. */
  nodeSelector?: LiveKitNodeSelector;
  /** Fixed ports, e.g. to start a node again where it was (its URL unchanged); default free ones. */
  ports?: Partial<LocalLiveKit['ports']>;
  /** How often the node refreshes its statistics (LiveKit's default: 2 s); multi-node mode publishes them in Redis. */
  statsUpdateIntervalMs?: number;
  /**
   * Least time between two keyframe requests LiveKit passes to the host for one layer (its
   * `rtc.pli_throttle`). LiveKit's own default (0.5–1 s) can leave a guest who subscribes just
   * after another one black for a second, which a failover (everyone resubscribing at once) makes
   * likely; screens are mostly still, so the occasional extra keyframe is cheap. Default 300 ms.
   */
  pliThrottleMs?: number;
  /** Serve LiveKit's Prometheus metrics (its `prometheus_port`) on a port of their own: `metricsUrl`. */
  metrics?: boolean;
  /**
   * The playout delay LiveKit asks subscribers for (its `room.playout_delay`, the playout-delay
   * RTP header extension), ms. Default { min: 0, max: 0 }: Chromium then shows each frame as soon
   * as it is decoded instead of holding it to smooth the frame rate (a shared screen is about the
   * newest picture); null leaves LiveKit's default (no extension: the receiver decides).
   */
  playoutDelayMs?: { min: number; max: number } | null;
  /**
   * Run it as a node of another machine (a test's network namespace): it listens on `address` and
   * that machine's loopback, advertises `address` as its media address, and is started through
   * `argv` (e.g. `ip netns exec …`). Default: this machine's loopback only.
   */
  node?: { address: string; argv: (command: string, ...args: string[]) => [string, string[]] };
}

/** LiveKit's `node_selector` (config-sample.yaml); only what is set is written. */
export interface LiveKitNodeSelector {
  kind?: 'any' | 'cpuload' | 'sysload' | 'regionaware';
  sortBy?: 'random' | 'sysload' | 'cpuload' | 'rooms' | 'clients' | 'tracks' | 'bytespersec';
  algorithm?: 'lowest' | 'twochoice';
  /** cpuload: no new rooms on a node whose CPU load (0-1) is above this. */
  cpuLoadLimit?: number;
  /** sysload, regionaware: no new rooms on a node whose load average per CPU is above this. */
  sysloadLimit?: number;
  regions?: Array<{ name: string; lat: number; lon: number }>;
}

export interface LocalLiveKit {
  /** ws://127.0.0.1:PORT: what clients and the control plane's settings use. */
  url: string;
  apiKey: string;
  apiSecret: string;
  /** Ports it listens on: signal (HTTP + WebSocket), ICE over TCP, ICE over UDP, and Prometheus when asked for. */
  ports: { signal: number; rtcTcp: number; rtcUdp: number; metrics?: number };
  /** http://127.0.0.1:PORT/metrics when started with `metrics`. */
  metricsUrl?: string;
  pid: number;
  /** Settles when the process has exited, however it ended. */
  exited: Promise<void>;
  /** SIGTERM, then a second (LiveKit forces its shutdown on the second), then SIGKILL. */
  stop(): Promise<void>;
}

/** Builds the pinned LiveKit server if needed and returns its path; the demo calls it for `--mode sfu`. */
export function ensureLiveKitServer(log?: (msg: string) => void): string {
  return ensureLiveKit(log ? { log } : {});
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that crashes or forgets stop() must not leave a LiveKit behind holding ports.
  process.on('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createTcpServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

interface YamlInput extends Pick<
  LocalLiveKitOptions,
  'webhookUrl' | 'redis' | 'region' | 'nodeSelector' | 'statsUpdateIntervalMs' | 'pliThrottleMs' | 'playoutDelayMs'
> {
  /** The media address it advertises (and listens on besides loopback); absent: loopback only. */
  address: string | undefined;
  port: number;
  rtcTcp: number;
  rtcUdp: number;
  metricsPort: number | undefined;
  apiKey: string;
  apiSecret: string;
  logLevel: string;
}

/** A YAML scalar: JSON's string quoting is valid YAML, and keeps a password's `:` or `#` literal. */
const scalar = (v: string | number) => (typeof v === 'number' ? String(v) : JSON.stringify(v));

/** The config, in LiveKit's YAML (keys as in its config-sample.yaml). */
function configYaml(o: YamlInput): string {
  const lines = [
    `port: ${o.port}`,
    'bind_addresses:',
    '  - 127.0.0.1',
    ...(o.address ? [`  - ${o.address}`] : []),
    'rtc:',
    `  tcp_port: ${o.rtcTcp}`,
    `  udp_port: ${o.rtcUdp}`,
    // No STUN discovery: nothing leaves the machines a test made, and the node advertises its address.
    '  use_external_ip: false',
    `  node_ip: ${o.address ?? '127.0.0.1'}`,
    // LiveKit leaves loopback out of its candidates unless told; the UDP mux binds loopback only.
    ...(o.address ? [] : ['  enable_loopback_candidate: true']),
    '  pli_throttle:',
    ...['low_quality', 'mid_quality', 'high_quality'].map((q) => `    ${q}: ${Math.round(o.pliThrottleMs ?? 300)}ms`),
    '  ips:',
    '    includes:',
    `      - ${o.address ?? '127.0.0.1'}/32`,
    'keys:',
    `  ${o.apiKey}: ${o.apiSecret}`,
    'logging:',
    `  level: ${o.logLevel}`,
    '  pion_level: error',
    'room:',
    // Rooms exist only because the control plane created them for a live session: a token for a
    // room it deleted (session ended) cannot bring the room back.
    '  auto_create: false',
    '  empty_timeout: 300',
    '  departure_timeout: 20',
  ];
  if (o.playoutDelayMs)
    lines.push('  playout_delay:', '    enabled: true', `    min: ${Math.round(o.playoutDelayMs.min)}`, `    max: ${Math.round(o.playoutDelayMs.max)}`);
  if (o.webhookUrl) {
    lines.push('webhook:', `  api_key: ${o.apiKey}`, '  urls:', `    - ${o.webhookUrl}`);
  }
  if (o.redis) {
    lines.push('redis:', `  address: ${scalar(o.redis.address)}`, `  db: ${o.redis.db ?? 0}`);
    if (o.redis.username) lines.push(`  username: ${scalar(o.redis.username)}`);
    if (o.redis.password) lines.push(`  password: ${scalar(o.redis.password)}`);
  }
  if (o.region) lines.push(`region: ${scalar(o.region)}`);
  // On the bind addresses above, like the signal port.
  if (o.metricsPort) lines.push('prometheus:', `  port: ${o.metricsPort}`);
  if (o.nodeSelector) lines.push(...nodeSelectorYaml(o.nodeSelector));
  if (o.statsUpdateIntervalMs) lines.push('node_stats:', `  stats_update_interval: ${Math.round(o.statsUpdateIntervalMs)}ms`);
  return `${lines.join('\n')}\n`;
}

function nodeSelectorYaml(n: LiveKitNodeSelector): string[] {
  const lines = ['node_selector:'];
  if (n.kind) lines.push(`  kind: ${n.kind}`);
  if (n.sortBy) lines.push(`  sort_by: ${n.sortBy}`);
  if (n.algorithm) lines.push(`  algorithm: ${n.algorithm}`);
  if (n.cpuLoadLimit !== undefined) lines.push(`  cpu_load_limit: ${n.cpuLoadLimit}`);
  if (n.sysloadLimit !== undefined) lines.push(`  sysload_limit: ${n.sysloadLimit}`);
  if (n.regions?.length) {
    lines.push('  regions:');
    for (const r of n.regions) lines.push(`    - name: ${scalar(r.name)}`, `      lat: ${r.lat}`, `      lon: ${r.lon}`);
  }
  return lines;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startLocalLiveKit(options: LocalLiveKitOptions = {}): Promise<LocalLiveKit> {
  const binary = options.binary ?? ensureLiveKitServer();
  let lastError: Error | undefined;
  // Free ports are picked, released and then bound by LiveKit: another process may take one in
  // between, which shows as a failed start; a fresh set of ports fixes it.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, options);
    } catch (err) {
      lastError = err as Error;
      if (!/address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('LiveKit did not start');
}

async function startOnce(binary: string, options: LocalLiveKitOptions): Promise<LocalLiveKit> {
  const fixed = options.ports ?? {};
  const [port, rtcTcp, rtcUdp] = [fixed.signal ?? (await freeTcpPort()), fixed.rtcTcp ?? (await freeTcpPort()), fixed.rtcUdp ?? (await freeUdpPort())];
  const metricsPort = options.metrics ? (fixed.metrics ?? (await freeTcpPort())) : undefined;
  const apiKey = options.keys?.apiKey ?? `API${randomBytes(6).toString('hex')}`;
  const apiSecret = options.keys?.apiSecret ?? randomBytes(32).toString('base64url');
  const dir = mkdtempSync(path.join(tmpdir(), 'pairux-livekit-'));
  const configPath = path.join(dir, 'livekit.yaml');
  const { webhookUrl, redis, region, nodeSelector, statsUpdateIntervalMs, pliThrottleMs } = options;
  const config: YamlInput = {
    port,
    rtcTcp,
    rtcUdp,
    metricsPort,
    apiKey,
    apiSecret,
    logLevel: options.logLevel ?? 'info',
    webhookUrl,
    redis,
    region,
    nodeSelector,
    statsUpdateIntervalMs,
    pliThrottleMs,
    playoutDelayMs: options.playoutDelayMs === undefined ? { min: 0, max: 0 } : options.playoutDelayMs,
    address: options.node?.address,
  };
  writeFileSync(configPath, configYaml(config), { mode: 0o600 });

  const [command, argv] = options.node ? options.node.argv(binary, '--config', configPath) : [binary, ['--config', configPath]];
  const child = spawn(command, argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  installExitHook();
  running.add(child);
  const tail: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.log?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => {
    running.delete(child);
    rmSync(dir, { recursive: true, force: true });
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    // Not started at all (no such binary): no 'exit' comes to clean up.
    spawnError = err;
    if (child.pid === undefined) {
      running.delete(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child, 'SIGTERM');
      if (await Promise.race([exited.then(() => true), sleep(1500).then(() => false)])) return;
      // The first SIGTERM waits for participants to leave; the second forces the shutdown.
      killGroup(child, 'SIGTERM');
      if (await Promise.race([exited.then(() => true), sleep(4000).then(() => false)])) return;
      killGroup(child, 'SIGKILL');
      await exited;
    })());

  const host = options.node?.address ?? '127.0.0.1';
  const url = `ws://${host}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (spawnError) throw new Error(`could not start LiveKit (${binary}): ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`LiveKit exited during start (${child.exitCode ?? child.signalCode}):\n${tail.join('\n')}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`LiveKit did not answer on ${url} within ${options.startTimeoutMs ?? 30_000} ms:\n${tail.join('\n')}`);
    }
    try {
      // LiveKit answers its health check on the signal port's root once it serves.
      const res = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  return {
    url,
    apiKey,
    apiSecret,
    ports: { signal: port, rtcTcp, rtcUdp, ...(metricsPort ? { metrics: metricsPort } : {}) },
    ...(metricsPort ? { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` } : {}),
    pid: child.pid ?? 0,
    exited,
    stop,
  };
}

export { liveKitBinary };
