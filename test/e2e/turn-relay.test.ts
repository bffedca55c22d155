/**
 * TURN: with coturn configured, the server hands out short-lived credentials, and a session
 * forced to relay-only (`iceTransportPolicy: 'relay'` on both ends) still delivers pixels, which
 * therefore went through the real coturn.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { startCoturn, type Coturn } from '../support/coturn';
import { createSession, startTestServer } from '../support/control-plane';

describe('end to end: relay-only session through a real coturn', function () {
  this.timeout(90_000);
  let browser: Browser;
  let turn: Coturn;
  let plane: ControlPlane;
  let host: HeadlessHost | undefined;
  let viewer: ViewerPage | undefined;

  before(async () => {
    turn = await startCoturn();
    browser = await launchChromium();
    plane = await startTestServer({ turn: { urls: [turn.url], secret: turn.secret, ttlSeconds: 600 } });
  });
  after(async () => {
    await viewer?.close();
    await host?.close();
    await browser?.close();
    await plane?.close();
    await turn?.stop();
  });

  it('delivers pixels with both ends restricted to relay candidates', async () => {
    const session = await createSession(plane);
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { width: 640, height: 360, fps: 15, relayOnly: true, browser });
    viewer = await ViewerPage.open(browser, `${session.links.viewer.url}&ice=relay`, 'Behind NAT');
    await viewer.waitForState('live', 30_000);
    const [a, b] = await viewer.markerAdvance(1000);
    assert.ok(framesBetween(a, b) >= 3, `frame ${a.frame} → ${b.frame}`);
    const stats = await viewer.stats();
    assert.equal(stats.localCandidateType, 'relay');
    assert.equal(stats.remoteCandidateType, 'relay');
    // coturn saw authenticated allocations and relayed the media.
    assert.match(turn.log(), /ALLOCATE processed, success/);
  });
});
