/**
 * The control plane's session rules, exercised over real WebSockets against the real server:
 * joining by role, role limits, presence, reconnect grace, ending.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { CloseCode, End, Leave, ParticipantJoined, ParticipantLeft, ParticipantUpdated, SessionEnded } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { connectingTo } from '../support/signaling-client';
import { rejects } from '../support/assertions';

describe('control plane: sessions', () => {
  let plane: ControlPlane;
  const connect = connectingTo(() => plane, 'kill');

  beforeEach(async () => {
    plane = await startTestServer({ reconnectGraceMs: 400 });
  });
  afterEach(async () => {
    await plane.close();
  });

  it('lets the host and guests join with the role their link grants and tells everyone', async () => {
    const s = await createSession(plane, { name: 'Pairing', hostName: 'Ada' });
    const host = await connect();
    const h = await host.join(s.sessionId, s.hostToken, 'Ada');
    assert.equal(h.self.role, 'host');
    assert.equal(h.session.hostId, h.self.id);
    // Auto is the default: peer-to-peer until the session grows (test/server/focus.test.ts).
    assert.equal(h.session.mode, 'auto');
    assert.equal(h.session.media, 'p2p');
    const viewer = await connect();
    const v = await viewer.join(s.sessionId, tokenOf(s.links.viewer.url), 'Grace');
    assert.equal(v.self.role, 'viewer');
    assert.deepEqual(v.participants.map((p) => p.role).sort(), ['host', 'viewer']);
    const controller = await connect();
    const c = await controller.join(s.sessionId, tokenOf(s.links.controller.url), 'Linus');
    assert.equal(c.self.role, 'controller');
    const seen = await host.waitFor(ParticipantJoined, (p) => p.participant.id === c.self.id);
    assert.equal(seen.participant.name, 'Linus');
    await viewer.waitFor(ParticipantJoined, (p) => p.participant.id === c.self.id);
  });

  it('refuses the 26th viewer and the 4th controller, naming the limit', async () => {
    const s = await createSession(plane);
    const viewerToken = tokenOf(s.links.viewer.url);
    const controllerToken = tokenOf(s.links.controller.url);
    // A host to let the controllers in from the lobby (it takes no guest seat).
    await (await connect()).join(s.sessionId, s.hostToken, 'Host');
    for (let i = 0; i < 25; i++) await (await connect()).join(s.sessionId, viewerToken, `Viewer ${i}`);
    const err = await rejects((await connect()).join(s.sessionId, viewerToken, 'Viewer 26'), ErrorCode.LimitReached);
    assert.match(err.message, /25 viewers/);
    assert.deepEqual(err.data, { role: 'viewer', limit: 25 });
    for (let i = 0; i < 3; i++) await (await connect()).join(s.sessionId, controllerToken, `Controller ${i}`);
    const err4 = await rejects((await connect()).join(s.sessionId, controllerToken, 'Controller 4'), ErrorCode.LimitReached);
    assert.match(err4.message, /3 controllers/);
    assert.deepEqual(err4.data, { role: 'controller', limit: 3 });
  });

  it('frees a slot when a guest leaves', async () => {
    plane = (await plane.close(), await startTestServer({ viewerLimitP2p: 1 }));
    const s = await createSession(plane);
    const token = tokenOf(s.links.viewer.url);
    const first = await connect();
    await first.join(s.sessionId, token, 'First');
    await rejects((await connect()).join(s.sessionId, token, 'Second'), ErrorCode.LimitReached);
    await first.request(Leave, {});
    assert.equal(await first.closed, CloseCode.Left);
    await (await connect()).join(s.sessionId, token, 'Third');
  });

  it("keeps a dropped guest's identity and role when it resumes within the grace period", async () => {
    const s = await createSession(plane);
    const host = await connect();
    await host.join(s.sessionId, s.hostToken, 'Host');
    const guest = await connect();
    const first = await guest.join(s.sessionId, tokenOf(s.links.controller.url), 'Guest');
    guest.kill();
    const dropped = await host.waitFor(ParticipantUpdated, (p) => p.participant.id === first.self.id && !p.participant.connected);
    assert.equal(dropped.participant.role, 'controller');
    const again = await connect();
    const second = await again.join(s.sessionId, tokenOf(s.links.controller.url), 'Guest', { resume: first.resume });
    assert.equal(second.resumed, true);
    assert.equal(second.self.id, first.self.id);
    assert.equal(second.self.role, 'controller');
    await host.waitFor(ParticipantUpdated, (p) => p.participant.id === first.self.id && p.participant.connected);
    // The old ticket was single-use: it was rotated on resume.
    assert.notEqual(second.resume.secret, first.resume.secret);
  });

  it('drops a guest that does not come back in time, and a forged resume ticket gets a new identity', async () => {
    const s = await createSession(plane);
    const host = await connect();
    await host.join(s.sessionId, s.hostToken, 'Host');
    const guest = await connect();
    const first = await guest.join(s.sessionId, tokenOf(s.links.viewer.url), 'Guest');
    guest.kill();
    const left = await host.waitFor(ParticipantLeft, (p) => p.participantId === first.self.id, 3000);
    assert.equal(left.reason, 'timeout');
    const other = await connect();
    const forged = await other.join(s.sessionId, tokenOf(s.links.viewer.url), 'Guest', {
      resume: { participantId: first.self.id, secret: 'x'.repeat(32) },
    });
    assert.equal(forged.resumed, false);
    assert.notEqual(forged.self.id, first.self.id);
  });

  it('a second connection of the same participant replaces the first', async () => {
    const s = await createSession(plane);
    const a = await connect();
    const first = await a.join(s.sessionId, tokenOf(s.links.viewer.url), 'Twin');
    const b = await connect();
    const second = await b.join(s.sessionId, tokenOf(s.links.viewer.url), 'Twin', { resume: first.resume });
    assert.equal(second.self.id, first.self.id);
    assert.equal(await a.closed, CloseCode.Replaced);
  });

  it('the host ending the session disconnects everyone with a reason, and it stays ended', async () => {
    const s = await createSession(plane);
    const host = await connect();
    await host.join(s.sessionId, s.hostToken, 'Host');
    const guests = [await connect(), await connect()];
    for (const g of guests) await g.join(s.sessionId, tokenOf(s.links.viewer.url), 'G');
    await host.request(End, { reason: 'lunch' });
    for (const g of guests) {
      const ended = await g.waitFor(SessionEnded);
      assert.equal(ended.reason, 'host-ended');
      assert.match(ended.message, /lunch/);
      assert.equal(await g.closed, CloseCode.SessionEnded);
    }
    const late = await connect();
    const err = await rejects(late.join(s.sessionId, tokenOf(s.links.viewer.url), 'Late'), ErrorCode.SessionEnded);
    assert.match(err.message, /ended/);
  });

  it('only the host may end the session or mint links', async () => {
    const s = await createSession(plane);
    const viewer = await connect();
    await viewer.join(s.sessionId, tokenOf(s.links.viewer.url), 'V');
    await rejects(viewer.request(End, {}), ErrorCode.Forbidden);
    const { CreateLink } = await import('../../protocol/signaling');
    await rejects(viewer.request(CreateLink, { role: 'controller' }), ErrorCode.Forbidden);
  });

  it('ends the session when the host drops and does not return', async () => {
    const s = await createSession(plane);
    const host = await connect();
    await host.join(s.sessionId, s.hostToken, 'Host');
    const guest = await connect();
    await guest.join(s.sessionId, tokenOf(s.links.viewer.url), 'G');
    host.kill();
    const ended = await guest.waitFor(SessionEnded, () => true, 3000);
    assert.equal(ended.reason, 'host-left');
  });

  it('a host who leaves ends the session; a guest who leaves is announced as left', async () => {
    const s = await createSession(plane);
    const host = await connect();
    await host.join(s.sessionId, s.hostToken, 'Host');
    const guest = await connect();
    const g = await guest.join(s.sessionId, tokenOf(s.links.viewer.url), 'G');
    await guest.request(Leave, {});
    const left = await host.waitFor(ParticipantLeft, (p) => p.participantId === g.self.id);
    assert.equal(left.reason, 'left');
    const guest2 = await connect();
    await guest2.join(s.sessionId, tokenOf(s.links.viewer.url), 'G2');
    await host.request(Leave, {});
    assert.equal((await guest2.waitFor(SessionEnded)).reason, 'host-left');
  });

  it('server shutdown tells everyone why', async () => {
    const s = await createSession(plane);
    const guest = await connect();
    await guest.join(s.sessionId, tokenOf(s.links.viewer.url), 'G');
    await plane.close();
    assert.equal((await guest.waitFor(SessionEnded)).reason, 'server-shutdown');
  });
});
