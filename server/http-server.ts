/**
 * HTTP routes of the control plane: session creation for hosts, the browser viewer and host
 * pages with their bundles, health and Prometheus metrics. Every body is size-capped and
 * validated; every error is JSON `{ error: { code, message } }` with a fitting status.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, PairuxError } from '../protocol/errors';
import { CREATE_SESSION_PATH, CreateSessionRequest, MAX_HTTP_BODY_BYTES, SESSION_PREVIEW_PATH } from '../protocol/http-api';
import { describeIssues } from '../protocol/rpc';
import type { ServerMetrics } from './metrics';
import type { SessionService } from './session-service';
import type { StaticFiles } from './static-files';
import { LIVEKIT_WEBHOOK_PATH, MAX_WEBHOOK_BYTES } from './sfu/webhooks';

const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self' ws: wss:",
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
};

export interface HttpDeps {
  service: SessionService;
  metrics: ServerMetrics;
  files: StaticFiles;
  hostKey?: string;
  startedAt: number;
}

export function createRequestHandler(deps: HttpDeps) {
  return (req: IncomingMessage, res: ServerResponse) => {
    route(deps, req, res).catch((err: unknown) => {
      const e = PairuxError.from(err);
      if (e.code === ErrorCode.Internal) console.error('[pairux-server] internal error', err);
      sendError(deps.metrics, res, e);
    });
  };
}

async function route(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const p = url.pathname;
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');

  if (p === CREATE_SESSION_PATH) {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    return createSession(deps, req, res);
  }
  if (p === LIVEKIT_WEBHOOK_PATH) {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    // Read raw: the signature covers the exact bytes LiveKit sent.
    const body = await readBody(req, MAX_WEBHOOK_BYTES);
    const { event } = await deps.service.sfu.webhook(body, req.headers.authorization);
    return sendJson(res, 200, { ok: true, event });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET');
  if (p === SESSION_PREVIEW_PATH) {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new PairuxError(ErrorCode.TokenInvalid, 'send the share link\'s token as Authorization: Bearer <token>');
    return sendJson(res, 200, await deps.service.preview(token));
  }
  if (p === '/healthz') {
    // `sessions` counts every instance's (the shared store's); `sessionsHere` this one's. With the
    // store unreachable this instance still serves what it holds: still ok, and it says so.
    const sessionsHere = deps.service.localSessions.size;
    let stateStore = 'ok';
    const sessions = await deps.service.countSessions().catch((err: unknown) => {
      stateStore = `unreachable: ${(err as Error).message}`;
      return undefined;
    });
    const sfu = deps.service.sfu.pool?.snapshot().map((d) => ({ id: d.id, region: d.region, health: d.health, load: d.load?.percent, accepting: d.accepting }));
    return sendJson(res, 200, { ok: true, sessions: sessions ?? null, sessionsHere, stateStore, uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000), ...(sfu ? { sfu } : {}) });
  }
  if (p === '/metrics') {
    res.writeHead(200, { 'Content-Type': deps.metrics.contentType });
    res.end(await deps.metrics.text());
    return;
  }
  if (/^\/s\/[A-Za-z0-9_-]{1,64}\/?$/.test(p)) return sendPage(deps, res, 'viewer.html');
  if (p === '/host') return sendPage(deps, res, 'host.html');
  if (p === '/' ) {
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
  sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `nothing at ${p}` } });
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

async function createSession(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (deps.hostKey && !bearerMatches(req.headers.authorization, deps.hostKey)) {
    throw new PairuxError(ErrorCode.Unauthorized, 'creating a session needs the server host key (Authorization: Bearer <key>)');
  }
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) {
    throw new PairuxError(ErrorCode.BadMessage, 'send the request body as application/json');
  }
  const text = await readBody(req, MAX_HTTP_BODY_BYTES);
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

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new PairuxError(ErrorCode.TooLarge, `request body over ${limit} bytes`, { limit }));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new PairuxError(ErrorCode.TooLarge, `request body over ${limit} bytes`, { limit }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendJson(res, 405, { error: { code: ErrorCode.BadMessage, message: `use ${allow}` } });
}

function sendError(metrics: ServerMetrics, res: ServerResponse, e: PairuxError): void {
  metrics.errors.inc({ code: e.code });
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, STATUS[e.code] ?? 500, { error: e.toBody() });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}
