/**
 * SFU mode when the control plane gives a guest a new identity (it was away longer than the
 * reconnect grace, so its resume was refused): the LiveKit identity must follow, because the
 * host names input by it and checks it against the session's participants. Real LiveKit, real
 * control plane, host and guest in Chromium; the guest's signaling WebSocket is cut and held
 * down through Playwright's WebSocket routing (its LiveKit connection stays up meanwhile). The
 * input lands on the host's real X screen (the real runner and helper, test/support/real-host-rig.ts).
 */
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import { RealHostRig } from '../support/real-host-rig';
import { createSession } from '../support/control-plane';
import { eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';

const SIZE = { width: 640, height: 360, fps: 15 };

describe('end to end: SFU mode follows a guest that came back as someone new', function () {
  this.timeout(120_000);
  let browser: Browser;
  let rig: SfuRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let real: RealHostRig;
  let host: HeadlessHost;
  let context: BrowserContext;
  let page: Page;
  const sockets: WebSocketRoute[] = [];
  let blocked = false;

  before(async () => {
    browser = await launchChromium();
    rig = await startSfuRig();
    plane = await startPlane(rig, { reconnectGraceMs: 1000 });
    session = await createSession(plane, { mode: 'sfu' });
    real = await RealHostRig.start({ generated: SIZE });
    await real.reset();
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, bridge: real.url });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await page.routeWebSocket(/\/ws$/, (ws) => {
      if (blocked) return void ws.close({ code: 1011, reason: 'test: server unreachable' });
      ws.connectToServer();
      sockets.push(ws);
    });
    await page.goto(`${session.links.controller.url}&name=Ada`);
  });
  after(async () => {
    await context?.close();
    await host?.close();
    await real?.close();
    await plane?.close();
    await rig?.livekit.stop();
    await browser?.close();
  });

  const state = () => page.evaluate(() => document.body.dataset.state);
  const selfId = () => page.evaluate(() => (window as unknown as { pairuxViewer: { selfId?: string } }).pairuxViewer.selfId);
  const driving = async () => (await page.evaluate(() => document.body.dataset.control)) === 'driving';

  it("after its resume is refused, the guest is in the room under its new id, live, and its input is the new id's", async () => {
    await eventually(async () => (await state()) === 'live', 'the guest live', 30_000);
    const before = await selfId();
    await page.click('#control-request');
    await eventually(driving, 'driving');

    // The control plane unreachable for longer than the grace period: the seat is given up.
    blocked = true;
    for (const ws of sockets.splice(0)) await ws.close({ code: 1011, reason: 'test: cut' });
    await new Promise((r) => setTimeout(r, 3000));
    blocked = false;

    await eventually(
      async () => {
        const id = await selfId();
        return id !== undefined && id !== before;
      },
      'a new identity',
      30_000,
    );
    const after = (await selfId())!;
    await eventually(
      async () => (await rig.api.listParticipants(session.sessionId)).some((p) => p.identity === after),
      'LiveKit to hold the new identity',
      20_000,
    );
    await eventually(
      async () => !(await rig.api.listParticipants(session.sessionId)).some((p) => p.identity === before),
      'the old identity gone from LiveKit',
      20_000,
    );
    await eventually(async () => (await state()) === 'live', 'the guest live again', 30_000);

    await page.click('#control-request');
    await eventually(driving, 'driving again');
    await page.evaluate(() =>
      (window as unknown as { pairuxViewer: { sendRawInput(e: unknown): boolean } }).pairuxViewer.sendRawInput({ t: 'text', seq: 1, text: 'new me\n' }),
    );
    await eventually(
      () => real.typed() === 'new me\n',
      () => `the text in the host's xterm (got ${JSON.stringify(real.typed())})`,
    );
    assert.equal((await real.helperStats()).granted, after, 'the helper drives for the new identity');
    assert.deepEqual([...new Set(real.forwarded.map((f) => f.controllerId))], [after]);
  });
});
