/**
 * An end-to-end encrypted session's keys on the SFU path (issue 15), through a real LiveKit in a
 * pool the control plane health-checks:
 * - removing a guest re-keys there too: the staying guest keeps decoding, the removed guest's page
 *   stops within a second, and a removed guest who kept its LiveKit token and its key and joins the
 *   room again by itself (LiveKit cannot revoke a token) receives frames and decodes none;
 * - the timer ratchet runs through more generations than a guest holds ahead, without a freeze;
 * - an auto session moved to the SFU and sent back to peer-to-peer when its LiveKit dies (no other
 *   can take it) keeps the same keys: pixels on both sides, nothing sent in clear.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import { parseShareLink, withMediaKey } from '../../protocol/share-link';
import { SessionTopology } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import type { GuestE2eeSnapshot } from '../../webview/pages/viewer-page';
import type { HostE2eeSnapshot } from '../../webview/pages/host-page';
import { ViewerPage, framesBetween, longestFreeze } from '../support/browser-viewer';
import { createSession, startTestServer, NO_LOBBY } from '../support/control-plane';
import { eventually } from '../support/livekit';
import { SfuProbePage, type SubscriberOptions } from '../support/sfu-probe-page';
import { TestClient } from '../support/signaling-client';

const SIZE = { width: 640, height: 360, fps: 15 };

const guestKeys = (v: ViewerPage) =>
  v.page.evaluate(() => (window as unknown as { pairuxViewer: { e2ee(): GuestE2eeSnapshot | undefined } }).pairuxViewer.e2ee());
const hostKeys = (h: HeadlessHost) => h.page.evaluate(() => (window as unknown as { pairuxHost: { e2ee(): HostE2eeSnapshot | undefined } }).pairuxHost.e2ee());
const guestMode = (v: ViewerPage) => v.page.evaluate(() => (window as unknown as { pairuxViewer: { media(): { mode?: string } } }).pairuxViewer.media().mode);

/** When the last new picture was shown (epoch ms), or 0 when none was. */
function lastNewFrameAt(frames: Array<{ frame: number; presentedAt: number }>): number {
  let last: { frame: number; presentedAt: number } | undefined;
  for (const f of frames) if (!last || f.frame !== last.frame) last = f;
  return last?.presentedAt ?? 0;
}

describe('end to end: an end-to-end encrypted session’s keys on the SFU (removal, ratchet, failover to P2P)', function () {
  this.timeout(180_000);
  let browser: Browser;
  let livekit: LocalLiveKit;
  let plane: ControlPlane;
  let probe: SfuProbePage;
  const hosts: HeadlessHost[] = [];
  const viewers: ViewerPage[] = [];
  const clients: TestClient[] = [];

  before(async () => {
    // The probe page is served by Playwright, not from loopback: Chromium would keep it off LiveKit's loopback address.
    browser = await launchChromium({ disableFeatures: ['LocalNetworkAccessChecks'] });
    livekit = await startLocalLiveKit({ logLevel: 'warn' });
    plane = await startTestServer({
      ...NO_LOBBY,
      focus: { autoSfuAt: 3 },
      sfuPools: {
        deployments: [{ id: 'only', region: 'default', url: livekit.url, apiKey: livekit.apiKey, apiSecret: livekit.apiSecret }],
        checkIntervalMs: 250,
        failuresToDown: 2,
      },
    });
    probe = await SfuProbePage.open(browser, plane.url);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const v of viewers.splice(0)) await v.close();
    for (const h of hosts.splice(0)) await h.close();
  });
  after(async () => {
    await plane?.close();
    await livekit?.stop();
    await browser?.close();
  });

  const start = async (mode: 'sfu' | 'auto', ratchetSeconds?: number) => {
    const session = await createSession(plane, { mode, name: 'Secret SFU', e2ee: true });
    const host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, {
      ...SIZE,
      browser,
      name: 'Host',
      ...(ratchetSeconds ? { ratchetSeconds } : {}),
    });
    hosts.push(host);
    return { session, host, key: await host.mediaKey() };
  };
  const open = async (link: string, name: string) => {
    const v = await ViewerPage.open(browser, link, name);
    viewers.push(v);
    return v;
  };
  const subscribe = (o: SubscriberOptions) => probe.subscribe(o);

  it('removing a guest re-keys on the SFU: the others keep decoding, the removed page stops within a second, and its kept token and key decode nothing after', async () => {
    const { session, host, key } = await start('sfu');
    const stays = await open(withMediaKey(session.links.viewer.url, key.key), 'Stays');
    const goes = await open(withMediaKey(session.links.viewer.url, key.key), 'Goes');
    await Promise.all([stays.waitForState('live', 30_000), goes.waitForState('live', 30_000)]);
    await Promise.all([stays.markerAdvance(500), goes.markerAdvance(500)]);

    // A third guest that keeps what its page was given: the LiveKit token and the link's key.
    const keeper = await TestClient.connect(plane.url);
    clients.push(keeper);
    const joined = await keeper.join(session.sessionId, parseShareLink(session.links.viewer.url).token, 'Keeper', { client: { kind: 'browser', e2ee: true } });
    assert.ok(joined.sfu, 'the keeper has LiveKit access');
    const access = { url: joined.sfu.url, token: joined.sfu.token };
    const before = await subscribe({ ...access, ms: 3000, key: { text: key.key, gen: key.gen } });
    assert.ok(before.marker, `with the key and the token it decodes the picture before the removal: ${JSON.stringify({ ...before, raw: before.raw.length })}`);

    const goesId = (await goes.selfId())!;
    const watching = stays.collect(7000);
    const goneWatching = goes.collect(4000);
    await new Promise((r) => setTimeout(r, 1000));
    const removedAt = Date.now();
    await host.page.evaluate(
      async (ids) => {
        for (const id of ids) await window.pairuxHostActions!.remove(id);
      },
      [goesId, joined.self.id],
    );
    const gone = await goneWatching;
    assert.ok(
      gone.some((f) => f.presentedAt < removedAt),
      'the removed page decoded before its removal',
    );
    const stoppedAfter = lastNewFrameAt(gone) - removedAt;
    assert.ok(stoppedAfter < 1000, `the removed page showed a new picture ${stoppedAfter} ms after its removal`);
    console.log(`      the removed page's last new picture: ${stoppedAfter} ms after the removal`);

    const rekeyed = await eventually(async () => ((await hostKeys(host))?.rekeys ?? 0) >= 1 && hostKeys(host), 'the re-key', 10_000);
    assert.ok(rekeyed && rekeyed.gen >= 1);
    const frames = await watching;
    const freeze = longestFreeze(frames);
    assert.ok(freeze.ms < 1500, `the staying guest's longest freeze around the re-key: ${freeze.ms} ms`);
    const [a, b] = await stays.markerAdvance(1000);
    assert.ok(framesBetween(a, b) >= 3, 'the staying guest decodes after the re-key');
    const staysKeys = await eventually(async () => {
      const k = await guestKeys(stays);
      return k && k.safetyCode === (await hostKeys(host))?.safetyCode ? k : undefined;
    }, 'the staying guest on the host’s new key');
    assert.notEqual(staysKeys?.safetyCode, key.safetyCode);

    // The removed keeper joins the room again with its token and its key: frames reach it, none opens.
    const after = await subscribe({ ...access, ms: 4000, key: { text: key.key, gen: key.gen } });
    assert.ok(
      after.packetsReceived > 0 && after.bytesReceived > 10_000,
      `frames reached the removed keeper: ${JSON.stringify({ ...after, raw: after.raw.length })}`,
    );
    assert.equal(after.marker, null, 'no legible picture after the re-key');
    assert.equal(after.framesDecoded, 0, 'not one frame decoded after the re-key');
  });

  it('the ratchet on the SFU moves through more generations than a guest holds ahead, without a freeze', async () => {
    // The shortest ratchet a host page takes (5 s), for 4 generations and more: one past the 3 held ahead.
    const { session, host, key } = await start('sfu', 5);
    const v = await open(withMediaKey(session.links.viewer.url, key.key), 'Follows');
    await v.waitForState('live', 30_000);
    const frames = await v.collect(22_000);
    const hostGen = (await hostKeys(host))!.gen;
    assert.ok(hostGen >= 4, `the host ratcheted ${hostGen} times (a guest holds 3 ahead)`);
    const freeze = longestFreeze(frames);
    console.log(`      ${hostGen} ratchet steps in 22 s: longest freeze ${freeze.ms} ms`);
    assert.ok(freeze.ms < 1500, `longest freeze ${freeze.ms} ms across the ratchet`);
    const keys = await guestKeys(v);
    assert.ok(keys && keys.gen >= hostGen - 1, `the guest follows: generation ${keys?.gen} against the host's ${hostGen}`);
  });

  it('an auto session that the focus sends back from the SFU to P2P (its LiveKit died, no other) keeps its keys, with pixels on both sides', async () => {
    const { session, host, key } = await start('auto');
    const watcher = await TestClient.connect(plane.url);
    clients.push(watcher);
    await watcher.join(session.sessionId, parseShareLink(session.links.viewer.url).token, 'Watcher', { client: { kind: 'browser', e2ee: true } });
    const v = await open(withMediaKey(session.links.viewer.url, key.key), 'Ann');
    await eventually(async () => ((await guestMode(v)) === 'sfu' ? true : undefined), 'the guest on the SFU (third participant)', 40_000);
    await v.markerAdvance(500);
    assert.equal((await guestKeys(v))?.state, 'decrypting');

    await livekit.stop();
    const back = await watcher.waitFor(SessionTopology, (t) => t.media === 'p2p' && t.reason === 'failover', 20_000);
    assert.match(back.message, /peer-to-peer/);
    await eventually(async () => ((await guestMode(v)) === 'p2p' ? true : undefined), 'the guest back on P2P', 30_000);
    const [a, b] = await v.markerAdvance(1000);
    assert.ok(framesBetween(a, b) >= 3, 'pixels again over P2P');
    const keys = await guestKeys(v);
    assert.equal(keys?.safetyCode, key.safetyCode, 'the same key after the move back');
    assert.equal(keys?.state, 'decrypting');
    assert.ok(keys && keys.worker.opened > 0, 'P2P frames opened with the key');
    const hostSide = await hostKeys(host);
    assert.equal(hostSide?.gen, 0, 'no new key for the moves');
    assert.equal(hostSide?.worker.dropped['not encrypted'] ?? 0, 0);
  });
});
