/**
 * The host's participant actions over real WebSockets against the real server: promote, demote,
 * remove; who may do them, the limits they respect, and what the signaling rules do afterwards.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import {
  CloseCode,
  ControlChanged,
  GrantControl,
  ParticipantLeft,
  ParticipantUpdated,
  RemoveParticipant,
  RequestControl,
  SessionEnded,
  SetRole,
  type Participant,
  type ResumeTicket,
} from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import type { SignalingClient, EndReason } from '../../webview/engine/signaling/signaling-client';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { joinedEngine, TestClient } from '../support/signaling-client';
import { admitKnocks } from '../support/lobby';
import { rejects as refused } from '../support/assertions';

describe('control plane: host participant actions', () => {
  let plane: ControlPlane;
  let session: Awaited<ReturnType<typeof createSession>>;
  const clients: TestClient[] = [];
  let host: TestClient;
  let ctrl: TestClient;
  let viewer: TestClient;
  let ids: { host: string; ctrl: string; viewer: string };
  let tickets: { ctrl: ResumeTicket; viewer: ResumeTicket };

  async function join(token: string, name: string, extra: Parameters<TestClient['join']>[3] = {}) {
    const c = await TestClient.connect(plane.url);
    clients.push(c);
    const result = await c.join(session.sessionId, token, name, extra);
    return { c, result };
  }
  const controllerToken = () => tokenOf(session.links.controller.url);
  const viewerToken = () => tokenOf(session.links.viewer.url);

  async function start(config: Parameters<typeof startTestServer>[0] = {}) {
    plane = await startTestServer({ reconnectGraceMs: 2000, ...config });
    session = await createSession(plane);
    const h = await join(session.hostToken, 'Host');
    const c = await join(controllerToken(), 'Ada');
    const v = await join(viewerToken(), 'Vic');
    [host, ctrl, viewer] = [h.c, c.c, v.c];
    ids = { host: h.result.self.id, ctrl: c.result.self.id, viewer: v.result.self.id };
    tickets = { ctrl: c.result.resume, viewer: v.result.resume };
  }

  beforeEach(() => start());
  afterEach(async () => {
    for (const c of clients.splice(0)) c.kill();
    await plane.close();
  });

  it('promotes a viewer: everyone sees it, and now it may request control and be granted', async () => {
    await refused(viewer.request(RequestControl, {}), ErrorCode.Forbidden);
    const { participant } = await host.request(SetRole, { participantId: ids.viewer, role: 'controller' });
    assert.equal(participant.role, 'controller');
    for (const c of [host, ctrl, viewer]) {
      await c.waitFor(ParticipantUpdated, (p) => p.participant.id === ids.viewer && p.participant.role === 'controller');
    }
    await viewer.request(RequestControl, {});
    const asked = await host.waitFor(ControlChanged, (p) => p.reason === 'requested');
    assert.equal(asked.participantId, ids.viewer);
    await host.request(GrantControl, { participantId: ids.viewer });
    assert.equal((await ctrl.waitFor(ControlChanged, (p) => p.reason === 'granted')).driverId, ids.viewer);
  });

  it('demotes a controller: everyone sees it, and it can no longer ask for or be given control', async () => {
    await host.request(SetRole, { participantId: ids.ctrl, role: 'viewer' });
    for (const c of [host, ctrl, viewer]) {
      await c.waitFor(ParticipantUpdated, (p) => p.participant.id === ids.ctrl && p.participant.role === 'viewer');
    }
    const err = await refused(ctrl.request(RequestControl, {}), ErrorCode.Forbidden);
    assert.match(err.message, /Viewers cannot request control/);
    await refused(host.request(GrantControl, { participantId: ids.ctrl }), ErrorCode.Forbidden);
    // Nothing about control was announced: it had none.
    assert.equal(host.received(ControlChanged).length, 0);
  });

  it('demoting the driver revokes control first, for everyone', async () => {
    await host.request(GrantControl, { participantId: ids.ctrl });
    await viewer.waitFor(ControlChanged, (p) => p.reason === 'granted');
    await host.request(SetRole, { participantId: ids.ctrl, role: 'viewer' });
    for (const c of [host, ctrl, viewer]) {
      const revoked = await c.waitFor(ControlChanged, (p) => p.participantId === ids.ctrl && p.state === 'none');
      assert.equal(revoked.reason, 'revoked');
      assert.equal(revoked.driverId, null);
    }
    // Order as seen by a bystander: control ended before the role became viewer.
    const revokedAt = viewer.notifications.map((n) => n.method).lastIndexOf(ControlChanged.method);
    const demotedAt = viewer.notifications.findIndex((n) => {
      if (n.method !== ParticipantUpdated.method) return false;
      const { participant } = n.params as { participant: Participant };
      return participant.id === ids.ctrl && participant.role === 'viewer';
    });
    assert.ok(revokedAt >= 0 && demotedAt > revokedAt, `control.changed (${revokedAt}) before the demotion (${demotedAt})`);
  });

  it('demoting a controller with a pending request withdraws it', async () => {
    await ctrl.request(RequestControl, {});
    await host.waitFor(ControlChanged, (p) => p.reason === 'requested');
    const { participant } = await host.request(SetRole, { participantId: ids.ctrl, role: 'viewer' });
    assert.equal(participant.controlState, 'none');
    assert.equal((await host.waitFor(ControlChanged, (p) => p.state === 'none')).reason, 'revoked');
  });

  it('refuses a fourth controller and a viewer over the limit, naming the limit, and changes nothing', async () => {
    await join(controllerToken(), 'Bob');
    await join(controllerToken(), 'Cy');
    const err = await refused(host.request(SetRole, { participantId: ids.viewer, role: 'controller' }), ErrorCode.LimitReached);
    assert.match(err.message, /3 controllers/);
    assert.deepEqual(err.data, { role: 'controller', limit: 3 });
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!viewer.received(ParticipantUpdated).some((p) => p.participant.id === ids.viewer), 'no role change was announced');
    await refused(viewer.request(RequestControl, {}), ErrorCode.Forbidden);

    await plane.close();
    await start({ viewerLimitP2p: 1 });
    const full = await refused(host.request(SetRole, { participantId: ids.ctrl, role: 'viewer' }), ErrorCode.LimitReached);
    assert.match(full.message, /1 viewers/);
    assert.deepEqual(full.data, { role: 'viewer', limit: 1 });
    await ctrl.request(RequestControl, {});
  });

  it('only the host may act, and never on itself', async () => {
    const notHost = await refused(ctrl.request(SetRole, { participantId: ids.viewer, role: 'controller' }), ErrorCode.Forbidden);
    assert.match(notHost.message, /Only the host/);
    await refused(viewer.request(SetRole, { participantId: ids.viewer, role: 'controller' }), ErrorCode.Forbidden);
    await refused(viewer.request(RemoveParticipant, { participantId: ids.ctrl }), ErrorCode.Forbidden);
    await refused(ctrl.request(RemoveParticipant, { participantId: ids.host }), ErrorCode.Forbidden);
    const selfDemote = await refused(host.request(SetRole, { participantId: ids.host, role: 'viewer' }), ErrorCode.Forbidden);
    assert.match(selfDemote.message, /cannot change your own role/);
    const selfRemove = await refused(host.request(RemoveParticipant, { participantId: ids.host }), ErrorCode.Forbidden);
    assert.match(selfRemove.message, /end the session/);
    await new Promise((r) => setTimeout(r, 100));
    for (const c of [host, ctrl, viewer]) {
      assert.equal(c.received(ParticipantUpdated).length + c.received(ParticipantLeft).length + c.received(SessionEnded).length, 0);
    }
    assert.equal(ctrl.closeCode, undefined);
  });

  it('refuses bad params with a clear error and unknown participants as not found', async () => {
    const badRole = await refused(host.request(SetRole, { participantId: ids.ctrl, role: 'host' } as never), ErrorCode.BadMessage);
    assert.match(badRole.message, /participant\.setRole.*role/);
    const noId = await refused(host.request(SetRole, { role: 'viewer' } as never), ErrorCode.BadMessage);
    assert.match(noId.message, /participantId/);
    await refused(host.request(RemoveParticipant, { participantId: '../etc' }), ErrorCode.BadMessage);
    const long = await refused(host.request(RemoveParticipant, { participantId: ids.ctrl, reason: 'x'.repeat(201) }), ErrorCode.BadMessage);
    assert.match(long.message, /reason/);
    const missing = await refused(host.request(RemoveParticipant, { participantId: 'v-nobody' }), ErrorCode.PeerNotFound);
    assert.match(missing.message, /v-nobody/);
    await refused(host.request(SetRole, { participantId: 'c-nobody', role: 'viewer' }), ErrorCode.PeerNotFound);
    assert.equal(ctrl.closeCode, undefined, 'a refused removal removes nobody');
  });

  it('a removed guest is told why, disconnected, and cannot resume; the others see it leave', async () => {
    await host.request(GrantControl, { participantId: ids.ctrl });
    await host.request(RemoveParticipant, { participantId: ids.ctrl, reason: 'wrong session' });
    const ended = await ctrl.waitFor(SessionEnded);
    assert.equal(ended.reason, 'removed');
    assert.equal(ended.message, 'The host removed you from the session: wrong session');
    assert.equal(await ctrl.closed, CloseCode.Removed);
    for (const c of [host, viewer]) {
      assert.equal((await c.waitFor(ParticipantLeft, (p) => p.participantId === ids.ctrl)).reason, 'removed');
      assert.equal((await c.waitFor(ControlChanged, (p) => p.participantId === ids.ctrl && p.state === 'none')).reason, 'revoked');
      assert.equal(c.received(SessionEnded).length, 0, 'the session goes on for everyone else');
    }
    const back = await TestClient.connect(plane.url);
    clients.push(back);
    const err = await refused(back.join(session.sessionId, controllerToken(), 'Ada', { resume: tickets.ctrl }), ErrorCode.SessionEnded);
    assert.match(err.message, /host removed you/);
    assert.deepEqual(err.data, { reason: 'removed' });
    // Nor with the link it came through: removing revokes it (the host gets a new one for everyone
    // else: trust-links-and-names.test.ts).
    await refused(join(controllerToken(), 'Ada'), ErrorCode.TokenRevoked);
  });

  it('removing a guest in its grace period frees the seat and refuses its ticket', async () => {
    viewer.kill();
    await host.waitFor(ParticipantUpdated, (p) => p.participant.id === ids.viewer && !p.participant.connected);
    await host.request(RemoveParticipant, { participantId: ids.viewer });
    assert.equal((await host.waitFor(ParticipantLeft, (p) => p.participantId === ids.viewer)).reason, 'removed');
    const back = await TestClient.connect(plane.url);
    clients.push(back);
    await refused(back.join(session.sessionId, viewerToken(), 'Vic', { resume: tickets.viewer }), ErrorCode.SessionEnded);
  });

  it('a promoted viewer who drops resumes with its viewer link as a controller', async () => {
    await host.request(SetRole, { participantId: ids.viewer, role: 'controller' });
    viewer.kill();
    await host.waitFor(ParticipantUpdated, (p) => p.participant.id === ids.viewer && !p.participant.connected);
    const back = await join(viewerToken(), 'Vic', { resume: tickets.viewer });
    assert.equal(back.result.resumed, true);
    assert.equal(back.result.self.id, ids.viewer);
    assert.equal(back.result.self.role, 'controller');
    await back.c.request(RequestControl, {});
  });

  it('counts the actions and their errors in the metrics', async () => {
    await host.request(SetRole, { participantId: ids.viewer, role: 'controller' });
    await refused(ctrl.request(RemoveParticipant, { participantId: ids.viewer }), ErrorCode.Forbidden);
    await host.request(RemoveParticipant, { participantId: ids.viewer });
    const text = await (await fetch(`${plane.url}/metrics`)).text();
    assert.match(text, /pairux_host_actions_total\{action="promote",result="ok"\} 1/);
    assert.match(text, /pairux_host_actions_total\{action="remove",result="FORBIDDEN"\} 1/);
    assert.match(text, /pairux_host_actions_total\{action="remove",result="ok"\} 1/);
    assert.match(text, /pairux_errors_total\{code="FORBIDDEN"\} 1/);
  });

  describe('through the engine SignalingClient', () => {
    const engines: SignalingClient[] = [];
    afterEach(() => {
      for (const e of engines.splice(0)) e.dispose();
    });

    // A session of their own: the host seat of the outer one is taken by a TestClient.
    let fresh: Awaited<ReturnType<typeof createSession>>;
    beforeEach(async () => {
      fresh = await createSession(plane);
    });

    async function engine(token: string, name: string): Promise<SignalingClient> {
      const e = await joinedEngine(plane.url, fresh.sessionId, token, name);
      engines.push(e);
      if (token === fresh.hostToken) admitKnocks(e);
      return e;
    }

    it('setRole and removeParticipant: the guest sees its new role, then ends with reason removed', async () => {
      const hostEngine = await engine(fresh.hostToken, 'Host');
      const guest = await engine(tokenOf(fresh.links.viewer.url), 'Guest');
      const guestId = guest.self!.id;
      const updated = await hostEngine.setRole(guestId, 'controller');
      assert.equal(updated.role, 'controller');
      await new Promise<void>((resolve) => {
        if (guest.self?.role === 'controller') resolve();
        guest.on('participantUpdated', ({ participant }) => participant.id === guestId && participant.role === 'controller' && resolve());
      });
      await guest.requestControl();

      const ended = new Promise<{ reason: EndReason; message: string }>((resolve) => guest.on('ended', resolve));
      await hostEngine.removeParticipant(guestId, 'meeting over');
      const end = await ended;
      assert.equal(end.reason, 'removed');
      assert.match(end.message, /The host removed you from the session: meeting over/);
      assert.equal(guest.state, 'ended');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(guest.state, 'ended', 'a removed guest does not reconnect');
      assert.ok(!hostEngine.participants.has(guestId));
    });

    it('setRole from a guest rejects with FORBIDDEN', async () => {
      await engine(fresh.hostToken, 'Host');
      const other = await engine(tokenOf(fresh.links.controller.url), 'Other');
      const guest = await engine(tokenOf(fresh.links.viewer.url), 'Guest');
      await refused(guest.setRole(other.self!.id, 'viewer'), ErrorCode.Forbidden);
      await refused(guest.removeParticipant(other.self!.id), ErrorCode.Forbidden);
    });
  });
});
