/**
 * An end-to-end encrypted session through the real LiveKit SFU whose page cannot start LiveKit's
 * E2EE worker (its script blocked, as a page's host policy or a missing file would): the page
 * says so in the words the peer-to-peer path uses ("could not start its encryption worker"),
 * instead of a picture that never comes or a wrong-key message. On the host's side nothing leaves
 * in clear: a subscriber at the SFU with a valid token and no key reads no picture and no data.
 * The worker's URL is blocked with Playwright's routing, in the page's own browser context.
 */
import assert from 'node:assert/strict';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost, type HostEvent, type HostKeyEvent } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { withMediaKey } from '../../protocol/share-link';
import type { ControlPlane } from '../../server/control-plane';
import type { GuestE2eeSnapshot } from '../../webview/pages/viewer-page';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, NO_LOBBY } from '../support/control-plane';
import { eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';
import { SfuProbePage } from '../support/sfu-probe-page';
import { TestClient } from '../support/signaling-client';

const SIZE = { width: 640, height: 360, fps: 15 };
const LIVEKIT_WORKER = '**/dist/webview/livekit-e2ee-worker.js';
const CANNOT_START = /could not start its encryption worker, so nothing is shown or sent/;

const guestKeys = (v: ViewerPage) =>
  v.page.evaluate(() => (window as unknown as { pairuxViewer: { e2ee(): GuestE2eeSnapshot | undefined } }).pairuxViewer.e2ee());

/**
 * `browser` whose every new context refuses LiveKit's worker script (`how`: the request fails, or
 * the server answers 404), so the pages the helpers open in it cannot start the worker.
 */
function blockingLiveKitWorker(browser: Browser, how: 'abort' | '404'): Browser {
  return new Proxy(browser, {
    get(target, prop) {
      if (prop === 'newContext') {
        return async (...args: Parameters<Browser['newContext']>): Promise<BrowserContext> => {
          const context = await target.newContext(...args);
          await context.route(LIVEKIT_WORKER, (route) =>
            how === 'abort' ? route.abort('blockedbyclient') : route.fulfill({ status: 404, body: 'no worker here' }),
          );
          return context;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('end to end: an encrypted SFU session whose LiveKit E2EE worker cannot start', function () {
  this.timeout(180_000);
  let browser: Browser;
  let rig: SfuRig;
  let plane: ControlPlane;
  const hosts: HeadlessHost[] = [];
  const viewers: ViewerPage[] = [];
  const clients: TestClient[] = [];
  let probe: SfuProbePage;

  before(async () => {
    // The probe page is served by Playwright, not from loopback: Chromium would keep it off LiveKit's loopback address.
    browser = await launchChromium({ disableFeatures: ['LocalNetworkAccessChecks'] });
    rig = await startSfuRig();
    // The lobby off: these hosts have no runner to admit anyone (test/support/control-plane.ts NO_LOBBY).
    plane = await startPlane(rig, NO_LOBBY);
    probe = await SfuProbePage.open(browser, plane.url);
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const v of viewers) await v.close();
    for (const h of hosts) await h.close();
    await plane?.close();
    await rig?.livekit.stop();
    await browser?.close();
  });

  const start = async (
    hostBrowser: Browser = browser,
    onEvent?: (e: HostEvent) => void,
  ): Promise<{ session: CreateSessionResponse; host: HeadlessHost; key: HostKeyEvent }> => {
    const session = await createSession(plane, { mode: 'sfu', name: 'Secret SFU', e2ee: true });
    const host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, {
      ...SIZE,
      browser: hostBrowser,
      name: 'Host',
      ...(onEvent ? { onEvent } : {}),
    });
    hosts.push(host);
    return { session, host, key: await host.mediaKey() };
  };
  const open = async (link: string, name: string, viewerBrowser: Browser = browser, initScript?: string) => {
    const v = await ViewerPage.open(viewerBrowser, link, name, {}, initScript);
    viewers.push(v);
    return v;
  };
  const keylessSubscriber = (session: CreateSessionResponse, ms: number) => probe.keyless(session, ms, clients);

  it('a guest whose worker script does not load is told its page could not start its encryption worker, not that its key is wrong; a guest beside it decodes', async () => {
    const { session, key } = await start();
    const link = withMediaKey(session.links.viewer.url, key.key, key.gen);
    const fine = await open(link, 'Ann');
    const blocked = await open(link, 'Blocked', blockingLiveKitWorker(browser, '404'));
    await blocked.waitForState('error', 30_000);
    assert.equal(await blocked.errorCode(), 'E2EE_REQUIRED');
    assert.match(await blocked.message(), CANNOT_START);
    assert.doesNotMatch(await blocked.message(), /key does not open it/);
    assert.equal(await blocked.readMarker(), null);
    // The session itself is fine: the same link decodes where the worker starts.
    await fine.waitForState('live', 30_000);
    const [a, b] = await fine.markerAdvance(1000);
    assert.ok(framesBetween(a, b) >= 3, `frame ${a.frame} → ${b.frame} in 1 s`);
    // Long past the 2 s after which undecryptable frames would have called the key wrong.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await blocked.errorCode(), 'E2EE_REQUIRED');
    assert.notEqual((await guestKeys(blocked))?.state, 'key-rejected');
  });

  it('a guest whose page may not start workers at all says so, with the browser’s reason', async () => {
    const { session, key } = await start();
    const noWorkers = "window.Worker = function () { throw new DOMException('blocked by this test', 'SecurityError'); };";
    const v = await open(withMediaKey(session.links.viewer.url, key.key, key.gen), 'No workers', browser, noWorkers);
    await v.waitForState('error', 30_000);
    assert.equal(await v.errorCode(), 'E2EE_REQUIRED');
    assert.match(await v.message(), CANNOT_START);
    assert.match(await v.message(), /blocked by this test/);
    assert.equal(await v.readMarker(), null);
  });

  it('a host whose worker script does not load says so on its page and sends nothing in clear: a keyless subscriber at the SFU reads no picture and no data', async () => {
    const errors: string[] = [];
    const { session, host, key } = await start(blockingLiveKitWorker(browser, 'abort'), (e) => {
      if (e.type === 'error') errors.push(e.message);
    });
    const reported = await eventually(
      () => errors.find((m) => CANNOT_START.test(m)),
      () => `the host page to report its worker (errors: ${errors.join(' | ')})`,
      30_000,
    );
    assert.ok(reported);
    const shown = await host.page.evaluate(() => document.getElementById('message')?.textContent ?? '');
    assert.match(shown, CANNOT_START);
    // A guest with the key decodes nothing (there is nothing to decode), and the SFU relays nothing legible.
    const guest = await open(withMediaKey(session.links.viewer.url, key.key, key.gen), 'Ann');
    const heard = await keylessSubscriber(session, 5000);
    assert.equal(heard.marker, null, `a legible picture left the host: ${JSON.stringify({ ...heard, raw: heard.raw.length })}`);
    assert.ok(!heard.data.some((d) => /"screen"|"width"/.test(d)), `readable data left the host: ${JSON.stringify(heard.data)}`);
    for (const m of heard.raw) assert.ok(!/"screen"|"width"|peer\./.test(m), `a packet in clear: ${JSON.stringify(m.slice(0, 200))}`);
    assert.equal(await guest.readMarker(), null);
    // The message stays the page's word: later state changes do not paint "Sharing…" over it.
    assert.match(await host.page.evaluate(() => document.getElementById('message')?.textContent ?? ''), CANNOT_START);
  });
});
