/** GET /api/preview: what a share link leads to, told before joining. */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { HttpErrorResponse, SESSION_PREVIEW_PATH, SessionPreview } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import { JoinTokens } from '../../server/join-tokens';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';

async function preview(plane: ControlPlane, token: string | undefined) {
  const res = await fetch(`${plane.url}${SESSION_PREVIEW_PATH}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, json: (await res.json()) as unknown };
}

describe('control plane: link preview', () => {
  let plane: ControlPlane;
  afterEach(async () => plane?.close());

  it("names the host, the session and the link's role once the host is in", async () => {
    plane = await startTestServer();
    const s = await createSession(plane, { name: 'Bug bash' });
    const before = SessionPreview.parse((await preview(plane, tokenOf(s.links.controller.url))).json);
    assert.equal(before.hostConnected, false);
    assert.equal(before.hostName, undefined);
    const host = await TestClient.connect(plane.url);
    await host.join(s.sessionId, s.hostToken, 'Ada');
    const after = await preview(plane, tokenOf(s.links.controller.url));
    assert.equal(after.status, 200);
    const p = SessionPreview.parse(after.json);
    assert.deepEqual(
      [p.sessionId, p.name, p.hostName, p.hostConnected, p.role, p.mode, p.media, p.participants],
      [s.sessionId, 'Bug bash', 'Ada', true, 'controller', 'auto', 'p2p', 1],
    );
    assert.equal(p.expiresAt, s.links.controller.expiresAt);
    host.close();
  });

  it('refuses a missing, tampered, forged or expired token, and an ended session, with the reason', async () => {
    plane = await startTestServer();
    const s = await createSession(plane);
    const token = tokenOf(s.links.viewer.url);
    const none = await preview(plane, undefined);
    assert.equal(none.status, 401);
    assert.equal(HttpErrorResponse.parse(none.json).error.code, ErrorCode.TokenInvalid);
    const tampered = await preview(plane, `${token.slice(0, -3)}abc`);
    assert.equal(HttpErrorResponse.parse(tampered.json).error.code, ErrorCode.TokenInvalid);
    const forged = await new JoinTokens('another-server-secret-of-32-chars!!').issue(s.sessionId, 'viewer', 600);
    assert.equal(HttpErrorResponse.parse((await preview(plane, forged.token)).json).error.code, ErrorCode.TokenInvalid);
    const expired = await new JoinTokens(plane.config.tokenSecret, () => Date.now() - 7200_000).issue(s.sessionId, 'viewer', 60);
    const old = await preview(plane, expired.token);
    assert.equal(old.status, 401);
    const body = HttpErrorResponse.parse(old.json).error;
    assert.equal(body.code, ErrorCode.TokenExpired);
    assert.match(body.message, /expired on .*new link/);
    await plane.service.endSession(s.sessionId, 'host-ended', 'The host went home.');
    const ended = await preview(plane, token);
    assert.equal(ended.status, 410);
    assert.match(HttpErrorResponse.parse(ended.json).error.message, /went home/);
  });
});
