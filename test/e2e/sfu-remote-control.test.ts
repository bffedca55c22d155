/**
 * Remote control in SFU mode with every real part: Xvfb with a real xterm, the helper capturing
 * and injecting, the real HostRunner behind the bridge (test/support/real-host-rig.ts), the host
 * page publishing to the real LiveKit server, and a controller's browser whose input travels as
 * LiveKit data. Asserted is what the X server shows: the real screen in the guest's video, the
 * bytes the xterm received, where the X pointer is.
 */
import assert from 'node:assert/strict';
import { AccessToken } from 'livekit-server-sdk';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import type { SfuHostSnapshot } from '../../webview/engine/sfu/sfu-host';
import { ViewerPage } from '../support/browser-viewer';
import { createSession } from '../support/control-plane';
import { controlPhase, forgeAndSeeRefused } from '../support/control-hooks';
import { SfuClients, eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';
import { PATCH, RealHostRig, pointOnVideo } from '../support/real-host-rig';

const SCREEN = { width: 1280, height: 720 };
const TOPIC_TO_HOST = 'pairux.input';

describe("end to end: a guest drives the host's real X screen through the LiveKit SFU", function () {
  this.timeout(120_000);
  let real: RealHostRig;
  let rig: SfuRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let browser: Browser;
  let host: HeadlessHost;
  let guest: ViewerPage;
  let viewer: ViewerPage;
  const rogues = new SfuClients();

  before(async () => {
    real = await RealHostRig.start(SCREEN);
    await real.reset();
    rig = await startSfuRig();
    plane = await startPlane(rig);
    session = await createSession(plane, { mode: 'sfu' });
    browser = await launchChromium();
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { browser, bridge: real.url, fps: 20 });
    guest = await ViewerPage.open(browser, session.links.controller.url, 'Ada');
    viewer = await ViewerPage.open(browser, session.links.viewer.url, 'Vic');
    await guest.waitForState('live', 30_000);
    await viewer.waitForState('live', 30_000);
  });
  after(async () => {
    await rogues.disconnectAll();
    await guest?.close();
    await viewer?.close();
    await host?.close();
    await browser?.close();
    await plane?.close();
    await rig?.livekit.stop();
    await real?.close();
  });

  const sfuHost = () => host.page.evaluate(() => (window as unknown as { pairuxHost: { media(): { sfu?: SfuHostSnapshot } } }).pairuxHost.media().sfu);
  const pixelAt = (g: ViewerPage, px: number, py: number) =>
    g.page
      .evaluate(
        ([a, b]) => (window as unknown as { pairuxProbe?: { pixelAt(x: number, y: number): number[] | null } }).pairuxProbe?.pixelAt(a!, b!) ?? null,
        [px, py],
      )
      .catch(() => null);

  it('both guests see the real screen: the orange patch at its place in the decoded video', async () => {
    for (const g of [guest, viewer]) {
      await g.readMarker().catch(() => null); // loads the probe
      await eventually(
        async () => {
          const [r = 0, gr = 0, b = 0] = (await pixelAt(g, PATCH.centre.x, PATCH.centre.y)) ?? [];
          return Math.abs(r - 255) < 40 && Math.abs(gr - 128) < 40 && b < 50;
        },
        'the orange patch in the video',
        20_000,
      );
    }
  });

  it("without a grant, a controller's input crosses LiveKit, is refused by the host, and nothing reaches X", async () => {
    const at = real.pointer();
    const { guest: told } = await forgeAndSeeRefused(host.page, guest, { t: 'text', seq: 1, text: 'sneaky\n' }, { t: 'move', seq: 2, x: 0.9, y: 0.9 });
    assert.match(told.lastRefusal?.reason ?? '', /nobody has been given control/);
    assert.equal(real.forwarded.length, 0, 'refused at the host page: nothing went on to the runner');
    assert.equal(real.typed(), '');
    assert.deepEqual(real.pointer(), at);
  });

  it("granted: the click and every key typed land on the host's X screen, carried as LiveKit data", async () => {
    await guest.page.click('#control-request');
    await eventually(async () => (await controlPhase(guest)) === 'driving', 'driving');
    assert.deepEqual(real.asked, ['Ada']);
    // The guest hears of its grant as the host does; the runner (and the helper) a moment later.
    // A click on the xterm that moves the X pointer shows the whole path is open before typing.
    const box = await guest.page.locator('video').boundingBox();
    assert.ok(box);
    const target = pointOnVideo(box, SCREEN, 320, 200);
    await eventually(
      async () => {
        await guest.page.mouse.click(target.x, target.y);
        const p = real.pointer();
        return Math.abs(p.x - 320) <= 2 && Math.abs(p.y - 200) <= 2;
      },
      'the X pointer at (320,200)',
      10_000,
    );
    const text = 'echo via-sfu: {[(<>)]} ~!@#$%^&*_+|';
    await guest.page.keyboard.type(text, { delay: 5 });
    await guest.page.keyboard.press('Enter');
    await eventually(
      () => real.typed() === `${text}\n`,
      () => `the xterm to receive the line (got ${JSON.stringify(real.typed())})`,
      15_000,
    );
    const adaId = await guest.selfId();
    assert.deepEqual([...new Set(real.forwarded.map((f) => f.controllerId))], [adaId], "only Ada's input went on to the runner");
    assert.deepEqual(real.unsanitary(), []);
  });

  it("a viewer's input never reaches X: LiveKit gives it no data permission, and data in its name from a client holding that permission is refused by the host by role", async () => {
    const vicId = (await viewer.selfId())!;
    const atSfu = (await rig.api.listParticipants(session.sessionId)).find((p) => p.identity === vicId);
    assert.equal(atSfu?.permission?.canPublishData, false, 'LiveKit lets the viewer publish no data');
    real.mark();
    const forwardedBefore = real.forwarded.length;
    // A token the control plane would never give a viewer (data publishing), in Vic's identity
    // while Vic is away (inside the grace period, still a viewer of the session, so nobody
    // contends for the identity). Its metadata says 'viewer', as the control plane's do, so the
    // control plane's role correction at the SFU leaves its grants alone: only the host's own
    // check stands between it and the runner.
    await viewer.close();
    const token = new AccessToken(rig.livekit.apiKey, rig.livekit.apiSecret, { identity: vicId, ttl: 60, metadata: JSON.stringify({ role: 'viewer' }) });
    token.addGrant({ room: session.sessionId, roomJoin: true, canSubscribe: true, canPublish: false, canPublishData: true });
    const rogue = await rogues.connect({ url: rig.livekit.url, token: await token.toJwt() });
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId!);
    const forged = JSON.stringify({ v: 1, method: 'peer.input', params: { event: { t: 'text', seq: 9, text: 'forged\n' }, from: await guest.selfId() } });
    const wrongRole = async () => (await sfuHost())?.data.wrongRole ?? 0;
    const before = await wrongRole();
    await eventually(async () => {
      await rogue.localParticipant!.publishData(new TextEncoder().encode(forged), { reliable: true, destination_identities: [hostId], topic: TOPIC_TO_HOST });
      return (await wrongRole()) > before;
    }, "the host to refuse the viewer's data by its role");
    assert.equal(real.forwarded.length, forwardedBefore, 'nothing went on to the runner');
    assert.equal(real.typed(), '');
  });
});
