/**
 * Host transfer (the strategy's transferHost): the host hands its seat to a controller in one
 * step. Everyone hears it; control stops first; the two whose roles swapped are closed and come
 * back with their resume tickets in their new roles, and every host-only rule follows the seat.
 */
import assert from 'node:assert/strict';
import { TokenVerifier } from 'livekit-server-sdk';
import { ErrorCode } from '../../protocol/errors';
import {
  CloseCode,
  ControlChanged,
  CreateLink,
  GrantControl,
  HostChanged,
  MakeHost,
  ParticipantUpdated,
  RefreshSfuAccess,
  RequestControl,
} from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { rejects } from '../support/assertions';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { startPlane, startSfuRig, type SfuRig } from '../support/livekit';
import { TestClient } from '../support/signaling-client';

describe('control plane: host transfer', function () {
  this.timeout(30_000);
  let plane: ControlPlane;
  const clients: TestClient[] = [];
  const connect = async (p: ControlPlane = plane) => {
    const c = await TestClient.connect(p.url);
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await plane?.close();
  });

  async function room(p: ControlPlane, mode: 'p2p' | 'sfu' = 'p2p') {
    const s = await createSession(p, { mode });
    const host = await connect(p);
    const h = await host.join(s.sessionId, s.hostToken, 'Hana', { client: { kind: 'vscode' } });
    const ada = await connect(p);
    const a = await ada.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada', { client: { kind: 'vscode' } });
    const bea = await connect(p);
    const b = await bea.join(s.sessionId, tokenOf(s.links.controller.url), 'Bea', { client: { kind: 'browser' } });
    const vic = await connect(p);
    const v = await vic.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    return { s, host, h, ada, a, bea, b, vic, v };
  }

  it('the host hands its seat to a controller: everyone is told, both come back in their new roles, host-only rules follow', async () => {
    plane = await startTestServer();
    const { s, host, h, ada, a, vic } = await room(plane);
    // Ada drives when it happens: control stops first.
    await ada.request(RequestControl, {});
    await host.request(GrantControl, { participantId: a.self.id });
    const made = await host.request(MakeHost, { participantId: a.self.id });
    assert.deepEqual([made.participant.id, made.participant.role], [a.self.id, 'host']);
    const told = await vic.waitFor(HostChanged);
    assert.deepEqual([told.hostId, told.previousHostId], [a.self.id, h.self.id]);
    assert.match(told.message, /Hana handed the host's seat to Ada/);
    await vic.waitFor(ControlChanged, (c) => c.participantId === a.self.id && c.state === 'none' && c.reason === 'revoked');
    await vic.waitFor(ParticipantUpdated, (u) => u.participant.id === h.self.id && u.participant.role === 'controller');
    // The two whose roles swapped are closed so their connections come back with the new roles.
    assert.equal(await host.closed, CloseCode.HostChanged);
    assert.equal(await ada.closed, CloseCode.HostChanged);
    assert.equal(vic.closeCode, undefined, 'everyone else stays connected');
    const newHost = await connect();
    const back = await newHost.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada', { resume: a.resume });
    assert.deepEqual([back.self.id, back.self.role, back.session.hostId, back.resumed], [a.self.id, 'host', a.self.id, true]);
    const oldHost = await connect();
    const was = await oldHost.join(s.sessionId, s.hostToken, 'Hana', { resume: h.resume });
    assert.deepEqual([was.self.id, was.self.role], [h.self.id, 'controller']);
    // Host-only rules follow the seat.
    assert.match((await newHost.request(CreateLink, { role: 'viewer' })).url, new RegExp(s.sessionId));
    await rejects(oldHost.request(CreateLink, { role: 'viewer' }), ErrorCode.Forbidden);
    await oldHost.request(RequestControl, {});
    await newHost.waitFor(ControlChanged, (c) => c.participantId === h.self.id && c.state === 'requested');
    await newHost.request(GrantControl, { participantId: h.self.id });
    await vic.waitFor(ControlChanged, (c) => c.participantId === h.self.id && c.state === 'granted');
    // Without a ticket, the old host link no longer opens the host's seat.
    const stray = await connect();
    await rejects(stray.join(s.sessionId, s.hostToken, 'Impostor'), ErrorCode.LimitReached);
  });

  it('refuses what is not a transfer to a connected controller in VS Code, with why', async () => {
    plane = await startTestServer();
    const { host, ada, a, b, v, vic } = await room(plane);
    const viewer = await rejects(host.request(MakeHost, { participantId: v.self.id }), ErrorCode.Forbidden);
    assert.match(viewer.message, /Vic is a viewer; only a controller can take over as host/);
    const browser = await rejects(host.request(MakeHost, { participantId: b.self.id }), ErrorCode.Forbidden);
    assert.match(browser.message, /Bea watches in a browser/);
    await rejects(ada.request(MakeHost, { participantId: a.self.id }), ErrorCode.Forbidden);
    await rejects(vic.request(MakeHost, { participantId: a.self.id }), ErrorCode.Forbidden);
    await rejects(host.request(MakeHost, { participantId: 'nobody' }), ErrorCode.PeerNotFound);
    ada.kill();
    await vic.waitFor(ParticipantUpdated, (u) => u.participant.id === a.self.id && !u.participant.connected);
    const away = await rejects(host.request(MakeHost, { participantId: a.self.id }), ErrorCode.PeerNotFound);
    assert.match(away.message, /Ada is not connected right now/);
  });

  describe('on an SFU', function () {
    let rig: SfuRig;
    before(async () => {
      rig = await startSfuRig({ webhooks: false });
    });
    after(() => rig?.livekit.stop());

    it("LiveKit access follows the seat: the new host may publish the screen, the old one no longer", async () => {
      plane = await startPlane(rig);
      const { s, host, h, a } = await room(plane, 'sfu');
      await host.request(MakeHost, { participantId: a.self.id });
      const verifier = new TokenVerifier(rig.livekit.apiKey, rig.livekit.apiSecret);
      const newHost = await connect();
      await newHost.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada', { resume: a.resume });
      const oldHost = await connect();
      await oldHost.join(s.sessionId, s.hostToken, 'Hana', { resume: h.resume });
      const grantOf = async (c: TestClient) => (await verifier.verify((await c.request(RefreshSfuAccess, {})).token)).video;
      assert.deepEqual([(await grantOf(newHost))?.canPublish, (await grantOf(newHost))?.canPublishSources], [true, ['screen_share']]);
      assert.equal((await grantOf(oldHost))?.canPublish, false);
    });
  });
});
