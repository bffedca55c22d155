/**
 * SFU mode with every real part: the real LiveKit server (demo/livekit-server.ts), the real
 * control plane issuing LiveKit access in the join, the host page in headless Chromium publishing
 * through livekit-client, and guests in Chromium viewer pages. "Video arrives" means the frame
 * marker painted by the host was read back from the pixels a guest decoded, and it advanced.
 * Topology only: remote control through the SFU (grants, refusals, what lands on the host's X
 * screen) is test/e2e/sfu-remote-control.test.ts, with the real runner, helper and Xvfb.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import type { SfuHostSnapshot } from '../../webview/engine/sfu/sfu-host';
import { startRecordingRunner, type RecordingRunner } from '../support/recording-runner';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession } from '../support/control-plane';
import { eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SIZE = { width: 640, height: 360, fps: 15 };

describe('end to end: host and guests through the real LiveKit SFU', function () {
  this.timeout(180_000);
  let browser: Browser;
  let rig: SfuRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let runner: RecordingRunner;
  let host: HeadlessHost;
  const guests: ViewerPage[] = [];
  let ada: ViewerPage;
  let vic: ViewerPage;
  let wes: ViewerPage;

  before(async () => {
    browser = await launchChromium();
    rig = await startSfuRig();
    plane = await startPlane(rig);
    session = await createSession(plane, { mode: 'sfu', name: 'SFU e2e' });
    // Topology only, so the stand-in runner (it grants nobody): the page's own marker screen.
    runner = await startRecordingRunner(SIZE);
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana', bridge: runner.url });
  });
  after(async () => {
    for (const g of guests.splice(0)) await g.close();
    await host?.close();
    await runner?.close();
    await plane?.close();
    await rig?.livekit.stop();
    await browser?.close();
  });

  const open = async (link: string, name: string) => {
    const g = await ViewerPage.open(browser, link, name);
    guests.push(g);
    return g;
  };
  const sfu = () => host.page.evaluate(() => (window as unknown as { pairuxHost: { media(): { sfu?: SfuHostSnapshot } } }).pairuxHost.media().sfu);
  const status = (g: ViewerPage) => g.page.evaluate(() => document.querySelector('#status')?.textContent ?? '');
  /** What LiveKit itself holds for the host: its published tracks. */
  const hostTracksAtSfu = async () => {
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId);
    const p = (await rig.api.listParticipants(session.sessionId)).find((x) => x.identity === hostId);
    return p?.tracks ?? [];
  };

  it('the host joins the LiveKit room and publishes its screen once, as a simulcast screen share', async () => {
    const snap = await eventually(async () => ((await sfu())?.publishedTracks === 1 ? sfu() : undefined), 'the host to publish', 20_000);
    assert.equal(snap?.connection, 'connected');
    assert.ok((snap?.layers ?? 0) >= 2, `simulcast layers: ${snap?.layers}`);
    // LiveKit's API lists a publication a moment after the publisher has it.
    await eventually(async () => (await hostTracksAtSfu()).length > 0, "LiveKit to list the host's track");
    await sleep(500);
    assert.equal((await hostTracksAtSfu()).length, 1, 'LiveKit holds exactly one track of the host');
    assert.match((await host.page.textContent('#message')) ?? '', /via SFU/);
  });

  it('two viewers and a controller see the frame counter advance in decoded video; still one published track', async () => {
    [vic, wes, ada] = await Promise.all([
      open(session.links.viewer.url, 'Vic'),
      open(session.links.viewer.url, 'Wes'),
      open(session.links.controller.url, 'Ada'),
    ]);
    for (const g of [vic, wes, ada]) await g.waitForState('live', 30_000);
    for (const g of [vic, wes, ada]) {
      const [a, b] = await g.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 3, `frame ${a.frame} → ${b.frame} in 1 s`);
      assert.deepEqual([b.width, b.height], [SIZE.width, SIZE.height]);
    }
    assert.match(await status(vic), /via SFU/);
    assert.doesNotMatch(await status(vic), /peer-to-peer/);
    assert.equal((await sfu())?.publishedTracks, 1);
    assert.equal((await hostTracksAtSfu()).length, 1, 'one track at the SFU whatever the guest count');
    const rows = await host.page.evaluate(() => (window as unknown as { pairuxHost: { stats(): Promise<unknown[]> } }).pairuxHost.stats());
    assert.equal(rows.length, 1, 'the host encodes one stream, not one per guest');
  });

  it('simulcast: a guest in a tiny window gets the half-size layer from the SFU while the others keep full size', async () => {
    const tiny = await ViewerPage.open(browser, session.links.viewer.url, 'Tiny', { viewport: { width: 200, height: 150 } });
    guests.push(tiny);
    await tiny.waitForState('live', 30_000);
    await eventually(async () => (await tiny.stats()).frameWidth === SIZE.width / 2, 'the half-size layer at the tiny guest', 20_000);
    assert.equal((await vic.stats()).frameWidth, SIZE.width);
    assert.equal((await hostTracksAtSfu()).length, 1);
    await tiny.close();
  });

  it("each frame is shown as soon as it is decoded, paced=1 at WebRTC's pace; out of sight either way, LiveKit stops sending and starts again when it is seen", async () => {
    /** What the viewer's video plays: the receiver's own track, or the track its frames are re-written to. */
    const plays = (g: ViewerPage) =>
      g.page.evaluate(() => {
        const stream = (document.querySelector('#screen') as HTMLVideoElement).srcObject as MediaStream | null;
        return stream?.getVideoTracks()[0]?.constructor.name;
      });
    const setHidden = (g: ViewerPage, hidden: boolean) =>
      g.page.evaluate((h) => ((document.querySelector('#screen') as HTMLVideoElement).style.display = h ? 'none' : ''), hidden);
    const instant = await open(session.links.viewer.url, 'Ida');
    const paced = await open(`${session.links.viewer.url}&paced=1`, 'Pat');
    for (const g of [instant, paced]) await g.waitForState('live', 30_000);
    assert.equal(await plays(instant), 'MediaStreamTrackGenerator', 'the default viewer plays the re-written frames');
    assert.equal(await plays(paced), 'MediaStreamTrack', 'paced=1 plays the receiver’s track');
    for (const g of [instant, paced]) {
      await g.markerAdvance(500);
      await setHidden(g, true);
      // LiveKit learns of it from the element's visibility (the page's own observer in the
      // instant view, livekit-client's in the paced one) and pauses the subscription.
      await eventually(
        async () => {
          const a = (await g.stats()).framesDecoded ?? 0;
          await sleep(1000);
          return ((await g.stats()).framesDecoded ?? 0) === a;
        },
        'no frame decoded for a second while the video is hidden',
        15_000,
      );
      await setHidden(g, false);
      await eventually(
        async () => {
          const a = (await g.stats()).framesDecoded ?? 0;
          await sleep(500);
          return ((await g.stats()).framesDecoded ?? 0) > a + 2;
        },
        'frames again once the video is seen',
        15_000,
      );
      await g.markerAdvance(500);
    }
    for (const g of [instant, paced]) {
      guests.splice(guests.indexOf(g), 1);
      await g.close();
    }
  });

  it('the host page reloaded: it publishes once again, and the guests are live again by themselves', async () => {
    const connectsBefore = (await sfu())?.connects ?? 0;
    await host.page.reload();
    await eventually(async () => (await sfu())?.publishedTracks === 1, 'the reloaded host to publish', 30_000);
    for (const g of [vic, ada]) await g.waitForState('live', 30_000);
    for (const g of [vic, ada]) await g.markerAdvance(500);
    assert.ok(connectsBefore >= 1);
    await eventually(async () => (await hostTracksAtSfu()).length === 1, 'LiveKit to hold one track of the host again', 15_000);
  });

  it('removed from the room by LiveKit, a guest and then the host come back by themselves with fresh tokens; the host republishes once', async () => {
    const vicId = (await vic.selfId())!;
    await rig.api.removeParticipant(session.sessionId, vicId);
    await vic.waitForState('reconnecting', 10_000);
    await vic.waitForState('live', 30_000);
    await vic.markerAdvance(500);
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId!);
    const { connects = 0, tokenRefreshes = 0 } = (await sfu()) ?? {};
    await rig.api.removeParticipant(session.sessionId, hostId);
    await eventually(
      async () => ((await sfu())?.connects ?? 0) > connects && (await sfu())?.publishedTracks === 1,
      'the host back in the room, publishing',
      30_000,
    );
    assert.ok(((await sfu())?.tokenRefreshes ?? 0) > tokenRefreshes, 'the host runner.asked the control plane for a fresh token to get back in');
    for (const g of [vic, ada]) await g.waitForState('live', 30_000);
    await vic.markerAdvance(500);
    await eventually(async () => (await hostTracksAtSfu()).length === 1, 'one track of the host at the SFU', 15_000);
  });

  it("LiveKit hanging (no socket closes): guests say 'reconnecting' within seconds, and are live again when it resumes", async () => {
    process.kill(rig.livekit.pid, 'SIGSTOP');
    try {
      const since = Date.now();
      for (const g of [vic, ada]) await g.waitForState('reconnecting', 15_000);
      assert.ok(Date.now() - since < 12_000, `took ${Date.now() - since} ms`);
    } finally {
      process.kill(rig.livekit.pid, 'SIGCONT');
    }
    for (const g of [vic, ada]) await g.waitForState('live', 45_000);
    await vic.markerAdvance(500);
    await eventually(async () => (await hostTracksAtSfu()).length === 1, 'one track of the host at the SFU', 20_000);
  });

  it("LiveKit dying mid-session: guests say 'reconnecting', never 'live' on a frozen frame", async () => {
    await rig.livekit.stop();
    for (const g of [vic, ada]) await g.waitForState('reconnecting', 30_000);
    // And it stays so: nothing is delivering frames.
    await sleep(3000);
    for (const g of [vic, ada]) assert.equal(await g.state(), 'reconnecting');
    assert.match(await vic.message(), /not live/);
  });
});
