/**
 * An SFU dying does not end the session: two real LiveKit servers in one pool, the host page in
 * Chromium publishing to one of them, browser guests watching through it. The LiveKit holding the
 * session is SIGKILLed: the control plane's health checks find it down, the session focus moves
 * the session to the other one (new room, fresh tokens), the host republishes, the guests move by
 * themselves, and they see the host's frames again, told what happened. How long it takes is
 * measured by `npm run bench:focus -- --part=failover`.
 */
import assert from 'node:assert/strict';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { SessionTopology } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { expandCaptureTime } from '../../webview/engine/frames/frame-marker';
import type { SfuHostSnapshot } from '../../webview/engine/sfu/sfu-host';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, startTestServer, tokenOf, NO_LOBBY } from '../support/control-plane';
import { eventually } from '../support/livekit';
import { TestClient } from '../support/signaling-client';

const SIZE = { width: 640, height: 360, fps: 15 };

describe('end to end: a LiveKit server killed mid-session, the session moves to another', function () {
  this.timeout(240_000);
  let browser: Browser;
  const nodes: LocalLiveKit[] = [];
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let host: HeadlessHost;
  const viewers: ViewerPage[] = [];
  let watcher: TestClient;

  const api = (lk: LocalLiveKit) => new RoomServiceClient(lk.url.replace(/^ws/, 'http'), lk.apiKey, lk.apiSecret);
  const hostSfu = () => host.page.evaluate(() => (window as unknown as { pairuxHost: { media(): { sfu?: SfuHostSnapshot } } }).pairuxHost.media().sfu);

  before(async () => {
    browser = await launchChromium();
    nodes.push(await startLocalLiveKit({ logLevel: 'warn' }), await startLocalLiveKit({ logLevel: 'warn' }));
    plane = await startTestServer({
      // The lobby off (NO_LOBBY): this host is the page alone, with no runner to ask, so it would
      // turn Ada's controller link away; the test is about the SFU failing over, not admission.
      ...NO_LOBBY,
      sfuPools: {
        deployments: nodes.map((lk, i) => ({ id: `a${i + 1}`, region: 'default', url: lk.url, apiKey: lk.apiKey, apiSecret: lk.apiSecret })),
        checkIntervalMs: 250,
        failuresToDown: 2,
      },
    });
    session = await createSession(plane, { mode: 'sfu', name: 'Failover' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana' });
    watcher = await TestClient.connect(plane.url);
    await watcher.join(session.sessionId, tokenOf(session.links.viewer.url), 'Watcher');
  });
  after(async () => {
    watcher?.close();
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    await plane?.close();
    for (const lk of nodes) await lk.stop();
    await browser?.close();
  });

  it('the guests watch through the SFU the pool chose', async () => {
    const opened = await Promise.all([
      ViewerPage.open(browser, session.links.controller.url, 'Ada'),
      ViewerPage.open(browser, session.links.viewer.url, 'Vic'),
    ]);
    viewers.push(...opened);
    for (const v of viewers) await v.waitForState('live', 30_000);
    for (const v of viewers) {
      const [a, b] = await v.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 3);
    }
    const holding = await Promise.all(nodes.map(async (lk) => (await api(lk).listRooms()).map((r) => r.name)));
    assert.equal(holding.flat().filter((n) => n === session.sessionId).length, 1, 'exactly one LiveKit holds the room');
  });

  it('SIGKILL of that LiveKit: the session moves to the other and every guest sees new frames again', async () => {
    const names = await Promise.all(nodes.map(async (lk) => (await api(lk).listRooms()).map((r) => r.name)));
    const victim = names.findIndex((n) => n.includes(session.sessionId));
    const survivor = nodes[1 - victim]!;
    const watching = viewers.map((v) => v.collectVisible(15_000));
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = Date.now();
    process.kill(nodes[victim]!.pid, 'SIGKILL');
    const moved = await watcher.waitFor(SessionTopology, (t) => t.phase === 'moving' && t.reason === 'failover', 15_000);
    assert.equal(moved.media, 'sfu');
    assert.equal(moved.epoch, 2);
    assert.match(moved.message, /stopped answering/);
    const seen = await Promise.all(watching);
    for (const [i, { frames }] of seen.entries()) {
      // The first frame on screen that was captured after the kill: pixels again, through the survivor.
      const fresh = frames.find((f) => expandCaptureTime(f.captureTimeLow32, f.presentedAt) > killedAt);
      assert.ok(fresh, `guest ${i} saw no frame captured after the kill`);
      const after = frames.filter((f) => f.presentedAt >= fresh.presentedAt);
      assert.ok(framesBetween(after[0]!, after.at(-1)!) >= 10, `guest ${i}: the picture advances after the move`);
      console.log(`      guest ${i}: pixels again ${(fresh.presentedAt - killedAt).toFixed(0)} ms after the kill`);
    }
    const room = `${session.sessionId}.2`;
    assert.deepEqual(
      (await api(survivor).listRooms()).map((r) => r.name),
      [room],
      "the session's new room is on the surviving LiveKit",
    );
    const snap = await eventually(async () => ((await hostSfu())?.room === room ? hostSfu() : undefined), 'the host in the new room');
    assert.equal(snap?.publishedTracks, 1);
    for (const v of viewers) assert.equal(await v.state(), 'live');
  });
});
