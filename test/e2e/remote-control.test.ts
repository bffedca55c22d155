/**
 * The whole remote-control path with every real part: an X server (Xvfb) with real X clients,
 * the helper capturing it and injecting into it, the real HostRunner behind the host page's
 * bridge (test/support/real-host-rig.ts), the host page in headless Chromium, the real control
 * plane, and a controller's browser. What is asserted is what the X server shows: pixels of the
 * real screen in the guest's video, bytes a real xterm received, where the X pointer is.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage } from '../support/browser-viewer';
import { createSession, startTestServer } from '../support/control-plane';
import { controlPhase, forgeAndSeeRefused, guestControl, hostControl } from '../support/control-hooks';
import { eventually } from '../support/livekit';
import { PATCH, RealHostRig, pointOnVideo } from '../support/real-host-rig';

const PRINTABLE = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
const SCREEN = { width: 1280, height: 720 };

describe("end to end: a guest drives the host's real X screen", function () {
  this.timeout(120_000);
  let rig: RealHostRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let browser: Browser;
  let host: HeadlessHost;
  let guest: ViewerPage;

  before(async () => {
    rig = await RealHostRig.start(SCREEN);
    await rig.reset();
    plane = await startTestServer();
    session = await createSession(plane);
    browser = await launchChromium();
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { browser, bridge: rig.url, fps: 20 });
    guest = await ViewerPage.open(browser, session.links.controller.url, 'Ada');
    await guest.waitForState('live');
  });
  after(async () => {
    await guest?.close();
    await host?.close();
    await browser?.close();
    await plane?.close();
    await rig?.close();
  });

  /** Where a point of the X screen appears on the guest's page. */
  const onPage = async (sx: number, sy: number) => {
    const box = await guest.page.locator('video').boundingBox();
    assert.ok(box);
    return pointOnVideo(box, SCREEN, sx, sy);
  };
  const pixelAt = (sx: number, sy: number) =>
    guest.page
      .evaluate(
        ([a, b]) => (window as unknown as { pairuxProbe?: { pixelAt(x: number, y: number): number[] | null } }).pairuxProbe?.pixelAt(a!, b!) ?? null,
        [sx, sy],
      )
      .catch(() => null);

  it('shows the real screen: a known colour patch arrives at its place in the decoded video', async () => {
    await eventually(
      async () => {
        const px = await pixelAt(PATCH.centre.x, PATCH.centre.y);
        if (!px) {
          await guest.readMarker().catch(() => null); // loads the probe
          return false;
        }
        const [r = 0, g = 0, b = 0] = px;
        return Math.abs(r - 255) < 40 && Math.abs(g - 128) < 40 && b < 50;
      },
      `the orange patch at (${PATCH.centre.x},${PATCH.centre.y}) in the video`,
      20_000,
    );
    const elsewhere = await pixelAt(1200, 100);
    assert.ok(elsewhere && !(elsewhere[0]! > 200 && elsewhere[2]! < 50), `no orange at (1200,100): ${elsewhere}`);
  });

  it('without a grant nothing the guest sends reaches X: the host refuses it, the guest is told', async () => {
    const before = rig.pointer();
    const injected = (await rig.helperStats()).injected;
    const { host: hostSide, guest: guestSide } = await forgeAndSeeRefused(
      host.page,
      guest,
      { t: 'move', seq: 1, x: 0.9, y: 0.9 },
      { t: 'text', seq: 2, text: 'sneaky\n' },
    );
    assert.ok((hostSide.refused.FORBIDDEN ?? 0) >= 2, JSON.stringify(hostSide.refused));
    assert.match(guestSide.lastRefusal?.reason ?? '', /nobody has been given control/);
    // Refused at the host's gate: nothing went on to the runner, the helper or X.
    assert.equal(rig.forwarded.length, 0);
    assert.equal((await rig.helperStats()).injected, injected);
    assert.deepEqual(rig.pointer(), before);
    assert.equal(rig.typed(), '');
  });

  it('a denied request leaves control with the host, and what the guest then sends is refused', async () => {
    rig.answer = { allow: false, reason: 'denied' };
    await guest.page.click('#control-request');
    await eventually(async () => (await guestControl(guest)).outcome === 'denied', 'the guest to see the refusal');
    assert.deepEqual(rig.asked, ['Ada'], 'the host was asked, by name');
    assert.notEqual(await controlPhase(guest), 'driving');
    assert.equal((await hostControl(host.page)).driverId, null);
    await forgeAndSeeRefused(host.page, guest, { t: 'text', seq: 3, text: 'denied\n' });
    assert.equal(rig.typed(), '');
    assert.equal((await rig.helperStats()).granted, null);
    rig.answer = { allow: true, reason: 'allowed' };
  });

  it('granted: a click lands where the guest clicked, and every printable ASCII character typed lands in the xterm', async () => {
    await guest.page.click('#control-request');
    await eventually(async () => (await controlPhase(guest)) === 'driving', 'driving');
    const target = await onPage(320, 200);
    await guest.page.mouse.click(target.x, target.y);
    await eventually(
      () => {
        const at = rig.pointer();
        return Math.abs(at.x - 320) <= 2 && Math.abs(at.y - 200) <= 2;
      },
      'the X pointer at (320,200)',
      5000,
    );
    await guest.page.keyboard.type(PRINTABLE, { delay: 5 });
    await guest.page.keyboard.press('Enter');
    await eventually(
      () => rig.typed() === `${PRINTABLE}\n`,
      () => `the xterm to receive all ${PRINTABLE.length} characters (got ${JSON.stringify(rig.typed())})`,
      15_000,
    );
    assert.deepEqual(rig.unsanitary(), [], 'the page forwarded nothing the sanitizer refuses');
  });

  it('after the host stops all control, what the guest sends is refused by the host and changes nothing on X', async () => {
    rig.mark();
    await rig.runner.stopAllControl();
    await eventually(async () => (await controlPhase(guest)) !== 'driving', 'the guest to stop driving', 5000);
    const at = rig.pointer();
    const injected = (await rig.helperStats()).injected;
    const { host: hostSide } = await forgeAndSeeRefused(
      host.page,
      guest,
      { t: 'text', seq: 1000, text: 'after revoke\n' },
      { t: 'move', seq: 1001, x: 0.7, y: 0.7 },
    );
    assert.equal(hostSide.driverId, null);
    // The guest's own keys are not even sent now (the forged ones above show the host refuses them).
    const sent = (await guestControl(guest)).sent;
    await guest.page.keyboard.type('nope');
    await guest.page.keyboard.press('Enter');
    assert.deepEqual([(await guestControl(guest)).phase, (await guestControl(guest)).sent], ['none', sent]);
    assert.equal((await rig.helperStats()).injected, injected, 'the helper injected nothing more');
    assert.deepEqual(rig.pointer(), at);
    assert.equal(rig.typed(), '');
  });
});
