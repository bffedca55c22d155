/**
 * What the control plane refuses: forged, tampered, expired and misdirected join tokens,
 * signaling outside the host⇄guest pairs of one session, and malformed, oversized, unknown or
 * out-of-order messages — each with a typed error while the connection and session go on.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ErrorCode } from '../../protocol/errors';
import { FailureEnvelope, PROTOCOL_VERSION } from '../../protocol/rpc';
import { CloseCode, GetIceServers, SendSignal, Signal } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { JoinTokens } from '../../server/join-tokens';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { connectingTo, TestClient } from '../support/signaling-client';
import { rejects } from '../support/assertions';

/** The last error frame the server sent this client. */
async function nextError(client: TestClient, after: number): Promise<FailureEnvelope['error']> {
  const text = await client.until(() => client.raw.slice(after).find((t) => t.includes('"error"')), 'an error frame');
  return FailureEnvelope.parse(JSON.parse(text)).error;
}

describe('control plane: tokens and bad input', () => {
  let plane: ControlPlane;
  const connect = connectingTo(() => plane, 'kill');

  beforeEach(async () => {
    plane = await startTestServer();
  });
  afterEach(async () => {
    await plane.close();
  });

  describe('join tokens', () => {
    it('refuses a token whose payload was tampered with (viewer → host)', async () => {
      const s = await createSession(plane);
      const [header, payload, sig] = tokenOf(s.links.viewer.url).split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      claims.role = 'host';
      const tampered = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), sig].join('.');
      await rejects((await connect()).join(s.sessionId, tampered, 'Mallory'), ErrorCode.TokenInvalid);
    });

    it('refuses a token signed with another key', async () => {
      const s = await createSession(plane);
      const forged = await new JoinTokens('another-secret-that-is-long-enough-123').issue(s.sessionId, 'controller', 3600);
      await rejects((await connect()).join(s.sessionId, forged.token, 'Mallory'), ErrorCode.TokenInvalid);
    });

    it('refuses an unsigned (alg: none) token', async () => {
      const s = await createSession(plane);
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sid: s.sessionId, role: 'host', iat: now, exp: now + 600, iss: 'pairux', aud: 'pairux-join', jti: 'x' })}.`;
      await rejects((await connect()).join(s.sessionId, unsigned, 'Mallory'), ErrorCode.TokenInvalid);
    });

    it('refuses an expired token and says when it expired', async () => {
      const s = await createSession(plane);
      const twoHoursAgo = new JoinTokens(plane.config.tokenSecret, () => Date.now() - 2 * 3600_000);
      const old = await twoHoursAgo.issue(s.sessionId, 'viewer', 3600);
      const err = await rejects((await connect()).join(s.sessionId, old.token, 'Late'), ErrorCode.TokenExpired);
      assert.match(err.message, /expired on \d{4}-/);
      assert.match(err.message, /new link/);
    });

    it('refuses a genuine token for another session', async () => {
      const a = await createSession(plane);
      const b = await createSession(plane);
      await rejects((await connect()).join(a.sessionId, tokenOf(b.links.viewer.url), 'Lost'), ErrorCode.TokenWrongSession);
    });

    it('refuses garbage and an unknown session', async () => {
      const s = await createSession(plane);
      await rejects((await connect()).join(s.sessionId, 'not.a.jwt', 'X'), ErrorCode.TokenInvalid);
      const ghost = await plane.tokens.issue('no-such-session', 'viewer', 600);
      await rejects((await connect()).join('no-such-session', ghost.token, 'X'), ErrorCode.SessionNotFound);
    });

    it('a second host cannot join while the host is present', async () => {
      const s = await createSession(plane);
      await (await connect()).join(s.sessionId, s.hostToken, 'Host');
      const err = await rejects((await connect()).join(s.sessionId, s.hostToken, 'Impostor'), ErrorCode.LimitReached);
      assert.deepEqual(err.data, { role: 'host', limit: 1 });
    });
  });

  describe('signaling relay', () => {
    it('relays host ⇄ guest with the sender stamped by the server', async () => {
      const s = await createSession(plane);
      const host = await connect();
      const h = await host.join(s.sessionId, s.hostToken, 'Host');
      const guest = await connect();
      const g = await guest.join(s.sessionId, tokenOf(s.links.viewer.url), 'G');
      await guest.request(SendSignal, { to: h.self.id, payload: { kind: 'hello', reason: 'join' } });
      const got = await host.waitFor(Signal);
      assert.equal(got.from, g.self.id);
      await host.request(SendSignal, { to: g.self.id, payload: { kind: 'offer', pc: 'pc1', sdp: 'v=0\r\n' } });
      assert.equal((await guest.waitFor(Signal)).payload.kind, 'offer');
    });

    it('never forwards guest → guest, nor across sessions', async () => {
      const a = await createSession(plane);
      const b = await createSession(plane);
      // A's host lets G2 in from the lobby and is otherwise silent.
      await (await connect()).join(a.sessionId, a.hostToken, 'Host A');
      const hostB = await connect();
      const hb = await hostB.join(b.sessionId, b.hostToken, 'Host B');
      const g1 = await connect();
      const one = await g1.join(a.sessionId, tokenOf(a.links.viewer.url), 'G1');
      const g2 = await connect();
      await g2.join(a.sessionId, tokenOf(a.links.controller.url), 'G2');
      await rejects(g2.request(SendSignal, { to: one.self.id, payload: { kind: 'hello', reason: 'join' } }), ErrorCode.Forbidden);
      await rejects(g1.request(SendSignal, { to: hb.self.id, payload: { kind: 'hello', reason: 'join' } }), ErrorCode.PeerNotFound);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(hostB.received(Signal).length, 0);
      assert.equal(g1.received(Signal).length, 0);
    });

    it('refuses signaling before joining (out of order) and keeps the connection', async () => {
      const s = await createSession(plane);
      const c = await connect();
      await rejects(c.request(SendSignal, { to: 'someone', payload: { kind: 'bye', pc: 'x' } }), ErrorCode.NotJoined);
      const joined = await c.join(s.sessionId, tokenOf(s.links.viewer.url), 'Still here');
      assert.equal(joined.self.role, 'viewer');
      await rejects(c.join(s.sessionId, tokenOf(s.links.viewer.url), 'Again'), ErrorCode.AlreadyJoined);
    });
  });

  describe('malformed messages', () => {
    it('answers each with a typed error and goes on serving the connection', async () => {
      const s = await createSession(plane);
      const c = await connect();
      const cases: Array<[string, string]> = [
        ['{not json', ErrorCode.BadMessage],
        ['[1,2,3]', ErrorCode.BadMessage],
        [JSON.stringify({ v: PROTOCOL_VERSION, id: 7, method: 'session.explode', params: {} }), ErrorCode.UnknownMethod],
        [JSON.stringify({ v: PROTOCOL_VERSION, id: 8, method: 'session.join', params: { sessionId: '../etc', token: 1 } }), ErrorCode.BadMessage],
        [JSON.stringify({ v: 99, id: 9, method: 'session.join', params: {} }), ErrorCode.UnsupportedVersion],
        [JSON.stringify({ v: PROTOCOL_VERSION, id: 10, method: 'signal.send', params: { to: 'x', payload: { kind: 'telepathy' } } }), ErrorCode.BadMessage],
        [JSON.stringify({ v: PROTOCOL_VERSION, method: 'no.such.notification', params: {} }), ErrorCode.UnknownMethod],
        [JSON.stringify({ hello: 'world', v: PROTOCOL_VERSION }), ErrorCode.BadMessage],
      ];
      for (const [text, code] of cases) {
        const before = c.raw.length;
        c.sendRaw(text);
        const error = await nextError(c, before);
        assert.equal(error.code, code, `${text} → ${error.message}`);
      }
      const before = c.raw.length;
      c.sendRaw(Buffer.from([1, 2, 3]));
      assert.equal((await nextError(c, before)).code, ErrorCode.BadMessage);
      const joined = await c.join(s.sessionId, tokenOf(s.links.viewer.url), 'Survivor');
      assert.equal(joined.self.name, 'Survivor');
    });

    it('closes with 1009 on an oversized message, and the session goes on for the others', async () => {
      const s = await createSession(plane);
      const host = await connect();
      const h = await host.join(s.sessionId, s.hostToken, 'Host');
      const big = await connect();
      await big.join(s.sessionId, tokenOf(s.links.viewer.url), 'Big');
      big.sendRaw(JSON.stringify({ v: 1, id: 1, method: 'signal.send', params: { pad: 'x'.repeat(70 * 1024) } }));
      assert.equal(await big.closed, CloseCode.TooLarge);
      const other = await connect();
      await other.join(s.sessionId, tokenOf(s.links.viewer.url), 'Other');
      await other.request(SendSignal, { to: h.self.id, payload: { kind: 'hello', reason: 'join' } });
      await host.waitFor(Signal);
    });

    it('rate-limits a flood with RATE_LIMITED', async () => {
      await plane.close();
      plane = await startTestServer({ messageRatePerSecond: 20 });
      const c = await connect();
      for (let i = 0; i < 100; i++) c.sendRaw('{}');
      const text = await c.until(() => c.raw.find((t) => t.includes(ErrorCode.RateLimited)), 'RATE_LIMITED');
      assert.match(text, /messages per second/);
    });
  });

  describe('liveness and origins', () => {
    it('closes a connection that stops sending heartbeats', async () => {
      await plane.close();
      plane = await startTestServer({ heartbeatIntervalMs: 100 });
      const s = await createSession(plane);
      const c = await connect();
      await c.join(s.sessionId, tokenOf(s.links.viewer.url), 'Quiet');
      assert.equal(await c.closed, CloseCode.HeartbeatTimeout);
    });

    it('closes a connection that never joins', async () => {
      await plane.close();
      plane = await startTestServer({ joinTimeoutMs: 200 });
      const c = await connect();
      assert.equal(await c.closed, 1008);
    });

    it('refuses a WebSocket from a foreign web origin', async () => {
      await assert.rejects(TestClient.connect(plane.url, { origin: 'https://evil.example' }), /403/);
      const fromVsCode = await TestClient.connect(plane.url, { origin: 'vscode-webview://abc123' });
      fromVsCode.kill();
    });
  });

  describe('TURN credentials', () => {
    it('hands out short-lived TURN REST credentials coturn can check', async () => {
      await plane.close();
      const secret = 'coturn-shared-secret';
      plane = await startTestServer({ turn: { urls: ['turn:127.0.0.1:3478?transport=udp'], secret, ttlSeconds: 600 } });
      const s = await createSession(plane);
      const c = await connect();
      const joined = await c.join(s.sessionId, tokenOf(s.links.viewer.url), 'T');
      const [server] = joined.iceServers;
      assert.ok(server?.username && server.credential);
      const [expiry, who] = server.username.split(':');
      assert.equal(who, joined.self.id);
      const ttl = Number(expiry) - Date.now() / 1000;
      assert.ok(ttl > 590 && ttl <= 600, `expiry ${ttl}s from now`);
      assert.equal(server.credential, createHmac('sha1', secret).update(server.username).digest('base64'));
      const fresh = await c.request(GetIceServers, {});
      assert.equal(fresh.iceServers.length, 1);
    });
  });
});
