/**
 * A host whose machine cannot keep up moves its session to the SFU early (issue 16), with every
 * real part: the host page in its own Chromium sharing a busy 1280×720 screen at 30 fps
 * peer-to-peer to three browser guests, the real control plane's focus, a real LiveKit. Four
 * participants, far below the threshold of 10. Then the host's Chromium (every process of it) is
 * starved of CPU through a cgroup quota, as a host busy with a build would be: its page sees its
 * encoders fall behind, says so (`media.hostLoad`), and the focus moves the session to the SFU;
 * every guest's picture keeps advancing across the move, and ends on the SFU.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { SessionTopology } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage, framesBetween, longestFreeze } from '../support/browser-viewer';
import { NO_LOBBY, createSession, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';
import { eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';
import { CpuStarve, browserPid, processTree } from '../support/cpu-starve';

/** Of one core, for the whole host browser: enough to run its page, not to encode three 720p streams at 30 fps. */
const STARVED_SHARE = 0.08;

describe('end to end: a host that cannot keep up moves the session to the SFU before the 10th participant', function () {
  this.timeout(240_000);
  let browser: Browser;
  let hostBrowser: Browser;
  let rig: SfuRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let host: HeadlessHost;
  let starve: CpuStarve | undefined;
  let watcher: TestClient;
  const viewers: ViewerPage[] = [];
  const tag = `--pairux-test-host=${randomBytes(6).toString('hex')}`;

  before(async () => {
    browser = await launchChromium();
    hostBrowser = await launchChromium({ args: [tag] });
    rig = await startSfuRig();
    // The lobby off: this host is the page alone, with no runner to ask (test/e2e/browser-session.test.ts).
    plane = await startPlane(rig, NO_LOBBY);
    session = await createSession(plane, { name: 'Busy host' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { width: 1280, height: 720, fps: 30, browser: hostBrowser, name: 'Hana' });
  });
  after(async () => {
    starve?.close();
    watcher?.close();
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    await plane?.close();
    await rig?.livekit.stop();
    await hostBrowser?.close();
    await browser?.close();
  });

  const viewerMedia = (v: ViewerPage) => v.page.evaluate(() => (window as unknown as { pairuxViewer: { media(): { mode?: string } } }).pairuxViewer.media());

  it('three guests watch peer-to-peer; starved of CPU, the host says so and the focus moves everyone to the SFU', async () => {
    viewers.push(
      ...(await Promise.all([
        ViewerPage.open(browser, session.links.controller.url, 'Ada'),
        ViewerPage.open(browser, session.links.viewer.url, 'Vic'),
        ViewerPage.open(browser, session.links.viewer.url, 'Wes'),
      ])),
    );
    for (const v of viewers) await v.waitForState('live', 30_000);
    for (const v of viewers) {
      const [a, b] = await v.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 10, `frame ${a.frame} → ${b.frame} in 1 s before the starving`);
      assert.equal((await viewerMedia(v)).mode, 'p2p');
    }
    // A participant that only listens: it hears the move without a page of its own.
    watcher = await TestClient.connect(plane.url);
    await watcher.join(session.sessionId, tokenOf(session.links.viewer.url), 'Watcher');
    // Five participants; nothing moves for the count.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(watcher.received(SessionTopology).length, 0, 'no move while the host keeps up');

    // Long enough for the verdict (8 bad seconds of 10), the move and the picture back at speed after it.
    const watching = viewers.map((v) => v.collectVisible(25_000));
    starve = CpuStarve.create('host', STARVED_SHARE);
    starve.add(processTree(browserPid(tag)));
    const moved = await watcher.waitFor(SessionTopology, (t) => t.phase === 'moving', 40_000);
    const verdict = await host.page.evaluate(() => (window as unknown as { pairuxHost: { load(): unknown } }).pairuxHost.load());
    console.log(`      the host page's last second: ${JSON.stringify(verdict)}`);
    const throttled = starve.throttled();
    console.log(`      moved ${moved.reason}: "${moved.message}" (host throttled ${throttled} times)`);
    assert.deepEqual([moved.media, moved.reason], ['sfu', 'host-overloaded']);
    assert.match(moved.message, /host's computer cannot keep up/);
    assert.ok(throttled > 0, 'the host was starved');
    // The machine frees up again (the build ended): the picture through the SFU comes back to speed.
    starve.limit(Infinity);
    for (const v of viewers) await eventually(async () => (await viewerMedia(v)).mode === 'sfu', 'the guest on the SFU', 30_000);
    const seen = await Promise.all(watching);
    for (const [i, { frames }] of seen.entries()) {
      assert.ok(frames.length > 20, `guest ${i}: ${frames.length} frames on screen across the move`);
      console.log(`      guest ${i}: longest freeze across starving and move ${longestFreeze(frames).ms.toFixed(0)} ms (${frames.length} frames)`);
    }
    for (const v of viewers) {
      const [a, b] = await v.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 5, `frame ${a.frame} → ${b.frame} in 1 s through the SFU`);
    }
    assert.deepEqual(
      (await rig.api.listRooms()).map((r) => r.name),
      [session.sessionId],
    );
  });
});
