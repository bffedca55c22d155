/**
 * Fuzz: the control plane's HTTP API (protocol/http-api.ts) against a real server with a host key.
 * Generated requests: every route and some that are not, any method, session bodies drawn from
 * `CreateSessionRequest` (valid, bent, broken, oversize, wrong content types), the real key and
 * join tokens now and then among forged ones, odd Host headers and traversal paths. Asserted:
 * every request gets an HTTP answer (no 5xx but the 503 of a full server), the server stays up,
 * nothing reaches Object.prototype, the heap is flat, and afterwards a host creates a session,
 * joins it, and a share link's preview still works.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { CREATE_SESSION_PATH, CreateSessionRequest, CreateSessionResponse, MAX_HTTP_BODY_BYTES } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/sfu/webhooks';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';
import { arbitrary, Gen, mutate, raw } from './support/generate';
import { fuzzCount, fuzzSeed, memory, prototypeClean, Tally } from './support/run';

const COUNT = fuzzCount(2000);
const SEED = fuzzSeed();
const HEAP_TOLERANCE_MB = 30;
const HOST_KEY = 'fuzz-host-key-0123456789abcdef';
const PARALLEL = 8;

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

describe('fuzz: the control plane HTTP API', function () {
  this.timeout(60_000 + COUNT * 5);
  let plane: ControlPlane;

  before(async () => {
    plane = await startTestServer({ hostKey: HOST_KEY });
  });
  after(async () => {
    await plane?.close();
  });

  it(`${COUNT} generated requests: every one answered, the server stays up, sessions still start`, async () => {
    const g = new Gen(SEED);
    const tally = new Tally('server HTTP', SEED);
    const first = await createSession(plane, {}, { authorization: `Bearer ${HOST_KEY}` });
    const tokens = [tokenOf(first.links.controller.url), tokenOf(first.links.viewer.url), first.hostToken];
    const port = new URL(plane.url).port;
    const statuses: Record<string, number> = {};
    const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });

    function generate(): Req {
      const path = g.pick([
        '/api/sessions',
        '/api/sessions',
        '/api/sessions',
        '/api/preview',
        '/api/preview',
        '/healthz',
        '/metrics',
        '/',
        '/host',
        `/s/${first.sessionId}`,
        `/s/${'a'.repeat(g.int(1, 80))}`,
        LIVEKIT_WEBHOOK_PATH,
        '/dist/webview/viewer.js',
        '/dist/webview/../../package.json',
        '/dist/webview/%2e%2e/%2e%2e/etc/passwd',
        '/dist/webview/..%2f..%2fserver%2fconfig.ts',
        '//api/sessions',
        '/api/sessions?x=1#y',
        `/${g.pick(['__proto__', 'constructor', '%00', '%E0%A4%A', '.env', 'a'.repeat(3000)])}`,
      ]);
      const method = g.pick(['POST', 'POST', 'GET', 'GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
      const headers: Record<string, string> = { host: `127.0.0.1:${port}` };
      if (g.chance(0.05)) headers.host = g.pick(['rebind.evil', `rebind.evil:${port}`, '127.0.0.1.evil', '[::1]', '']);
      if (g.chance(0.7))
        headers['content-type'] = g.pick([
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
        ]);
      const auth = g.int(0, 9);
      if (auth < 2) headers.authorization = `Bearer ${HOST_KEY}`;
      else if (auth < 5) headers.authorization = `Bearer ${g.pick(tokens)}`;
      else if (auth < 7)
        headers.authorization = g.pick([
          `Bearer ${HOST_KEY.slice(0, -1)}`,
          'Bearer ',
          `Basic ${HOST_KEY}`,
          'Bearer a.b.c',
          `Bearer ${'x'.repeat(5000)}`,
          `bearer ${HOST_KEY}`,
        ]);
      if (g.chance(0.05)) headers.origin = g.pick(['null', 'http://evil.example', `http://127.0.0.1:${port}`, 'vscode-webview://x']);
      let body: string | Uint8Array | undefined;
      if (method !== 'GET' && method !== 'HEAD') {
        const valid = arbitrary(CreateSessionRequest, g, { words: ['auto', 'p2p', 'sfu', 'eu'] });
        const roll = g.random();
        if (roll < 0.35) body = JSON.stringify(valid);
        else if (roll < 0.75) body = JSON.stringify(mutate(valid, g, MAX_HTTP_BODY_BYTES + 100)) ?? 'undefined';
        else if (roll < 0.95) body = raw(g, JSON.stringify(valid), MAX_HTTP_BODY_BYTES + 100);
        else body = 'x'.repeat(g.int(MAX_HTTP_BODY_BYTES - 10, MAX_HTTP_BODY_BYTES * 4));
      }
      return { method, path, headers, ...(body === undefined ? {} : { body }) };
    }

    const chunked = new WeakSet<Req>();
    function send(r: Req, tries = 1): Promise<number> {
      return new Promise((resolve) => {
        const req = request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: r.headers, agent, timeout: 15_000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(-1));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => {
          // A connection closed under the request: counted; the replay below sends it again once.
          if (tries > 1 && /hang up|ECONNRESET|EPIPE/.test(e.message)) {
            hangUps++;
            return void send(r, tries - 1).then(resolve);
          }
          noAnswer.push(`${e.message}: ${r.method} ${r.path.slice(0, 60)}`);
          failed.push(r);
          resolve(-1);
        });
        // Framed explicitly: Node sends a DELETE's or OPTIONS's body with neither a length nor
        // chunks, so the server would read it as the next request (the harness's fault, not the server's).
        if (r.body !== undefined && (chunked.has(r) || g.chance(0.1))) {
          chunked.add(r);
          req.setHeader('transfer-encoding', 'chunked');
        } else if (r.body !== undefined) req.setHeader('content-length', String(typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.byteLength));
        req.end(r.body);
      });
    }
    const noAnswer: string[] = [];
    let hangUps = 0;
    const failed: Req[] = [];

    const warmup = Math.max(200, Math.floor(COUNT / 10));
    let heapBefore = memory();
    let next = 0;
    const worker = async () => {
      while (next < COUNT) {
        const i = next++;
        const status = await send(generate());
        tally.messages++;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 200 && status < 400) tally.accepted++;
        else if (status >= 400 && status < 500) tally.refused++;
        else if (status === 503) tally.refused++;
        else tally.crashes++;
        if (i === warmup) heapBefore = memory();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    // Requests that got no answer are sent again alone, to tell a server that drops connections under
    // load from one that cannot answer them at all (both fail the run).
    const replayed: Record<string, number> = {};
    const alone: string[] = [];
    for (const r of failed.splice(0)) {
      const status = await send(r, 2);
      replayed[status] = (replayed[status] ?? 0) + 1;
      if (status === -1 || status >= 500) {
        alone.push(
          `${r.method} ${r.path.slice(0, 50)} body ${r.body === undefined ? 'none' : typeof r.body === 'string' ? `${r.body.length} chars` : `${r.body.byteLength} bytes`}${chunked.has(r) ? ' chunked' : ''} ${JSON.stringify(r.headers).slice(0, 120)}`,
        );
      }
    }
    agent.destroy();
    tally.before = heapBefore;
    tally.after = memory();
    const growth = tally.after.heapMb - heapBefore.heapMb;
    tally.finish(
      `server heap ${heapBefore.heapMb.toFixed(1)} → ${tally.after.heapMb.toFixed(1)} MB (+${growth.toFixed(1)}, tolerance ${HEAP_TOLERANCE_MB}), RSS ${heapBefore.rssMb.toFixed(0)} → ${tally.after.rssMb.toFixed(0)} MB; statuses ${JSON.stringify(statuses)} (-1: no answer, replayed alone: ${JSON.stringify(replayed)}); ${hangUps} connections closed under a request and retried`,
    );

    assert.equal(
      tally.crashes,
      0,
      `requests without a 2xx-4xx/503 answer: ${JSON.stringify(statuses)}, replayed ${JSON.stringify(replayed)}; unanswered alone: ${alone.slice(0, 8).join('; ')}`,
    );
    assert.ok(prototypeClean(), 'nothing reached Object.prototype');
    assert.ok(growth < HEAP_TOLERANCE_MB, `server heap grew ${growth.toFixed(1)} MB`);

    const health = await fetch(`${plane.url}/healthz`);
    assert.equal(health.status, 200);
    // From another loopback address: the fuzz used up its own address's session-creation allowance.
    const fresh = CreateSessionResponse.parse(await postFrom('127.0.0.2', port, CREATE_SESSION_PATH, { authorization: `Bearer ${HOST_KEY}` }, '{}'));
    const host = await TestClient.connect(plane.url);
    const joined = await host.join(fresh.sessionId, fresh.hostToken, 'Host');
    assert.equal(joined.self.role, 'host');
    const preview = await fetch(`${plane.url}/api/preview`, { headers: { authorization: `Bearer ${tokenOf(fresh.links.viewer.url)}` } });
    assert.equal(preview.status, 200);
    assert.equal(((await preview.json()) as { hostName?: string }).hostName, 'Host');
    host.close();
  });
});

function postFrom(localAddress: string, port: string, path: string, headers: Record<string, string>, body: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, localAddress, method: 'POST', path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 201 ? resolve(JSON.parse(text)) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
