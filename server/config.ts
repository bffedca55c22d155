/**
 * Control-plane configuration: defaults for the embedded case (loopback, secrets generated per
 * run), validated once at start so a bad setting fails with a message instead of at first use.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { Region } from '../protocol/common';
import { describeIssues } from '../protocol/rpc';
import { DEFAULT_AUTO_SFU_AT, DEFAULT_LINK_TTL_SECONDS, DEFAULT_RECONNECT_GRACE_MS, MAX_LINK_TTL_SECONDS, ROLE_LIMITS } from '../protocol/limits';
import {
  DEFAULT_ROLE_TIERS,
  DEFAULT_TIERS,
  mergeRoleTiers,
  mergeTiers,
  RoleTiersOverrideSchema,
  TierTableOverrideSchema,
  tierOrderProblems,
} from '../protocol/tiers';

export const TurnConfig = z.object({
  /** e.g. ["turn:turn.example.com:3478?transport=udp"]. */
  urls: z.array(z.string().regex(/^turns?:/, 'TURN urls start with turn: or turns:')).min(1),
  /** coturn's `static-auth-secret` (TURN REST API, `use-auth-secret`). */
  secret: z.string().min(8),
  /** Lifetime of the credentials handed out; a client refreshes with `ice.servers`. */
  ttlSeconds: z.int().min(60).max(86_400).default(3600),
});

/**
 * A LiveKit server (the SFU of `sfu` sessions). Without it, `sfu` sessions are refused with the
 * settings to add. Limits are the scaling strategy's single-SFU soft limits.
 */
export const LiveKitConfig = z.object({
  /** How the control plane reaches LiveKit's API: ws(s):// or http(s)://, e.g. ws://127.0.0.1:7880. */
  url: z.string().regex(/^(wss?|https?):\/\/[^\s]+$/, 'LiveKit url starts with ws://, wss://, http:// or https://'),
  /** How participants reach it, when that differs (behind a proxy: wss://sfu.example.com). Default: `url`. */
  publicUrl: z
    .string()
    .regex(/^wss?:\/\/[^\s]+$/, 'LiveKit publicUrl starts with ws:// or wss://')
    .optional(),
  apiKey: z.string().min(1),
  /** Signs participant tokens and verifies LiveKit's webhooks. */
  apiSecret: z.string().min(1),
  /** Rooms (= SFU sessions) the node may hold; `canAcceptSession` refuses a new SFU session at this count. */
  maxConcurrentRooms: z.int().min(1).default(50),
  /** Viewers per SFU session. */
  viewerLimit: z.int().min(1).max(10_000).default(100),
  /**
   * Lifetime of a LiveKit token. Only connecting needs it (LiveKit refreshes it for connected
   * clients, and `sfu.access` hands out a fresh one), so it is short: a guest removed from the
   * session cannot come back into the SFU with an old token for long.
   */
  tokenTtlSeconds: z.int().min(60).max(86_400).default(900),
  /** How long a call to LiveKit's API may take before LiveKit counts as unreachable. */
  requestTimeoutMs: z.int().min(100).max(60_000).default(5000),
});
export type LiveKitConfig = z.infer<typeof LiveKitConfig>;

/** Deployment ids and regions: the protocol's region names (hints are checked by the same rule). */
const PoolId = Region;

/** What a deployment's load is the highest of (see `deploymentLoad` in server/sfu/pool.ts). */
export const LoadSignal = z.enum(['cpu', 'clients', 'rooms']);
export type LoadSignal = z.infer<typeof LoadSignal>;

/**
 * One SFU deployment of a regional pool: a LiveKit server, or a LiveKit cluster in its own
 * multi-node mode (nodes sharing a Redis; LiveKit's node selector places rooms inside it). The
 * session focus picks the region, then the healthy deployment under the load limit with the
 * least load, read from the deployment's real statistics.
 */
export const SfuDeploymentConfig = LiveKitConfig.extend({
  id: PoolId,
  region: PoolId,
  /** Participants the deployment carries at 100 % load (load is the highest of CPU, participants and rooms). */
  maxParticipants: z.int().min(1).default(1000),
  /**
   * The Redis of the deployment's LiveKit cluster (LiveKit's `redis.address` and `db`, e.g.
   * redis://127.0.0.1:6379/1): its node statistics (CPU load, rooms, clients) are read there.
   * Without it, load comes from LiveKit's API (rooms and participants, no CPU).
   */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'redisUrl starts with redis:// or rediss://')
    .optional(),
  /**
   * A lone server's Prometheus endpoint (LiveKit's `prometheus.port`), e.g.
   * http://10.0.0.5:6789/metrics (user:password@ when it sets `prometheus.username`): its CPU
   * (the LiveKit process's share of its CPUs) and its rooms and participants at this moment come
   * from there. Without it (and without `redisUrl`), load is the API's rooms and participants
   * (up to 5 s late), no CPU.
   */
  metricsUrl: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'metricsUrl starts with http:// or https://')
    .optional(),
  /**
   * Which statistics make up the load. Leave out `cpu` where the CPU figure is not the SFU's
   * (a node sharing its machine with other busy work reports the whole machine's CPU).
   */
  loadSignals: z.array(LoadSignal).min(1).default(['cpu', 'clients', 'rooms']),
});
export type SfuDeploymentConfig = z.infer<typeof SfuDeploymentConfig>;

export const SfuPoolsConfig = z
  .object({
    deployments: z.array(SfuDeploymentConfig).min(1),
    /**
     * Where participants without a region hint (or with one no pool serves) go. May be left out
     * when all deployments are in one region.
     */
    defaultRegion: PoolId.optional(),
    /** A deployment at or above this load (%) takes no new sessions (the strategy's 80). */
    loadLimitPercent: z.number().min(1).max(100).default(80),
    /** How often each deployment's health and load are read. */
    checkIntervalMs: z.int().min(100).max(60_000).default(500),
    /** How long LiveKit may take to answer a health check (capped by the deployment's requestTimeoutMs). */
    checkTimeoutMs: z.int().min(50).max(60_000).default(1000),
    /** Consecutive failed health checks before a deployment counts as down and its sessions move. */
    failuresToDown: z.int().min(1).max(20).default(2),
  })
  .superRefine((pools, ctx) => {
    const seen = new Map<string, number>();
    const urls = new Map<string, string>();
    pools.deployments.forEach((d, i) => {
      if (seen.has(d.id))
        ctx.addIssue({
          code: 'custom',
          path: ['deployments', i, 'id'],
          message: `deployment id ${d.id} is used twice (deployments ${seen.get(d.id)} and ${i}); ids must be unique`,
        });
      else seen.set(d.id, i);
      const url = d.url.replace(/\/+$/, '');
      const other = urls.get(url);
      if (other !== undefined && other !== d.id)
        ctx.addIssue({
          code: 'custom',
          path: ['deployments', i, 'url'],
          message: `deployments ${other} and ${d.id} have the same url ${d.url}; one LiveKit deployment is one entry`,
        });
      else urls.set(url, d.id);
    });
    const regions = [...new Set(pools.deployments.map((d) => d.region))];
    if (pools.defaultRegion === undefined) {
      if (regions.length > 1)
        ctx.addIssue({ code: 'custom', path: ['defaultRegion'], message: `set the default region: the deployments are in ${regions.join(', ')}` });
    } else if (!regions.includes(pools.defaultRegion)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultRegion'],
        message: `no deployment is in the default region ${pools.defaultRegion} (the deployments are in ${regions.join(', ')})`,
      });
    }
  })
  .transform((pools) => ({ ...pools, defaultRegion: pools.defaultRegion ?? (pools.deployments[0] as SfuDeploymentConfig).region }));
export type SfuPoolsConfig = z.infer<typeof SfuPoolsConfig>;

/** The deployment a single configured LiveKit server (`livekit`) is, and its region. */
export const DEFAULT_DEPLOYMENT = 'default';

/**
 * The pools the SFU side runs on: `sfuPools`, or `livekit` as one deployment `default` in region
 * `default`. That lone LiveKit keeps its old meaning: sessions up to `maxConcurrentRooms`, no
 * more and no fewer (its load is its rooms, limit 100 %): the 80 % headroom is for spreading
 * sessions over several deployments, and it has none to spread them to.
 */
export function sfuPoolsOf(config: Pick<ServerConfig, 'livekit' | 'sfuPools'>): SfuPoolsConfig | undefined {
  if (config.sfuPools) return config.sfuPools;
  if (!config.livekit) return undefined;
  return SfuPoolsConfig.parse({
    deployments: [{ ...config.livekit, id: DEFAULT_DEPLOYMENT, region: DEFAULT_DEPLOYMENT, loadSignals: ['rooms'] }],
    loadLimitPercent: 100,
  });
}

/** Several control-plane instances sharing room state and signaling through Redis. */
export const RedisConfig = z.object({
  /** With `sentinels`, only its password, database and TLS (rediss://) count: the primary's address comes from them. */
  url: z.string().regex(/^rediss?:\/\/[^\s]*$/, 'the Redis url starts with redis:// or rediss://'),
  /** Prefix of every key and channel, so several PairUX deployments can share one Redis. */
  keyPrefix: z.string().max(64).default('pairux:'),
  /**
   * Redis Sentinel: where the sentinels listen; they name the current primary of `sentinelName`,
   * and the instances follow it when a replica is promoted.
   */
  sentinels: z
    .array(z.object({ host: z.string().min(1).max(253), port: z.int().min(1).max(65535) }))
    .min(1)
    .max(16)
    .optional(),
  /** The primary's name the sentinels monitor (their `sentinel monitor <name> …`). */
  sentinelName: z.string().min(1).max(128).default('mymaster'),
});
export type RedisConfig = z.infer<typeof RedisConfig>;

/** The session focus: the server-side brain that decides where a session's media flows. */
export const FocusConfig = z.object({
  /** An `auto` session moves to the SFU when it reaches this many participants, host included. */
  autoSfuAt: z.int().min(2).max(1000).default(DEFAULT_AUTO_SFU_AT),
  /** How long one move (opening the room, everyone reaching it) may take before another instance may retry it. */
  moveTimeoutMs: z.int().min(1000).max(120_000).default(15_000),
  /** After a failed move (no SFU could take the session), the wait before the next try. */
  retryAfterMs: z.int().min(0).max(600_000).default(30_000),
  /**
   * Cascaded SFUs (issue 17): a viewer whose link names a region with a deployment of its own
   * watches there, fed by a cascade bridge from the host's SFU; false keeps every viewer on the
   * host's (PAIRUX_CASCADE=0).
   */
  cascade: z.boolean().default(true),
  /** The cascade bridge binary (PAIRUX_CASCADE_BRIDGE); default the one `scripts/cascade-bridge.mjs` built from `cascade/`. */
  cascadeBridge: z.string().min(1).max(4096).optional(),
});

/**
 * The deployment's quality tiers (issue 16): the defaults with what the deployment changes laid
 * over them. Its `high` tier is also the most any session may ask for (sessions are clamped to it).
 */
export const TiersConfig = TierTableOverrideSchema.default({})
  .transform((override) => mergeTiers(DEFAULT_TIERS, override))
  .superRefine((table, ctx) => {
    for (const message of tierOrderProblems(table)) ctx.addIssue({ code: 'custom', message });
  });

/** Which tier each role gets unless a session or its host says otherwise; the defaults where left out. */
export const RoleTiersConfig = RoleTiersOverrideSchema.default({}).transform((override) => mergeRoleTiers(DEFAULT_ROLE_TIERS, override));

export const ServerConfig = z.object({
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z.int().min(0).max(65_535).default(0),
  /** Origin put in share links; defaults to http://host:port once listening. */
  publicUrl: z.url().optional(),
  /**
   * Serve HTTPS and WSS with this PEM certificate (chain) and key; both files are read again
   * when they change (renewals need no restart). Without it, plain HTTP: fine on loopback or
   * behind a reverse proxy that terminates TLS.
   */
  tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  /** HS256 key for join tokens; random per run when omitted (links die with the process). */
  tokenSecret: z.string().min(32).optional(),
  /** Bearer key required to create sessions. Mandatory when listening beyond loopback or with a public URL that is not loopback. */
  hostKey: z.string().min(16).optional(),
  reconnectGraceMs: z
    .int()
    .min(0)
    .max(10 * 60_000)
    .default(DEFAULT_RECONNECT_GRACE_MS),
  heartbeatIntervalMs: z.int().min(100).max(60_000).default(10_000),
  /** Connections that have not joined by then are closed. */
  joinTimeoutMs: z.int().min(100).default(10_000),
  /** A session whose host never connects is dropped after this. */
  hostJoinTimeoutMs: z
    .int()
    .min(1000)
    .default(10 * 60_000),
  /** Ended sessions are remembered this long so late joiners hear "ended", not "not found". */
  endedSessionTtlMs: z
    .int()
    .min(0)
    .default(60 * 60_000),
  defaultLinkTtlSeconds: z.int().min(60).max(MAX_LINK_TTL_SECONDS).default(DEFAULT_LINK_TTL_SECONDS),
  viewerLimitP2p: z.int().min(1).max(1000).default(ROLE_LIMITS.p2p.viewer),
  controllerLimit: z.int().min(0).max(50).default(ROLE_LIMITS.p2p.controller),
  maxSessions: z.int().min(1).default(10_000),
  /** Whether controllers may ask for control at all (the host can still grant directly). */
  controlRequests: z.boolean().default(true),
  /**
   * Who waits in the lobby until the host lets them in: those who open a controller link
   * (`controllers`), every guest (`everyone`), or nobody (`off`). A host can still turn it on for
   * everyone in its own session (`lobby.setMode`).
   */
  lobby: z.enum(['controllers', 'everyone', 'off']).default('controllers'),
  /** A knock not answered by then is a no. */
  lobbyTimeoutMs: z
    .int()
    .min(1000)
    .max(15 * 60_000)
    .default(2 * 60_000),
  /** Guests waiting at once in one session (per instance). */
  lobbyMaxWaiting: z.int().min(1).max(1000).default(20),
  /** Guests waiting at once from one client address (per instance, all sessions). */
  lobbyMaxPerAddress: z.int().min(1).max(1000).default(5),
  /** Messages per second per connection (token bucket, burst twice this). */
  messageRatePerSecond: z.int().min(1).default(200),
  /** Browser origins allowed to open the WebSocket besides the server's own and VS Code webviews. */
  allowedOrigins: z.array(z.string()).default([]),
  /**
   * Host names (or host:port) the server answers to besides IP addresses, localhost, this
   * machine's name and the public URL's host. Any other `Host` is refused: a DNS-rebinding page
   * reaches a loopback server under its own name.
   */
  allowedHosts: z.array(z.string().min(1).max(255)).max(64).default([]),
  /**
   * Behind a reverse proxy: take the client's address from the last `X-Forwarded-For` entry
   * (the one the proxy added), so the per-address caps count clients, not the proxy.
   */
  trustProxy: z.boolean().default(false),
  /** Sockets that have not joined yet, all addresses together; more are refused with 503. */
  maxUnjoinedSockets: z.int().min(1).max(1_000_000).default(1000),
  /** Sockets that have not joined yet from one address; more are refused with 429. */
  maxUnjoinedSocketsPerIp: z.int().min(1).max(100_000).default(20),
  /** Time for a client to send a request's headers (slow-headers attacks). */
  headersTimeoutMs: z.int().min(100).max(300_000).default(10_000),
  /** Time for a client to send a whole request, body included. */
  requestTimeoutMs: z.int().min(100).max(600_000).default(30_000),
  /** Time for a request body to arrive once its headers have (a trickled body is cut). */
  bodyTimeoutMs: z.int().min(100).max(600_000).default(10_000),
  /** Sessions one client address may create per minute (`POST /api/sessions`) after a burst of twice that; 0 turns the limit off. */
  sessionCreatesPerMinute: z.int().min(0).max(100_000).default(10),
  /** Bearer token that opens `/metrics` to non-loopback clients; without it `/metrics` is loopback-only. */
  metricsToken: z.string().min(16).optional(),
  /** How long a socket the server closed may take to finish the closing handshake before it is cut. */
  closeGraceMs: z.int().min(10).max(30_000).default(1000),
  turn: TurnConfig.optional(),
  /** A single LiveKit server: shorthand for `sfuPools` with one deployment `default` in region `default`. */
  livekit: LiveKitConfig.optional(),
  /** Regional pools of SFU deployments; takes the place of `livekit`. */
  sfuPools: SfuPoolsConfig.optional(),
  focus: FocusConfig.default(FocusConfig.parse({})),
  /** Quality tiers: bitrate, frame rate, scaling and priority of `high`, `standard` and `low` (see TiersConfig). */
  tiers: TiersConfig,
  /** The tier of each role (host, controller, viewer) for sessions that do not choose their own. */
  roleTiers: RoleTiersConfig,
  /** Shared state and signaling for several instances; without it, state is in this process. */
  redis: RedisConfig.optional(),
  /** This instance's name among several (logs, Redis routing); random per run when omitted. */
  instanceId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional(),
  /** Where the built page bundles are: dist/webview, or for tests and benches only dist/test-pages (the pages with their test hooks). */
  webviewDist: z.string().optional(),
});
export type ServerConfigInput = z.input<typeof ServerConfig>;
export type ServerConfig = z.infer<typeof ServerConfig> & { tokenSecret: string; instanceId: string };

/**
 * Whether `host` (an address or a name, IPv6 with or without brackets) is this machine's
 * loopback: 127.0.0.0/8, ::1 (also as an IPv4-mapped address) or localhost. A name that merely
 * starts with `127.` is not: `127.0.0.1.example.com` resolves wherever its owner likes.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  if (h === 'localhost') return true;
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4) return isIP(v4.slice(1).join('.')) === 4 && v4[1] === '127';
  if (isIP(h) !== 6) return false;
  // The URL parser writes every spelling of an IPv6 address one way (0:0::1 → ::1, mapped IPv4 in hex).
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

export function resolveConfig(input: ServerConfigInput = {}): ServerConfig {
  const parsed = ServerConfig.safeParse(input);
  if (!parsed.success) throw new Error(`invalid server configuration: ${describeIssues(parsed.error)}`);
  const config = parsed.data;
  if (config.livekit && config.sfuPools) throw new Error('invalid server configuration: set either livekit or sfuPools, not both');
  if (config.redis && !config.tokenSecret) {
    throw new Error('invalid server configuration: instances sharing a Redis must share their token secret too (set PAIRUX_TOKEN_SECRET)');
  }
  if (!isLoopbackHost(config.host) && !config.hostKey) {
    throw new Error(
      `refusing to listen on ${config.host} without a host key: anyone who can reach it could create sessions. ` +
        'Set PAIRUX_HOST_KEY (16+ characters) or listen on 127.0.0.1.',
    );
  }
  // Behind a reverse proxy the bind address says nothing: the public URL says who can reach it.
  const publicHost = config.publicUrl === undefined ? undefined : new URL(config.publicUrl).hostname;
  if (publicHost !== undefined && !isLoopbackHost(publicHost) && !config.hostKey) {
    throw new Error(
      `refusing to serve ${config.publicUrl} without a host key: anyone who can reach it could create sessions. ` +
        'Set PAIRUX_HOST_KEY (16+ characters), or leave PAIRUX_PUBLIC_URL unset for a loopback-only server.',
    );
  }
  if (config.requestTimeoutMs < config.headersTimeoutMs) {
    throw new Error('invalid server configuration: requestTimeoutMs must be at least headersTimeoutMs (the whole request includes its headers)');
  }
  return {
    ...config,
    tokenSecret: config.tokenSecret ?? randomBytes(32).toString('base64url'),
    instanceId: config.instanceId ?? `i-${randomBytes(6).toString('base64url')}`,
  };
}

/** Reads PAIRUX_* environment variables; documented in server/README.md. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfigInput {
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  const input: ServerConfigInput = {
    host: env.PAIRUX_HOST || undefined,
    port: num(env.PAIRUX_PORT),
    publicUrl: env.PAIRUX_PUBLIC_URL || undefined,
    tokenSecret: env.PAIRUX_TOKEN_SECRET || undefined,
    hostKey: env.PAIRUX_HOST_KEY || undefined,
    reconnectGraceMs: num(env.PAIRUX_RECONNECT_GRACE_MS),
    viewerLimitP2p: num(env.PAIRUX_VIEWER_LIMIT),
    controlRequests: env.PAIRUX_CONTROL_REQUESTS === undefined ? undefined : env.PAIRUX_CONTROL_REQUESTS !== 'false',
    lobby: env.PAIRUX_LOBBY ? (env.PAIRUX_LOBBY as 'controllers' | 'everyone' | 'off') : undefined,
    lobbyTimeoutMs: num(env.PAIRUX_LOBBY_TIMEOUT_MS),
    allowedOrigins: env.PAIRUX_ALLOWED_ORIGINS ? env.PAIRUX_ALLOWED_ORIGINS.split(',').map((s) => s.trim()) : undefined,
    allowedHosts: env.PAIRUX_ALLOWED_HOSTS
      ? env.PAIRUX_ALLOWED_HOSTS.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    trustProxy: env.PAIRUX_TRUST_PROXY === undefined ? undefined : env.PAIRUX_TRUST_PROXY === 'true',
    maxUnjoinedSockets: num(env.PAIRUX_MAX_UNJOINED_SOCKETS),
    maxUnjoinedSocketsPerIp: num(env.PAIRUX_MAX_UNJOINED_SOCKETS_PER_IP),
    headersTimeoutMs: num(env.PAIRUX_HEADERS_TIMEOUT_MS),
    requestTimeoutMs: num(env.PAIRUX_REQUEST_TIMEOUT_MS),
    bodyTimeoutMs: num(env.PAIRUX_BODY_TIMEOUT_MS),
    sessionCreatesPerMinute: num(env.PAIRUX_SESSION_CREATES_PER_MINUTE),
    metricsToken: env.PAIRUX_METRICS_TOKEN || undefined,
  };
  if (env.PAIRUX_TLS_CERT || env.PAIRUX_TLS_KEY) {
    if (!env.PAIRUX_TLS_CERT || !env.PAIRUX_TLS_KEY) {
      throw new Error(
        `TLS is half configured: set ${env.PAIRUX_TLS_CERT ? 'PAIRUX_TLS_KEY' : 'PAIRUX_TLS_CERT'} too (or unset the other to serve plain HTTP).`,
      );
    }
    input.tls = { certFile: env.PAIRUX_TLS_CERT, keyFile: env.PAIRUX_TLS_KEY };
  }
  if (env.PAIRUX_TURN_URLS && env.PAIRUX_TURN_SECRET) {
    input.turn = {
      urls: env.PAIRUX_TURN_URLS.split(',').map((s) => s.trim()),
      secret: env.PAIRUX_TURN_SECRET,
      ttlSeconds: num(env.PAIRUX_TURN_TTL_SECONDS),
    };
  }
  const livekit = liveKitFromEnv(env, num);
  if (livekit) input.livekit = livekit;
  if (env.PAIRUX_SFU_POOLS) input.sfuPools = jsonSetting('PAIRUX_SFU_POOLS', env.PAIRUX_SFU_POOLS) as ServerConfigInput['sfuPools'];
  if (env.PAIRUX_TIERS) input.tiers = jsonSetting('PAIRUX_TIERS', env.PAIRUX_TIERS) as ServerConfigInput['tiers'];
  if (env.PAIRUX_ROLE_TIERS) input.roleTiers = jsonSetting('PAIRUX_ROLE_TIERS', env.PAIRUX_ROLE_TIERS) as ServerConfigInput['roleTiers'];
  if (env.PAIRUX_REDIS_URL || env.PAIRUX_REDIS_SENTINELS) {
    input.redis = { url: env.PAIRUX_REDIS_URL || 'redis://', keyPrefix: env.PAIRUX_REDIS_PREFIX || undefined };
    if (env.PAIRUX_REDIS_SENTINELS) input.redis.sentinels = sentinelsFromEnv(env.PAIRUX_REDIS_SENTINELS);
    if (env.PAIRUX_REDIS_SENTINEL_NAME) input.redis.sentinelName = env.PAIRUX_REDIS_SENTINEL_NAME;
  }
  if (env.PAIRUX_INSTANCE_ID) input.instanceId = env.PAIRUX_INSTANCE_ID;
  if (env.PAIRUX_AUTO_SFU_AT) input.focus = { autoSfuAt: num(env.PAIRUX_AUTO_SFU_AT) };
  if (env.PAIRUX_CASCADE) input.focus = { ...input.focus, cascade: env.PAIRUX_CASCADE !== '0' && env.PAIRUX_CASCADE !== 'false' };
  if (env.PAIRUX_CASCADE_BRIDGE) input.focus = { ...input.focus, cascadeBridge: env.PAIRUX_CASCADE_BRIDGE };
  if (env.PAIRUX_PAGES_DIR) input.webviewDist = env.PAIRUX_PAGES_DIR;
  return input;
}

/** A setting given as JSON, or as `@/path/to/file.json` (PAIRUX_SFU_POOLS, PAIRUX_TIERS, PAIRUX_ROLE_TIERS); the schema checks it after. */
function jsonSetting(name: string, value: string): unknown {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new Error(`${name} names ${value.slice(1)}, which cannot be read: ${(err as Error).message}`, { cause: err });
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

const LIVEKIT_REQUIRED = ['PAIRUX_LIVEKIT_URL', 'PAIRUX_LIVEKIT_API_KEY', 'PAIRUX_LIVEKIT_API_SECRET'] as const;

/** None of the three set: no SFU. Some set: a mistake worth failing at start for, naming what is missing. */
function liveKitFromEnv(env: NodeJS.ProcessEnv, num: (v: string | undefined) => number | undefined): ServerConfigInput['livekit'] {
  const missing = LIVEKIT_REQUIRED.filter((name) => !env[name]);
  if (missing.length === LIVEKIT_REQUIRED.length) return undefined;
  if (missing.length) throw new Error(`LiveKit is half configured: set ${missing.join(' and ')} too (or unset the others to run without SFU mode).`);
  return {
    url: env.PAIRUX_LIVEKIT_URL as string,
    publicUrl: env.PAIRUX_LIVEKIT_PUBLIC_URL || undefined,
    apiKey: env.PAIRUX_LIVEKIT_API_KEY as string,
    apiSecret: env.PAIRUX_LIVEKIT_API_SECRET as string,
    maxConcurrentRooms: num(env.PAIRUX_LIVEKIT_MAX_ROOMS),
    viewerLimit: num(env.PAIRUX_SFU_VIEWER_LIMIT),
    tokenTtlSeconds: num(env.PAIRUX_LIVEKIT_TOKEN_TTL_SECONDS),
  };
}

/** `host:port,host:port` (PAIRUX_REDIS_SENTINELS); a bad entry is named. */
function sentinelsFromEnv(value: string): Array<{ host: string; port: number }> {
  return value.split(',').map((raw) => {
    const entry = raw.trim();
    const m = /^(.+):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw new Error(`invalid server configuration: PAIRUX_REDIS_SENTINELS has ${JSON.stringify(entry)}, not host:port`);
    return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  });
}
