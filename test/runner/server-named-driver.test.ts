/**
 * F2, the host's side, through every real part: a control plane that grants a guest control the
 * host never gave (here the server's own arbiter, called as if the host had asked: what a
 * hostile or confused server does), the host page in headless Chromium, the real HostRunner
 * behind its bridge, the helper and an X server (Xvfb) with a terminal writing what it is typed
 * into a file. The guest is told it drives and sends input; the host page refuses it (the guest
 * is told why) and nothing reaches X. Then the same guest asks, the host allows, and its typing
 * lands: the path works, only the host's own decision opens it.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { HelperProcess } from '../../helper/client';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { HostRunner, type PromptAnswer } from '../../runner/host-runner';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage } from '../support/browser-viewer';
import { createSession, startTestServer } from '../support/control-plane';
import { controlPhase, forgeAndSeeRefused, hostControl } from '../support/control-hooks';
import { eventually } from '../support/livekit';
import { mouseLocation, startXterm, startXvfb, waitFor, type Xterm, type Xvfb } from '../helper/support/xvfb';

describe('runner: a driver the server names on its own gets nothing onto X', function () {
  this.timeout(120_000);
  let x: Xvfb;
  let xterm: Xterm;
  let helper: HelperProcess;
  let runner: HostRunner;
  let bridge: HostBridgeServer;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let browser: Browser;
  let host: HeadlessHost;
  let ada: ViewerPage;
  const said: string[] = [];
  const asked: string[] = [];
  const answer: PromptAnswer = { allow: true, reason: 'allowed' };

  before(async () => {
    x = await startXvfb(1280, 720);
    xterm = await startXterm(x, { geometry: '80x30+0+0' });
    helper = new HelperProcess({ env: x.env });
    await helper.start();
    const capture = await helper.startCapture({ fps: 10, patches: true });
    // Ada's controller link knocks at the lobby; the host lets her in (this test is about control, not who may join).
    runner = new HostRunner({
      helper,
      capture,
      prompt: { ask: async (name) => (asked.push(name), answer) },
      say: (l) => said.push(l),
      frames: 'bridge',
      controlRequests: true,
      lobby: { admit: async () => ({ admit: true, reason: 'allowed' }) },
    });
    bridge = new HostBridgeServer(runner);
    runner.attach(bridge);
    await bridge.listen();
    plane = await startTestServer();
    session = await createSession(plane);
    browser = await launchChromium();
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { browser, bridge: bridge.url, fps: 10 });
    ada = await ViewerPage.open(browser, session.links.controller.url, 'Ada');
    await ada.waitForState('live');
  });
  after(async () => {
    await ada?.close();
    await host?.close();
    await browser?.close();
    await plane?.close();
    await bridge?.close();
    await helper?.stop();
    await xterm?.stop();
    await x?.stop();
  });

  it("the server's grant alone: Ada is told she drives, the host refuses her input, X sees none of it", async () => {
    const hostId = (await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId))!;
    const adaId = (await ada.selfId())!;
    // The host page never asked: the server grants with the host's authority on its own.
    await plane.service.control.grant({ sessionId: session.sessionId, participantId: hostId, role: 'host' }, adaId);
    await eventually(async () => ((await controlPhase(ada)) === 'driving' ? true : undefined), "Ada's page to say she drives");
    assert.deepEqual(asked, [], 'nobody asked the host');
    const pointer = mouseLocation(x);
    const { host: hostSide, guest } = await forgeAndSeeRefused(
      host.page,
      ada,
      { t: 'move', seq: 1, x: 0.8, y: 0.8 },
      { t: 'down', seq: 2, x: 0.8, y: 0.8, button: 'left' },
      { t: 'up', seq: 3, x: 0.8, y: 0.8, button: 'left' },
      { t: 'text', seq: 4, text: 'server-granted\n' },
    );
    assert.match(guest.lastRefusal?.reason ?? '', /the host never allowed .* to drive/);
    assert.equal(hostSide.driverId, null, 'as far as the host lets input through, nobody drives');
    assert.equal(hostSide.forwarded, 0);
    assert.ok(said.includes(`the server named ${adaId} as driver, but you never allowed it: ignored`), said.join('\n'));
    assert.equal((await helper.inputStats()).granted, null, 'the helper stays revoked');
    assert.deepEqual(mouseLocation(x), pointer);
    assert.equal(xterm.read(), '');
  });

  it('once the host allows her request, the same input lands', async () => {
    const hostId = (await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId))!;
    await plane.service.control.revoke({ sessionId: session.sessionId, participantId: hostId, role: 'host' }, undefined, false);
    await eventually(async () => ((await controlPhase(ada)) !== 'driving' ? true : undefined), "Ada's page to say she no longer drives");
    await ada.page.click('#control-request');
    await eventually(async () => ((await controlPhase(ada)) === 'driving' ? true : undefined), 'Ada driving after the host allowed');
    assert.deepEqual(asked, ['Ada']);
    await eventually(async () => ((await hostControl(host.page)).driverId ? true : undefined), 'the host page letting Ada drive');
    await ada.page.evaluate(() =>
      (window as unknown as { pairuxViewer: { sendRawInput(e: unknown): boolean } }).pairuxViewer.sendRawInput({ t: 'text', seq: 10, text: 'allowed\n' }),
    );
    await waitFor(() => xterm.read() === 'allowed\n', 10_000, `the allowed text in the terminal (it has ${JSON.stringify(xterm.read())})`);
  });
});
