/**
 * Host transfer (the strategy's transferHost), in two steps: the host offers its seat to one
 * controller, which alone is asked and alone can accept, before a deadline. Only then does the
 * seat move: everyone hears it; control stops first; the two whose roles swapped are closed and
 * come back with their resume tickets in their new roles, and every host-only rule follows the
 * seat. A decline or the deadline changes nothing and tells the host.
 */
import assert from 'node:assert/strict';
import { TokenVerifier } from 'livekit-server-sdk';
import { ErrorCode } from '../../protocol/errors';
import type { NotificationType } from '../../protocol/rpc';
import {
  AcceptHost,
  CloseCode,
  ControlChanged,
  DeclineHost,
  CreateLink,
  GrantControl,
  HostChanged,
  HostOfferEnded,
  HostOffered,
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
    // The shared test client predates these two: recorded here like the others.
    for (const type of [HostOffered, HostOfferEnded] as NotificationType<unknown>[]) {
      c.endpoint.onNotification(type, (params) => void c.notifications.push({ method: type.method, params }));
    }
    clients.push(c);
    return c;
  };
  /** The host offers, the target is asked (and only it): the offer it received. */
  const offer = async (host: TestClient, target: TestClient, targetId: string) => {
    const made = await host.request(MakeHost, { participantId: targetId });
    assert.deepEqual([made.participant.id, made.participant.role], [targetId, 'controller'], 'an offer changes no role');
    return target.waitFor(HostOffered, (o) => o.participantId === targetId);
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
    const cat = await connect(p);
    const c = await cat.join(s.sessionId, tokenOf(s.links.controller.url), 'Cat', { client: { kind: 'vscode' } });
    return { s, host, h, ada, a, bea, b, vic, v, cat, c };
  }

  /** Nobody's role moved and nobody was closed: the host still has the host's rights. */
  async function unchanged(host: TestClient, ...others: TestClient[]) {
    await host.request(CreateLink, { role: 'viewer' });
    for (const c of [host, ...others]) assert.equal(c.closeCode, undefined, 'nobody is closed without a transfer');
    for (const c of [host, ...others]) assert.equal(c.received(HostChanged).length, 0, 'nobody was told of a new host');
  }

  it('the host offers its seat: only the named controller is asked, nothing moves until it accepts; then everyone is told, both come back in their new roles, host-only rules follow', async () => {
    plane = await startTestServer();
    const { s, host, h, ada, a, vic, cat } = await room(plane);
    // Ada drives when it happens: control stops first.
    await ada.request(RequestControl, {});
    await host.request(GrantControl, { participantId: a.self.id });
    const offered = await offer(host, ada, a.self.id);
    assert.deepEqual([offered.fromId, offered.fromName, offered.participantId], [h.self.id, 'Hana', a.self.id]);
    assert.ok(offered.expiresAt > Date.now() + 30_000, 'time enough to read the prompt');
    // The offer alone moved nothing: Hana is still the host, Ada still drives, nobody else was asked.
    await host.request(CreateLink, { role: 'viewer' });
    assert.equal(host.closeCode, undefined);
    assert.equal(ada.closeCode, undefined);
    assert.deepEqual([vic.received(HostOffered).length, cat.received(HostOffered).length, vic.received(HostChanged).length], [0, 0, 0]);
    await ada.request(AcceptHost, { offerId: offered.offerId });
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

  it('a declined offer changes nothing and tells the host; the declined offer cannot be accepted later', async () => {
    plane = await startTestServer();
    const { host, ada, a, vic } = await room(plane);
    const offered = await offer(host, ada, a.self.id);
    await ada.request(DeclineHost, { offerId: offered.offerId });
    const ended = await host.waitFor(HostOfferEnded, (e) => e.offerId === offered.offerId);
    assert.deepEqual([ended.participantId, ended.reason], [a.self.id, 'declined']);
    assert.match(ended.message, /Ada declined to take over as host; you are still the host/);
    const late = await rejects(ada.request(AcceptHost, { offerId: offered.offerId }), ErrorCode.Forbidden);
    assert.match(late.message, /no offer of the host's seat for you/);
    await unchanged(host, ada, vic);
    assert.equal(ada.received(HostChanged).length, 0);
  });

  it('an offer not answered before its deadline ends: the host is told, and accepting it afterwards is refused', async () => {
    plane = await startTestServer();
    plane.service.participants.transfer.offerTimeoutMs = 400;
    const { host, ada, a, vic } = await room(plane);
    const offered = await offer(host, ada, a.self.id);
    assert.ok(offered.expiresAt <= Date.now() + 400);
    const ended = await host.waitFor(HostOfferEnded, (e) => e.offerId === offered.offerId, 5000);
    assert.deepEqual([ended.participantId, ended.reason], [a.self.id, 'expired']);
    assert.match(ended.message, /Ada did not answer/);
    await rejects(ada.request(AcceptHost, { offerId: offered.offerId }), ErrorCode.Forbidden);
    await unchanged(host, ada, vic);
  });

  it('an offer to one controller cannot be accepted (or declined) by anyone else; the one it names still can', async () => {
    plane = await startTestServer();
    const { host, ada, a, vic, cat } = await room(plane);
    const offered = await offer(host, ada, a.self.id);
    // Cat and Vic got nothing, and an offer id learnt some other way does not work for them.
    assert.equal(cat.received(HostOffered).length, 0);
    await rejects(cat.request(AcceptHost, { offerId: offered.offerId }), ErrorCode.Forbidden);
    await rejects(vic.request(AcceptHost, { offerId: offered.offerId }), ErrorCode.Forbidden);
    await rejects(cat.request(DeclineHost, { offerId: offered.offerId }), ErrorCode.Forbidden);
    // Not even the host can accept on Ada's behalf.
    await rejects(host.request(AcceptHost, { offerId: offered.offerId }), ErrorCode.Forbidden);
    await unchanged(host, ada, cat, vic);
    assert.equal(host.received(HostOfferEnded).length, 0, "Cat's decline did not end Ada's offer");
    await ada.request(AcceptHost, { offerId: offered.offerId });
    const told = await vic.waitFor(HostChanged);
    assert.equal(told.hostId, a.self.id);
  });

  it('an ex-host cannot accept or offer, and its offers lapse with its seat', async () => {
    plane = await startTestServer();
    const { s, host, h, ada, a, vic, cat, c } = await room(plane);
    const toAda = await offer(host, ada, a.self.id);
    const toCat = await offer(host, cat, c.self.id);
    await ada.request(AcceptHost, { offerId: toAda.offerId });
    await vic.waitFor(HostChanged, (t) => t.hostId === a.self.id);
    // Hana is no longer the host: the offer she made to Cat no longer stands.
    const lapsed = await rejects(cat.request(AcceptHost, { offerId: toCat.offerId }), ErrorCode.Forbidden);
    assert.match(lapsed.message, /Hana is no longer the host/);
    // The ex-host, back as a controller, can neither offer the seat nor take one offered to someone else.
    await host.closed;
    const oldHost = await connect();
    await oldHost.join(s.sessionId, s.hostToken, 'Hana', { resume: h.resume });
    await rejects(oldHost.request(MakeHost, { participantId: c.self.id }), ErrorCode.Forbidden);
    const newHost = await connect();
    await newHost.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada', { resume: (await ada.closed, a.resume) });
    const toCatAgain = await offer(newHost, cat, c.self.id);
    await rejects(oldHost.request(AcceptHost, { offerId: toCatAgain.offerId }), ErrorCode.Forbidden);
    assert.equal(cat.closeCode, undefined);
    assert.equal((await newHost.request(CreateLink, { role: 'viewer' })).role, 'viewer', 'Ada is still the host');
  });

  it('refuses offers from anyone but the host, and to anyone but a connected controller in VS Code, with why', async () => {
    plane = await startTestServer();
    const { host, ada, a, b, v, vic, cat } = await room(plane);
    const viewer = await rejects(host.request(MakeHost, { participantId: v.self.id }), ErrorCode.Forbidden);
    assert.match(viewer.message, /Vic is a viewer; only a controller can take over as host/);
    const browser = await rejects(host.request(MakeHost, { participantId: b.self.id }), ErrorCode.Forbidden);
    assert.match(browser.message, /Bea watches in a browser/);
    await rejects(ada.request(MakeHost, { participantId: a.self.id }), ErrorCode.Forbidden);
    await rejects(vic.request(MakeHost, { participantId: a.self.id }), ErrorCode.Forbidden);
    await rejects(cat.request(MakeHost, { participantId: a.self.id }), ErrorCode.Forbidden);
    await rejects(host.request(MakeHost, { participantId: 'nobody' }), ErrorCode.PeerNotFound);
    // The refused offers reached nobody: the one request the host makes next is the first Ada hears of.
    assert.equal(ada.received(HostOffered).length, 0);
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

    it('LiveKit access follows the seat: the new host may publish the screen, the old one no longer', async () => {
      plane = await startPlane(rig);
      const { s, host, h, ada, a } = await room(plane, 'sfu');
      await ada.request(AcceptHost, { offerId: (await offer(host, ada, a.self.id)).offerId });
      await ada.closed;
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
