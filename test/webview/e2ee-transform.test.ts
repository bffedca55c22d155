/**
 * P2P end-to-end encryption in real Chromium (issue 15): the page's encoded transforms
 * (webview/engine/e2ee/) seal every frame the sender encodes and open every frame the receiver
 * gets, over a real peer connection (a loopback pair in one page, the worker bundle as shipped).
 * A receiver with the key decodes the video; one without it, or with another, decodes nothing,
 * and its worker counts why.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import type { ControlPlane } from '../../server/control-plane';
import type { LoopbackResult } from '../../webview/probe/e2ee-probe';
import { startTestServer } from '../support/control-plane';

async function loopback(page: Page, codec: string, senderKey: Buffer, receiverKey?: Buffer): Promise<LoopbackResult> {
  return page.evaluate((o) => (window as unknown as { pairuxE2eeProbe: { loopback(o: unknown): Promise<LoopbackResult> } }).pairuxE2eeProbe.loopback(o), {
    codec,
    senderKey: [...senderKey],
    ...(receiverKey ? { receiverKey: [...receiverKey] } : {}),
    ms: 4000,
  });
}

describe('E2EE transforms in Chromium: sealed P2P video decodes with the key and never without it', function () {
  this.timeout(60_000);
  let plane: ControlPlane;
  let browser: Browser;
  let page: Page;
  before(async () => {
    plane = await startTestServer();
    browser = await launchChromium();
    page = await browser.newPage();
    // A blank page of the server's origin (a secure context, as every served page), then the probe bundle.
    await page.route(`${plane.url}/e2ee-test`, (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>e2ee</title><body></body>' }));
    await page.goto(`${plane.url}/e2ee-test`);
    await page.addScriptTag({ url: `${plane.url}/dist/webview/e2ee-probe.js`, type: 'module' });
    await page.waitForFunction(() => 'pairuxE2eeProbe' in window);
  });
  after(async () => {
    await browser?.close();
    await plane?.close();
  });

  for (const codec of ['VP8', 'VP9']) {
    it(`${codec}: the receiver with the key decodes the sealed video; every frame was sealed and opened, none dropped`, async () => {
      const key = randomBytes(32);
      const r = await loopback(page, codec, key, key);
      assert.ok(r.decoded >= 30, `decoded ${r.decoded} frames (${JSON.stringify(r)})`);
      assert.equal(r.width, 640);
      assert.ok(r.sender.sealed >= 30, `sealed ${r.sender.sealed}`);
      assert.ok(r.receiver.opened >= 30, `opened ${r.receiver.opened}`);
      assert.deepEqual(Object.values(r.receiver.dropped), [0, 0, 0, 0, 0]);
    });

    it(`${codec}: a receiver without the key, or with another, gets the frames and decodes none of them`, async () => {
      const key = randomBytes(32);
      const keyless = await loopback(page, codec, key);
      assert.ok(keyless.receiver.dropped['no key'] >= 10, `the frames reached the receiver's transform: ${JSON.stringify(keyless.receiver)}`);
      assert.equal(keyless.decoded, 0);
      assert.equal(keyless.width, 0);
      const wrong = await loopback(page, codec, key, randomBytes(32));
      assert.ok(wrong.receiver.dropped.tampered >= 10, JSON.stringify(wrong.receiver));
      assert.equal(wrong.decoded, 0);
    });
  }
});
