/** The control plane's HTTP side: session creation, pages, health and metrics. */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { HttpErrorResponse } from '../../protocol/http-api';
import { parseShareLink } from '../../protocol/share-link';
import { resolveConfig } from '../../server/config';
import type { ControlPlane } from '../../server/control-plane';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';

async function post(plane: ControlPlane, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${plane.url}/api/sessions`, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as unknown };
}

describe('control plane: HTTP', () => {
  let plane: ControlPlane;
  afterEach(async () => plane?.close());

  it('creates a session whose share links parse and carry the right roles', async () => {
    plane = await startTestServer();
    const s = await createSession(plane, { name: 'Bug bash', linkTtlSeconds: 600 });
    const link = parseShareLink(s.links.viewer.url);
    assert.equal(link.sessionId, s.sessionId);
    assert.equal(link.origin, plane.url);
    const ttl = s.links.viewer.expiresAt - Date.now();
    assert.ok(ttl > 590_000 && ttl <= 600_000, `link lives ${ttl} ms`);
    assert.equal(s.wsUrl, `${plane.url.replace('http', 'ws')}/ws`);
  });

  it('answers bad session requests with a 4xx and a reason', async () => {
    plane = await startTestServer();
    const bad = await post(plane, '{"mode":"mesh"}');
    assert.equal(bad.status, 400);
    assert.match(HttpErrorResponse.parse(bad.json).error.message, /mode/);
    assert.equal((await post(plane, '{oops')).status, 400);
    assert.equal((await post(plane, '{}', { 'content-type': 'text/plain' })).status, 400);
    const huge = await post(plane, JSON.stringify({ name: 'x'.repeat(20_000) }));
    assert.equal(huge.status, 413);
    assert.equal(HttpErrorResponse.parse(huge.json).error.code, ErrorCode.TooLarge);
    // No LiveKit configured: unavailable, naming the settings, offering P2P (test/server/sfu.test.ts covers SFU).
    const sfu = await post(plane, '{"mode":"sfu"}');
    assert.equal(sfu.status, 503);
    assert.match(HttpErrorResponse.parse(sfu.json).error.message, /PAIRUX_LIVEKIT_URL.*P2P/);
    assert.equal((await fetch(`${plane.url}/api/sessions`)).status, 405);
  });

  it('requires the host key when one is configured', async () => {
    plane = await startTestServer({ hostKey: 'correct-horse-battery' });
    assert.equal((await post(plane, '{}')).status, 401);
    assert.equal((await post(plane, '{}', { 'content-type': 'application/json', authorization: 'Bearer wrong-horse-battery' })).status, 401);
    const ok = await post(plane, '{}', { 'content-type': 'application/json', authorization: 'Bearer correct-horse-battery' });
    assert.equal(ok.status, 201);
  });

  it('refuses to listen beyond loopback without a host key', () => {
    assert.throws(() => resolveConfig({ host: '0.0.0.0' }), /host key/);
    assert.doesNotThrow(() => resolveConfig({ host: '0.0.0.0', hostKey: 'a-long-enough-host-key' }));
  });

  it('serves the viewer page with a strict CSP, and no files outside the bundle folder', async () => {
    plane = await startTestServer();
    const page = await fetch(`${plane.url}/s/abc123`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    for (const path of [
      '/dist/webview/../../package.json',
      '/dist/webview/%2e%2e/%2e%2e/package.json',
      '/dist/webview/..%2f..%2fpackage.json',
      '/s/../package.json',
      '/etc/passwd',
    ]) {
      const res = await fetch(`${plane.url}${path}`);
      assert.equal(res.status, 404, path);
    }
  });

  it('reports health and Prometheus metrics for sessions, participants, joins and errors', async () => {
    plane = await startTestServer();
    const s = await createSession(plane);
    const c = await TestClient.connect(plane.url);
    await c.join(s.sessionId, tokenOf(s.links.viewer.url), 'Metered');
    await c.join(s.sessionId, tokenOf(s.links.viewer.url), 'Twice').catch(() => undefined);
    const health = (await (await fetch(`${plane.url}/healthz`)).json()) as { ok: boolean; sessions: number };
    assert.deepEqual([health.ok, health.sessions], [true, 1]);
    const text = await (await fetch(`${plane.url}/metrics`)).text();
    assert.match(text, /^pairux_sessions 1$/m);
    assert.match(text, /^pairux_participants\{role="viewer",connected="true"\} 1$/m);
    assert.match(text, /^pairux_joins_total\{role="viewer",result="ok"\} 1$/m);
    assert.match(text, /^pairux_errors_total\{code="ALREADY_JOINED"\} 1$/m);
    assert.match(text, /^pairux_ws_connections 1$/m);
    c.kill();
  });
});
