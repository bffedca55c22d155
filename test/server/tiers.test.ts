/**
 * Quality tiers by role at the control plane (issue 16, item 1): the deployment's table and role
 * tiers, a session's own clamped to what the deployment allows, and the host's choice of tier per
 * guest, seen by everyone; on Redis as in memory.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { CreateSessionResponse, HttpErrorResponse, type CreateSessionRequest } from '../../protocol/http-api';
import { PROTOCOL_VERSION } from '../../protocol/rpc';
import { ParticipantUpdated, SetRole, SetTier, type Participant } from '../../protocol/signaling';
import { DEFAULT_TIERS } from '../../protocol/tiers';
import { configFromEnv, resolveConfig, type ServerConfigInput } from '../../server/config';
import type { ControlPlane } from '../../server/control-plane';
import { rejects as refused } from '../support/assertions';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { startRedis, type TestRedis } from '../support/redis';
import { joinedEngine, TestClient } from '../support/signaling-client';

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
      assert.equal(joins.v.self.tierChosen, undefined);

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

    it("the host sets a guest's tier: everyone sees it, a late joiner reads it, and null puts it back on its role's", async () => {
      await start();
      const { session, host, ctrl, viewer, ids } = await seated();
      const { participant } = await host.request(SetTier, { participantId: ids.viewer, tier: 'low' });
      assert.deepEqual([participant.tier, participant.tierChosen, participant.role], ['low', true, 'viewer']);
      for (const c of [host, ctrl, viewer]) await c.waitFor(ParticipantUpdated, (p) => p.participant.id === ids.viewer && p.participant.tier === 'low');
      const lowered = await host.request(SetTier, { participantId: ids.ctrl, tier: 'standard' });
      assert.equal(lowered.participant.tier, 'standard');
      await viewer.waitFor(ParticipantUpdated, (p) => p.participant.id === ids.ctrl && p.participant.tier === 'standard');
      const late = await (await client()).join(session.sessionId, tokenOf(session.links.viewer.url), 'Late');
      assert.deepEqual([tierOf(late.participants, ids.viewer), tierOf(late.participants, ids.ctrl), late.self.tier], ['low', 'standard', 'standard']);
      const back = await host.request(SetTier, { participantId: ids.viewer, tier: null });
      assert.deepEqual([back.participant.tier, back.participant.tierChosen], ['standard', undefined]);
      await ctrl.waitFor(ParticipantUpdated, (p) => p.participant.id === ids.viewer && p.participant.tier === 'standard' && !p.participant.tierChosen);
    });

    it("the pages' signaling client: the host page sets a tier, a guest page's list follows, both read the session's table", async () => {
      await start({ roleTiers: { viewer: 'low' } });
      const session = await createSession(plane, { tiers: { low: { maxKbps: 400 } } });
      const host = await joinedEngine(plane.url, session.sessionId, session.hostToken, 'Hana');
      const guest = await joinedEngine(plane.url, session.sessionId, tokenOf(session.links.viewer.url), 'Vic');
      try {
        const me = guest.self!.id;
        assert.deepEqual([guest.tiers.table.low.maxKbps, guest.tiers.roles.viewer, guest.self?.tier], [400, 'low', 'low']);
        assert.deepEqual(host.tiers, guest.tiers);
        const changed = new Promise<Participant>((resolve) =>
          guest.on('participantUpdated', ({ participant }) => {
            if (participant.id === me && participant.tier === 'high') resolve(participant);
          }),
        );
        assert.equal((await host.setTier(me, 'high')).tier, 'high');
        assert.equal((await changed).tierChosen, true);
        assert.equal(guest.participants.get(me)?.tier, 'high');
        assert.equal(guest.self?.tier, 'high');
        await refused(guest.setTier(me, 'high'), ErrorCode.Forbidden);
      } finally {
        host.dispose();
        guest.dispose();
      }
    });

    it("a guest cannot set anyone's tier, nor the host its own; an unknown participant is refused; nothing is announced", async () => {
      await start();
      const { host, ctrl, viewer, ids } = await seated();
      const byGuest = await refused(ctrl.request(SetTier, { participantId: ids.viewer, tier: 'high' }), ErrorCode.Forbidden);
      assert.match(byGuest.message, /Only the host can set participants' quality tiers/);
      await refused(viewer.request(SetTier, { participantId: ids.viewer, tier: 'high' }), ErrorCode.Forbidden);
      const own = await refused(host.request(SetTier, { participantId: ids.host, tier: 'low' }), ErrorCode.Forbidden);
      assert.match(own.message, /host cannot set its own tier/);
      const stranger = await refused(host.request(SetTier, { participantId: 'v-nobody-here', tier: 'low' }), ErrorCode.PeerNotFound);
      assert.match(stranger.message, /v-nobody-here is not in this session/);
      // A known id from another session is just as unknown here.
      const elsewhere = await seated();
      await refused(host.request(SetTier, { participantId: elsewhere.ids.viewer, tier: 'low' }), ErrorCode.PeerNotFound);
      await new Promise((r) => setTimeout(r, 100));
      for (const c of [host, ctrl, viewer]) assert.deepEqual(c.received(ParticipantUpdated), [], 'no participant changed');
    });

    it('a bad tier name is refused at the boundary with BAD_MESSAGE naming the field, and the connection goes on', async () => {
      await start();
      const { host, viewer, ids } = await seated();
      const ask = (id: number, params: unknown) => {
        host.sendRaw(JSON.stringify({ v: PROTOCOL_VERSION, id, method: SetTier.method, params }));
        return host.until(
          () => host.raw.map((t) => JSON.parse(t) as { id?: number; error?: { code: string; message: string } }).find((m) => m.id === id),
          `answer ${id}`,
        );
      };
      const ultra = await ask(9001, { participantId: ids.viewer, tier: 'ultra' });
      assert.equal(ultra.error?.code, ErrorCode.BadMessage);
      assert.match(ultra.error?.message ?? '', /tier/);
      const missing = await ask(9002, { participantId: ids.viewer });
      assert.equal(missing.error?.code, ErrorCode.BadMessage);
      const numeric = await ask(9003, { participantId: ids.viewer, tier: 2 });
      assert.equal(numeric.error?.code, ErrorCode.BadMessage);
      assert.deepEqual(viewer.received(ParticipantUpdated), []);
      // Still the host's connection, and still able to act.
      assert.equal((await host.request(SetTier, { participantId: ids.viewer, tier: 'high' })).participant.tier, 'high');
    });

    it("a role change starts from the new role's tier; a guest coming back with its ticket keeps the host's choice", async () => {
      await start({ reconnectGraceMs: 5000 });
      const { session, host, viewer, ctrl, joins, ids } = await seated();
      await host.request(SetTier, { participantId: ids.viewer, tier: 'low' });
      const promoted = await host.request(SetRole, { participantId: ids.viewer, role: 'controller' });
      assert.deepEqual([promoted.participant.tier, promoted.participant.tierChosen], ['high', undefined]);
      await viewer.waitFor(ParticipantUpdated, (p) => p.participant.id === ids.viewer && p.participant.role === 'controller' && p.participant.tier === 'high');

      await host.request(SetTier, { participantId: ids.ctrl, tier: 'standard' });
      ctrl.kill();
      const again = await (await client()).join(session.sessionId, tokenOf(session.links.controller.url), 'Ada', { resume: joins.c.resume });
      assert.equal(again.resumed, true);
      assert.deepEqual([again.self.tier, again.self.tierChosen], ['standard', true]);
    });
  });
}
