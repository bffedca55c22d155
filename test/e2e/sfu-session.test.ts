/**
 * SFU mode with every real part: the real LiveKit server (demo/livekit-server.ts), the real
 * control plane issuing LiveKit access in the join, the host page in headless Chromium publishing
 * through livekit-client with a runner behind its bridge that records what reaches it, and
 * guests in Chromium viewer pages. "Video arrives" means the frame marker painted by the host was
 * read back from the pixels a guest decoded, and it advanced.
 */
import assert from 'node:assert/strict';
import { AccessToken } from 'livekit-server-sdk';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { InputEvent } from '../../protocol/input';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import type { HostControlSnapshot } from '../../webview/pages/host-page';
import type { SfuHostSnapshot } from '../../webview/engine/sfu-host';
import { startRecordingRunner, type RecordingRunner } from '../support/recording-runner';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession } from '../support/control-plane';
import { SfuClients, eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SIZE = { width: 640, height: 360, fps: 15 };
const TOPIC_TO_HOST = 'pairux.input';

describe('end to end: host and guests through the real LiveKit SFU', function () {
  this.timeout(180_000);
  let browser: Browser;
  let rig: SfuRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let runner: RecordingRunner;
  let host: HeadlessHost;
  const guests: ViewerPage[] = [];
  const rogues = new SfuClients();
  let ada: ViewerPage;
  let vic: ViewerPage;
  let wes: ViewerPage;

  before(async () => {
    browser = await launchChromium();
    rig = await startSfuRig();
    plane = await startPlane(rig);
    session = await createSession(plane, { mode: 'sfu', name: 'SFU e2e' });
    // The runner: generated frames (the page's own marker screen), every request allowed, input recorded.
    runner = await startRecordingRunner(SIZE);
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana', bridge: runner.url });
  });
  after(async () => {
    await rogues.disconnectAll();
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
  const hostControl = () => host.page.evaluate(() => (window as unknown as { pairuxHost: { control(): HostControlSnapshot } }).pairuxHost.control());
  const status = (g: ViewerPage) => g.page.evaluate(() => document.querySelector('#status')?.textContent ?? '');
  const controlOf = (g: ViewerPage) => g.page.evaluate(() => document.body.dataset.control);
  const sendRaw = (g: ViewerPage, events: unknown[]) =>
    g.page.evaluate((list) => list.map((e) => (window as unknown as { pairuxViewer: { sendRawInput(e: unknown): boolean } }).pairuxViewer.sendRawInput(e)), events);
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
    await eventually(async () => (await hostTracksAtSfu()).length > 0, 'LiveKit to list the host\'s track');
    await sleep(500);
    assert.equal((await hostTracksAtSfu()).length, 1, 'LiveKit holds exactly one track of the host');
    assert.match(await host.page.textContent('#message') ?? '', /via SFU/);
  });

  it('two viewers and a controller see the frame counter advance in decoded video; still one published track', async () => {
    [vic, wes, ada] = await Promise.all([open(session.links.viewer.url, 'Vic'), open(session.links.viewer.url, 'Wes'), open(session.links.controller.url, 'Ada')]);
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

  it("simulcast: a guest in a tiny window gets the half-size layer from the SFU while the others keep full size", async () => {
    const tiny = await ViewerPage.open(browser, session.links.viewer.url, 'Tiny', { viewport: { width: 200, height: 150 } });
    guests.push(tiny);
    await tiny.waitForState('live', 30_000);
    await eventually(async () => (await tiny.stats()).frameWidth === SIZE.width / 2, 'the half-size layer at the tiny guest', 20_000);
    assert.equal((await vic.stats()).frameWidth, SIZE.width);
    assert.equal((await hostTracksAtSfu()).length, 1);
    await tiny.close();
  });

  it("without a grant, a controller's input crosses LiveKit to the host and is refused there", async () => {
    const refusedBefore = (await hostControl()).refused.FORBIDDEN ?? 0;
    const sent = await sendRaw(ada, [{ t: 'move', seq: 1, x: 0.5, y: 0.5 }, { t: 'text', seq: 2, text: 'sneaky' }]);
    assert.ok(sent.every(Boolean), 'the events left the guest');
    await eventually(async () => ((await hostControl()).refused.FORBIDDEN ?? 0) > refusedBefore, 'the host to refuse them');
    await sleep(300);
    assert.deepEqual(runner.inputs, []);
  });

  it("a granted controller's clicks and keys reach the host's runner through LiveKit data", async () => {
    await ada.page.click('#control-request');
    await eventually(async () => (await controlOf(ada)) === 'driving', 'Ada to drive');
    assert.deepEqual(runner.asked, ['Ada']);
    const adaId = await ada.selfId();
    const box = await ada.page.locator('video').boundingBox();
    assert.ok(box);
    await ada.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await ada.page.keyboard.type('hi sfu');
    await eventually(() => runner.inputs.some((i) => i.event.t === 'down') && runner.inputs.some((i) => i.event.t === 'up'), 'the click at the runner');
    const typed = () =>
      runner.inputs
        .map((i) => i.event)
        .map((e) => (e.t === 'text' ? e.text : e.t === 'keydown' && e.key.length === 1 ? e.key : e.t === 'keydown' && e.key === 'Space' ? ' ' : ''))
        .join('');
    await eventually(() => typed().includes('hi sfu') || /h.*i.*s.*f.*u/.test(typed()), `the keys at the runner (got ${JSON.stringify(typed())})`);
    assert.ok(runner.inputs.every((i) => i.controllerId === adaId), 'every event attributed to Ada by her LiveKit identity');
    const down = runner.inputs.find((i) => i.event.t === 'down')!.event as Extract<InputEvent, { t: 'down' }>;
    assert.ok(Math.abs(down.x - 0.5) < 0.05 && Math.abs(down.y - 0.5) < 0.05, `click at ${down.x},${down.y}`);
  });

  it("while Ada drives, a viewer's forged input is refused: from its page, and from a LiveKit client holding a data-publishing token in the viewer's name", async () => {
    const before = runner.inputs.length;
    const wrongRoleBefore = (await sfu())?.data.wrongRole ?? 0;
    await sendRaw(wes, [{ t: 'text', seq: 1, text: 'from a viewer' }, { t: 'down', seq: 2, x: 0.1, y: 0.1, button: 'left' }]);
    // A token the control plane would never give a viewer (data publishing), in Wes's identity
    // while Wes is away (inside the grace period, still a viewer of the session, so nobody
    // contends for the identity). Its metadata says 'viewer', as the control plane's do, so the
    // control plane's role correction at the SFU leaves its grants alone: only the host's own
    // check stands between it and the runner.
    const wesId = await wes.selfId();
    assert.ok(wesId);
    await wes.close();
    const token = new AccessToken(rig.livekit.apiKey, rig.livekit.apiSecret, { identity: wesId, ttl: 60, metadata: JSON.stringify({ role: 'viewer' }) });
    token.addGrant({ room: session.sessionId, roomJoin: true, canSubscribe: true, canPublish: false, canPublishData: true });
    const rogue = await rogues.connect({ url: rig.livekit.url, token: await token.toJwt() });
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId!);
    const forged = JSON.stringify({ v: 1, method: 'peer.input', params: { event: { t: 'text', seq: 9, text: 'forged' }, from: await ada.selfId() } });
    await eventually(async () => {
      await rogue.localParticipant!.publishData(new TextEncoder().encode(forged), { reliable: true, destination_identities: [hostId], topic: TOPIC_TO_HOST });
      return ((await sfu())?.data.wrongRole ?? 0) > wrongRoleBefore;
    }, "the host to refuse the viewer's data by its role");
    await sleep(500);
    const adaId = await ada.selfId();
    assert.deepEqual(runner.inputs.slice(before).filter((i) => i.controllerId !== adaId), []);
    assert.ok(!runner.inputs.some((i) => i.event.t === 'text' && /forged|from a viewer/.test(i.event.text)));
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
    await eventually(async () => ((await sfu())?.connects ?? 0) > connects && (await sfu())?.publishedTracks === 1, 'the host back in the room, publishing', 30_000);
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
