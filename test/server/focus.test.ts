/**
 * The session focus: an `auto` session starts peer-to-peer and the server moves it to the SFU
 * when it reaches `autoSfuAt` participants, without any guest asking; one move however many
 * instances see the trigger; a clear message when no SFU can take it. Against a real LiveKit.
 * The media side of the move (pixels before and after, the freeze) is test/e2e/auto-upgrade.test.ts.
 */
import '../support/livekit-quiet';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { ParticipantUpdated, RefreshSfuAccess, ReportMedia, SessionTopology } from '../../protocol/signaling';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { MemoryRoomStateStore } from '../../server/memory-room-state-store';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { rejects } from '../support/assertions';
import { startRedis } from '../support/redis';
import { RoomServiceClient } from 'livekit-server-sdk';
import { startLocalLiveKit } from '../../demo/livekit-server';
import { eventually, focusSuite, startPlane } from '../support/livekit';

type Created = Awaited<ReturnType<typeof createSession>>;

describe('session focus: auto sessions move from P2P to the SFU as they grow', function () {
  this.timeout(60_000);
  const lk = focusSuite();
  const { planes, clients, connect } = lk;

  /** Host, then controllers (up to 3) and viewers, until `count` participants are in. */
  const fill = async (p: ControlPlane, s: Created, count: number, from = 0) => {
    const joined = [];
    for (let i = from; i < count; i++) {
      const c = await connect(p);
      const token = i === 0 ? s.hostToken : tokenOf(i <= 3 ? s.links.controller.url : s.links.viewer.url);
      joined.push({ client: c, result: await c.join(s.sessionId, token, i === 0 ? 'Host' : `Guest ${i}`) });
    }
    return joined;
  };

  it('stays peer-to-peer for 9 and moves everyone to the SFU when the 10th joins', async () => {
    const plane = await startPlane(lk.rig);
    planes.push(plane);
    const s = await createSession(plane, { name: 'Review' });
    const nine = await fill(plane, s, 9);
    assert.equal(nine[0]!.result.session.mode, 'auto');
    assert.deepEqual(
      nine.map((j) => j.result.session.media),
      Array(9).fill('p2p'),
    );
    assert.equal(
      nine.some((j) => j.result.sfu),
      false,
      'no SFU access below the threshold',
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(nine[0]!.client.received(SessionTopology).length, 0, 'no move below the threshold');
    await rejects(nine[1]!.client.request(RefreshSfuAccess, {}), ErrorCode.BadMessage);
    assert.equal((await lk.rig.api.listRooms()).length, 0, 'no LiveKit room yet');

    const tenth = (await fill(plane, s, 10, 9))[0]!;
    const everyone = [...nine, tenth];
    const moves = await Promise.all(everyone.map((j) => j.client.waitFor(SessionTopology, (t) => t.phase === 'moving')));
    for (const m of moves) {
      assert.deepEqual([m.media, m.epoch, m.reason, m.region], ['sfu', 1, 'participants', 'default']);
      assert.match(m.message, /reached 10 participants.*moving it to the SFU/);
    }
    assert.deepEqual(
      (await lk.rig.api.listRooms()).map((r) => r.name),
      [s.sessionId],
      "the session's room exists on LiveKit",
    );
    // Everyone can get into the room now, each with its own identity.
    const access = await Promise.all(everyone.map((j) => j.client.request(RefreshSfuAccess, {})));
    assert.deepEqual(new Set(access.map((a) => a.room)), new Set([s.sessionId]));
    assert.equal(new Set(access.map((a) => a.token)).size, 10);

    // The 11th joins straight onto the SFU.
    const eleventh = (await fill(plane, s, 11, 10))[0]!;
    assert.equal(eleventh.result.session.media, 'sfu');
    assert.equal(eleventh.result.epoch, 1);
    assert.equal(eleventh.result.sfu?.room, s.sessionId);
    assert.equal(eleventh.result.self.media, 'sfu');

    // Make before break: the host hears each guest that shows the SFU's picture; 'done' once all do.
    const host = nine[0]!.client;
    const guests = everyone.slice(1);
    for (const g of guests.slice(0, -1)) await g!.client.request(ReportMedia, { media: 'sfu', epoch: 1 });
    await host.waitFor(ParticipantUpdated, (u) => u.participant.id === guests[0]!.result.self.id && u.participant.media === 'sfu');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(host.received(SessionTopology).filter((t) => t.phase === 'done').length, 0, 'not done while one guest is still on P2P');
    // A report about another epoch (a slow client's) changes nothing.
    await guests.at(-1)!.client.request(ReportMedia, { media: 'sfu', epoch: 0 });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(host.received(SessionTopology).filter((t) => t.phase === 'done').length, 0);
    await guests.at(-1)!.client.request(ReportMedia, { media: 'sfu', epoch: 1 });
    const done = await host.waitFor(SessionTopology, (t) => t.phase === 'done');
    assert.match(done.message, /Everyone now watches through the SFU/);
    await rejects(host.request(ReportMedia, { media: 'sfu', epoch: 1 }), ErrorCode.BadMessage);
  });

  it('lets the 26th participant in once the session is on the SFU (P2P caps viewers at 25)', async () => {
    const plane = await startPlane(lk.rig, { focus: { autoSfuAt: 3 } });
    planes.push(plane);
    const s = await createSession(plane);
    const joined = await fill(plane, s, 3);
    await joined[0]!.client.waitFor(SessionTopology, (t) => t.phase === 'moving');
    const more = await fill(plane, s, 30, 3);
    assert.equal(more.at(-1)!.result.session.media, 'sfu');
  });

  it('exactly one move when two instances race for the same session', async () => {
    const store = new MemoryRoomStateStore();
    const shared = { tokenSecret: 'x'.repeat(40), focus: { autoSfuAt: 4 } };
    const livekit = { url: lk.rig.livekit.url, apiKey: lk.rig.livekit.apiKey, apiSecret: lk.rig.livekit.apiSecret };
    const a = await startControlPlane({ ...shared, livekit, instanceId: 'a' }, { store });
    const b = await startControlPlane({ ...shared, livekit, instanceId: 'b' }, { store });
    planes.push(a, b);
    const s = await createSession(a);
    await fill(a, s, 3);
    // The 4th and 5th arrive at once, one on each instance: both see the threshold.
    const [c4, c5] = await Promise.all([connect(a), connect(b)]);
    await Promise.all([c4.join(s.sessionId, tokenOf(s.links.viewer.url), 'Four'), c5.join(s.sessionId, tokenOf(s.links.viewer.url), 'Five')]);
    // And a burst of further triggers from both sides.
    await Promise.all([...Array(5)].flatMap(() => [a.service.focus.participantJoined(s.sessionId), b.service.focus.participantJoined(s.sessionId)]));
    await eventually(async () => (await store.getSession(s.sessionId))?.media === 'sfu', 'the move');
    const moves = async (p: ControlPlane) =>
      (await p.metrics.topologyMoves.get()).values.filter((v) => v.labels.result === 'ok').reduce((n, v) => n + v.value, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await moves(a)) + (await moves(b)), 1, 'one move in all');
    const session = await store.getSession(s.sessionId);
    assert.equal(session?.epoch, 1);
    assert.equal(session?.moving, undefined);
    assert.deepEqual(
      (await lk.rig.api.listRooms()).map((r) => r.name),
      [s.sessionId],
    );
  });

  it('exactly one move when two instances on a real Redis race, and everyone on both hears it', async () => {
    const redis = await startRedis();
    try {
      const shared = { tokenSecret: 'y'.repeat(40), focus: { autoSfuAt: 4 }, redis: { url: redis.url, keyPrefix: 'focus-race:' } };
      const livekit = { url: lk.rig.livekit.url, apiKey: lk.rig.livekit.apiKey, apiSecret: lk.rig.livekit.apiSecret };
      const a = await startControlPlane({ ...shared, livekit, instanceId: 'ra' });
      const b = await startControlPlane({ ...shared, livekit, instanceId: 'rb' });
      planes.push(a, b);
      const s = await createSession(a);
      // Host and a controller on A, a viewer on B.
      const onA = await fill(a, s, 2);
      const vb = await connect(b);
      await vb.join(s.sessionId, tokenOf(s.links.viewer.url), 'On B');
      const [c4, c5] = await Promise.all([connect(a), connect(b)]);
      await Promise.all([c4.join(s.sessionId, tokenOf(s.links.viewer.url), 'Four'), c5.join(s.sessionId, tokenOf(s.links.viewer.url), 'Five')]);
      await Promise.all([...Array(5)].flatMap(() => [a.service.focus.participantJoined(s.sessionId), b.service.focus.participantJoined(s.sessionId)]));
      const everyone = [...onA.map((j) => j.client), vb, c4, c5];
      const heard = await Promise.all(everyone.map((c) => c.waitFor(SessionTopology, (t) => t.phase === 'moving')));
      assert.deepEqual(new Set(heard.map((t) => t.epoch)), new Set([1]));
      await new Promise((r) => setTimeout(r, 300));
      const moves = async (p: ControlPlane) =>
        (await p.metrics.topologyMoves.get()).values.filter((v) => v.labels.result === 'ok').reduce((n, v) => n + v.value, 0);
      assert.equal((await moves(a)) + (await moves(b)), 1, 'one move in all');
      assert.equal(
        everyone.reduce((n, c) => n + c.received(SessionTopology).filter((t) => t.phase === 'moving').length, 0),
        everyone.length,
        'each participant told once',
      );
      assert.deepEqual(
        (await lk.rig.api.listRooms()).map((r) => r.name),
        [s.sessionId],
      );
      // Instances sharing Redis leave sessions to each other when they close: end it.
      await a.service.endSession(s.sessionId, 'host-ended');
    } finally {
      for (const c of clients.splice(0)) c.close();
      for (const p of planes.splice(0)) await p.close();
      await redis.stop();
    }
  });

  it('moves the session to the SFU of the region its host hinted at when joining', async () => {
    const other = await startLocalLiveKit({ logLevel: 'warn' });
    try {
      const deployment = (id: string, region: string, lk: { url: string; apiKey: string; apiSecret: string }) => ({
        id,
        region,
        url: lk.url,
        apiKey: lk.apiKey,
        apiSecret: lk.apiSecret,
      });
      const plane = await startTestServer({
        focus: { autoSfuAt: 3 },
        sfuPools: { deployments: [deployment('home', 'default', lk.rig.livekit), deployment('far', 'eu', other)], defaultRegion: 'default' },
      });
      planes.push(plane);
      const s = await createSession(plane);
      const host = await connect(plane);
      await host.join(s.sessionId, s.hostToken, 'Host', { region: 'eu' });
      await fill(plane, s, 3, 1);
      const moved = await host.waitFor(SessionTopology, (t) => t.phase === 'moving');
      assert.equal(moved.region, 'eu');
      const access = await host.request(RefreshSfuAccess, {});
      assert.equal(access.url, other.url, "the host's access points at the eu SFU");
      const farApi = new RoomServiceClient(other.url.replace(/^ws/, 'http'), other.apiKey, other.apiSecret);
      assert.deepEqual(
        (await farApi.listRooms()).map((r) => r.name),
        [s.sessionId],
      );
      assert.deepEqual(await lk.rig.api.listRooms(), [], "nothing on the default region's SFU");
      await plane.service.endSession(s.sessionId, 'host-ended');
    } finally {
      for (const c of clients.splice(0)) c.close();
      for (const p of planes.splice(0)) await p.close();
      await other.stop();
    }
  });

  it('without an SFU, says why the session stays peer-to-peer and tries again later', async () => {
    const plane = await startTestServer({ focus: { autoSfuAt: 3, retryAfterMs: 400 } });
    planes.push(plane);
    const s = await createSession(plane);
    const host = (await fill(plane, s, 3))[0]!;
    const failed = await host.client.waitFor(SessionTopology, (t) => t.phase === 'failed');
    assert.deepEqual([failed.media, failed.epoch, failed.reason], ['p2p', 0, 'participants']);
    assert.match(
      failed.message,
      /reached 3 participants, but no SFU could take it \(this server has no SFU configured\)\. The session stays peer-to-peer; PairUX tries again in 1 s/,
    );
    // Within the back-off, more joins do not retry.
    await fill(plane, s, 4, 3);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(host.client.received(SessionTopology).length, 1);
    await new Promise((r) => setTimeout(r, 400));
    const fifth = (await fill(plane, s, 5, 4))[0]!;
    await eventually(() => host.client.received(SessionTopology).length === 2, 'the second try');
    assert.equal(fifth.result.session.media, 'p2p');
  });

  it('an SFU coming back moves a session left peer-to-peer for want of one, without waiting for a join', async () => {
    const first = await startLocalLiveKit({ logLevel: 'warn' });
    const { ports, apiKey, apiSecret, url } = first;
    await first.stop();
    let back: Awaited<ReturnType<typeof startLocalLiveKit>> | undefined;
    try {
      const plane = await startTestServer({
        focus: { autoSfuAt: 3, retryAfterMs: 600_000 },
        sfuPools: { deployments: [{ id: 'only', region: 'default', url, apiKey, apiSecret }], checkIntervalMs: 200, failuresToDown: 1 },
      });
      planes.push(plane);
      await eventually(() => plane.service.sfu.pool?.snapshot()[0]?.health === 'down', 'the health checks to find the SFU down');
      const s = await createSession(plane);
      const [host] = await fill(plane, s, 3);
      const failed = await host!.client.waitFor(SessionTopology, (t) => t.phase === 'failed');
      assert.match(failed.message, /no SFU could take it/);
      back = await startLocalLiveKit({ logLevel: 'warn', keys: { apiKey, apiSecret }, ports });
      // No join: the deployment's return alone moves it (the 10-minute back-off would have kept it waiting).
      const moved = await host!.client.waitFor(SessionTopology, (t) => t.phase === 'moving', 10_000);
      assert.deepEqual([moved.media, moved.epoch], ['sfu', 1]);
      const api = new RoomServiceClient(url.replace(/^ws/, 'http'), apiKey, apiSecret);
      assert.deepEqual(
        (await api.listRooms()).map((r) => r.name),
        [s.sessionId],
      );
      await plane.service.endSession(s.sessionId, 'host-ended');
    } finally {
      for (const c of clients.splice(0)) c.close();
      for (const p of planes.splice(0)) await p.close();
      await back?.stop();
    }
  });

  it('leaves p2p and sfu sessions where they started', async () => {
    const plane = await startPlane(lk.rig, { focus: { autoSfuAt: 2 } });
    planes.push(plane);
    const p2p = await createSession(plane, { mode: 'p2p' });
    const h = (await fill(plane, p2p, 3))[0]!;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.client.received(SessionTopology).length, 0);
    const sfu = await createSession(plane, { mode: 'sfu' });
    const hs = (await fill(plane, sfu, 3))[0]!;
    assert.equal(hs.result.session.media, 'sfu');
    assert.equal(hs.result.epoch, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hs.client.received(SessionTopology).length, 0);
  });
});
