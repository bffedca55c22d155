/**
 * Quality tiers by role at the control plane (issue 16, item 1): the deployment's table and role
 * tiers, and a session's own clamped to what the deployment allows; on Redis as in memory.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { CreateSessionResponse, HttpErrorResponse, type CreateSessionRequest } from '../../protocol/http-api';
import type { Participant } from '../../protocol/signaling';
import { DEFAULT_TIERS } from '../../protocol/tiers';
import { configFromEnv, resolveConfig, type ServerConfigInput } from '../../server/config';
import type { ControlPlane } from '../../server/control-plane';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { startRedis, type TestRedis } from '../support/redis';
import { TestClient } from '../support/signaling-client';

describe('control plane: the deployment tiers setting', () => {
  it('lays the deployment over the defaults, from the settings and from PAIRUX_TIERS / PAIRUX_ROLE_TIERS', () => {
    const defaults = resolveConfig({});
    assert.deepEqual(defaults.tiers, DEFAULT_TIERS);
    assert.deepEqual(defaults.roleTiers, { host: 'high', controller: 'high', viewer: 'standard' });
    const env = resolveConfig(configFromEnv({ PAIRUX_TIERS: '{"standard":{"maxKbps":1500,"maxFps":24}}', PAIRUX_ROLE_TIERS: '{"viewer":"low"}' }));
    assert.deepEqual(env.tiers.standard, { ...DEFAULT_TIERS.standard, maxKbps: 1500, maxFps: 24 });
    assert.deepEqual(env.tiers.high, DEFAULT_TIERS.high);
    assert.deepEqual(env.roleTiers, { host: 'high', controller: 'high', viewer: 'low' });
  });

  it('refuses bad tiers at start, naming the setting and what is wrong', () => {
    const bad = (input: unknown) => () => resolveConfig(input as ServerConfigInput);
    assert.throws(bad({ tiers: { standard: { maxKbps: 90_000 } } }), /invalid server configuration: tiers\.standard\.maxKbps: .*50000/);
    assert.throws(bad({ tiers: { hgh: { maxKbps: 1000 } } }), /tiers: Unrecognized key: "hgh"/);
    assert.throws(bad({ tiers: { low: { rtcPriority: 'urgent' } } }), /tiers\.low\.rtcPriority/);
    // A lower tier may not get more than the one above it.
    assert.throws(bad({ tiers: { standard: { maxKbps: 5000 } } }), /tiers: standard\.maxKbps \(5000\) asks for more than high\.maxKbps \(4000\)/);
    assert.throws(bad({ tiers: { low: { maxScaleDown: 1.2 } } }), /low\.maxScaleDown \(1\.2\) asks for more than standard\.maxScaleDown \(1\.5\)/);
    assert.throws(bad({ roleTiers: { viewer: 'ultra' } }), /roleTiers\.viewer/);
    assert.throws(bad({ roleTiers: { guest: 'low' } }), /roleTiers: Unrecognized key: "guest"/);
    assert.throws(() => configFromEnv({ PAIRUX_TIERS: '{"high":' }), /PAIRUX_TIERS is not valid JSON/);
    assert.throws(() => configFromEnv({ PAIRUX_ROLE_TIERS: 'viewer=low' }), /PAIRUX_ROLE_TIERS is not valid JSON/);
    assert.throws(() => configFromEnv({ PAIRUX_TIERS: '@/nonexistent/tiers.json' }), /PAIRUX_TIERS names \/nonexistent\/tiers\.json, which cannot be read/);
  });
});

let prefixes = 0;

for (const store of ['memory', 'redis'] as const) {
  describe(`control plane: quality tiers (${store})`, function () {
    this.timeout(20_000);
    let plane: ControlPlane;
    let redis: TestRedis | undefined;
    const clients: TestClient[] = [];
    before(async () => {
      if (store === 'redis') redis = await startRedis();
    });
    after(async () => redis?.stop());
    afterEach(async () => {
      for (const c of clients.splice(0)) c.kill();
      await plane?.close();
    });
    let prefix = '';
    /** On Redis each plane of a test shares one fresh key prefix, so a second instance sees the first's sessions. */
    const settings = (config: ServerConfigInput = {}, again = false): ServerConfigInput => {
      if (!redis) return config;
      if (!again) prefix = `tiers${++prefixes}:`;
      return { ...config, redis: { url: redis.url, keyPrefix: prefix }, tokenSecret: 'tiers-test-token-secret-of-32-chars!' };
    };
    const start = async (config: ServerConfigInput = {}) => (plane = await startTestServer({ lobby: 'off', ...settings(config) }));
    const client = async (on = plane) => {
      const c = await TestClient.connect(on.url);
      clients.push(c);
      return c;
    };
    const post = async (body: CreateSessionRequest | Record<string, unknown>) => {
      const res = await fetch(`${plane.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as unknown };
    };
    const tierOf = (list: Participant[], id: string) => list.find((p) => p.id === id)?.tier;

    /** A session with a host, a controller and a viewer joined. */
    async function seated(request: CreateSessionRequest = {}) {
      const session = await createSession(plane, request);
      const [host, ctrl, viewer] = [await client(), await client(), await client()];
      const h = await host.join(session.sessionId, session.hostToken, 'Hana');
      const c = await ctrl.join(session.sessionId, tokenOf(session.links.controller.url), 'Ada');
      const v = await viewer.join(session.sessionId, tokenOf(session.links.viewer.url), 'Vic');
      return { session, host, ctrl, viewer, joins: { h, c, v }, ids: { host: h.self.id, ctrl: c.self.id, viewer: v.self.id } };
    }

    it("a session gets the deployment's tiers; the response, every join result and every participant say them", async () => {
      await start({ tiers: { standard: { maxKbps: 1500 } }, roleTiers: { viewer: 'low' } });
      const { session, joins, ids } = await seated();
      assert.equal(session.tiers?.table.standard.maxKbps, 1500);
      assert.deepEqual(session.tiers?.roles, { host: 'high', controller: 'high', viewer: 'low' });
      assert.deepEqual(session.tiers?.clamped, []);
      for (const j of [joins.h, joins.c, joins.v]) assert.deepEqual(j.tiers, { table: session.tiers?.table, roles: session.tiers?.roles });
      assert.deepEqual([joins.v.self.tier, tierOf(joins.v.participants, ids.host), tierOf(joins.v.participants, ids.ctrl)], ['low', 'high', 'high']);

      if (redis) {
        // Another instance whose own deployment says otherwise: the session keeps the tiers it was made with.
        const other = await startTestServer({ lobby: 'off', ...settings({}, true) });
        try {
          const late = await (await client(other)).join(session.sessionId, tokenOf(session.links.viewer.url), 'Late');
          assert.equal(late.tiers?.table.standard.maxKbps, 1500);
          assert.equal(late.self.tier, 'low');
        } finally {
          await other.close();
        }
      }
    });

    it('a session asking for more than the deployment allows is clamped to it, and the response says what was applied', async () => {
      await start({ tiers: { high: { maxKbps: 3000, maxFps: 30 }, standard: { maxFps: 24 } } });
      const res = await post({
        tiers: { high: { maxKbps: 8000, maxFps: 90 }, standard: { maxKbps: 5000 }, low: { maxKbps: 300, rtcPriority: 'high' } },
        roleTiers: { viewer: 'high' },
      });
      assert.equal(res.status, 201);
      const { tiers, sessionId, hostToken } = CreateSessionResponse.parse(res.json);
      assert.ok(tiers);
      assert.deepEqual([tiers.table.high.maxKbps, tiers.table.high.maxFps], [3000, 30]);
      // Under the deployment's high, and under the session's own tier above it.
      assert.equal(tiers.table.standard.maxKbps, 3000);
      assert.equal(tiers.table.standard.maxFps, 24);
      assert.deepEqual([tiers.table.low.maxKbps, tiers.table.low.rtcPriority], [300, 'medium']);
      assert.deepEqual(
        tiers.clamped.map((c) => `${c.tier}.${c.field} ${c.asked}→${c.applied}`),
        ['high.maxKbps 8000→3000', 'high.maxFps 90→30', 'standard.maxKbps 5000→3000', 'low.rtcPriority high→medium'],
      );
      assert.equal(tiers.roles.viewer, 'high');
      // What the host was told is what the session runs with.
      const joined = await (await client()).join(sessionId, hostToken, 'Hana');
      assert.deepEqual(joined.tiers, { table: tiers.table, roles: tiers.roles });
    });

    it('a bad tier request is refused with 400 naming what is wrong, and makes no session', async () => {
      await start();
      for (const [body, why] of [
        [{ tiers: { standard: { maxKbps: -5 } } }, /tiers\.standard\.maxKbps/],
        [{ tiers: { ultra: { maxKbps: 500 } } }, /tiers: Unrecognized key: "ultra"/],
        [{ tiers: { low: { bitrate: 500 } } }, /tiers\.low: Unrecognized key: "bitrate"/],
        [{ roleTiers: { viewer: 'ultra' } }, /roleTiers\.viewer/],
        [{ roleTiers: 'low' }, /roleTiers/],
      ] as const) {
        const res = await post(body);
        assert.equal(res.status, 400, JSON.stringify(body));
        const { error } = HttpErrorResponse.parse(res.json);
        assert.equal(error.code, ErrorCode.BadMessage);
        assert.match(error.message, why);
      }
      assert.equal(await plane.service.countSessions(), 0);
    });
  });
}
