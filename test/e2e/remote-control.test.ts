/**
 * The whole remote-control path with every real part: an X server (Xvfb) with real X clients,
 * the helper capturing it and injecting into it, the runner (demo's HostRunner + bridge), the
 * host page in headless Chromium, the real control plane, and a controller's browser. What is
 * asserted is what the X server shows: pixels of the real screen in the guest's video, bytes a
 * real xterm received, where the X pointer is.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import type { PromptAnswer } from '../../runner/host-runner';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import { HostRunner } from '../../runner/host-runner';
import { HelperProcess } from '../../helper/client';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage } from '../support/browser-viewer';
import { createSession, startTestServer } from '../support/control-plane';
import { mouseLocation, startXterm, startXvfb, type Xterm, type Xvfb } from '../helper/support/xvfb';

const PRINTABLE = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(50);
  }
}

describe('end to end: a guest drives the host\'s real X screen', function () {
  this.timeout(120_000);
  let x: Xvfb;
  let xterm: Xterm;
  let helper: HelperProcess;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let bridge: HostBridgeServer;
  let runner: HostRunner;
  let browser: Browser;
  let host: HeadlessHost;
  let guest: ViewerPage;
  let answer: PromptAnswer = { allow: true, reason: 'allowed' };
  const asked: string[] = [];

  before(async () => {
    x = await startXvfb(1280, 720);
    // A terminal that writes what it is typed into a file, over the left half…
    xterm = await startXterm(x, { geometry: '80x30+0+0' });
    // …and a known colour patch on the right, to find in the guest's video.
    await startXterm(x, { geometry: '20x8+900+400', bg: '#ff8000', command: 'sleep 600' });
    // No window manager: keyboard focus stays where it is put, so put it back on the terminal.
    x.run('xdotool', 'windowfocus', '--sync', xterm.windowId);
    helper = new HelperProcess({ env: x.env });
    await helper.start();
    // Patches: after a full frame the helper sends only changed rows, as the demo does.
    const capture = await helper.startCapture({ fps: 20, patches: true });
    runner = new HostRunner({
      helper,
      capture,
      prompt: { ask: async (name) => (asked.push(name), answer) },
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
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { browser, bridge: bridge.url, fps: 20 });
    guest = await ViewerPage.open(browser, session.links.controller.url, 'Ada');
    await guest.waitForState('live');
  });
  after(async () => {
    await guest?.close();
    await host?.close();
    await browser?.close();
    await plane?.close();
    await bridge?.close();
    await helper?.stop();
    await xterm?.stop();
    await x?.stop();
  });

  const control = () => guest.page.evaluate(() => document.body.dataset.control);
  const videoBox = async () => {
    const box = await guest.page.locator('video').boundingBox();
    assert.ok(box);
    return box;
  };
  /** Where a point of the X screen appears on the guest's page (Fit mode, letterboxed). */
  const onPage = async (sx: number, sy: number) => {
    const box = await videoBox();
    const scale = Math.min(box.width / 1280, box.height / 720);
    const left = box.x + (box.width - 1280 * scale) / 2;
    const top = box.y + (box.height - 720 * scale) / 2;
    return { x: left + sx * scale, y: top + sy * scale };
  };

  it('shows the real screen: a known colour patch arrives at its place in the decoded video', async () => {
    await until(async () => {
      const px = await guest.page.evaluate(() => (window as unknown as { pairuxProbe?: { pixelAt(x: number, y: number): number[] | null } }).pairuxProbe?.pixelAt(980, 450) ?? null).catch(() => null);
      if (!px) {
        await guest.readMarker().catch(() => null); // loads the probe
        return false;
      }
      const [r = 0, g = 0, b = 0] = px;
      return Math.abs(r - 255) < 40 && Math.abs(g - 128) < 40 && b < 50;
    }, 20_000, 'the orange patch at (980,450) in the video');
    const elsewhere = await guest.page.evaluate(() => (window as unknown as { pairuxProbe: { pixelAt(x: number, y: number): number[] | null } }).pairuxProbe.pixelAt(1200, 100));
    assert.ok(elsewhere && !(elsewhere[0]! > 200 && elsewhere[2]! < 50), `no orange at (1200,100): ${elsewhere}`);
  });

  it('without a grant nothing the guest sends reaches X', async () => {
    const before = mouseLocation(x);
    const sent = await guest.page.evaluate(() => {
      const v = (window as unknown as { pairuxViewer: { sendRawInput(e: unknown): boolean } }).pairuxViewer;
      return [v.sendRawInput({ t: 'move', seq: 1, x: 0.9, y: 0.9 }), v.sendRawInput({ t: 'text', seq: 2, text: 'sneaky\n' })];
    });
    assert.ok(sent.some(Boolean), 'the events left the guest');
    await sleep(800);
    assert.deepEqual(mouseLocation(x), before);
    assert.equal(xterm.read(), '');
  });

  it('a denied request leaves control with the host', async () => {
    answer = { allow: false, reason: 'denied' };
    await guest.page.click('#control-request');
    await until(async () => (await control()) !== 'waiting' && (await control()) !== 'requesting' && asked.length > 0, 10_000, 'the answer');
    assert.notEqual(await control(), 'driving');
    answer = { allow: true, reason: 'allowed' };
  });

  it('granted: a click lands where the guest clicked, and every printable ASCII character typed lands in the xterm', async () => {
    await guest.page.click('#control-request');
    await until(async () => (await control()) === 'driving', 10_000, 'driving');
    const target = await onPage(320, 200);
    await guest.page.mouse.click(target.x, target.y);
    await until(() => {
      const at = mouseLocation(x);
      return Math.abs(at.x - 320) <= 2 && Math.abs(at.y - 200) <= 2;
    }, 5000, 'the X pointer at (320,200)');
    await guest.page.keyboard.type(PRINTABLE, { delay: 5 });
    await guest.page.keyboard.press('Enter');
    await until(() => xterm.read() === `${PRINTABLE}\n`, 15_000, `the xterm to receive all ${PRINTABLE.length} characters (got ${JSON.stringify(xterm.read())})`);
  });

  it('after the host stops all control, typing changes nothing and the guest is told', async () => {
    const before = xterm.read();
    await runner.stopAllControl();
    await until(async () => (await control()) !== 'driving', 5000, 'the guest to stop driving');
    await guest.page.evaluate(() => {
      const v = (window as unknown as { pairuxViewer: { sendRawInput(e: unknown): boolean } }).pairuxViewer;
      v.sendRawInput({ t: 'text', seq: 1000, text: 'after revoke\n' });
    });
    await guest.page.keyboard.type('nope');
    await guest.page.keyboard.press('Enter');
    await sleep(1000);
    assert.equal(xterm.read(), before);
  });
});
