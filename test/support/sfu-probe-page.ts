/**
 * A page of the control plane's origin (a secure context) holding the E2EE and marker probes:
 * plain livekit-client subscribers the tests point at a session's LiveKit room, with no key or
 * with one, to see what someone at the SFU gets (webview/probe/e2ee-probe.ts `sfuSubscriber`).
 * The page is served by Playwright, not from loopback: the browser it opens in must be launched
 * with `disableFeatures: ['LocalNetworkAccessChecks']`, or Chromium keeps it off LiveKit's
 * loopback address.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { parseShareLink } from '../../protocol/share-link';
import type { SubscriberResult } from '../../webview/probe/e2ee-probe';
import { TestClient } from './signaling-client';

export interface SubscriberOptions {
  url: string;
  token: string;
  ms: number;
  /** A link's key and generation: the subscriber decrypts as a guest's page would. */
  key?: { text: string; gen: number };
}

export class SfuProbePage {
  private constructor(
    readonly page: Page,
    private readonly planeUrl: string,
  ) {}

  static async open(browser: Browser, planeUrl: string): Promise<SfuProbePage> {
    const page = await browser.newPage();
    await page.route(`${planeUrl}/e2ee-sfu-test`, (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>e2ee</title><body></body>' }));
    await page.goto(`${planeUrl}/e2ee-sfu-test`);
    await page.addScriptTag({ url: `${planeUrl}/dist/webview/e2ee-probe.js`, type: 'module' });
    await page.addScriptTag({ url: `${planeUrl}/dist/webview/probe.js`, type: 'module' });
    await page.waitForFunction(() => 'pairuxE2eeProbe' in window && 'pairuxProbe' in window);
    return new SfuProbePage(page, planeUrl);
  }

  /** A livekit-client subscriber in the room for `ms`: what reached it and what it could read. */
  subscribe(o: SubscriberOptions): Promise<SubscriberResult> {
    return this.page.evaluate(
      (a) => (window as unknown as { pairuxE2eeProbe: { sfuSubscriber(o: unknown): Promise<SubscriberResult> } }).pairuxE2eeProbe.sfuSubscriber(a),
      o,
    );
  }

  /**
   * A viewer's LiveKit access as the control plane hands it out (a viewer joined through the
   * session's link), used by a subscriber with no key; the signaling client goes into `clients`.
   */
  async keyless(session: CreateSessionResponse, ms: number, clients: TestClient[]): Promise<SubscriberResult> {
    const c = await TestClient.connect(this.planeUrl);
    clients.push(c);
    const joined = await c.join(session.sessionId, parseShareLink(session.links.viewer.url).token, 'Eavesdropper', { client: { kind: 'browser', e2ee: true } });
    assert.ok(joined.sfu, 'a viewer of an SFU session gets LiveKit access');
    return this.subscribe({ url: joined.sfu.url, token: joined.sfu.token, ms });
  }
}
