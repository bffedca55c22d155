/**
 * A host that cannot keep up (issue 16, "a host that never drowns"): its page reports it
 * (`media.hostLoad`), and the session focus moves an `auto` session to the SFU at once, whatever
 * its size, with the same make-before-break move as at the participant threshold. Where no SFU can
 * take it, its viewers go to the `low` tier instead (a controller keeps its tier, and so does a
 * viewer whose tier the host chose), and the host is told so; the move, when it comes later, gives
 * them their tier back, and so does a host that keeps up again for long enough (30 s, doubled for
 * each lowering). Only the host's word counts. Against a real LiveKit.
 * What makes a page report it is test/webview/host-load.test.ts.
 */
import '../support/livekit-quiet';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { ParticipantUpdated, ReportHostLoad, SessionTopology, SetTier, type HostLoadReport } from '../../protocol/signaling';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { MemoryRoomStateStore } from '../../server/memory-room-state-store';
import { TEST_PAGES } from '../support/test-pages';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { rejects } from '../support/assertions';
import { eventually, focusSuite, startPlane } from '../support/livekit';

type Created = Awaited<ReturnType<typeof createSession>>;

const CPU_BOUND: HostLoadReport = { overloaded: true, reason: 'encoder-cpu', sentFps: 9, expectedFps: 30 };

describe('session focus: a host that cannot keep up moves the session to the SFU early', function () {
  this.timeout(60_000);
  const lk = focusSuite();
  const { planes, connect } = lk;

  /** The host, one controller and `viewers` viewers. */
  const people = async (plane: ControlPlane, s: Created, viewers: number) => {
    const join = async (token: string, name: string) => {
      const client = await connect(plane);
      return { client, result: await client.join(s.sessionId, token, name) };
    };
    const host = await join(s.hostToken, 'Host');
    const controller = await join(tokenOf(s.links.controller.url), 'Carla');
    const audience = [];
    for (let i = 1; i <= viewers; i++) audience.push(await join(tokenOf(s.links.viewer.url), `Viewer ${i}`));
    return { host, controller, audience };
  };

  it('an auto session of 4 moves to the SFU as soon as its host reports it cannot keep up', async () => {
    const plane = await startPlane(lk.rig);
    planes.push(plane);
    const s = await createSession(plane, { name: 'Busy host' });
    const { host, audience } = await people(plane, s, 2);
    assert.equal(host.result.session.media, 'p2p');
    // Four participants, far below the threshold of 10: nothing moves by size.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(host.client.received(SessionTopology).length, 0);

    const answer = await host.client.request(ReportHostLoad, CPU_BOUND);
    assert.equal(answer.action, 'moving');
    assert.match(answer.message, /cannot keep up \(its video encoders are short of CPU; 9 of 30 frames a second\): moving the session to an SFU/);
    for (const c of [host.client, ...audience.map((v) => v.client)]) {
      const moved = await c.waitFor(SessionTopology, (t) => t.phase === 'moving');
      assert.deepEqual([moved.media, moved.epoch, moved.reason], ['sfu', 1, 'host-overloaded']);
      assert.match(moved.message, /host's computer cannot keep up/);
    }
    assert.deepEqual(
      (await lk.rig.api.listRooms()).map((r) => r.name),
      [s.sessionId],
    );
    // Already on the SFU: a second report changes nothing.
    const again = await host.client.request(ReportHostLoad, CPU_BOUND);
    assert.equal(again.action, 'none');
    await plane.service.endSession(s.sessionId, 'host-ended');
  });

  it('a guest cannot report the host overloaded: refused, and the session stays where it is', async () => {
    const plane = await startPlane(lk.rig);
    planes.push(plane);
    const s = await createSession(plane);
    const { host, controller, audience } = await people(plane, s, 1);
    for (const guest of [controller, audience[0]!]) {
      const refused = await rejects(guest.client.request(ReportHostLoad, CPU_BOUND), ErrorCode.Forbidden);
      assert.match(refused.message, /only the host reports its own load/);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(host.client.received(SessionTopology).length, 0);
    assert.deepEqual(await lk.rig.api.listRooms(), []);
    // Bad input at the boundary: refused before anything looks at it.
    await rejects(host.client.request(ReportHostLoad, { ...CPU_BOUND, sentFps: -1 }), ErrorCode.BadMessage);
  });

  it('a host that keeps up changes nothing', async () => {
    const plane = await startPlane(lk.rig);
    planes.push(plane);
    const s = await createSession(plane);
    const { host } = await people(plane, s, 1);
    const answer = await host.client.request(ReportHostLoad, { overloaded: false, sentFps: 30, expectedFps: 30 });
    assert.equal(answer.action, 'none');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(host.client.received(SessionTopology).length, 0);
  });

  it('without an SFU, its viewers go to the low tier (not the controller, not a viewer the host placed) and the host is told', async () => {
    const plane = await startTestServer({ focus: { retryAfterMs: 60_000 } });
    planes.push(plane);
    const s = await createSession(plane);
    const { host, controller, audience } = await people(plane, s, 3);
    const [kept, ...others] = audience;
    await host.client.request(SetTier, { participantId: kept!.result.self.id, tier: 'standard' });

    const answer = await host.client.request(ReportHostLoad, { overloaded: true, reason: 'uplink', sentFps: 12, expectedFps: 30 });
    assert.equal(answer.action, 'viewers-lowered');
    assert.match(answer.message, /its upload is saturated; 12 of 30 frames a second\), and this server has no SFU: its 3 viewers are on the low tier/);
    // Everyone hears the viewers' new tier; the controller's and the chosen one's stay.
    for (const v of others) {
      const seen = await controller.client.waitFor(ParticipantUpdated, (u) => u.participant.id === v.result.self.id && u.participant.tier === 'low');
      assert.equal(seen.participant.tierLowered, true);
    }
    const lowered = new Set(
      controller.client
        .received(ParticipantUpdated)
        .filter((u) => u.participant.tier === 'low')
        .map((u) => u.participant.id),
    );
    assert.ok(!lowered.has(kept!.result.self.id), 'the viewer the host put on standard keeps it');
    assert.ok(!lowered.has(controller.result.self.id), 'the controller keeps its tier');
    // A viewer joining now starts low too.
    const late = await connect(plane);
    const joined = await late.join(s.sessionId, tokenOf(s.links.viewer.url), 'Late');
    assert.equal(joined.participants.find((p) => p.id === joined.self.id)?.tier ?? joined.self.tier, 'low');
    // Said once: a second report does not lower (or broadcast) again.
    const before = controller.client.received(ParticipantUpdated).length;
    assert.equal((await host.client.request(ReportHostLoad, CPU_BOUND)).action, 'viewers-lowered');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(controller.client.received(ParticipantUpdated).length, before);
  });

  it('a host that keeps up again gets its lowered viewers back after 30 s; lowered again, the next restore waits twice as long', async () => {
    const store = new MemoryRoomStateStore();
    const plane = await startControlPlane({ host: '127.0.0.1', port: 0, ...TEST_PAGES }, { store });
    planes.push(plane);
    const s = await createSession(plane, { mode: 'p2p' });
    const { host, controller, audience } = await people(plane, s, 1);
    const viewerId = audience[0]!.result.self.id;
    const KEEPS_UP: HostLoadReport = { overloaded: false, sentFps: 30, expectedFps: 30 };
    /** Moves the lowering back in time, as if the viewers had been low this long. */
    const lowFor = async (ms: number) => {
      const r = (await store.getSession(s.sessionId))!;
      assert.ok(r.viewersLowered, 'the viewers are lowered');
      assert.ok(await store.updateSession(s.sessionId, r.version, { viewersLowered: { ...r.viewersLowered, at: Date.now() - ms } }));
    };
    const tierSeen = (tier: string, after: number) =>
      controller.client.waitFor(
        ParticipantUpdated,
        (u) => u.participant.id === viewerId && u.participant.tier === tier && controller.client.received(ParticipantUpdated).indexOf(u) >= after,
      );

    for (const [round, hold] of [
      [1, 30_000],
      [2, 60_000],
    ] as const) {
      const updates = controller.client.received(ParticipantUpdated).length;
      assert.equal((await host.client.request(ReportHostLoad, CPU_BOUND)).action, 'viewers-lowered', `round ${round}: lowered`);
      await tierSeen('low', updates);
      // Kept up, but not for long enough: the report is heard and the viewers stay low.
      await lowFor(hold - 2000);
      const early = await host.client.request(ReportHostLoad, KEEPS_UP);
      assert.equal(early.action, 'none');
      assert.match(early.message, /stay on the low tier a while longer/);
      assert.equal((await store.getSession(s.sessionId))!.viewersLowered?.times, round);
      const before = controller.client.received(ParticipantUpdated).length;
      await lowFor(hold + 1000);
      const back = await host.client.request(ReportHostLoad, KEEPS_UP);
      assert.equal(back.action, 'viewers-restored', `round ${round}: restored`);
      assert.match(back.message, /keeps up again: its viewers are back on their tiers/);
      const seen = await tierSeen('standard', before);
      assert.equal(seen.participant.tierLowered, undefined);
      assert.equal((await store.getSession(s.sessionId))!.viewersLowered, undefined);
    }
  });

  it('when an SFU takes the session later, the lowered viewers get their tier back', async () => {
    const store = new MemoryRoomStateStore();
    const plane = await startControlPlane(
      {
        host: '127.0.0.1',
        port: lk.rig.planePort,
        ...TEST_PAGES,
        focus: { autoSfuAt: 4, retryAfterMs: 1500 },
        livekit: { url: lk.rig.livekit.url, apiKey: lk.rig.livekit.apiKey, apiSecret: lk.rig.livekit.apiSecret },
      },
      { store },
    );
    planes.push(plane);
    // A session fixed on P2P has no move to make: its viewers are lowered, not moved.
    const fixed = await createSession(plane, { mode: 'p2p' });
    const f = await people(plane, fixed, 1);
    const fixedAnswer = await f.host.client.request(ReportHostLoad, CPU_BOUND);
    assert.equal(fixedAnswer.action, 'viewers-lowered');
    assert.match(fixedAnswer.message, /this session is fixed on peer-to-peer: its viewer is on the low tier/);

    // An auto session whose move failed a moment ago (the SFU was down) is lowered rather than
    // retried at once, then moves when it reaches the threshold and its viewers get their tier back.
    const s = await createSession(plane);
    const { host, audience } = await people(plane, s, 1);
    const record = await store.getSession(s.sessionId);
    assert.ok(await store.updateSession(s.sessionId, record!.version, { moveFailedAt: Date.now() }));
    assert.equal((await host.client.request(ReportHostLoad, CPU_BOUND)).action, 'viewers-lowered');
    const viewerId = audience[0]!.result.self.id;
    await host.client.waitFor(ParticipantUpdated, (u) => u.participant.id === viewerId && u.participant.tier === 'low');
    // Past the back-off, the 4th participant (the threshold here) moves it.
    await new Promise((r) => setTimeout(r, 1600));
    const extra = await connect(plane);
    await extra.join(s.sessionId, tokenOf(s.links.viewer.url), 'Fourth');
    await host.client.waitFor(SessionTopology, (t) => t.phase === 'moving' && t.media === 'sfu');
    await eventually(
      () =>
        host.client.received(ParticipantUpdated).some((u) => u.participant.id === viewerId && u.participant.tier === 'standard' && !u.participant.tierLowered),
      'the viewer back on its role tier',
    );
    await plane.service.endSession(s.sessionId, 'host-ended');
  });
});
