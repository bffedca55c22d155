/**
 * HTTP routes of the control plane: session creation for hosts, the browser viewer and host
 * pages with their bundles, health and Prometheus metrics. Every body is size-capped, read
 * within a deadline and validated; every error is JSON `{ error: { code, message } }` with a
 * fitting status. Requests for host names the server does not answer to are refused first.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, PairuxError } from '../protocol/errors';
import {
  CREATE_SESSION_PATH,
  CreateSessionRequest,
  MAX_HTTP_BODY_BYTES,
  MAX_HTTP_ERROR_DATA_CHARS,
  MAX_HTTP_ERROR_MESSAGE_CHARS,
  SESSION_PREVIEW_PATH,
  HOST_CHECK_PATH,
  type HostCheckResponse,
} from '../protocol/http-api';
import { describeIssues } from '../protocol/rpc';
import { AddressRateLimit, clientAddress, forwarded } from './client-address';
import { isLoopbackHost, type ServerConfig } from './config';
import type { HostAllowlist } from './host-allowlist';
import type { ServerMetrics } from './metrics';
import type { SessionService } from './session-service';
import type { StaticFiles } from './static-files';
import { LIVEKIT_WEBHOOK_PATH, MAX_WEBHOOK_BYTES } from './sfu/webhooks';
import type { BridgeSnapshot } from './cascade/bridge-supervisor';

const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  // Loopback http: the demo's host page reads its screen from the runner's frame stream (protocol/bridge-frame-stream.ts).
  "connect-src 'self' ws: wss: http://127.0.0.1:*",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self' data:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BadMessage]: 400,
  [ErrorCode.TooLarge]: 413,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.LimitReached]: 503,
  [ErrorCode.SessionNotFound]: 404,
  [ErrorCode.TokenInvalid]: 401,
  [ErrorCode.TokenExpired]: 401,
  [ErrorCode.SessionEnded]: 410,
  // The SFU is missing or unreachable: the client can retry, or start in P2P.
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Timeout]: 408,
};

export interface HttpDeps {
  service: SessionService;
  metrics: ServerMetrics;
  files: StaticFiles;
  hostKey?: string;
  startedAt: number;
  config: Pick<ServerConfig, 'trustProxy' | 'sessionCreatesPerMinute' | 'metricsToken' | 'bodyTimeoutMs' | 'livekit' | 'sfuPools' | 'turn'>;
  hosts: HostAllowlist;
}

interface Guards extends HttpDeps {
  creates: AddressRateLimit | undefined;
}

export function createRequestHandler(httpDeps: HttpDeps) {
  const perMinute = httpDeps.config.sessionCreatesPerMinute;
  const deps: Guards = { ...httpDeps, creates: perMinute > 0 ? new AddressRateLimit(perMinute, 60_000) : undefined };
  return (req: IncomingMessage, res: ServerResponse) => {
    route(deps, req, res).catch((err: unknown) => {
      const e = PairuxError.from(err);
      if (e.code === ErrorCode.Internal) console.error('[pairux-server] internal error', err);
      sendError(deps.metrics, res, e);
    });
  };
}

async function route(deps: Guards, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (!deps.hosts.hostAllowed(req.headers.host)) {
    deps.metrics.errors.inc({ code: ErrorCode.Forbidden });
    const message = 'this server does not answer to that host name (set PAIRUX_ALLOWED_HOSTS or PAIRUX_PUBLIC_URL to serve it)';
    return sendJson(res, 421, { error: { code: ErrorCode.Forbidden, message } });
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const p = url.pathname;

  if (p === CREATE_SESSION_PATH) {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    return createSession(deps, req, res);
  }
  if (p === LIVEKIT_WEBHOOK_PATH) {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    // Read raw: the signature covers the exact bytes LiveKit sent.
    const body = await readBody(req, MAX_WEBHOOK_BYTES, deps.config.bodyTimeoutMs);
    const { event } = await deps.service.sfu.webhook(body, req.headers.authorization);
    return sendJson(res, 200, { ok: true, event });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET');
  if (p === HOST_CHECK_PATH) {
    hostAllowedToCreate(deps, req, res);
    const answer: HostCheckResponse = { ok: true, sfu: Boolean(deps.config.livekit || deps.config.sfuPools), turn: Boolean(deps.config.turn) };
    return sendJson(res, 200, answer);
  }
  if (p === SESSION_PREVIEW_PATH) {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new PairuxError(ErrorCode.TokenInvalid, "send the share link's token as Authorization: Bearer <token>");
    return sendJson(res, 200, await deps.service.preview(token));
  }
  if (p === '/healthz') {
    // `sessions` counts every instance's (the shared store's); `sessionsHere` this one's. With the
    // store unreachable this instance still serves what it holds: still ok, and it says so.
    const sessionsHere = deps.service.localSessions.size;
    let stateStore = 'ok';
    // Not the store's own error text: it can name hosts, users and keys, and health is public.
    const sessions = await deps.service.countSessions().catch(() => {
      stateStore = 'unreachable';
      return undefined;
    });
    const sfu = deps.service.sfu.pool?.snapshot().map((d) => ({ id: d.id, region: d.region, health: d.health, load: d.load?.percent, accepting: d.accepting }));
    // Health is public: per far region how many bridges run and how they fare, no session ids.
    const cascade = cascadeHealth(deps.service.cascades.snapshot());
    return sendJson(res, 200, {
      ok: true,
      sessions: sessions ?? null,
      sessionsHere,
      stateStore,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      ...(sfu ? { sfu } : {}),
      ...(cascade.length ? { cascade } : {}),
    });
  }
  if (p === '/metrics') {
    requireMetricsAccess(deps, req);
    res.writeHead(200, { 'Content-Type': deps.metrics.contentType });
    res.end(await deps.metrics.text());
    return;
  }
  if (/^\/s\/[A-Za-z0-9_-]{1,64}\/?$/.test(p)) return sendPage(deps, res, 'viewer.html');
  if (p === '/host') return sendPage(deps, res, 'host.html');
  if (p === '/') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('PairUX control plane. Open a share link (…/s/<session>#t=…) to watch a session.\n');
    return;
  }
  if (p.startsWith('/dist/webview/')) {
    const file = await deps.files.get(p.slice('/dist/webview/'.length));
    if (file && !file.contentType.startsWith('text/html')) {
      res.writeHead(200, { 'Content-Type': file.contentType, 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : file.body);
      return;
    }
  }
  sendJson(res, 404, { error: { code: ErrorCode.BadMessage, message: `nothing at ${p.length > 200 ? `${p.slice(0, 200)}…` : p}` } });
}

/** Metrics name sessions and load: with a metrics token, the token; otherwise only this machine, not through a proxy. */
function requireMetricsAccess(deps: Guards, req: IncomingMessage): void {
  const { metricsToken, trustProxy } = deps.config;
  if (metricsToken !== undefined && bearerMatches(req.headers.authorization, metricsToken)) return;
  if (isLoopbackHost(clientAddress(req, trustProxy)) && !forwarded(req)) return;
  throw new PairuxError(
    ErrorCode.Unauthorized,
    metricsToken === undefined
      ? '/metrics is served to this machine only (set PAIRUX_METRICS_TOKEN to scrape it from elsewhere)'
      : 'send the metrics token as Authorization: Bearer <token>',
  );
}

async function sendPage(deps: HttpDeps, res: ServerResponse, name: string): Promise<void> {
  const file = await deps.files.get(name);
  if (!file) throw new PairuxError(ErrorCode.Internal, `${name} is missing from the build`);
  res.writeHead(200, {
    'Content-Type': file.contentType,
    'Content-Security-Policy': PAGE_CSP,
    'Cache-Control': 'no-store',
  });
  res.end(file.body);
}

/** The rate limit, then the host key: what creating a session (or checking the key) needs. */
function hostAllowedToCreate(deps: Guards, req: IncomingMessage, res: ServerResponse): void {
  // Before the key check too: the limit also slows guessing the key.
  const waitMs = deps.creates?.take(clientAddress(req, deps.config.trustProxy)) ?? 0;
  if (waitMs > 0) {
    const retryAfterSeconds = Math.ceil(waitMs / 1000);
    res.setHeader('Retry-After', String(retryAfterSeconds));
    throw new PairuxError(ErrorCode.RateLimited, `too many sessions created from your address; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
  if (deps.hostKey && !bearerMatches(req.headers.authorization, deps.hostKey)) {
    throw new PairuxError(ErrorCode.Unauthorized, 'creating a session needs the server host key (Authorization: Bearer <key>)');
  }
}

async function createSession(deps: Guards, req: IncomingMessage, res: ServerResponse): Promise<void> {
  hostAllowedToCreate(deps, req, res);
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) {
    throw new PairuxError(ErrorCode.BadMessage, 'send the request body as application/json');
  }
  const text = await readBody(req, MAX_HTTP_BODY_BYTES, deps.config.bodyTimeoutMs);
  let json: unknown;
  try {
    json = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new PairuxError(ErrorCode.BadMessage, 'the request body is not valid JSON');
  }
  const parsed = CreateSessionRequest.safeParse(json);
  if (!parsed.success) throw new PairuxError(ErrorCode.BadMessage, `bad session request: ${describeIssues(parsed.error)}`);
  const created = await deps.service.createSession(parsed.data);
  sendJson(res, 201, created);
}

function bearerMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m?.[1]) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The body, up to `limit` bytes, within `timeoutMs` of the headers (a body trickled a byte at a
 * time is cut). A client that hangs up midway is no error of ours: it rejects with CLOSED.
 */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new PairuxError(ErrorCode.TooLarge, `request body over ${limit} bytes`, { limit }));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: PairuxError | undefined, text?: string) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve(text ?? '');
    };
    const deadline = setTimeout(() => {
      finish(new PairuxError(ErrorCode.Timeout, `the request body did not arrive within ${Math.round(timeoutMs / 1000)} s`));
      req.unpipe();
      req.pause();
    }, timeoutMs);
    deadline.unref();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        finish(new PairuxError(ErrorCode.TooLarge, `request body over ${limit} bytes`, { limit }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish(undefined, Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => finish(new PairuxError(ErrorCode.Closed, 'the client closed the connection before sending the whole request')));
    req.on('close', () => {
      if (!req.complete) finish(new PairuxError(ErrorCode.Closed, 'the client closed the connection before sending the whole request'));
    });
  });
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendJson(res, 405, { error: { code: ErrorCode.BadMessage, message: `use ${allow}` } });
}

function sendError(metrics: ServerMetrics, res: ServerResponse, e: PairuxError): void {
  metrics.errors.inc({ code: e.code });
  if (res.headersSent || res.destroyed) {
    res.end();
    return;
  }
  // A client still sending a body it was told is too slow: answer, then hang up.
  if (e.code === ErrorCode.Timeout) res.setHeader('Connection', 'close');
  const body = e.toBody();
  if (body.message.length > MAX_HTTP_ERROR_MESSAGE_CHARS) body.message = `${body.message.slice(0, MAX_HTTP_ERROR_MESSAGE_CHARS - 1)}…`;
  // Clients refuse bigger error bodies (protocol/http-api.ts): keep the code and message readable.
  if (body.data !== undefined && JSON.stringify(body.data).length > MAX_HTTP_ERROR_DATA_CHARS) delete body.data;
  sendJson(res, STATUS[e.code] ?? 500, { error: body });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** /healthz's cascade part: per far region, its bridges (ready or not), their restarts, and the top layer's frames per second at the worst of them. */
function cascadeHealth(bridges: BridgeSnapshot[]): Array<{ region: string; bridges: number; ready: number; restarts: number; worstFps: number }> {
  const by = new Map<string, { region: string; bridges: number; ready: number; restarts: number; worstFps: number }>();
  for (const b of bridges) {
    const r = by.get(b.region) ?? { region: b.region, bridges: 0, ready: 0, restarts: 0, worstFps: Infinity };
    r.bridges++;
    if (b.state === 'ready') r.ready++;
    r.restarts += b.restarts;
    r.worstFps = Math.min(r.worstFps, Math.round((b.layers[0]?.fps ?? 0) * 10) / 10);
    by.set(b.region, r);
  }
  return [...by.values()];
}
