/**
 * Impostors and revocation (review S2): a name is unique in its session and fixed at first join,
 * every guest link can be revoked, removing a guest revokes the link it came through (the host
 * gets a fresh one for everyone else), personal single-use links, rotation, and the host sees
 * which link each participant came through.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import {
  CloseCode,
  CreateLink,
  LinksChanged,
  ListLinks,
  ParticipantJoined,
  ParticipantUpdated,
  RemoveParticipant,
  RevokeLink,
  RotateLinks,
  type ShareLinkInfo,
} from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { rejects } from '../support/assertions';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { connectingTo, TestClient } from '../support/signaling-client';

type LinksChange = Parameters<Parameters<TestClient['endpoint']['onNotification']>[1]>[0];

describe('trust: links that can be revoked, names that cannot be borrowed', function () {
  this.timeout(20_000);
  let plane: ControlPlane;
  const connect = connectingTo(() => plane);
  beforeEach(async () => {
    plane = await startTestServer();
  });
  afterEach(async () => {
    await plane.close();
  });

  /** A host that records `session.linksChanged` (the shared test client does not know it). */
  async function hosting() {
    const s = await createSession(plane, { mode: 'p2p' });
    const host = await connect();
    const changes: Array<{ controller?: ShareLinkInfo; viewer?: ShareLinkInfo; revoked: string[]; message: string }> = [];
    host.endpoint.onNotification(LinksChanged, (c: LinksChange) => void changes.push(c as (typeof changes)[number]));
    const h = await host.join(s.sessionId, s.hostToken, 'Hana');
    return { s, host, h, changes };
  }

  it('a removed guest cannot come back with the same link; the host gets a fresh link, which works', async () => {
    const { s, host, changes } = await hosting();
    const shared = tokenOf(s.links.controller.url);
    const ada = await connect();
    const a = await ada.join(s.sessionId, shared, 'Ada');
    const gus = await connect();
    const g = await gus.join(s.sessionId, shared, 'Gus');
    assert.equal(g.self.link?.label, 'controller link');
    await host.request(RemoveParticipant, { participantId: g.self.id });
    assert.equal(await gus.closed, CloseCode.Removed);

    const back = await connect();
    const refused = await rejects(back.join(s.sessionId, shared, 'Gus again'), ErrorCode.TokenRevoked);
    assert.match(refused.message, /no longer works/);
    assert.equal((await rejects(plane.service.preview(shared), ErrorCode.TokenRevoked)).code, ErrorCode.TokenRevoked);

    const change = await host.until(() => changes[0], 'session.linksChanged');
    assert.deepEqual(change.revoked, [g.self.link!.id]);
    assert.ok(change.controller, 'a fresh controller link');
    assert.equal(change.viewer, undefined, 'the viewer link was not touched');
    assert.match(change.message, /Gus/);
    const fresh = await connect();
    const f = await fresh.join(s.sessionId, tokenOf(change.controller.url), 'Fay');
    assert.deepEqual([f.self.role, f.self.link?.id, f.self.link?.label], ['controller', change.controller.id, 'controller link']);
    // Ada came through the revoked link and stays: her ticket brings her back after a drop.
    ada.kill();
    const adaBack = await connect();
    const again = await adaBack.join(s.sessionId, shared, 'Ada', { resume: a.resume });
    assert.deepEqual([again.resumed, again.self.id], [true, a.self.id]);
  });

  it('a personal single-use link names whoever joined through it and stops working after that join', async () => {
    const { s, host } = await hosting();
    const made = await host.request(CreateLink, { role: 'viewer', label: 'Ann from QA', singleUse: true });
    assert.deepEqual([made.role, made.label, made.singleUse], ['viewer', 'Ann from QA', true]);
    const token = tokenOf(made.url);
    assert.equal((await plane.service.preview(token)).role, 'viewer');
    const ann = await connect();
    const a = await ann.join(s.sessionId, token, 'Ann');
    assert.deepEqual(a.self.link, { id: made.id, label: 'Ann from QA' });
    const seen = await host.waitFor(ParticipantJoined, (j) => j.participant.id === a.self.id);
    assert.deepEqual(seen.participant.link, { id: made.id, label: 'Ann from QA' });
    assert.ok(!JSON.stringify(seen).includes(token), 'the participant view never carries the token');

    const other = await connect();
    const refused = await rejects(other.join(s.sessionId, token, 'Mallory'), ErrorCode.TokenRevoked);
    assert.match(refused.message, /single-use|already used/);
    // A link for everyone goes on working after many joins.
    const shared = await host.request(CreateLink, { role: 'viewer' });
    assert.equal(shared.singleUse, false);
    for (const name of ['V1', 'V2']) await (await connect()).join(s.sessionId, tokenOf(shared.url), name);
  });

  it('a single-use link is not spent by a join refused for a full role', async () => {
    await plane.close();
    plane = await startTestServer({ viewerLimitP2p: 1 });
    const { s, host } = await hosting();
    const made = await host.request(CreateLink, { role: 'viewer', label: 'Ann', singleUse: true });
    const first = await connect();
    const v = await first.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    await rejects((await connect()).join(s.sessionId, tokenOf(made.url), 'Ann'), ErrorCode.LimitReached);
    // A seat frees up: Ann's link still works, once.
    await host.request(RemoveParticipant, { participantId: v.self.id });
    const ann = await (await connect()).join(s.sessionId, tokenOf(made.url), 'Ann');
    assert.deepEqual(ann.self.link, { id: made.id, label: 'Ann' });
  });

  it('a personal link works until the host revokes it; links.list shows the links that work, never their tokens', async () => {
    const { s, host } = await hosting();
    const bo = await host.request(CreateLink, { role: 'controller', label: 'Bo' });
    const first = await (await connect()).join(s.sessionId, tokenOf(bo.url), 'Bo');
    assert.equal(first.self.link?.label, 'Bo');
    const listed = await host.request(ListLinks, {});
    assert.deepEqual(
      listed.links.map((l) => l.label),
      ['controller link', 'viewer link', 'Bo'],
    );
    assert.ok(!JSON.stringify(listed).includes(tokenOf(bo.url)), 'no tokens in the list');
    const viewer = await connect();
    await viewer.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    await rejects(viewer.request(RevokeLink, { id: bo.id }), ErrorCode.Forbidden);
    await rejects(viewer.request(ListLinks, {}), ErrorCode.Forbidden);
    // Not single use: Bo's link still works after the viewer's refused attempt.
    await (await connect()).join(s.sessionId, tokenOf(bo.url), 'Bo again');

    assert.deepEqual(await host.request(RevokeLink, { id: bo.id }), { revoked: true });
    assert.deepEqual(await host.request(RevokeLink, { id: bo.id }), { revoked: false }, 'revoking twice changes nothing');
    await rejects(host.request(RevokeLink, { id: 'not-a-link' }), ErrorCode.PeerNotFound);
    await rejects((await connect()).join(s.sessionId, tokenOf(bo.url), 'Bo'), ErrorCode.TokenRevoked);
    assert.deepEqual(
      (await host.request(ListLinks, {})).links.map((l) => l.label),
      ['controller link', 'viewer link'],
    );
  });

  it('links.rotate: every guest link stops working, the new ones work, and only the host may rotate', async () => {
    const { s, host } = await hosting();
    const personal = await host.request(CreateLink, { role: 'controller', label: 'Bo' });
    const vic = await connect();
    await vic.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    await rejects(vic.request(RotateLinks, {}), ErrorCode.Forbidden);
    // The refusal above was about who asked: the old links still work.
    await (await connect()).join(s.sessionId, tokenOf(s.links.controller.url), 'Before');

    const rotated = await host.request(RotateLinks, {});
    assert.equal(rotated.revoked, 3, 'the shared controller and viewer links and the personal one');
    for (const old of [s.links.controller.url, s.links.viewer.url, personal.url]) {
      await rejects((await connect()).join(s.sessionId, tokenOf(old), 'Late'), ErrorCode.TokenRevoked);
    }
    const c = await (await connect()).join(s.sessionId, tokenOf(rotated.controller.url), 'After');
    assert.deepEqual([c.self.role, c.self.link?.id], ['controller', rotated.controller.id]);
    const v = await (await connect()).join(s.sessionId, tokenOf(rotated.viewer.url), 'Watcher');
    assert.equal(v.self.role, 'viewer');
    assert.equal(vic.closeCode, undefined, 'those already in stay');
  });

  it('names are unique in a session after NFKC and case folding: a clash gets a numbered name', async () => {
    const { s, host } = await hosting();
    const join = async (name: string) => (await (await connect()).join(s.sessionId, tokenOf(s.links.viewer.url), name)).self.name;
    assert.equal(await join('hana'), 'hana (2)');
    assert.equal(await join('ＨＡＮＡ'), 'ＨＡＮＡ (3)', 'fullwidth letters are the same name');
    assert.equal(await join('Strasse'), 'Strasse');
    assert.equal(await join('STRAßE'), 'STRAßE (2)', 'ß folds to ss');
    assert.equal(await join('Ha\u200dna'), 'Ha\u200dna (4)', 'an invisible joiner does not make a new name');
    assert.equal(await join('Ann'), 'Ann');
    const long = 'x'.repeat(64);
    assert.equal(await join(long), long);
    assert.equal(await join(long), `${'x'.repeat(60)} (2)`, 'the number fits in the 64-character cap');
    const names =
      (await host.waitFor(ParticipantJoined, (j) => j.participant.name === 'Ann')) && host.received(ParticipantJoined).map((j) => j.participant.name);
    assert.ok(names.includes('hana (2)') && names.includes('ＨＡＮＡ (3)'), 'the host sees the names given');
  });

  it('a name is fixed at first join: a resume keeps the stored name whatever the client sends', async () => {
    const { s, host } = await hosting();
    const ann = await connect();
    const a = await ann.join(s.sessionId, tokenOf(s.links.controller.url), 'Ann');
    ann.kill();
    const back = await connect();
    const again = await back.join(s.sessionId, tokenOf(s.links.controller.url), 'Hana', { resume: a.resume });
    assert.deepEqual([again.resumed, again.self.name], [true, 'Ann']);
    const update = await host.waitFor(ParticipantUpdated, (u) => u.participant.id === a.self.id && u.participant.connected);
    assert.equal(update.participant.name, 'Ann');
  });
});
