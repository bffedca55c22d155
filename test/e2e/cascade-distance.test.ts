/**
 * A cascaded session across real distance (issue 17), in network namespaces
 * (test/support/region-net.ts): region a (the control plane, a's LiveKit, the host, its
 * controller, and the bridge the control plane starts) 80 ms one way from region b (b's LiveKit),
 * and two homes 5 ms from b: one whose viewers' links say region b (placed on b's SFU, fed by the
 * bridge), one whose viewer's link says region a (watching on a's SFU across the long link, as
 * every viewer did before cascading). Real LiveKit servers, real Chromium; "sees" means the host's
 * frame marker read from a viewer's decoded pixels, and latency is its capture time to the frame's
 * display, on this one machine's clock.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { percentile } from '../../bench/support/stats';
import { findChromium, launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/sfu/webhooks';
import { expandCaptureTime } from '../../webview/engine/frames/frame-marker';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, NO_LOBBY, startTestServer, tokenOf } from '../support/control-plane';
import { eventually, freePort } from '../support/livekit';
import { startRegionNet, type RegionNet } from '../support/region-net';
import { TestClient } from '../support/signaling-client';

const SIZE = { width: 1280, height: 720, fps: 15 };
const HOST_KEY = randomBytes(18).toString('base64url');
const LONG = { delayMs: 80, lossPercent: 0 };
const NEAR = { delayMs: 5, lossPercent: 0 };

/** Glass-to-glass of each frame a viewer showed over `ms`: capture on the host to display, ms. */
async function latencies(viewer: ViewerPage, ms: number): Promise<number[]> {
  const frames = await viewer.collect(ms);
  return frames.map((f) => f.presentedAt - expandCaptureTime(f.captureTimeLow32, f.presentedAt));
}

const describeMs = (v: number[]) => `p50 ${percentile(v, 50).toFixed(0)} / p90 ${percentile(v, 90).toFixed(0)} ms over ${v.length} frames`;

describe('end to end: a cascade across real distance (network namespaces, 80 ms between regions)', function () {
  this.timeout(300_000);
  let net: RegionNet;
  const lk: LocalLiveKit[] = [];
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let hostBrowser: Browser;
  let cascadedHome: Browser;
  let directHome: Browser;
  let host: HeadlessHost;
  const pages: ViewerPage[] = [];
  let controller: ViewerPage;

  before(async () => {
    net = await startRegionNet(['home', 'away'], { long: LONG, access: NEAR });
    const port = await freePort();
    const webhookUrl = `http://${net.aAddress}:${port}${LIVEKIT_WEBHOOK_PATH}`;
    lk.push(await startLocalLiveKit({ logLevel: 'warn', webhookUrl, node: { address: net.aAddress, argv: (command, ...args) => [command, args] } }));
    lk.push(await startLocalLiveKit({ logLevel: 'warn', webhookUrl, node: { address: net.b.address, argv: net.b.argv } }));
    plane = await startTestServer({
      ...NO_LOBBY,
      // Reached from region b: not on loopback alone, so with a host key, as the server demands.
      host: '0.0.0.0',
      port,
      hostKey: HOST_KEY,
      publicUrl: `http://${net.aAddress}:${port}`,
      sfuPools: {
        deployments: lk.map((l, i) => ({ id: i === 0 ? 'a1' : 'b1', region: i === 0 ? 'a' : 'b', url: l.url, apiKey: l.apiKey, apiSecret: l.apiSecret })),
        defaultRegion: 'a',
        checkIntervalMs: 250,
        failuresToDown: 2,
      },
    });
    hostBrowser = await launchChromium();
    cascadedHome = await launchChromium({ executablePath: net.wrapper(net.people.home!, findChromium()) });
    directHome = await launchChromium({ executablePath: net.wrapper(net.people.away!, findChromium()) });
    session = await createSession(plane, { mode: 'sfu', name: 'Far away', region: 'a' }, { authorization: `Bearer ${HOST_KEY}` });
    // A screen that keeps changing (its code scrolling), so each copy of it on the long link shows.
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser: hostBrowser, name: 'Hana', scroll: 5 });
    controller = await ViewerPage.open(hostBrowser, session.links.controller.url, 'Ada');
    pages.push(controller);
    await controller.waitForState('live', 40_000);
  });
  after(async () => {
    for (const p of pages.splice(0)) await p.close().catch(() => undefined);
    await host?.close().catch(() => undefined);
    for (const b of [hostBrowser, cascadedHome, directHome]) await b?.close().catch(() => undefined);
    await plane?.close();
    for (const l of lk) await l.stop().catch(() => undefined);
    net?.close();
  });

  const open = async (browser: Browser, name: string, region: 'a' | 'b') => {
    const page = await ViewerPage.open(browser, `${session.links.viewer.url}&region=${region}`, name);
    pages.push(page);
    await page.waitForState('live', 60_000);
    const [x, y] = await page.markerAdvance(1000);
    assert.ok(framesBetween(x, y) >= 3, `${name}: frame ${x.frame} → ${y.frame} in 1 s`);
    return page;
  };
  const bridges = () => plane.service.cascades.snapshot().filter((b) => b.sessionId === session.sessionId);
  /** What a sent b across the long link over `ms`, kbit/s. */
  const longLinkKbps = async (ms = 3000) => (await longLink(ms)).link;
  /** The long link's rate over `ms`, and the rate b's bridge forwarded meanwhile (the mean of its per-second figures), kbit/s. */
  const longLink = async (ms = 3000) => {
    const before = net.bytesAtoB();
    const forwarded: number[] = [];
    const sample = setInterval(() => {
      const b = bridges()[0];
      if (b) forwarded.push(b.layers.reduce((sum, l) => sum + l.kbps, 0));
    }, 500);
    await new Promise((r) => setTimeout(r, ms));
    clearInterval(sample);
    return { link: ((net.bytesAtoB() - before) * 8) / ms, bridge: forwarded.length ? forwarded.reduce((a, b) => a + b, 0) / forwarded.length : 0 };
  };

  it("b's viewers behind one bridge: the long link carries one copy of the screen whatever their number, while a viewer of b placed on a costs a copy of its own; the controller stays on the host's SFU", async () => {
    const alone = await latencies(controller, 3000);
    const quiet = await longLinkKbps();

    const first = await open(cascadedHome, 'Bea', 'b');
    await eventually(
      () => bridges()[0]?.layers.find((l) => l.rid === 'h' && l.fps > 3),
      () => `the bridge to b carrying the top layer: ${JSON.stringify(bridges())}`,
      20_000,
    );
    // The bridge's first seconds (its subscription's keyframes, the layers' ramp) cost more than
    // its steady stream: measured after them, or one CI run's "one" was twice "three".
    await new Promise((r) => setTimeout(r, 2000));
    const one = await longLinkKbps();
    await open(cascadedHome, 'Bo', 'b');
    await open(cascadedHome, 'Bix', 'b');
    // Their joins' key frames pass too (one copy each, through the one bridge): measured after them.
    await new Promise((r) => setTimeout(r, 2000));
    const { link: three, bridge: forwarded } = await longLink();
    assert.equal(bridges().length, 1, 'one bridge for b, however many watch there');
    console.log(
      `      a → b: ${quiet.toFixed(0)} kbit/s before any viewer of b, ${one.toFixed(0)} with one on b's SFU, ${three.toFixed(0)} with three (the bridge forwarding ${forwarded.toFixed(0)})`,
    );
    assert.ok(one - quiet > 100, `the bridge's stream crosses the long link (${quiet.toFixed(0)} → ${one.toFixed(0)} kbit/s)`);
    // One copy whatever the count: what crosses is what the one bridge forwards (with its packets'
    // headers and RTCP: 1.34× in one run), not three times it. Against the bridge's own figure, not the one-viewer window's:
    // the host's encoder sends more or less as the machine's load moves (136 → 186 kbit/s in one
    // CI run between two windows of one copy each).
    assert.ok(forwarded > 50, `b's bridge forwards the screen (${forwarded.toFixed(0)} kbit/s)`);
    assert.ok(
      three - quiet < 1.8 * forwarded,
      `three viewers on b cost the long link one copy: ${(three - quiet).toFixed(0)} kbit/s over the quiet link, the bridge forwarding ${forwarded.toFixed(0)}`,
    );

    // The counter sees every copy: a viewer of b placed on a is sent its own across the long link.
    const dan = await open(directHome, 'Dan', 'a');
    const direct = await longLinkKbps();
    console.log(`      a → b with a viewer of b on a's SFU too: ${direct.toFixed(0)} kbit/s`);
    const copy = Math.min(one, three) - quiet;
    assert.ok(
      direct - three > 0.3 * copy,
      `a viewer watching across the long link adds its own copy (${three.toFixed(0)} → ${direct.toFixed(0)} kbit/s; the bridge's copy ${copy.toFixed(0)})`,
    );
    void first;

    // Whoever drives stays on the host's SFU, whoever watches far away: the server places only
    // viewers in other regions, and the controller's picture never takes the long link. Its
    // latency alone, with the viewers, and across the long link is printed, not compared: on two
    // cores, four more decoding pages slow every page on the machine (one run: the controller
    // p50 168 ms against 184 across the long link).
    const watcher = await TestClient.connect(plane.url);
    try {
      const joined = await watcher.join(session.sessionId, tokenOf(session.links.viewer.url), 'Watcher');
      const byName = new Map(joined.participants.map((p) => [p.name, p]));
      assert.equal(byName.get('Ada')?.role, 'controller');
      assert.equal(byName.get('Ada')?.cascaded, undefined, "the controller watches on the host's SFU");
      for (const name of ['Bea', 'Bo', 'Bix']) assert.equal(byName.get(name)?.cascaded, true, `${name} watches on b's SFU`);
      assert.equal(byName.get('Dan')?.cascaded, undefined, "Dan, placed on a, watches on the host's SFU across the long link");
    } finally {
      watcher.close();
    }
    const [crowded, far] = await Promise.all([latencies(controller, 3000), latencies(dan, 3000)]);
    console.log(
      `      the controller on a: ${describeMs(alone)} alone, ${describeMs(crowded)} with four viewers in b (Dan in b, on a's SFU: ${describeMs(far)})`,
    );
  });

  it("with loss on the homes' links both of b's viewers keep watching; their latency is printed, through b's SFU and from a", async () => {
    const cascaded = pages.find((p) => p !== controller)!;
    const onA = pages[pages.length - 1]!;
    const measure = async (lossPercent: number) => {
      for (const home of ['home', 'away']) await net.shapeAccess(home, { delayMs: NEAR.delayMs, lossPercent });
      await new Promise((r) => setTimeout(r, 3000));
      const [near, far] = await Promise.all([latencies(cascaded, 8000), latencies(onA, 8000)]);
      console.log(`      ${lossPercent} % loss near b: on b's SFU through the bridge ${describeMs(near)}; on a's SFU ${describeMs(far)}`);
      return [near, far] as const;
    };
    // Measured, not compared: the two paths are one length (80 + 5 ms; without loss equally quick,
    // measured). With loss near b a packet lost on the way to the viewer on b is sent again from
    // 5 ms away, not 85, but on this shared 2-core machine that showed as a lower p90 in three runs
    // of four (178 against 328 ms, 232 against 333; then 271 against 245 under CI's load): see
    // issue 17's note.
    const [near, far] = await measure(10);
    // Watching, not frozen: 2.5 frames a second or more (across the long link at 10 % loss each
    // retransmission waits a 170 ms round trip: 40 in 8 s in one run).
    assert.ok(near.length > 20 && far.length > 20, `both keep showing frames at 10 % loss (${near.length} and ${far.length} in 8 s)`);
  });
});
