/**
 * The host page hears what the server says about its links and offers without its asking, and
 * passes it on (the demo prints it; the VS Code host panel forwards it to the extension): a
 * removal that revoked a guest's shared link (`session.linksChanged`, with the new link), and an
 * offer of the host's seat the guest declined (`host.offerEnded`). Before, the page answered both
 * with "unknown notification" and nobody learnt the new link. The real server and the real host
 * page in Chromium (the built bundle); the guests are bare protocol clients. They join through
 * viewer links, which the lobby does not hold back (a controller link waits for the host's
 * admission, which is not what this file is about).
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { DeclineHost, HostOffered } from '../../protocol/signaling';
import { startHeadlessHost, type HeadlessHost, type HostEvent } from '../../demo/headless-host';
import type { ControlPlane } from '../../server/control-plane';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';

async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('webview: the host page passes on link and host-offer notices', function () {
  this.timeout(60_000);
  let plane: ControlPlane;
  let host: HeadlessHost | undefined;
  const clients: TestClient[] = [];
  const events: HostEvent[] = [];

  beforeEach(async () => {
    plane = await startTestServer();
    events.length = 0;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await host?.close();
    host = undefined;
    await plane.close();
  });

  async function guest(): Promise<TestClient> {
    const c = await TestClient.connect(plane.url);
    clients.push(c);
    return c;
  }

  it('reports the new shared link after a removal; the old link is refused and the new one joins', async () => {
    const session = await createSession(plane, { mode: 'p2p' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { width: 320, height: 240, fps: 5, onEvent: (e) => events.push(e) });
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId: string } }).pairuxHost.selfId);
    const oldToken = tokenOf(session.links.viewer.url);
    const mallory = await (await guest()).join(session.sessionId, oldToken, 'Mallory');
    assert.equal(mallory.self.link?.label, 'viewer link');

    await plane.service.participants.remove({ sessionId: session.sessionId, participantId: hostId, role: 'host' }, mallory.self.id);
    const notice = await until(
      () => events.find((e): e is Extract<HostEvent, { type: 'links' }> => e.type === 'links'),
      'the host page to report the links change',
    );
    assert.deepEqual(notice.revoked, [mallory.self.link!.id]);
    assert.match(notice.message, /Mallory was removed/);
    assert.ok(notice.viewer && notice.viewer !== session.links.viewer.url, 'a new viewer link');
    assert.equal(notice.controller, undefined, 'the controller link was not touched');

    await assert.rejects(
      (await guest()).join(session.sessionId, oldToken, 'Mallory again'),
      (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.TokenRevoked,
    );
    const ada = await (await guest()).join(session.sessionId, tokenOf(notice.viewer), 'Ada');
    assert.equal(ada.self.role, 'viewer');
  });

  it('reports an offer of the host seat that the guest declined', async () => {
    const session = await createSession(plane, { mode: 'p2p' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { width: 320, height: 240, fps: 5, onEvent: (e) => events.push(e) });
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId: string } }).pairuxHost.selfId);
    const bo = await guest();
    const offers: Array<{ offerId: string }> = [];
    bo.endpoint.onNotification(HostOffered, (o) => void offers.push(o));
    const joined = await bo.join(session.sessionId, tokenOf(session.links.viewer.url), 'Bo', { client: { kind: 'vscode' } });
    const asHost = { sessionId: session.sessionId, participantId: hostId, role: 'host' as const };
    await plane.service.participants.setRole(asHost, joined.self.id, 'controller');

    await plane.service.participants.makeHost(asHost, joined.self.id);
    const offer = await until(() => offers[0], 'the offer to reach Bo');
    await bo.request(DeclineHost, { offerId: offer.offerId });
    const ended = await until(
      () => events.find((e): e is Extract<HostEvent, { type: 'offerEnded' }> => e.type === 'offerEnded'),
      'the host page to report the declined offer',
    );
    assert.deepEqual([ended.participantId, ended.reason], [joined.self.id, 'declined']);
    assert.match(ended.message, /Bo declined/);
  });
});
