/**
 * End to end on a host with two monitors sharing the second: the guest's decoded video is that
 * monitor (its size, its pixels), and the guest's click at the centre of the picture lands at the
 * centre of that monitor on X. Every part is real: Xvfb with two RandR monitors, the helper, the
 * HostRunner behind the host page's bridge, the host page and the guest's page in Chromium, the
 * control plane.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { HelperProcess } from '../../helper/client';
import { toPixel } from '../../helper/inject/os-sink';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { HostRunner } from '../../runner/host-runner';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import type { ControlPlane } from '../../server/control-plane';
import { watchRootButtons } from '../helper/support/xvfb';
import { ViewerPage } from '../support/browser-viewer';
import { createSession, startTestServer } from '../support/control-plane';
import { eventually } from '../support/livekit';
import { pressedAt } from '../support/real-host-rig';
import { BAND, RIGHT, startTwoMonitors, type TwoMonitors } from '../support/two-monitors';

describe('end to end: a guest sees and clicks the monitor the host shares', function () {
  this.timeout(120_000);
  let screen: TwoMonitors;
  let helper: HelperProcess;
  let bridge: HostBridgeServer;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let browser: Browser;
  let host: HeadlessHost;
  let guest: ViewerPage;
  const asked: string[] = [];

  before(async () => {
    screen = await startTwoMonitors();
    helper = new HelperProcess({ env: screen.x.env });
    await helper.start();
    const capture = await helper.startCapture({ fps: 10, monitor: 'RIGHT', patches: true });
    const runner = new HostRunner({
      helper,
      capture,
      prompt: { ask: async (name) => (asked.push(name), { allow: true, reason: 'allowed' }) },
      lobby: { admit: async () => ({ admit: true, reason: 'allowed' }) },
      say: () => undefined,
      frames: 'bridge',
      controlRequests: true,
    });
    bridge = new HostBridgeServer(runner);
    runner.attach(bridge);
    await bridge.listen();
    plane = await startTestServer();
    session = await createSession(plane);
    browser = await launchChromium();
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { browser, bridge: bridge.url, fps: 10 });
    guest = await ViewerPage.open(browser, session.links.controller.url, 'Ada');
    await guest.waitForState('live');
  });
  after(async () => {
    await guest?.close();
    await host?.close();
    await browser?.close();
    await plane?.close();
    await bridge?.close().catch(() => undefined);
    await helper?.stop();
    await screen?.stop();
  });

  /** [r, g, b] at a pixel of the decoded video (the guest page's probe), or null before there is a picture. */
  const pixelAt = (vx: number, vy: number) =>
    guest.page
      .evaluate(
        ([a, b]) => (window as unknown as { pairuxProbe?: { pixelAt(x: number, y: number): number[] | null } }).pairuxProbe?.pixelAt(a!, b!) ?? null,
        [vx, vy],
      )
      .catch(() => null);
  const isOrange = (px: number[] | null) => !!px && Math.abs(px[0]! - 255) < 40 && Math.abs(px[1]! - 128) < 40 && px[2]! < 50;
  const isBlue = (px: number[] | null) => !!px && px[0]! < 50 && px[1]! < 50 && px[2]! > 200;

  it("the guest's video is the chosen monitor: its size, the band across its top", async () => {
    await eventually(
      () =>
        guest.page
          .evaluate(() => [document.querySelector('video')?.videoWidth, document.querySelector('video')?.videoHeight])
          .then(([w, h]) => w === RIGHT.width && h === RIGHT.height),
      `a ${RIGHT.width}×${RIGHT.height} video`,
      20_000,
    );
    await eventually(
      async () => {
        const px = await pixelAt(RIGHT.width / 2, BAND.height / 2);
        if (!px) await guest.readMarker().catch(() => null); // loads the probe
        return isOrange(px);
      },
      'the orange band at the top of the video',
      20_000,
    );
    assert.ok(isBlue(await pixelAt(RIGHT.width / 2, RIGHT.height - 40)), 'blue below the band');
  });

  it('a click at the centre of the picture lands at the centre of the monitor', async () => {
    await guest.page.click('#control-request');
    await eventually(() => asked.includes('Ada'), "Ada's request to reach the host");
    await guest.page.waitForFunction(() => document.body.dataset.control === 'driving', null, { timeout: 10_000 });
    await eventually(async () => (await helper.inputStats()).granted !== null, 'the helper granting Ada');
    const clicks = await watchRootButtons(screen.x);
    try {
      const pic = await guest.page.evaluate(() => {
        const video = document.querySelector('video')!;
        const r = video.getBoundingClientRect();
        const scale = Math.min(r.width / video.videoWidth, r.height / video.videoHeight);
        return { x: r.left + r.width / 2, y: r.top + r.height / 2, scale };
      });
      assert.ok(pic.scale > 0, 'the video has a size');
      await guest.page.mouse.click(pic.x, pic.y);
      const want = { x: RIGHT.x + toPixel(0.5, RIGHT.width), y: RIGHT.y + toPixel(0.5, RIGHT.height) };
      await eventually(
        () => pressedAt(clicks.events, want.x, want.y),
        () => `the click at (${want.x},${want.y}) on X (saw ${JSON.stringify(clicks.events)})`,
      );
    } finally {
      clicks.stop();
    }
  });
});
