/**
 * End-to-end encryption, peer to peer, with real parts (issue 15): the real control plane, the
 * host page in headless Chromium sealing every frame in its encoded-transform worker, and guests
 * opening share links in Chromium. "Decodes" always means the frame counter the host painted was
 * read back from the pixels the guest's video showed; "cannot decode" means frames reached the
 * guest's worker and not one opened.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost, type HostKeyEvent } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { parseShareLink, withMediaKey } from '../../protocol/share-link';
import { SendSignal, Signal } from '../../protocol/signaling';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { LocalSignalingTransport } from '../../server/signaling-transport';
import type { GuestE2eeSnapshot } from '../../webview/pages/viewer-page';
import type { HostE2eeSnapshot } from '../../webview/pages/host-page';
import { ViewerPage, framesBetween, longestFreeze } from '../support/browser-viewer';
import { createSession, NO_LOBBY } from '../support/control-plane';
import { TEST_PAGES } from '../support/test-pages';
import { TestClient } from '../support/signaling-client';

const SIZE = { width: 640, height: 360, fps: 15 };

function guestKeys(v: ViewerPage): Promise<GuestE2eeSnapshot | undefined> {
  return v.page.evaluate(() => (window as unknown as { pairuxViewer: { e2ee(): GuestE2eeSnapshot | undefined } }).pairuxViewer.e2ee());
}

function hostKeys(host: HeadlessHost): Promise<HostE2eeSnapshot | undefined> {
  return host.page.evaluate(() => (window as unknown as { pairuxHost: { e2ee(): HostE2eeSnapshot | undefined } }).pairuxHost.e2ee());
}

async function until<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Another valid key: the given one with its first character changed. */
function tampered(key: string): string {
  return `${key[0] === 'A' ? 'B' : 'A'}${key.slice(1)}`;
}

describe('end to end: an end-to-end encrypted session, peer to peer (Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let plane: ControlPlane;
  let transport: LocalSignalingTransport;
  let session: CreateSessionResponse;
  let host: HeadlessHost;
  let key: HostKeyEvent;
  const viewers: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  const start = async (ratchetSeconds?: number) => {
    transport = new LocalSignalingTransport();
    plane = await startControlPlane({ host: '127.0.0.1', port: 0, ...TEST_PAGES, ...NO_LOBBY }, { transport });
    session = await createSession(plane, { name: 'Secret', e2ee: true });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, {
      ...SIZE,
      browser,
      name: 'Host',
      ...(ratchetSeconds ? { ratchetSeconds } : {}),
    });
    key = await host.mediaKey();
  };
  afterEach(async () => {
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    await plane?.close();
  });

  const open = async (link: string, name: string) => {
    const v = await ViewerPage.open(browser, link, name);
    viewers.push(v);
    return v;
  };
  const keyed = (link: string, k = key) => withMediaKey(link, k.key, k.gen);

  it('guests with the key decode the marker, over direct video (sealed chunks) and over RTP (sealed VP9 frames); host and guests show the lock and the same safety code', async () => {
    await start();
    assert.match(key.key, /^[A-Za-z0-9_-]{43}$/);
    assert.match(key.safetyCode, /^\d{3} \d{3} \d{3}$/);
    // Ann takes direct video (the default); Ben asks for RTP video only (direct=0).
    const two = await Promise.all([open(keyed(session.links.viewer.url), 'Ann'), open(`${keyed(session.links.controller.url)}&direct=0`, 'Ben')]);
    for (const v of two) {
      await v.waitForState('live');
      const [a, b] = await v.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 3, `frame ${a.frame} → ${b.frame} in 1 s`);
      const keys = await until(() => guestKeys(v).then((k) => k?.state === 'decrypting' && k), 'decrypting');
      assert.equal(keys.safetyCode, key.safetyCode, 'the same safety code as the host');
      assert.ok(keys.worker.opened > 0);
      assert.equal(keys.worker.dropped.tampered + keys.worker.dropped['no key'] + keys.worker.dropped['not encrypted'], 0);
      const lock = await v.page.evaluate(() => document.getElementById('lock')?.textContent ?? '');
      assert.match(lock, new RegExp(`End-to-end encrypted · safety code ${key.safetyCode}`));
    }
    const hostSide = await hostKeys(host);
    assert.ok(hostSide && hostSide.worker.sealed > 0, 'the host sealed frames');
    assert.equal(hostSide.safetyCode, key.safetyCode);
    assert.match(await host.page.evaluate(() => document.getElementById('e2ee')?.textContent ?? ''), new RegExp(key.safetyCode));
    const paths = await Promise.all(two.map((v) => v.stats().then((st) => [st.path, st.codec])));
    assert.equal(paths[0]![0], 'direct', `Ann on direct video: ${JSON.stringify(paths)}`);
    assert.deepEqual(paths[1], ['rtp', 'VP9'], 'Ben on RTP video, in VP9 (AV1 and H.264 packetizers cannot carry sealed frames)');
  });

  it('a guest whose link has a tampered key gets frames, opens none, shows another safety code, then says its key does not open the session', async () => {
    await start();
    const v = await open(withMediaKey(session.links.viewer.url, tampered(key.key)), 'Mallory');
    const keys = await until(() => guestKeys(v).then((k) => k && k.worker.dropped.tampered > 0 && k), 'frames reaching the worker');
    assert.equal(keys.worker.opened, 0, 'not one frame opened');
    assert.equal((await v.stats()).framesDecoded ?? 0, 0, 'not one frame decoded');
    assert.notEqual(keys.safetyCode, key.safetyCode, 'a different safety code');
    await v.waitForState('error');
    assert.equal(await v.errorCode(), 'E2EE_KEY_REJECTED');
    assert.match(await v.message(), /end-to-end encrypted and your link’s key does not open it: ask the host for a new link/);
    assert.equal((await guestKeys(v))?.worker.opened, 0);
    assert.equal(await v.readMarker(), null, 'no picture of the host screen');
  });

  it('a guest whose link has no key is told so, and one whose key was cut is told before joining', async () => {
    await start();
    const keyless = await open(session.links.viewer.url, 'Nokey');
    await keyless.waitForState('error');
    assert.equal(await keyless.errorCode(), 'E2EE_KEY_MISSING');
    assert.match(await keyless.message(), /carries no key/);
    const cut = await open(`${session.links.viewer.url}&k=${key.key.slice(0, 30)}`, 'Cut');
    await cut.waitForState('error');
    assert.match(await cut.message(), /key is damaged/);
    // Neither holds a seat: the host is alone.
    const preview = await fetch(`${plane.url}/api/preview`, { headers: { authorization: `Bearer ${parseShareLink(session.links.viewer.url).token}` } });
    assert.equal(((await preview.json()) as { participants: number }).participants, 1);
  });

  it('a browser without encoded transforms is refused before it takes a seat, with the reason', async () => {
    await start();
    // What an older browser is: no RTCRtpScriptTransform. The page says so to the server, which refuses the join.
    const v = await ViewerPage.open(browser, keyed(session.links.viewer.url), 'Old browser', {}, 'delete window.RTCRtpScriptTransform;');
    viewers.push(v);
    await v.waitForState('error');
    assert.equal(await v.errorCode(), 'E2EE_REQUIRED');
    assert.match(await v.message(), /cannot decrypt video \(it lacks encoded transforms\)/);
    const preview = await fetch(`${plane.url}/api/preview`, { headers: { authorization: `Bearer ${parseShareLink(session.links.viewer.url).token}` } });
    assert.equal(((await preview.json()) as { participants: number }).participants, 1, 'no seat taken');
  });

  it('a page whose encryption worker cannot start says so, and shows nothing', async () => {
    await start();
    const blocked = "window.Worker = function () { throw new DOMException('blocked by this test', 'SecurityError'); };";
    const v = await ViewerPage.open(browser, keyed(session.links.viewer.url), 'Blocked', {}, blocked);
    viewers.push(v);
    await v.waitForState('error');
    assert.match(await v.message(), /could not start its encryption worker.*blocked by this test/);
    assert.equal(await v.readMarker(), null);
  });

  it('removing a guest re-keys: the others keep decoding without a long gap, and an older link no longer opens the session', async () => {
    await start();
    const spare = await host.page.evaluate(() => window.pairuxHostActions!.createLink('viewer', { label: 'Spare' }));
    const stays = await open(keyed(session.links.viewer.url), 'Stays');
    const goes = await open(keyed(session.links.controller.url), 'Goes');
    await Promise.all([stays.waitForState('live'), goes.waitForState('live')]);
    await Promise.all([stays.markerAdvance(500), goes.markerAdvance(500)]);
    // Both have published their public keys by now (right after joining).
    const goesId = (await goes.selfId())!;
    const watching = stays.collect(6000);
    const goneWatching = goes.collect(3000);
    await new Promise((r) => setTimeout(r, 1000));
    const removedAt = Date.now();
    await host.page.evaluate((id) => window.pairuxHostActions!.remove(id), goesId);
    await goes.waitForState('ended');
    const gone = await goneWatching;
    assert.ok(
      gone.some((f) => f.presentedAt < removedAt),
      'the removed page decoded before its removal',
    );
    const lastNew = gone.filter((f, i) => i === 0 || f.frame !== gone[i - 1]!.frame).at(-1)!.presentedAt;
    assert.ok(lastNew - removedAt < 1000, `the removed page showed a new picture ${lastNew - removedAt} ms after its removal`);
    const afterRekey = await until(() => hostKeys(host).then((k) => k && k.rekeys === 1 && k), 'the re-key');
    assert.equal(afterRekey.gen, 1);
    const frames = await watching;
    const freeze = longestFreeze(frames);
    assert.ok(freeze.ms < 1500, `longest freeze ${freeze.ms} ms around the re-key`);
    await stays.markerAdvance(500);
    const staysKeys = await until(() => guestKeys(stays).then((k) => k && k.gen === 1 && k), 'the staying guest on the new key');
    assert.equal(staysKeys.rekeys, 1);
    assert.equal(staysKeys.safetyCode, (await hostKeys(host))?.safetyCode, 'the new safety code on both sides');
    assert.notEqual(staysKeys.safetyCode, key.safetyCode);
    // A link made before the removal, with the old key: it still lets one in, but opens nothing.
    const fresher = await host.page.evaluate(() => window.pairuxHostActions!.createLink('viewer'));
    assert.equal(parseShareLink(fresher.url).key, (await host.mediaKey()).key, 'links made now carry the new key');
    assert.equal(parseShareLink(spare.url).key, key.key, 'the spare link was made with the old key');
    const late = await open(spare.url, 'Kept the old link');
    await late.waitForState('error');
    assert.equal(await late.errorCode(), 'E2EE_KEY_REJECTED');
    assert.equal((await guestKeys(late))?.worker.opened, 0);
  });

  it('the key ratchets on its timer without a pause, and a guest with a link from before the ratchet catches up', async () => {
    await start(5);
    const early = await open(keyed(session.links.viewer.url), 'Early');
    await early.waitForState('live');
    const watching = early.collect(8000);
    await until(() => hostKeys(host).then((k) => k && k.gen >= 1 && k), 'a ratchet step', 12_000);
    const frames = await watching;
    assert.ok(longestFreeze(frames).ms < 1500, `longest freeze ${longestFreeze(frames).ms} ms across the ratchet`);
    await until(() => guestKeys(early).then((k) => k && k.gen >= 1 && k), 'the guest following the ratchet');
    // The gen-0 link still works: the guest derives forward to the generation the frames name.
    const late = await open(keyed(session.links.viewer.url), 'Late');
    await late.waitForState('live');
    await late.markerAdvance(500);
    const lateKeys = await guestKeys(late);
    assert.ok(lateKeys && lateKeys.gen >= 1, `caught up to generation ${lateKeys?.gen}`);
    assert.equal(lateKeys.safetyCode, (await hostKeys(host))?.safetyCode);
  });

  it('a forged key rotation is refused and counted: one "from the host" the server made up, and one a guest sends the host', async () => {
    await start();
    const v = await open(keyed(session.links.viewer.url), 'Target');
    await v.waitForState('live');
    await v.markerAdvance(300);
    const hostId = await host.page.evaluate(() => window.pairuxHost!.selfId!);
    const guestId = (await v.selfId())!;
    // What a compromised server could send: a rotation in the host's name, wrapped with a key it made up.
    const forged = {
      kind: 'e2ee-rekey' as const,
      keyId: 1,
      hostPublic: `B${'A'.repeat(86)}`,
      iv: 'AAAAAAAAAAAAAAAA',
      ciphertext: 'A'.repeat(64),
    };
    assert.ok(await transport.send(session.sessionId, guestId, Signal, { from: hostId, payload: forged }), 'delivered to the guest');
    const keys = await until(() => guestKeys(v).then((k) => k && k.refused === 1 && k), 'the refusal');
    assert.equal(keys.gen, 0, 'still on the session key');
    await v.markerAdvance(500);
    // A guest cannot rotate anyone's key: the host refuses one sent to it.
    const raw = await TestClient.connect(plane.url);
    try {
      await raw.join(session.sessionId, parseShareLink(session.links.viewer.url).token, 'Raw', { client: { kind: 'browser', e2ee: true } });
      await raw.request(SendSignal, { to: hostId, payload: forged });
      await until(() => hostKeys(host).then((k) => k && k.refused === 1 && k), "the host's refusal");
    } finally {
      raw.close();
    }
    assert.equal((await hostKeys(host))?.gen, 0);
  });
});
