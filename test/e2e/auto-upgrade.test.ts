/**
 * An `auto` session growing past the threshold, with every real part: the host page in Chromium
 * sharing its marker screen peer-to-peer, guests in Chromium viewer pages, more participants as
 * plain signaling clients, the real control plane's session focus and a real LiveKit. When the
 * 10th participant joins, the media moves to the SFU with nobody doing anything: the pixels keep
 * flowing at every viewer through the move (make before break), the host ends with no P2P links
 * and one published track, and control still works through the SFU: a click lands on the host's
 * real X screen (the real runner and helper behind the page, test/support/real-host-rig.ts).
 * The freeze itself is measured by `npm run bench:focus`.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { ReportMedia, SessionTopology } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import type { SfuHostSnapshot } from '../../webview/engine/sfu/sfu-host';
import { RealHostRig, pressedAt } from '../support/real-host-rig';
import { ViewerPage, framesBetween, longestFreeze } from '../support/browser-viewer';
import { createSession, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';
import { eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';

const SIZE = { width: 640, height: 360, fps: 15 };

interface HostMedia {
  mode?: string;
  sfu?: SfuHostSnapshot;
  retiringP2p: boolean;
  epoch: number;
}
interface ViewerMedia {
  mode?: string;
  moves: number;
  moving: boolean;
  epoch: number;
}

describe('end to end: an auto session moves from P2P to the SFU at the 10th participant', function () {
  this.timeout(240_000);
  let browser: Browser;
  let rig: SfuRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let real: RealHostRig;
  let host: HeadlessHost;
  const viewers: ViewerPage[] = [];
  const extras: TestClient[] = [];

  before(async () => {
    browser = await launchChromium();
    rig = await startSfuRig();
    plane = await startPlane(rig);
    session = await createSession(plane, { name: 'Growing' });
    // The page draws its marker screen (the pixels this test follows); input goes to the real runner, helper and X.
    real = await RealHostRig.start({ generated: SIZE });
    await real.reset();
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana', bridge: real.url });
  });
  after(async () => {
    for (const c of extras.splice(0)) c.close();
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    await real?.close();
    await plane?.close();
    await rig?.livekit.stop();
    await browser?.close();
  });

  const hostMedia = () => host.page.evaluate(() => (window as unknown as { pairuxHost: { media(): HostMedia } }).pairuxHost.media());
  const viewerMedia = (v: ViewerPage) => v.page.evaluate(() => (window as unknown as { pairuxViewer: { media(): ViewerMedia } }).pairuxViewer.media());
  const status = (v: ViewerPage) => v.page.evaluate(() => document.querySelector('#status')?.textContent ?? '');
  const extra = async (name: string) => {
    const c = await TestClient.connect(plane.url);
    extras.push(c);
    const joined = await c.join(session.sessionId, tokenOf(session.links.viewer.url), name);
    return { client: c, joined };
  };

  it("starts peer-to-peer: three browser guests see the host's frames advance, and the host encodes one stream each", async () => {
    const opened = await Promise.all([
      ViewerPage.open(browser, session.links.controller.url, 'Ada'),
      ViewerPage.open(browser, session.links.viewer.url, 'Vic'),
      ViewerPage.open(browser, session.links.viewer.url, 'Wes'),
    ]);
    viewers.push(...opened);
    for (const v of viewers) await v.waitForState('live', 30_000);
    for (const v of viewers) {
      const [a, b] = await v.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 3, `frame ${a.frame} → ${b.frame} in 1 s`);
      assert.match(await status(v), /peer-to-peer/);
      assert.equal((await viewerMedia(v)).mode, 'p2p');
    }
    assert.equal((await hostMedia()).mode, 'p2p');
    const rows = await host.page.evaluate(() => (window as unknown as { pairuxHost: { stats(): Promise<unknown[]> } }).pairuxHost.stats());
    assert.equal(rows.length, 3, 'one P2P stream per guest');
    assert.equal((await rig.api.listRooms()).length, 0, 'no SFU room while peer-to-peer');
  });

  it('the 10th participant moves everyone to the SFU; the picture keeps flowing at every guest through the move', async () => {
    // Five more participants (signaling only) make nine; nothing moves yet.
    for (let i = 0; i < 5; i++) await extra(`Extra ${i}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await hostMedia()).mode, 'p2p');
    // Watch every browser guest's screen across the move.
    const watching = viewers.map((v) => v.collectVisible(12_000));
    await new Promise((r) => setTimeout(r, 2000));
    const tenth = await extra('Tenth');
    const moved = await tenth.client.waitFor(SessionTopology, (t) => t.phase === 'moving', 10_000);
    assert.deepEqual([moved.media, moved.epoch, moved.reason], ['sfu', 1, 'participants']);
    const seen = await Promise.all(watching);
    for (const [i, { frames, summary }] of seen.entries()) {
      const before = frames.filter((f) => f.video === 'main' && (summary.stageRemovedAt === undefined || f.presentedAt < summary.stageRemovedAt));
      const stage = frames.filter((f) => f.video === 'stage');
      const after = summary.stageRemovedAt === undefined ? [] : frames.filter((f) => f.presentedAt >= (summary.stageRemovedAt ?? 0));
      assert.ok(summary.stageRemovedAt, `guest ${i}: the move finished (the stage came and went) within the watch`);
      assert.ok(
        before.length > 10 && stage.length > 0 && after.length > 10,
        `guest ${i}: frames before ${before.length}, on the stage ${stage.length}, after ${after.length}`,
      );
      assert.ok(framesBetween(after[0]!, after.at(-1)!) >= 10, `guest ${i}: the picture advances after the move`);
      const freeze = longestFreeze(frames);
      console.log(`      guest ${i}: longest freeze through the move ${freeze.ms.toFixed(0)} ms (${frames.length} frames on screen)`);
    }
    for (const v of viewers) {
      const m = await viewerMedia(v);
      assert.deepEqual([m.mode, m.moves, m.moving, m.epoch], ['sfu', 1, false, 1]);
      assert.match(await status(v), /via SFU/);
    }
  });

  it('make before break ends with the host on the SFU alone: no P2P links, one published track', async () => {
    // The signaling-only participants say they have the SFU's picture too, so the move is complete.
    for (const c of extras) await c.request(ReportMedia, { media: 'sfu', epoch: 1 });
    await eventually(async () => !(await hostMedia()).retiringP2p, 'the host to retire its P2P engine', 20_000);
    const m = await hostMedia();
    assert.equal(m.mode, 'sfu');
    assert.equal(m.sfu?.publishedTracks, 1);
    const rows = await host.page.evaluate(() => (window as unknown as { pairuxHost: { stats(): Promise<Array<{ guestId: string }>> } }).pairuxHost.stats());
    assert.deepEqual(
      rows.map((r) => r.guestId),
      ['sfu'],
      'one stream, to the SFU',
    );
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId);
    const inRoom = await rig.api.listParticipants(session.sessionId);
    assert.equal(inRoom.find((p) => p.identity === hostId)?.tracks.length, 1);
    for (const v of viewers) {
      const [a, b] = await v.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 3);
    }
  });

  it("control after the move: a granted controller's click lands on the host's X screen through the SFU", async () => {
    const ada = viewers[0]!;
    const clicks = await real.watchRootClicks();
    await ada.page.click('#control-request');
    await eventually(async () => (await ada.page.evaluate(() => document.body.dataset.control)) === 'driving', 'Ada to drive');
    const box = await ada.page.locator('video#screen').boundingBox();
    assert.ok(box);
    await ada.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    // The centre of the picture is the centre of the X screen (1280×720), a bare root window there.
    await eventually(
      () => pressedAt(clicks.events, 640, 360),
      () => `the click at (640,360) on the host's X screen (saw ${JSON.stringify(clicks.events)})`,
    );
    assert.deepEqual(real.asked, ['Ada'], 'the host was asked');
    const adaId = await ada.selfId();
    assert.deepEqual([...new Set(real.forwarded.map((f) => f.controllerId))], [adaId]);
  });

  it('its only SFU killed, the session goes back to peer-to-peer and every guest sees the host again', async () => {
    const watcher = extras[0]!;
    process.kill(rig.livekit.pid, 'SIGKILL');
    const back = await watcher.waitFor(SessionTopology, (t) => t.reason === 'failover' && t.phase === 'moving', 15_000);
    assert.deepEqual([back.media, back.epoch], ['p2p', 2]);
    assert.match(back.message, /stopped answering, and no other SFU can take the session.*back to peer-to-peer/);
    for (const v of viewers) {
      await eventually(async () => (await viewerMedia(v)).mode === 'p2p', 'the guest on P2P again', 20_000);
      await v.waitForState('live', 30_000);
      const [a, b] = await v.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 3, `frame ${a.frame} → ${b.frame} in 1 s, peer-to-peer again`);
      assert.match(await status(v), /peer-to-peer/);
    }
    assert.equal((await hostMedia()).mode, 'p2p');
    const rows = await host.page.evaluate(() =>
      (window as unknown as { pairuxHost: { stats(): Promise<Array<{ guestId: string; bytesSent?: number }>> } }).pairuxHost.stats(),
    );
    const ids = await Promise.all(viewers.map((v) => v.selfId()));
    for (const id of ids)
      assert.ok(
        rows.some((r) => r.guestId === id),
        `a P2P stream to ${id} again`,
      );
    assert.ok(!rows.some((r) => r.guestId === 'sfu'), 'nothing to the dead SFU');
  });
});
