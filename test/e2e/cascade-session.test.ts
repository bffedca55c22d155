/**
 * A cascaded session (issue 17) with every real part: two LiveKit deployments in regions a and
 * b (each sending its webhooks to the control plane, which evicts whoever does not belong), the
 * host and a controller on a (the origin), a viewer of region a there too, and viewers whose link
 * says region b placed on b's deployment, fed by one cascade bridge (cascade/, Go) from a.
 * "Sees" means the host's advancing frame marker was read from the viewer's decoded pixels.
 */
import assert from 'node:assert/strict';
import { AccessToken } from 'livekit-server-sdk';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { ControlPlane } from '../../server/control-plane';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, tokenOf } from '../support/control-plane';
import { startRegionRig, type RegionRig } from '../support/region-rig';
import { eventually } from '../support/livekit';
import { TestClient } from '../support/signaling-client';
import { searchMemory } from '../support/process-memory';
import { RawLiveKitViewer } from '../support/raw-livekit-viewer';
import { withMediaKey } from '../../protocol/share-link';
import { expandCaptureTime } from '../../webview/engine/frames/frame-marker';
import { AcceptHost, HostOffered, MakeHost } from '../../protocol/signaling';
import type { NotificationType } from '../../protocol/rpc';

const SIZE = { width: 1280, height: 720, fps: 15 };

describe('end to end: a session cascaded from region a to region b', function () {
  this.timeout(180_000);
  let browser: Browser;
  let rig: RegionRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let host: HeadlessHost;
  const guests: ViewerPage[] = [];
  const clients: TestClient[] = [];

  before(async () => {
    browser = await launchChromium();
    rig = await startRegionRig(['a1', 'b1']);
    plane = rig.plane;
    session = await createSession(plane, { mode: 'sfu', name: 'Cascade', region: 'a' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana' });
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const g of guests.splice(0)) await g.close();
    await host?.close();
    await rig?.close();
    await browser?.close();
  });

  const open = async (link: string, name: string, region?: string) => {
    const g = await ViewerPage.open(browser, region ? `${link}&region=${region}` : link, name);
    guests.push(g);
    return g;
  };
  const inRoom = (r: 'a' | 'b') => rig.inRooms(`${r}1`);
  const bridges = () => plane.service.cascades.snapshot().filter((b) => b.sessionId === session.sessionId);

  it("the host and its controller stay on a; a viewer of b watches on b's SFU through one bridge, a viewer of a on a; everyone sees the marker advance", async () => {
    const ada = await open(session.links.controller.url, 'Ada', 'b');
    const val = await open(session.links.viewer.url, 'Val', 'a');
    const bea = await open(session.links.viewer.url, 'Bea', 'b');
    for (const g of [ada, val, bea]) await g.waitForState('live', 40_000);
    for (const g of [ada, val, bea]) {
      const [x, y] = await g.markerAdvance(1000);
      assert.ok(framesBetween(x, y) >= 5, `frame ${x.frame} → ${y.frame} in 1 s`);
      assert.deepEqual([y.width, y.height], [SIZE.width, SIZE.height]);
    }
    const [adaId, valId, beaId] = await Promise.all([ada, val, bea].map(async (g) => (await g.selfId())!));
    const a = await inRoom('a');
    const b = await inRoom('b');
    assert.ok(a.includes(adaId!) && a.includes(valId!), `a holds the controller (its link said b: whoever drives stays with the host) and a's viewer: ${a}`);
    assert.ok(!a.includes(beaId!), `b's viewer is not on a: ${a}`);
    assert.ok(b.includes(beaId!), `b's viewer is on b: ${b}`);
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId);
    assert.ok(b.includes(hostId!), `the host's screen is published on b under the host's identity (the bridge): ${b}`);
    assert.equal(bridges().length, 1);
    assert.equal(bridges()[0]!.region, 'b');
  });

  it('a second viewer of b costs no second bridge, and the participant list says who watches where', async () => {
    const bo = await open(session.links.viewer.url, 'Bo', 'b');
    await bo.waitForState('live', 40_000);
    await bo.markerAdvance(1000);
    assert.equal(bridges().length, 1, 'one bridge per (session, region), whatever the number of viewers there');
    // The bridge outlived the webhooks of its own joins: the control plane did not evict it.
    const st = await eventually(
      () => bridges()[0]?.layers.find((l) => l.rid === 'h' && l.fps > 3),
      () => `the bridge's top layer moving: ${JSON.stringify(bridges())}`,
      10_000,
    );
    assert.ok(st!.kbps > 0);
    const watcher = await TestClient.connect(plane.url);
    clients.push(watcher);
    const joined = await watcher.join(session.sessionId, tokenOf(session.links.viewer.url), 'Watcher');
    const byName = new Map(joined.participants.map((p) => [p.name, p]));
    assert.equal(byName.get('Bea')?.region, 'b');
    assert.equal(byName.get('Bea')?.cascaded, true);
    assert.equal(byName.get('Bo')?.cascaded, true);
    assert.equal(byName.get('Val')?.cascaded, undefined);
    assert.equal(byName.get('Ada')?.cascaded, undefined, 'a controller is never cascaded');
    // The host's control room says where each viewer watches, and a far viewer is there, not "connecting".
    const rows = await eventually(
      async () => {
        const r = await host.page.$$eval('#people li[data-region]', (lis) =>
          lis.map((li) => ({
            name: li.querySelector('.name')?.textContent,
            title: li.querySelector('.region')?.getAttribute('title') ?? '',
            state: li.querySelector('.quality')?.textContent ?? '',
          })),
        );
        return r.length === 3 ? r : undefined;
      },
      'the three viewers with a region in the host’s control room',
      10_000,
    );
    const bea = rows!.find((r) => r.name === 'Bea')!;
    assert.match(bea.title, /on that region's SFU/);
    assert.equal(bea.state, '', 'a cascaded viewer is connected (it watches on its SFU), not connecting');
    assert.match(rows!.find((r) => r.name === 'Val')!.title, /watches on your SFU/);
    // What operators see: /healthz per region (no session ids: it is public), /metrics per bridge and layer.
    const health = (await (await fetch(`${plane.url}/healthz`)).json()) as { cascade?: Array<{ region: string; bridges: number; ready: number }> };
    assert.deepEqual(
      health.cascade?.map((c) => [c.region, c.bridges, c.ready]),
      [['b', 1, 1]],
    );
    const metrics = await (await fetch(`${plane.url}/metrics`)).text();
    assert.match(metrics, /pairux_cascade_bridges\{region="b",state="ready"\} 1/);
    const fps = new RegExp(`pairux_cascade_bridge_fps\\{session="${session.sessionId}",region="b",layer="h"\\} ([0-9.]+)`).exec(metrics);
    assert.ok(fps && Number(fps[1]) > 3, `the top layer's fps in /metrics: ${fps?.[1]}`);
    assert.match(metrics, /pairux_cascade_bridge_relay_ms\{session="[^"]+",region="b",layer="q"\} [0-9.e-]+/);
  });

  it("someone in b's room whom the session does not know is removed from b's SFU, under a bridge's name too", async () => {
    // Tokens for b's room as only someone holding b's API key could mint them: a stray identity,
    // and one named as the bridge's subscriptions are (trusted in the origin room alone).
    const b1 = rig.lk.get('b1')!;
    const evicted = async () => {
      const m = /pairux_sfu_webhooks_total\{event="participant_joined",result="evicted"\} (\d+)/.exec(await (await fetch(`${plane.url}/metrics`)).text());
      return Number(m?.[1] ?? 0);
    };
    const opening: Array<Promise<RawLiveKitViewer | undefined>> = [];
    try {
      for (const identity of ['stray', 'cascade.b.h']) {
        const before = await evicted();
        const token = new AccessToken(b1.apiKey, b1.apiSecret, { identity, ttl: 60, metadata: JSON.stringify({ role: 'viewer' }) });
        token.addGrant({ room: session.sessionId, roomJoin: true, canSubscribe: true, canPublish: false });
        // Not awaited: the eviction can come before its connection is complete (its joining is what counts).
        opening.push(RawLiveKitViewer.open(browser, b1.url, await token.toJwt()).catch(() => undefined));
        // It got in (b's LiveKit told the control plane), and was put out.
        await eventually(async () => (await evicted()) > before, `the control plane to evict ${identity} from b's room`, 10_000);
        await eventually(async () => !(await inRoom('b')).includes(identity), `${identity} gone from b's room`, 10_000);
      }
    } finally {
      void Promise.all(opening).then((raws) => raws.forEach((r) => void r?.close()));
    }
    // The session's own stay: b's viewers keep watching, the bridge keeps carrying.
    await guests[2]!.markerAdvance(1000);
    assert.equal(bridges().length, 1);
  });

  it("the bridge SIGKILLed: b's viewers get pixels again from its replacement without rejoining", async () => {
    const [bea, bo] = [guests[2]!, guests[3]!];
    const before = bridges()[0]!;
    const pid = before.pid;
    assert.ok(pid, 'the bridge runs');
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await eventually(() => (bridges()[0]?.restarts ?? 0) > before.restarts, 'the supervisor to see the bridge die', 5000);
    for (const g of [bea, bo]) {
      const m = await g.waitForMarker(5000);
      await g.waitForMarker(10_000, m.frame);
    }
    const after = Date.now() - killedAt;
    assert.equal(await bea.state(), 'live');
    console.log(`      pixels again at b's viewers ${after} ms after the bridge was killed`);
  });

  it('an encrypted session cascades too: b’s viewer decodes the marker with the key, and the bridge never holds it', async () => {
    const secret = await createSession(plane, { mode: 'sfu', name: 'Secret cascade', region: 'a', e2ee: true });
    const secretHost = await startHeadlessHost(plane.url, secret.sessionId, secret.hostToken, { ...SIZE, browser, name: 'Sam' });
    try {
      const key = await secretHost.mediaKey();
      const viewer = await open(withMediaKey(secret.links.viewer.url, key.key, key.gen), 'Kim', 'b');
      await viewer.waitForState('live', 40_000);
      const [x, y] = await viewer.markerAdvance(1000);
      assert.ok(framesBetween(x, y) >= 5, `frame ${x.frame} → ${y.frame} in 1 s, decrypted on b`);
      const bridge = plane.service.cascades.snapshot().find((b) => b.sessionId === secret.sessionId);
      assert.ok(bridge?.pid, 'the encrypted session has its bridge');
      // What the bridge holds is searched, not only what it printed: its whole memory, for every
      // encoding of the key; its host's identity, which it must hold, shows the search finds things.
      const forms = keyEncodings(key.key);
      const hostId = await secretHost.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId!);
      const { found, bytes } = searchMemory(bridge.pid, [...forms, Buffer.from(hostId)]);
      assert.ok(
        found.some((f) => f.toString() === hostId),
        `the search found the host's identity in ${bytes} bytes`,
      );
      assert.deepEqual(
        found.filter((f) => f.toString() !== hostId).map((f) => f.toString('hex')),
        [],
        `no form of the key in the bridge's ${bytes} bytes of memory`,
      );
    } finally {
      await secretHost.close();
    }
  });
});

describe('end to end: an auto session cascades when it moves to the SFU', function () {
  this.timeout(120_000);
  let browser: Browser;
  let rig: RegionRig;
  let plane: ControlPlane;
  let host: HeadlessHost | undefined;
  const guests: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
    rig = await startRegionRig(['a1', 'b1'], { focus: { autoSfuAt: 3 } });
    plane = rig.plane;
  });
  after(async () => {
    for (const g of guests.splice(0)) await g.close();
    await host?.close();
    await rig?.close();
    await browser?.close();
  });

  it('viewers who joined peer-to-peer are placed by their region when the session moves: b’s on b through a bridge, a’s on a', async () => {
    const session = await createSession(plane, { mode: 'auto', name: 'Auto cascade', region: 'a' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana' });
    const bea = await ViewerPage.open(browser, `${session.links.viewer.url}&region=b`, 'Bea');
    guests.push(bea);
    await bea.waitForState('live', 30_000);
    assert.doesNotMatch(
      await bea.page.evaluate(() => document.querySelector('#status')?.textContent ?? ''),
      /via SFU/,
      'peer-to-peer before the third participant',
    );
    const val = await ViewerPage.open(browser, `${session.links.viewer.url}&region=a`, 'Val');
    guests.push(val);
    const inRoom = (r: 'a' | 'b') => rig.inRooms(`${r}1`);
    const [beaId, valId] = await Promise.all([bea, val].map((g) => eventually(() => g.selfId(), 'its participant id', 20_000)));
    await eventually(
      async () => (await inRoom('b')).includes(beaId!) && (await inRoom('a')).includes(valId!),
      async () => `Bea on b and Val on a: a ${await inRoom('a')}, b ${await inRoom('b')}`,
      40_000,
    );
    for (const g of [bea, val]) {
      const [x, y] = await g.markerAdvance(1000);
      assert.ok(framesBetween(x, y) >= 5, `frame ${x.frame} → ${y.frame} in 1 s`);
    }
    assert.equal(plane.service.cascades.snapshot().filter((x) => x.sessionId === session.sessionId).length, 1);
  });
});

describe('end to end: SFUs of a cascaded session dying', function () {
  // Deployments of their own (two in a, one in b): the SIGKILLs must not take the other suite's.
  this.timeout(150_000);
  let browser: Browser;
  let rig: RegionRig;
  let plane: ControlPlane;
  let host: HeadlessHost;
  let session: CreateSessionResponse;
  const guests: ViewerPage[] = [];
  let ids: string[] = [];

  before(async () => {
    browser = await launchChromium();
    rig = await startRegionRig(['a1', 'a2', 'b1']);
    plane = rig.plane;
    session = await createSession(plane, { mode: 'sfu', name: 'SFUs die', region: 'a' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana' });
    guests.push(...(await Promise.all(['Bea', 'Bo'].map((n) => ViewerPage.open(browser, `${session.links.viewer.url}&region=b`, n)))));
    for (const v of guests) {
      await v.waitForState('live', 40_000);
      await v.markerAdvance(500);
    }
    ids = await Promise.all(guests.map(async (v) => (await v.selfId())!));
  });
  after(async () => {
    for (const g of guests.splice(0)) await g.close();
    await host?.close();
    await rig?.close();
    await browser?.close();
  });

  const inRoom = (id: string) => rig.inRooms(id);
  /** Each viewer's picture advances again after the kill: ms from the kill to its second new frame. */
  const pixelsAgain = (killedAt: number) =>
    Promise.all(
      guests.map(async (v) => {
        const frozen = (await v.readMarker())?.frame ?? -1;
        await v.waitForMarker(15_000, frozen);
        // A frame already in flight does not count: it must keep advancing.
        const m = await v.waitForMarker(5000);
        await v.waitForMarker(5000, m.frame);
        return Date.now() - killedAt;
      }),
    );

  it("the origin's LiveKit SIGKILLed: the session fails over to a's other SFU, the bridge follows it, and b's viewers see the host again where they are", async () => {
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId!);
    const origin = (await inRoom('a1')).includes(hostId) ? 'a1' : 'a2';
    const other = origin === 'a1' ? 'a2' : 'a1';
    const killedAt = Date.now();
    process.kill(rig.lk.get(origin)!.pid, 'SIGKILL');
    const shown = await pixelsAgain(killedAt);
    console.log(`      pixels again at b's viewers ${shown.join(' and ')} ms after the origin (${origin}) was killed`);
    await eventually(async () => (await inRoom(other)).includes(hostId), `the host on ${other}`, 10_000);
    const b = await inRoom('b1');
    for (const id of ids) assert.ok(b.includes(id), `${id} still watches on b: ${b}`);
    const bridge = plane.service.cascades.snapshot().find((x) => x.sessionId === session.sessionId);
    assert.equal(bridge?.state, 'ready');
  });

  it("b's LiveKit SIGKILLed: its viewers watch on the host's SFU within seconds, without rejoining the session, and the bridge is gone", async () => {
    const killedAt = Date.now();
    process.kill(rig.lk.get('b1')!.pid, 'SIGKILL');
    const shown = await pixelsAgain(killedAt);
    console.log(`      pixels again at b's viewers ${shown.join(' and ')} ms after b's LiveKit was killed`);
    const hostId = await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId!);
    const origin = (await inRoom('a1')).includes(hostId) ? 'a1' : 'a2';
    await eventually(
      async () => {
        const now = await inRoom(origin);
        return ids.every((id) => now.includes(id));
      },
      `both viewers in the origin's room on ${origin}`,
      10_000,
    );
    assert.equal(plane.service.cascades.snapshot().filter((x) => x.sessionId === session.sessionId).length, 0, 'no bridge to a dead region');
    for (const v of guests) assert.equal(await v.state(), 'live');
  });
});

/** The key as raw bytes and in every text encoding a leak could take. */
function keyEncodings(key: string): Buffer[] {
  const bytes = Buffer.from(key, 'base64url');
  assert.equal(bytes.length, 32);
  return [bytes, ...[key, bytes.toString('base64'), bytes.toString('hex'), bytes.toString('hex').toUpperCase()].map((t) => Buffer.from(t))];
}

describe('end to end: a cascaded session whose host hands over its seat', function () {
  this.timeout(90_000);
  let rig: RegionRig | undefined;
  const clients: TestClient[] = [];
  after(async () => {
    for (const c of clients.splice(0)) c.close();
    await rig?.close();
  });

  it("the bridge to b speaks for the new host: it leaves b's room as the old host and comes back as the new one", async () => {
    rig = await startRegionRig(['a1', 'b1']);
    const plane = rig.plane;
    const session = await createSession(plane, { mode: 'sfu', name: 'Hand over', region: 'a' });
    const connect = async () => {
      const c = await TestClient.connect(plane.url);
      c.endpoint.onNotification(HostOffered as NotificationType<unknown>, (params) => void c.notifications.push({ method: HostOffered.method, params }));
      clients.push(c);
      return c;
    };
    const [hana, ada, bea] = [await connect(), await connect(), await connect()];
    const h = await hana.join(session.sessionId, session.hostToken, 'Hana', { client: { kind: 'vscode' } });
    const a = await ada.join(session.sessionId, tokenOf(session.links.controller.url), 'Ada', { client: { kind: 'vscode' } });
    await bea.join(session.sessionId, tokenOf(session.links.viewer.url), 'Bea', { region: 'b' });
    // The bridge joins b's room under the host's identity as soon as b has a viewer.
    await eventually(async () => (await rig!.inRooms('b1')).includes(h.self.id), "the bridge in b's room as Hana", 20_000);
    const restarts = plane.service.cascades.snapshot()[0]!.restarts;

    await hana.request(MakeHost, { participantId: a.self.id });
    const offered = await ada.waitFor(HostOffered, (o) => o.participantId === a.self.id);
    await ada.request(AcceptHost, { offerId: offered.offerId });
    const inB = await eventually(
      async () => {
        const ids = await rig!.inRooms('b1');
        return ids.includes(a.self.id) && !ids.includes(h.self.id) ? ids : undefined;
      },
      async () => `the bridge in b's room as Ada, no longer as Hana (in b: ${await rig!.inRooms('b1')})`,
      20_000,
    );
    assert.ok(inB);
    assert.ok(plane.service.cascades.snapshot()[0]!.restarts > restarts, 'the bridge started again for the new host');
  });
});

describe('end to end: a cascaded host that comes back publishing another codec', function () {
  this.timeout(120_000);
  let browser: Browser;
  let rig: RegionRig | undefined;
  const hosts: HeadlessHost[] = [];
  const guests: ViewerPage[] = [];
  after(async () => {
    for (const g of guests.splice(0)) await g.close();
    for (const h of hosts.splice(0)) await h.close();
    await rig?.close();
    await browser?.close();
  });

  it("b's viewer sees the host again after it republishes in H.264 instead of VP8: the bridge publishes anew in the far room", async () => {
    browser = await launchChromium();
    rig = await startRegionRig(['a1', 'b1']);
    const plane = rig.plane;
    const session = await createSession(plane, { mode: 'sfu', name: 'Codec change', region: 'a' });
    hosts.push(await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana', codec: 'vp8' }));
    const bea = await ViewerPage.open(browser, `${session.links.viewer.url}&region=b`, 'Bea');
    guests.push(bea);
    await bea.waitForState('live', 40_000);
    await bea.markerAdvance(1000);
    const codecOf = async () => (await bea.stats()).codec ?? '';
    assert.match(await codecOf(), /vp8/i);

    // The host's page is reloaded asking for H.264 (its tab keeps its resume ticket: the same host
    // comes back) and republishes; the bridge's far publication was made for VP8.
    const page = hosts[0]!.page;
    const url = new URL(page.url());
    const params = new URLSearchParams(url.hash.slice(1));
    params.set('codec', 'h264');
    url.hash = params.toString();
    const swappedAt = Date.now();
    await page.goto(url.toString());
    await page.reload();
    await eventually(
      async () => /h264/i.test(await codecOf()),
      async () => `b's viewer decoding H.264 (now ${await codecOf()})`,
      30_000,
    );
    const frames = await bea.collect(2000);
    const fresh = frames.filter((f) => expandCaptureTime(f.captureTimeLow32, f.presentedAt) > swappedAt);
    assert.ok(fresh.length >= 5, `b's viewer shows the new host's frames (${fresh.length} in 2 s)`);
    assert.equal(plane.service.cascades.snapshot().length, 1, 'the same bridge carries on');
  });
});
