/**
 * End-to-end encryption through the real LiveKit SFU (issue 15): livekit-client's own E2EE on the
 * host's screen track and on the data packets, fed with PairUX's keys. Guests with the key decode
 * the marker; a viewer with a valid token and no key (a plain livekit-client subscriber, the view
 * of anyone at the SFU) receives the frames and the host's data and can read neither; a
 * controller's input reaches the host encrypted, and no one else; and an auto session that the focus moves from P2P to the SFU
 * stays encrypted under the same keys, with pixels on both sides of the move.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost, type HostKeyEvent } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { withMediaKey } from '../../protocol/share-link';
import type { ControlPlane } from '../../server/control-plane';
import type { SfuHostSnapshot } from '../../webview/engine/sfu/sfu-host';
import type { GuestE2eeSnapshot } from '../../webview/pages/viewer-page';
import type { HostE2eeSnapshot } from '../../webview/pages/host-page';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, NO_LOBBY } from '../support/control-plane';
import { eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';
import { SfuProbePage } from '../support/sfu-probe-page';
import { TestClient } from '../support/signaling-client';

const SIZE = { width: 640, height: 360, fps: 15 };

const guestKeys = (v: ViewerPage) =>
  v.page.evaluate(() => (window as unknown as { pairuxViewer: { e2ee(): GuestE2eeSnapshot | undefined } }).pairuxViewer.e2ee());
const hostKeys = (h: HeadlessHost) => h.page.evaluate(() => (window as unknown as { pairuxHost: { e2ee(): HostE2eeSnapshot | undefined } }).pairuxHost.e2ee());
const hostSfu = (h: HeadlessHost) =>
  h.page.evaluate(() => (window as unknown as { pairuxHost: { media(): { sfu?: SfuHostSnapshot; mode?: string } } }).pairuxHost.media());
const guestMode = (v: ViewerPage) => v.page.evaluate(() => (window as unknown as { pairuxViewer: { media(): { mode?: string } } }).pairuxViewer.media().mode);

describe('end to end: an end-to-end encrypted session through the real LiveKit SFU', function () {
  this.timeout(180_000);
  let browser: Browser;
  let rig: SfuRig;
  let plane: ControlPlane;
  const hosts: HeadlessHost[] = [];
  const viewers: ViewerPage[] = [];
  const clients: TestClient[] = [];
  let probe: SfuProbePage;

  before(async () => {
    // The probe page is served by Playwright, not from loopback: Chromium would keep it off LiveKit's loopback address.
    browser = await launchChromium({ disableFeatures: ['LocalNetworkAccessChecks'] });
    rig = await startSfuRig();
    // The lobby off: these hosts have no runner to admit anyone (test/support/control-plane.ts NO_LOBBY).
    plane = await startPlane(rig, { ...NO_LOBBY, focus: { autoSfuAt: 3 } });
    probe = await SfuProbePage.open(browser, plane.url);
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const v of viewers) await v.close();
    for (const h of hosts) await h.close();
    await plane?.close();
    await rig?.livekit.stop();
    await browser?.close();
  });

  const start = async (mode: 'sfu' | 'auto', e2ee: boolean): Promise<{ session: CreateSessionResponse; host: HeadlessHost; key: HostKeyEvent | undefined }> => {
    const session = await createSession(plane, { mode, name: 'Secret SFU', ...(e2ee ? { e2ee: true } : {}) });
    const host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Host' });
    hosts.push(host);
    return { session, host, key: e2ee ? await host.mediaKey() : undefined };
  };
  const open = async (link: string, name: string) => {
    const v = await ViewerPage.open(browser, link, name);
    viewers.push(v);
    return v;
  };
  const keylessSubscriber = (session: CreateSessionResponse, ms: number) => probe.keyless(session, ms, clients);

  it('guests with the key decode the marker through LiveKit, with the same safety code as the host; LiveKit E2EE is on', async () => {
    const { session, host, key } = await start('sfu', true);
    const two = await Promise.all([
      open(withMediaKey(session.links.viewer.url, key!.key), 'Ann'),
      open(withMediaKey(session.links.controller.url, key!.key), 'Ben'),
    ]);
    for (const v of two) {
      await v.waitForState('live', 30_000);
      assert.equal(await guestMode(v), 'sfu');
      const [a, b] = await v.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 3, `frame ${a.frame} → ${b.frame} in 1 s`);
      const keys = await eventually(async () => ((await guestKeys(v))?.state === 'decrypting' ? guestKeys(v) : undefined), 'decrypting', 10_000);
      assert.equal(keys?.safetyCode, key!.safetyCode);
    }
    const media = await hostSfu(host);
    assert.equal(media.sfu?.e2ee, true, "LiveKit's E2EE is on in the host's room");

    // The controller types while a viewer with a valid token and no key listens at the SFU. The
    // input is addressed to the host outside the ciphertext (sfu/routed-data.ts), so LiveKit
    // forwards it to the host alone: the listener (like every other guest, who holds the key)
    // gets not one packet of it, only the host's own broadcasts.
    const listening = keylessSubscriber(session, 5000);
    await new Promise((r) => setTimeout(r, 2500));
    for (let i = 0; i < 5; i++)
      assert.ok(
        await two[1]!.page.evaluate(() =>
          (window as unknown as { pairuxViewer: { sendRawInput(e: unknown): boolean } }).pairuxViewer.sendRawInput({
            kind: 'key',
            type: 'down',
            key: 'q',
            code: 'KeyQ',
          }),
        ),
      );
    const heard = await listening;
    assert.ok(heard.trackFrom && heard.rawSenders.includes(heard.trackFrom), `the listener hears the host's data: ${JSON.stringify(heard.rawSenders)}`);
    const others = heard.rawSenders.filter((s) => s !== '' && s !== heard.trackFrom);
    assert.deepEqual(others, [], "no packet from anyone but the host reached the listener (the controller's input went to the host alone)");
    for (const m of heard.raw) assert.ok(!/KeyQ|"key"|peer\.input/.test(m), `a keystroke in clear: ${JSON.stringify(m.slice(0, 200))}`);
    assert.deepEqual(heard.data, [], 'livekit-client without the key hands over nothing');
    // The host got them (and refused them itself: no runner grants anyone here).
    await eventually(async () => ((await hostSfu(host)).sfu!.data.accepted >= 5 ? true : undefined), 'the input at the host', 10_000);
  });

  it('a subscriber with a valid viewer token and no key gets frames and data from LiveKit and can read neither; without E2EE it could', async () => {
    // The control: the same subscriber on a plain SFU session reads the marker and the host's data.
    const plain = await start('sfu', false);
    await open(plain.session.links.viewer.url, 'Plain viewer').then((v) => v.waitForState('live', 30_000));
    const clear = await keylessSubscriber(plain.session, 4000);
    assert.ok(clear.packetsReceived > 0 && clear.framesDecoded > 0, JSON.stringify(clear));
    assert.ok(clear.marker, 'the plain session’s picture is legible to it');
    assert.ok(
      clear.data.some((d) => /"screen"|"width"/.test(d)),
      `it reads the host's data in a plain session: ${JSON.stringify(clear.data)}`,
    );

    const { session, key } = await start('sfu', true);
    await open(withMediaKey(session.links.viewer.url, key!.key), 'Keyed viewer').then((v) => v.waitForState('live', 30_000));
    const blind = await keylessSubscriber(session, 4000);
    assert.ok(blind.packetsReceived > 0 && blind.bytesReceived > 10_000, `frames reached it: ${JSON.stringify(blind)}`);
    assert.equal(blind.marker, null, 'no legible picture');
    assert.ok(!blind.data.some((d) => /"screen"|"width"/.test(d)), `no readable data: ${JSON.stringify(blind.data)}`);
  });

  it('a guest with a tampered key on the SFU decodes nothing and is told its key does not open the session', async () => {
    const { session, key } = await start('sfu', true);
    const other = `${key!.key[0] === 'A' ? 'B' : 'A'}${key!.key.slice(1)}`;
    const v = await open(withMediaKey(session.links.viewer.url, other), 'Mallory');
    await v.waitForState('error', 30_000);
    assert.equal(await v.errorCode(), 'E2EE_KEY_REJECTED');
    assert.equal(await v.readMarker(), null);
    assert.notEqual((await guestKeys(v))?.safetyCode, key!.safetyCode);
  });

  it('an auto session moved from P2P to the SFU stays encrypted under the same keys, with pixels on both sides of the move', async () => {
    const { session, host, key } = await start('auto', true);
    const first = await open(withMediaKey(session.links.viewer.url, key!.key), 'Early');
    await first.waitForState('live', 30_000);
    assert.equal(await guestMode(first), 'p2p');
    await first.markerAdvance(500);
    const p2p = await guestKeys(first);
    assert.ok(p2p && p2p.worker.opened > 0, 'P2P frames opened with the key');
    // The third participant (autoSfuAt 3) moves everyone to the SFU.
    const second = await open(withMediaKey(session.links.viewer.url, key!.key), 'Third');
    await eventually(async () => ((await guestMode(first)) === 'sfu' && (await guestMode(second)) === 'sfu') || undefined, 'both guests on the SFU', 40_000);
    for (const v of [first, second]) {
      await v.markerAdvance(500);
      const keys = await guestKeys(v);
      assert.equal(keys?.safetyCode, key!.safetyCode, 'the same key after the move');
      assert.equal(keys?.state, 'decrypting');
    }
    const media = await hostSfu(host);
    assert.equal(media.sfu?.e2ee, true);
    const hostSide = await hostKeys(host);
    assert.equal(hostSide?.gen, 0, 'no new key for the move');
    assert.equal(hostSide?.worker.dropped['not encrypted'], 0);
  });
});
