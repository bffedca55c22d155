/**
 * Remote control in SFU mode with every real part: Xvfb with a real xterm, the helper capturing
 * and injecting, the demo's runner and bridge, the host page publishing to the real LiveKit
 * server, and a controller's browser whose input travels as LiveKit data. Asserted is what the X
 * server shows: the real screen in the guest's video, the bytes the xterm received.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import { HostRunner } from '../../runner/host-runner';
import { HelperProcess } from '../../helper/client';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage } from '../support/browser-viewer';
import { createSession } from '../support/control-plane';
import { eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';
import { mouseLocation, startXterm, startXvfb, type Xterm, type Xvfb } from '../helper/support/xvfb';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("end to end: a guest drives the host's real X screen through the LiveKit SFU", function () {
  this.timeout(120_000);
  let x: Xvfb;
  let xterm: Xterm;
  let helper: HelperProcess;
  let rig: SfuRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let bridge: HostBridgeServer;
  let runner: HostRunner;
  let browser: Browser;
  let host: HeadlessHost;
  let guest: ViewerPage;
  let viewer: ViewerPage;

  before(async () => {
    x = await startXvfb(1280, 720);
    xterm = await startXterm(x, { geometry: '80x30+0+0' });
    await startXterm(x, { geometry: '20x8+900+400', bg: '#ff8000', command: 'sleep 600' });
    x.run('xdotool', 'windowfocus', '--sync', xterm.windowId);
    helper = new HelperProcess({ env: x.env });
    await helper.start();
    const capture = await helper.startCapture({ fps: 20, patches: true });
    runner = new HostRunner({ helper, capture, prompt: { ask: async () => ({ allow: true, reason: 'allowed' }) }, say: () => undefined, frames: 'bridge', controlRequests: true });
    bridge = new HostBridgeServer(runner);
    runner.attach(bridge);
    await bridge.listen();
    rig = await startSfuRig();
    plane = await startPlane(rig);
    session = await createSession(plane, { mode: 'sfu' });
    browser = await launchChromium();
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { browser, bridge: bridge.url, fps: 20 });
    guest = await ViewerPage.open(browser, session.links.controller.url, 'Ada');
    viewer = await ViewerPage.open(browser, session.links.viewer.url, 'Vic');
    await guest.waitForState('live', 30_000);
    await viewer.waitForState('live', 30_000);
  });
  after(async () => {
    await guest?.close();
    await viewer?.close();
    await host?.close();
    await browser?.close();
    await plane?.close();
    await rig?.livekit.stop();
    await bridge?.close();
    await helper?.stop();
    await xterm?.stop();
    await x?.stop();
  });

  const pixelAt = (g: ViewerPage, px: number, py: number) =>
    g.page.evaluate(([a, b]) => (window as unknown as { pairuxProbe?: { pixelAt(x: number, y: number): number[] | null } }).pairuxProbe?.pixelAt(a!, b!) ?? null, [px, py]).catch(() => null);

  it('both guests see the real screen: the orange patch at its place in the decoded video', async () => {
    for (const g of [guest, viewer]) {
      await g.readMarker().catch(() => null); // loads the probe
      await eventually(async () => {
        const [r = 0, gr = 0, b = 0] = (await pixelAt(g, 980, 450)) ?? [];
        return Math.abs(r - 255) < 40 && Math.abs(gr - 128) < 40 && b < 50;
      }, 'the orange patch at (980,450)', 20_000);
    }
  });

  it("without a grant nothing reaches X; a viewer's input never does", async () => {
    for (const g of [guest, viewer]) {
      await g.page.evaluate(() => (window as unknown as { pairuxViewer: { sendRawInput(e: unknown): boolean } }).pairuxViewer.sendRawInput({ t: 'text', seq: 1, text: 'sneaky\n' }));
    }
    await sleep(800);
    assert.equal(xterm.read(), '');
  });

  it("granted: every key typed lands in the host's xterm, carried as LiveKit data", async () => {
    await guest.page.click('#control-request');
    await eventually(async () => (await guest.page.evaluate(() => document.body.dataset.control)) === 'driving', 'driving');
    await viewer.page.evaluate(() => (window as unknown as { pairuxViewer: { sendRawInput(e: unknown): boolean } }).pairuxViewer.sendRawInput({ t: 'text', seq: 5, text: 'viewer\n' }));
    // The guest hears of its grant as the host does; the runner (and the helper) a moment later.
    // A click on the xterm that moves the X pointer shows the whole path is open before typing.
    const box = await guest.page.locator('video').boundingBox();
    assert.ok(box);
    const scale = Math.min(box.width / 1280, box.height / 720);
    const at = { x: box.x + (box.width - 1280 * scale) / 2 + 320 * scale, y: box.y + (box.height - 720 * scale) / 2 + 200 * scale };
    await eventually(async () => {
      await guest.page.mouse.click(at.x, at.y);
      const p = mouseLocation(x);
      return Math.abs(p.x - 320) <= 2 && Math.abs(p.y - 200) <= 2;
    }, 'the X pointer at (320,200)', 10_000);
    const text = 'echo via-sfu: {[(<>)]} ~!@#$%^&*_+|';
    await guest.page.keyboard.type(text, { delay: 5 });
    await guest.page.keyboard.press('Enter');
    await eventually(() => xterm.read() === `${text}\n`, `the xterm to receive the line (got ${JSON.stringify(xterm.read())})`, 15_000);
  });
});
