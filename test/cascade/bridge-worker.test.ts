/**
 * The cascade bridge worker (cascade/, Go) between two real LiveKit servers: it subscribes to
 * the host's screen in the origin room and publishes it in a far room as the host, passing RTP
 * on without decoding. "Arrived" means a Chromium page in the far room decoded the host's
 * advancing frame marker from its pixels. Its configuration is refused with a clear message
 * before it joins anything.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import type { ControlPlane } from '../../server/control-plane';
import { BridgeWorker, type BridgeWorkerEvents } from '../../server/cascade/bridge-worker';
import { issueAccess, issueBridgeToken } from '../../server/sfu/grants';
import { httpUrlOf } from '../../server/sfu/rooms';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { BridgeConfig } from '../../protocol/cascade-bridge';
import { createSession } from '../support/control-plane';
import { eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';
import { RawLiveKitViewer } from '../support/raw-livekit-viewer';
import { framesBetween } from '../support/browser-viewer';
import { cascadeBridgeBinary } from '../../scripts/cascade-bridge.mjs';

const SIZE = { width: 1280, height: 720, fps: 15 };

describe('cascade bridge worker: the host’s screen carried into another LiveKit without decoding', function () {
  this.timeout(120_000);
  let browser: Browser;
  let rig: SfuRig;
  let far: LocalLiveKit;
  let plane: ControlPlane;
  let host: HeadlessHost;
  let sessionId: string;
  let hostId: string;
  const workers: BridgeWorker[] = [];
  const viewers: RawLiveKitViewer[] = [];

  before(async () => {
    browser = await launchChromium();
    // No webhooks: the control plane would evict the bridge's origin identities, which no
    // supervisor has registered in this test (the worker alone is under test here).
    rig = await startSfuRig({ webhooks: false });
    far = await startLocalLiveKit({ logLevel: 'warn' });
    plane = await startPlane(rig);
    const session = await createSession(plane, { mode: 'sfu', name: 'Cascade' });
    sessionId = session.sessionId;
    // The far deployment's room, as the control plane opens a session's room (no auto-create).
    await new RoomServiceClient(httpUrlOf(far.url), far.apiKey, far.apiSecret).createRoom({ name: sessionId, emptyTimeout: 300 });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana' });
    hostId = await eventually(
      async () => (await host.page.evaluate(() => (window as unknown as { pairuxHost: { selfId?: string } }).pairuxHost.selfId)) ?? '',
      'the host’s id',
    );
  });
  after(async () => {
    for (const w of workers) w.close();
    for (const v of viewers) await v.close();
    await host?.close();
    await plane?.close();
    await far?.stop();
    await rig?.livekit.stop();
    await browser?.close();
  });

  const config = async (): Promise<BridgeConfig> => ({
    host: hostId,
    layers: await Promise.all(
      (['h', 'q'] as const).map(async (rid) => ({
        rid,
        origin: { url: rig.livekit.url, token: await issueBridgeToken(rig.livekit, 600, { origin: true, room: sessionId, identity: `cascade-test-${rid}` }) },
      })),
    ),
    far: { url: far.url, token: await issueBridgeToken(far, 600, { origin: false, room: sessionId, hostId, hostName: 'Hana' }) },
  });
  const start = (c: BridgeConfig, binary?: string): BridgeWorker => {
    const w = new BridgeWorker({ config: c, ...(binary ? { binary } : {}) });
    workers.push(w);
    return w;
  };
  const closed = (w: BridgeWorker) => new Promise<BridgeWorkerEvents['close']>((resolve) => w.once('close', resolve));
  const viewerToken = async (identity: string) =>
    (await issueAccess(far, far.url, 600, { room: sessionId, participantId: identity, name: identity, role: 'viewer' })).token;

  it('a far-room viewer decodes the host’s advancing marker at full size, and the worker counts both layers', async () => {
    const worker = start(await config());
    const ready = await new Promise<BridgeWorkerEvents['ready']>((resolve, reject) => {
      worker.once('ready', resolve);
      worker.once('close', (c) => reject(new Error(c.reason)));
    });
    assert.equal(ready.layers, 2);
    assert.deepEqual([ready.width, ready.height], [SIZE.width, SIZE.height]);
    const viewer = await RawLiveKitViewer.open(browser, far.url, await viewerToken('far-viewer-1'));
    viewers.push(viewer);
    const [a, b] = await viewer.markerAdvance(1000, 30_000);
    assert.ok(framesBetween(a, b) >= 5, `frame ${a.frame} → ${b.frame} in 1 s`);
    assert.deepEqual([b.width, b.height], [SIZE.width, SIZE.height]);
    let last: BridgeWorkerEvents['stats'] | undefined;
    worker.on('stats', (st) => (last = st));
    // The far viewer is seen by the worker once LiveKit has told it (a stats line or two later).
    const stats = await eventually(
      () => (last?.farParticipants === 1 ? last : undefined),
      () => `the worker to see the far viewer: ${JSON.stringify(last)}`,
      5000,
    );
    for (const l of stats!.layers) assert.ok(l.frames > 10 && l.keyFrames >= 1, `layer ${l.rid}: ${JSON.stringify(l)}`);
  });

  it('SIGKILLed, its far viewers freeze; a new worker with fresh tokens gives them pixels again without rejoining', async () => {
    const viewer = viewers[0]!;
    const old = workers.at(-1)!;
    const gone = closed(old);
    process.kill(old.pid!, 'SIGKILL');
    const c = await gone;
    assert.equal(c.requested, false);
    assert.equal(c.signal, 'SIGKILL');
    // The far room had nothing but the worker: its viewer's picture stops.
    const frozen = await viewer.waitForMarker(5000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await viewer.readMarker())?.frame, frozen.frame, 'no new frame reaches the far room without its worker');
    const worker = start(await config());
    await new Promise((resolve) => worker.once('ready', resolve));
    const [a, b] = await viewer.markerAdvance(1000, 30_000);
    assert.ok(framesBetween(a, b) >= 5, `frame ${a.frame} → ${b.frame} in 1 s after the new worker`);
  });

  it('a configuration it cannot use is refused with what is wrong, before it joins anything', async () => {
    const good = await config();
    // Our side refuses it before a process is started…
    assert.throws(() => start({ ...good, layers: [] }), /layers/);
    // …and the worker refuses it on its own (exit 2, a fatal line naming the field), had it got through.
    const r = spawnSync(cascadeBridgeBinary(), {
      input: `${JSON.stringify({ ...good, host: '', layers: [{ rid: 'x', origin: good.far }] })}\n`,
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(r.status, 2, r.stderr);
    const fatal = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { event: string; message: string };
    assert.equal(fatal.event, 'fatal');
    assert.match(fatal.message, /^host: /);
    const r2 = spawnSync(cascadeBridgeBinary(), {
      input: '{"host":"h","layers":[],"far":{"url":"http://x","token":"t"},"extra":1}\n',
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(r2.status, 2);
    assert.match(r2.stdout, /unknown field \\"extra\\"/);
  });
});
