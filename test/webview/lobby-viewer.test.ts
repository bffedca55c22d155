/**
 * The lobby as a guest sees it: the real viewer page in Chromium, on the real server, opened on a
 * controller link. It waits, naming the host, with no seat; the host's admit lets it in, a deny or
 * no answer in time shows why in plain words (and never as markup).
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { AdmitGuest, DenyGuest, LobbyClosed, LobbyKnock, ParticipantJoined } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage } from '../support/browser-viewer';
import { createSession, startTestServer } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';

describe('lobby: the viewer page waits to be let in', function () {
  this.timeout(60_000);
  let browser: Browser;
  let plane: ControlPlane;
  const clients: TestClient[] = [];
  const pages: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
  });
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context.close();
    for (const c of clients.splice(0)) c.close();
    await plane.close();
  });

  async function hosting(config: Parameters<typeof startTestServer>[0] = {}) {
    plane = await startTestServer(config);
    const s = await createSession(plane, { mode: 'p2p' });
    const host = await TestClient.connect(plane.url);
    clients.push(host);
    host.autoAdmit = false;
    await host.join(s.sessionId, s.hostToken, 'Hana');
    return { s, host };
  }

  const open = async (link: string, name: string) => {
    const page = await ViewerPage.open(browser, link, name);
    pages.push(page);
    return page;
  };

  it('shows "Waiting for <host> to let you in…" until the host admits, then joins', async () => {
    const { s, host } = await hosting();
    const page = await open(s.links.controller.url, 'Ada');
    const knock = await host.waitFor(LobbyKnock, () => true, 15_000);
    assert.equal(knock.name, 'Ada');
    assert.equal(knock.client, 'browser');
    await page.page.waitForFunction(() => document.querySelector('#message')?.textContent?.includes('to let you in'), undefined, { timeout: 10_000 });
    assert.equal(await page.state(), 'connecting');
    assert.match(await page.message(), /^Waiting for Hana to let you in…$/);
    assert.equal(await page.selfId(), undefined, 'no seat while waiting');
    assert.equal(host.received(ParticipantJoined).length, 0);

    await host.request(AdmitGuest, { participantId: knock.participantId });
    assert.equal((await host.waitFor(ParticipantJoined, (j) => j.participant.name === 'Ada')).participant.id, knock.participantId);
    await page.page.waitForFunction(() => !document.querySelector('#message')?.textContent?.includes('to let you in'), undefined, { timeout: 10_000 });
    assert.equal(await page.selfId(), knock.participantId);
  });

  it("a deny shows the host's words as text, and the page stays out", async () => {
    const { s, host } = await hosting();
    const page = await open(s.links.controller.url, 'Gus');
    const knock = await host.waitFor(LobbyKnock, () => true, 15_000);
    await host.request(DenyGuest, { participantId: knock.participantId, reason: '<b>not</b> today' });
    await page.waitForState('error');
    assert.equal(await page.errorCode(), 'lobby-denied');
    assert.match(await page.message(), /The host did not let you in\. They said: <b>not<\/b> today/);
    assert.equal(await page.page.evaluate(() => document.querySelector('#message b')), null, 'no markup');
    assert.equal((await host.waitFor(LobbyClosed)).reason, 'denied');
    assert.equal(host.received(ParticipantJoined).length, 0);
  });

  it('no answer in time: the page says nobody let it in', async () => {
    const { s, host } = await hosting({ lobbyTimeoutMs: 1500 });
    const page = await open(s.links.controller.url, 'Val');
    await host.waitFor(LobbyKnock, () => true, 15_000);
    await page.waitForState('error');
    assert.equal(await page.errorCode(), 'lobby-timeout');
    assert.match(await page.message(), /Nobody let you in/);
  });
});
