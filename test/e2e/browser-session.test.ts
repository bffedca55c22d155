/**
 * The whole P2P path with real parts: the real control plane, the host's media engine in headless
 * Chromium sharing the generated screen, and viewers opening the share link in Chromium. "Video
 * arrives" always means: the frame counter painted by the host was read back from the pixels
 * the viewer decoded, and it advanced.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import { JoinTokens } from '../../server/join-tokens';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, startTestServer, NO_LOBBY } from '../support/control-plane';

const SIZE = { width: 640, height: 360, fps: 15 };

describe('end to end: a host and viewers in Chromium (P2P)', function () {
  this.timeout(90_000);
  let browser: Browser;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let host: HeadlessHost;
  const viewers: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    // The lobby off (NO_LOBBY): this host is the page alone, with no runner to ask, so it turns every
    // knock away, and 'a controller link works in the browser too' is about the viewer page, not admission.
    plane = await startTestServer({ ...NO_LOBBY, reconnectGraceMs: 5000 });
    session = await createSession(plane, { name: 'E2E' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'E2E host' });
  });
  afterEach(async () => {
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    await plane?.close();
  });

  const open = async (link: string, name: string) => {
    const v = await ViewerPage.open(browser, link, name);
    viewers.push(v);
    return v;
  };

  it("three viewers each see the host's frame counter advance in their decoded video", async () => {
    const three = await Promise.all([1, 2, 3].map((i) => open(session.links.viewer.url, `Viewer ${i}`)));
    for (const v of three) await v.waitForState('live');
    for (const v of three) {
      const [a, b] = await v.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 3, `frame ${a.frame} → ${b.frame} in 1 s`);
      assert.deepEqual([b.width, b.height], [SIZE.width, SIZE.height]);
    }
    const guests = await host.page.evaluate(() => (window as unknown as { pairuxHost: { guests(): Array<{ pcState: string }> } }).pairuxHost.guests());
    assert.equal(guests.filter((g) => g.pcState === 'connected').length, 3);
  });

  it('a viewer whose page is reloaded comes back as itself and sees video again', async () => {
    const v = await open(session.links.viewer.url, 'Reloader');
    await v.waitForState('live');
    await v.waitForMarker();
    const id = await v.selfId();
    await v.page.reload();
    await v.waitForState('live');
    assert.equal(await v.selfId(), id, 'resumed with the same identity');
    await v.markerAdvance(500);
  });

  it('a viewer killed outright can open the link again and sees video; the others never stop', async () => {
    const steady = await open(session.links.viewer.url, 'Steady');
    const doomed = await open(session.links.viewer.url, 'Doomed');
    await Promise.all([steady.waitForState('live'), doomed.waitForState('live')]);
    await doomed.waitForMarker();
    await doomed.close();
    const again = await open(session.links.viewer.url, 'Doomed again');
    await again.waitForState('live');
    await again.markerAdvance(500);
    await steady.markerAdvance(500);
  });

  it('a controller link works in the browser too', async () => {
    const c = await open(session.links.controller.url, 'Controller');
    await c.waitForState('live');
    await c.markerAdvance(500);
  });

  it('the host ending the session shows viewers that it ended, and why', async () => {
    const v = await open(session.links.viewer.url, 'Watcher');
    await v.waitForState('live');
    await plane.service.endSession(session.sessionId, 'host-ended', 'The host ended the session: done for today.');
    await v.waitForState('ended');
    assert.match(await v.message(), /done for today/);
  });

  describe('bad links get a page that says what is wrong and what to do', () => {
    it('an expired link', async () => {
      const old = await new JoinTokens(plane.config.tokenSecret, () => Date.now() - 7200_000).issue(session.sessionId, 'viewer', 3600);
      const v = await open(`${plane.url}/s/${session.sessionId}#t=${old.token}`, 'Late');
      await v.waitForState('error');
      assert.equal(await v.errorCode(), 'TOKEN_EXPIRED');
      assert.match(await v.message(), /expired/i);
      assert.match(await v.message(), /new link/i);
    });

    it('a tampered link', async () => {
      const token = new URL(session.links.viewer.url).hash.slice(3);
      const tampered = `${token.slice(0, -4)}${token.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      const v = await open(`${plane.url}/s/${session.sessionId}#t=${tampered}`, 'Mallory');
      await v.waitForState('error');
      assert.equal(await v.errorCode(), 'TOKEN_INVALID');
      assert.match(await v.message(), /new link/i);
    });

    it('a link cut off before its token', async () => {
      const v = await open(`${plane.url}/s/${session.sessionId}`, 'Cut');
      await v.waitForState('error');
      assert.equal(await v.errorCode(), 'LINK_INVALID');
      assert.match(await v.message(), /token|copy/i);
    });

    it('a link to a session that ended', async () => {
      await plane.service.endSession(session.sessionId, 'host-ended');
      const v = await open(session.links.viewer.url, 'Too late');
      await v.waitForState('error');
      assert.equal(await v.errorCode(), 'SESSION_ENDED');
    });

    it('a full session names the limit', async () => {
      await plane.close();
      plane = await startTestServer({ viewerLimitP2p: 1 });
      session = await createSession(plane);
      await host.close();
      host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser });
      const first = await open(session.links.viewer.url, 'First');
      await first.waitForState('live');
      const second = await open(session.links.viewer.url, 'Second');
      await second.waitForState('error');
      assert.equal(await second.errorCode(), 'LIMIT_REACHED');
      assert.match(await second.message(), /1 viewers/);
    });
  });
});
