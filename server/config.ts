/**
 * Control-plane configuration: defaults for the embedded case (loopback, secrets generated per
 * run), validated once at start so a bad setting fails with a message instead of at first use.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { describeIssues } from '../protocol/rpc';
import { DEFAULT_LINK_TTL_SECONDS, DEFAULT_RECONNECT_GRACE_MS, MAX_LINK_TTL_SECONDS, ROLE_LIMITS } from '../protocol/limits';

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
  publicUrl: z.string().regex(/^wss?:\/\/[^\s]+$/, 'LiveKit publicUrl starts with ws:// or wss://').optional(),
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

export const ServerConfig = z.object({
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z.int().min(0).max(65_535).default(0),
  /** Origin put in share links; defaults to http://host:port once listening. */
  publicUrl: z.url().optional(),
  /** HS256 key for join tokens; random per run when omitted (links die with the process). */
  tokenSecret: z.string().min(32).optional(),
  /** Bearer key required to create sessions. Mandatory when listening beyond loopback. */
  hostKey: z.string().min(16).optional(),
  reconnectGraceMs: z.int().min(0).max(10 * 60_000).default(DEFAULT_RECONNECT_GRACE_MS),
  heartbeatIntervalMs: z.int().min(100).max(60_000).default(10_000),
  /** Connections that have not joined by then are closed. */
  joinTimeoutMs: z.int().min(100).default(10_000),
  /** A session whose host never connects is dropped after this. */
  hostJoinTimeoutMs: z.int().min(1000).default(10 * 60_000),
  /** Ended sessions are remembered this long so late joiners hear "ended", not "not found". */
  endedSessionTtlMs: z.int().min(0).default(60 * 60_000),
  defaultLinkTtlSeconds: z.int().min(60).max(MAX_LINK_TTL_SECONDS).default(DEFAULT_LINK_TTL_SECONDS),
  viewerLimitP2p: z.int().min(1).max(1000).default(ROLE_LIMITS.p2p.viewer),
  controllerLimit: z.int().min(0).max(50).default(ROLE_LIMITS.p2p.controller),
  maxSessions: z.int().min(1).default(10_000),
  /** Whether controllers may ask for control at all (the host can still grant directly). */
  controlRequests: z.boolean().default(true),
  /** Messages per second per connection (token bucket, burst twice this). */
  messageRatePerSecond: z.int().min(1).default(200),
  /** Browser origins allowed to open the WebSocket besides the server's own and VS Code webviews. */
  allowedOrigins: z.array(z.string()).default([]),
  turn: TurnConfig.optional(),
  livekit: LiveKitConfig.optional(),
  /** Where the built page bundles are (dist/webview). */
  webviewDist: z.string().optional(),
});
export type ServerConfigInput = z.input<typeof ServerConfig>;
export type ServerConfig = z.infer<typeof ServerConfig> & { tokenSecret: string };

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

export function resolveConfig(input: ServerConfigInput = {}): ServerConfig {
  const parsed = ServerConfig.safeParse(input);
  if (!parsed.success) throw new Error(`invalid server configuration: ${describeIssues(parsed.error)}`);
  const config = parsed.data;
  if (!isLoopbackHost(config.host) && !config.hostKey) {
    throw new Error(
      `refusing to listen on ${config.host} without a host key: anyone who can reach it could create sessions. ` +
        'Set PAIRUX_HOST_KEY (16+ characters) or listen on 127.0.0.1.',
    );
  }
  return { ...config, tokenSecret: config.tokenSecret ?? randomBytes(32).toString('base64url') };
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
    allowedOrigins: env.PAIRUX_ALLOWED_ORIGINS ? env.PAIRUX_ALLOWED_ORIGINS.split(',').map((s) => s.trim()) : undefined,
  };
  if (env.PAIRUX_TURN_URLS && env.PAIRUX_TURN_SECRET) {
    input.turn = {
      urls: env.PAIRUX_TURN_URLS.split(',').map((s) => s.trim()),
      secret: env.PAIRUX_TURN_SECRET,
      ttlSeconds: num(env.PAIRUX_TURN_TTL_SECONDS),
    };
  }
  const livekit = liveKitFromEnv(env, num);
  if (livekit) input.livekit = livekit;
  return input;
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
