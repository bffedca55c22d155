/**
 * A live session outlives the control-plane instance it was on: two real instances (child
 * processes) share a real Redis behind a load balancer; the host page and two guests in Chromium
 * are all on instance A. A is SIGKILLed. The picture never depends on the control plane (the P2P
 * media keeps flowing), every client reconnects through the balancer to B as itself, with its
 * role, and remote control works again there: a click lands on the host's real X screen (the real
 * runner and helper behind the page, test/support/real-host-rig.ts).
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { RealHostRig, pressedAt } from '../support/real-host-rig';
import { ViewerPage, framesBetween, longestFreeze } from '../support/browser-viewer';
import { createSession } from '../support/control-plane';
import { eventually } from '../support/livekit';
import { startPlaneProcess, type PlaneProcess } from '../support/plane-process';
import { startRedis, type TestRedis } from '../support/redis';
import { TcpBalancer } from '../support/tcp-balancer';

const SIZE = { width: 640, height: 360, fps: 15 };

interface Who {
  selfId?: string;
  role?: string;
  state?: string;
}

describe('end to end: a control-plane instance killed under a live session', function () {
  this.timeout(180_000);
  let browser: Browser;
  let redis: TestRedis;
  let balancer: TcpBalancer;
  let a: PlaneProcess;
  let b: PlaneProcess;
  let session: CreateSessionResponse;
  let real: RealHostRig;
  let host: HeadlessHost;
  let ada: ViewerPage;
  let vic: ViewerPage;

  before(async () => {
    browser = await launchChromium();
    redis = await startRedis();
    balancer = await TcpBalancer.start();
    const env = {
      PAIRUX_REDIS_URL: redis.url,
      PAIRUX_TOKEN_SECRET: 'e2e-scale-out-secret-0123456789abcdef',
      PAIRUX_PUBLIC_URL: balancer.url,
      PAIRUX_RECONNECT_GRACE_MS: '20000',
    };
    a = await startPlaneProcess({ ...env, PAIRUX_INSTANCE_ID: 'a' });
    b = await startPlaneProcess({ ...env, PAIRUX_INSTANCE_ID: 'b' });
    balancer.setBackends([{ port: a.port }, { port: b.port }]);
    balancer.pin(0); // everyone starts on A
    session = await createSession({ url: a.url }, { mode: 'p2p', name: 'Outlives' });
    // The page draws its marker screen (the pixels this test follows); input goes to the real runner, helper and X.
    real = await RealHostRig.start({ generated: SIZE });
    await real.reset();
    host = await startHeadlessHost(balancer.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana', bridge: real.url });
  });
  after(async () => {
    await ada?.close();
    await vic?.close();
    await host?.close();
    await real?.close();
    await a?.kill();
    await b?.kill();
    await balancer?.close();
    await redis?.stop();
    await browser?.close();
  });

  const hostWho = () =>
    host.page.evaluate(
      () => ({ selfId: (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId, state: document.body.dataset.state }) as Who,
    );
  const guestWho = (g: ViewerPage) =>
    g.page.evaluate(() => {
      const v = (window as unknown as { pairuxViewer: { selfId?: string; role?: string } }).pairuxViewer;
      return { selfId: v.selfId, state: document.body.dataset.state } as Who;
    });
  const controlOf = (g: ViewerPage) => g.page.evaluate(() => document.body.dataset.control);
  /** Asks for control until driving (a request sent while the page was still reconnecting is lost with that socket). */
  const drive = (g: ViewerPage, what: string) =>
    eventually(
      async () => {
        if ((await controlOf(g)) === 'driving') return true;
        if (await g.page.locator('#control-request').isEnabled()) await g.page.click('#control-request');
        return false;
      },
      what,
      20_000,
    );
  const clickCentre = async (g: ViewerPage) => {
    const box = await g.page.locator('video#screen').boundingBox();
    assert.ok(box);
    await g.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  };

  it('host, controller and viewer all on instance A, the controller driving', async () => {
    [ada, vic] = await Promise.all([ViewerPage.open(browser, session.links.controller.url, 'Ada'), ViewerPage.open(browser, session.links.viewer.url, 'Vic')]);
    for (const g of [ada, vic]) await g.waitForState('live', 30_000);
    const clicks = await real.watchRootClicks();
    await drive(ada, 'Ada to drive');
    await clickCentre(ada);
    // The centre of the picture is the centre of the X screen (1280×720), a bare root window there.
    await eventually(
      () => pressedAt(clicks.events, 640, 360),
      () => `the click at (640,360) on the host's X screen (saw ${JSON.stringify(clicks.events)})`,
    );
    const adaId = await ada.selfId();
    assert.deepEqual([...new Set(real.forwarded.map((f) => f.controllerId))], [adaId]);
    clicks.stop();
    assert.equal(balancer.routed.includes(1), false, 'nobody on B yet');
  });

  it('SIGKILL of A: the picture keeps flowing, everyone is back on B as themselves, and control works again', async () => {
    const before = { host: await hostWho(), ada: await guestWho(ada), vic: await guestWho(vic) };
    const watching = [ada, vic].map((g) => g.collectVisible(8000));
    await new Promise((r) => setTimeout(r, 1000));
    balancer.pin(undefined);
    await a.kill('SIGKILL');
    const seen = await Promise.all(watching);
    for (const [i, { frames }] of seen.entries()) {
      assert.ok(frames.length > 50, `guest ${i}: ${frames.length} frames on screen over 8 s`);
      assert.ok(framesBetween(frames[0]!, frames.at(-1)!) >= 50, `guest ${i}: the picture advanced through the kill`);
      console.log(`      guest ${i}: longest freeze while the instance died ${longestFreeze(frames).ms.toFixed(0)} ms`);
    }
    // Back through the balancer, on B (A is gone), as the same participants.
    // Three signaling sockets (host, Ada, Vic) come back through the balancer, which can only send them to B now.
    await eventually(() => balancer.routed.filter((x) => x === 1).length >= 3, 'three reconnections through B', 20_000);
    await eventually(async () => (await hostWho()).state === 'joined', 'the host page to rejoin');
    const after = { host: await hostWho(), ada: await guestWho(ada), vic: await guestWho(vic) };
    assert.deepEqual([after.host.selfId, after.ada.selfId, after.vic.selfId], [before.host.selfId, before.ada.selfId, before.vic.selfId]);
    // Roles intact: the controller can ask again (control ended with the drop, as for any drop), the viewer cannot.
    await eventually(async () => (await controlOf(ada)) !== 'driving', 'the drop to end the grant');
    assert.equal(await vic.page.locator('#control-request').isVisible(), false, 'a viewer still has no control button');
    const clicks = await real.watchRootClicks();
    await drive(ada, 'Ada to drive again, through B');
    await clickCentre(ada);
    await eventually(
      () => pressedAt(clicks.events, 640, 360),
      () => `the click at (640,360) on the host's X screen, through B (saw ${JSON.stringify(clicks.events)})`,
    );
    assert.deepEqual(real.asked, ['Ada', 'Ada'], 'the host was asked again after the drop');
    for (const g of [ada, vic]) {
      const [x, y] = await g.markerAdvance(1000);
      assert.ok(framesBetween(x, y) >= 3);
    }
  });
});
