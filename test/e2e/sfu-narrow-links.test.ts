/**
 * A viewer on a narrow download in SFU mode (issue 16): its machine in its own network namespace
 * whose incoming traffic is shaped by a token bucket to 500 kbit/s (test/support/shaped-link.ts),
 * the host sharing a busy generated screen at 30 fps in VP8 (its code scrolls a line every frame: the
 * full layer takes more than that link carries, which the test checks first; H.264's motion search
 * makes that scroll cheap). LiveKit's allocator, from the viewer's own congestion
 * feedback, sends that viewer the small simulcast layer while the controller beside it keeps the
 * full one; the viewer's picture keeps moving, and with the cap lifted it gets the full layer
 * back. Real LiveKit (advertising the address the namespace reaches), real Chromium in both places.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { findChromium, launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import type { ControlPlane } from '../../server/control-plane';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/sfu/webhooks';
import { framesBetween, ViewerPage } from '../support/browser-viewer';
import { createSession, NO_LOBBY, startTestServer } from '../support/control-plane';
import { eventually, freePort } from '../support/livekit';
import { OUR_SIDE, startShapedMachine, type ShapedMachine } from '../support/shaped-link';

const SIZE = { width: 1280, height: 720, fps: 30 };
const DOWNLINK_KBIT = 500;
const HOST_KEY = randomBytes(18).toString('base64url');

describe('end to end: an SFU viewer on a 500 kbit/s download gets the small layer, the controller keeps the full one', function () {
  this.timeout(240_000);
  let link: ShapedMachine;
  let livekit: LocalLiveKit;
  let plane: ControlPlane;
  let browser: Browser;
  let farBrowser: Browser;
  let host: HeadlessHost | undefined;
  const guests: ViewerPage[] = [];

  before(async () => {
    link = startShapedMachine();
    const planePort = await freePort();
    // On the address the viewer's namespace reaches (and loopback): it advertises that address for media.
    livekit = await startLocalLiveKit({
      node: { address: OUR_SIDE, argv: (command, ...args) => [command, args] },
      webhookUrl: `http://127.0.0.1:${planePort}${LIVEKIT_WEBHOOK_PATH}`,
      logLevel: 'warn',
    });
    // Reachable from the namespace too, so not on loopback alone: a host key then, as the server demands.
    plane = await startTestServer({
      ...NO_LOBBY,
      port: planePort,
      host: '0.0.0.0',
      hostKey: HOST_KEY,
      livekit: { url: livekit.url, apiKey: livekit.apiKey, apiSecret: livekit.apiSecret },
    });
    browser = await launchChromium();
    farBrowser = await launchChromium({ executablePath: link.wrapper(findChromium()) });
  });
  after(async () => {
    for (const g of guests) await g.close();
    await host?.close();
    await plane?.close();
    await livekit?.stop();
    await farBrowser?.close();
    await browser?.close();
    link?.close();
  });

  /** What the viewer receives over 2 s, kbit/s. */
  const receivedKbps = async (v: ViewerPage) => {
    const a = { at: Date.now(), bytes: (await v.stats()).bytesReceived ?? 0 };
    await new Promise((r) => setTimeout(r, 2000));
    const b = { at: Date.now(), bytes: (await v.stats()).bytesReceived ?? 0 };
    return Math.round(((b.bytes - a.bytes) * 8) / (b.at - a.at));
  };
  const width = async (v: ViewerPage) => (await v.stats()).frameWidth ?? 0;
  /** Waits for `want` of the decoded width; a timeout says what the viewer was getting instead. */
  const settlesOn = (v: ViewerPage, want: (w: number) => boolean, what: string, timeoutMs: number) => {
    let last = '';
    let before: { at: number; bytes: number } | undefined;
    return eventually(
      async () => {
        const s = await v.stats();
        const now = { at: Date.now(), bytes: s.bytesReceived ?? 0 };
        const kbps = before ? Math.round(((now.bytes - before.bytes) * 8) / (now.at - before.at)) : NaN;
        before = now;
        last = `${s.frameWidth} px wide, ${s.fps} fps, ${kbps} kbit/s, ${s.packetsLost} packets lost, ${s.freezeCount} freezes`;
        return want(s.frameWidth ?? 0) ? s.frameWidth : undefined;
      },
      () => `${what} (last: ${last})`,
      timeoutMs,
    );
  };

  it('the narrow viewer on the small layer and still moving, the controller on the full one; the cap lifted, the full layer again', async () => {
    const session = await createSession(plane, { name: 'Narrow download', mode: 'sfu' }, { authorization: `Bearer ${HOST_KEY}` });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Host', scroll: SIZE.fps, codec: 'vp8' });
    const controller = await ViewerPage.open(browser, session.links.controller.url, 'Driver');
    guests.push(controller);
    // The viewer's machine reaches the server by its address on the link, not by loopback.
    const far = new URL(session.links.viewer.url);
    far.hostname = OUR_SIDE;
    const narrow = await ViewerPage.open(farBrowser, far.toString(), 'Narrow');
    guests.push(narrow);
    for (const g of guests) await g.waitForState('live', 60_000);
    for (const g of guests) await settlesOn(g, (w) => w === SIZE.width, 'the full layer before the link narrows', 30_000);

    const full = await receivedKbps(narrow);
    assert.ok(full > DOWNLINK_KBIT, `the full layer needs more than the narrow link carries (${full} kbit/s)`);
    // Narrowed once the page has loaded: its bundle alone would take half a minute through the link.
    link.shapeDown(DOWNLINK_KBIT);

    const small = await settlesOn(narrow, (w) => w > 0 && w <= SIZE.width / 2, 'the narrow viewer on the small layer', 60_000);
    const seen = await width(controller);
    assert.equal(seen, SIZE.width, `the controller keeps the full layer (${seen} px wide)`);
    console.log(
      `      full layer ${full} kbit/s; at ${DOWNLINK_KBIT} kbit/s the narrow viewer ${small} px wide (${await receivedKbps(narrow)} kbit/s), the controller ${seen}`,
    );
    // Not frozen on the small layer: its picture still advances.
    const [a, b] = await narrow.markerAdvance(2000);
    assert.ok(framesBetween(a, b) >= 5, `the narrow viewer shows ${framesBetween(a, b)} new frames in 2 s`);

    link.shapeDown(null);
    await settlesOn(narrow, (w) => w === SIZE.width, 'the full layer again once the cap is lifted', 90_000);
    assert.equal(await width(controller), SIZE.width, 'the controller still on the full layer');
  });
});
