/**
 * The SFU across a narrow link, one end at a time: a machine in its own network namespace whose
 * traffic is shaped by a token bucket (test/support/shaped-link.ts), the host sharing a busy
 * generated screen at 30 fps in VP8 (its code scrolls a line every frame: the full layer takes
 * ~2 Mbit/s, which the tests check first; H.264's motion search makes that scroll cheap).
 * - A viewer on a 500 kbit/s download (issue 16): LiveKit's allocator, from the viewer's own
 *   congestion feedback, sends it the small simulcast layer while the controller beside it keeps
 *   the full one; its picture keeps moving, and with the cap lifted it gets the full layer back.
 * - The host on a 700 kbit/s upload (issue 13: the layer guard, sfu-layer-guard.ts): libwebrtc's
 *   estimate can no longer carry the small layer plus the full one's minimum, so it turns the full
 *   one off; the guard pauses the small one instead, the full layer goes on alone and a full-size
 *   viewer keeps a full-size, moving picture; with the cap lifted both layers run again. Without
 *   the guard that viewer drops to the half-size layer (checked by taking the guard's pause out).
 * Real LiveKit (advertising the address the namespace reaches), real Chromium in both places.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { findChromium, launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import type { ControlPlane } from '../../server/control-plane';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/sfu/webhooks';
import type { SfuHostSnapshot } from '../../webview/engine/sfu/sfu-host';
import type { LayerStats } from '../../webview/engine/stats';
import { framesBetween, ViewerPage } from '../support/browser-viewer';
import { createSession, NO_LOBBY, startTestServer } from '../support/control-plane';
import { eventually, freePort } from '../support/livekit';
import { OUR_SIDE, startShapedMachine, type ShapedMachine } from '../support/shaped-link';

const SIZE = { width: 1280, height: 720, fps: 30 };
const DOWNLINK_KBIT = 500;
const UPLINK_KBIT = 700;
const HOST_KEY = randomBytes(18).toString('base64url');

describe('end to end: the SFU across a narrow link (a viewer’s download, the host’s upload)', function () {
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
  afterEach(async () => {
    for (const g of guests.splice(0)) await g.close();
    await host?.close();
    host = undefined;
    link?.shapeUp(null);
    link?.shapeDown(null);
  });
  after(async () => {
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

  /** The host's simulcast layers (largest first) and what its layer guard did. */
  const hostLayers = () =>
    host!.page.evaluate(async () => {
      const h = (
        window as unknown as {
          pairuxHost: { stats(): Promise<Array<{ layers?: LayerStats[] | number }>>; media(): { sfu?: SfuHostSnapshot } };
        }
      ).pairuxHost;
      const [s] = await h.stats();
      // Largest first, as the sender lists them (a layer the estimate turned off reports no size).
      const layers = Array.isArray(s?.layers) ? s.layers : [];
      return { layers, guard: h.media().sfu?.layerGuard ?? null };
    });
  const describeLayers = (r: Awaited<ReturnType<typeof hostLayers>>) =>
    `${r.layers.map((l) => `${l.width}px ${l.active ? `target ${l.targetKbps}` : 'paused'} (estimate ${l.availableKbps}${l.limited && l.limited !== 'none' ? `, ${l.limited}` : ''})`).join('; ')}; ` +
    `guard ${r.guard ? `${r.guard.state}, paused ${r.guard.paused}, resumed ${r.guard.resumed}` : 'none'}`;
  /** Waits for the host's layers to satisfy `want`; a timeout says what they were. */
  const layersSettle = (want: (r: Awaited<ReturnType<typeof hostLayers>>) => boolean, what: string, timeoutMs: number) => {
    let last = '';
    return eventually(
      async () => {
        const r = await hostLayers();
        last = describeLayers(r);
        return want(r) ? r : undefined;
      },
      () => `${what} (last: ${last})`,
      timeoutMs,
    );
  };
  const sending = (l: LayerStats | undefined) => !!l && l.active && l.targetKbps > 0;

  it('the host on a narrow upload: the full layer alone (the small one paused), the viewer keeps the full size and a moving picture; the cap lifted, both layers again', async () => {
    const session = await createSession(plane, { name: 'Narrow upload', mode: 'sfu' }, { authorization: `Bearer ${HOST_KEY}` });
    // The host page in the shaped machine reaches the server and LiveKit by their address on the link.
    host = await startHeadlessHost(`http://${OUR_SIDE}:${plane.port}`, session.sessionId, session.hostToken, {
      ...SIZE,
      browser: farBrowser,
      name: 'Host',
      scroll: SIZE.fps,
      codec: 'vp8',
    });
    const viewer = await ViewerPage.open(browser, session.links.viewer.url, 'Viewer');
    guests.push(viewer);
    await viewer.waitForState('live', 60_000);
    await settlesOn(viewer, (w) => w === SIZE.width, 'the full layer before the link narrows', 30_000);
    const both = await layersSettle((r) => r.layers.length === 2 && r.layers.every(sending), 'both layers sending before the link narrows', 30_000);
    const sent = await receivedKbps(viewer);
    assert.ok(sent > UPLINK_KBIT, `the full layer needs more than the narrow upload carries (${sent} kbit/s)`);
    assert.ok(both!.layers[0]!.availableKbps > UPLINK_KBIT, `the estimate starts above the narrow upload (${describeLayers(both!)})`);

    link.shapeUp(UPLINK_KBIT);
    const alone = await layersSettle(
      (r) => r.guard?.state === 'top-only' && sending(r.layers[0]) && r.layers.slice(1).every((l) => !l.active),
      'the full layer sending alone',
      60_000,
    );
    // A full-size viewer stays on the full size (without the guard LiveKit moves it to the small layer), and its picture moves.
    await settlesOn(viewer, (w) => w === SIZE.width, 'the viewer on the full layer while the upload is narrow', 20_000);
    const [a, b] = await viewer.markerAdvance(2000);
    const estimate = (await hostLayers()).layers[0]?.availableKbps;
    console.log(
      `      at ${UPLINK_KBIT} kbit/s up: ${describeLayers(alone!)}; the viewer ${await width(viewer)} px wide, ${framesBetween(a, b)} new frames in 2 s (estimate now ${estimate})`,
    );
    assert.ok(framesBetween(a, b) >= 5, `the viewer shows ${framesBetween(a, b)} new frames in 2 s`);
    assert.equal(await width(viewer), SIZE.width);

    link.shapeUp(null);
    const again = await layersSettle(
      (r) => r.guard?.state === 'all-layers' && r.layers.length === 2 && r.layers.every(sending),
      'both layers sending again once the cap is lifted',
      90_000,
    );
    assert.ok(again!.guard!.resumed >= 1, describeLayers(again!));
    await settlesOn(viewer, (w) => w === SIZE.width, 'the viewer on the full layer after the cap is lifted', 20_000);
  });
});
