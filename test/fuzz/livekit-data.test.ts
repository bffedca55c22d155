/**
 * Fuzz: a rogue LiveKit participant sends generated data packets to a real host page publishing
 * to a real LiveKit server, whose runner, helper and X server are real. The rogue is a controller
 * of the session (joined at the control plane with the controller link, then in the room with the
 * LiveKit token it was handed) using @livekit/rtc-node: packets on the host's input topic and on
 * others, every message of the peer boundary valid and not, binary, broken JSON, oversize. The
 * host's user never allows it. Asserted: not one input event reaches X, the host page stays up with
 * a flat heap, and afterwards a new controller sees the screen, is allowed, and its click lands.
 */
import assert from 'node:assert/strict';
import { RoomEvent } from '@livekit/rtc-node';
import { InputEvent, KEY_ALLOWLIST } from '../../protocol/input';
import { MAX_PEER_MESSAGE_BYTES } from '../../protocol/limits';
import { peerBoundary } from '../../protocol/peer';
import { TOPIC_TO_GUEST, TOPIC_TO_HOST } from '../../webview/engine/sfu/sfu-data';
import { ViewerPage } from '../support/browser-viewer';
import { tokenOf } from '../support/control-plane';
import { SfuClients, startPlane, startSfuRig, type SfuRig } from '../support/livekit';
import { TestClient } from '../support/signaling-client';
import { Gen, message } from './support/generate';
import { legitDriverLands, pageHeapMb, startHostRig, type HostRig } from './support/host-rig';
import { fuzzCount, fuzzSeed, Tally } from './support/run';
import { watchX, type XWatch } from './support/x-watch';

const COUNT = fuzzCount(1000);
const SEED = fuzzSeed();
const HEAP_TOLERANCE_MB = 20;

describe("fuzz: a rogue LiveKit participant's data to a real host page, runner, helper and X", function () {
  this.timeout(150_000 + COUNT * 20);
  let sfu: SfuRig;
  let rig: HostRig;
  let watch: XWatch;
  const rooms = new SfuClients();

  before(async () => {
    sfu = await startSfuRig();
    rig = await startHostRig({ allow: (name) => name === 'Legit', mode: 'sfu', startPlane: () => startPlane(sfu) });
    watch = await watchX(rig.x);
  });
  after(async () => {
    watch?.stop();
    await rooms.disconnectAll();
    await rig?.close();
    await sfu?.livekit.stop();
  });

  it('the watcher sees the helper inject a granted move (so its zero below means nothing landed)', async () => {
    await rig.helper.grant('watcher-proof');
    rig.helper.sendInput('watcher-proof', { t: 'move', seq: 1, x: 0.1, y: 0.1 });
    await watch.waitFor(1, 5000);
    await rig.helper.revoke('revoked');
    await new Promise((r) => setTimeout(r, 300));
    watch.reset();
  });

  it(`${COUNT} generated LiveKit data packets from a rogue participant: nothing lands on X, the host stays up, a new driver's click lands`, async () => {
    const signaling = await TestClient.connect(rig.plane.url);
    const joined = await signaling.join(rig.session.sessionId, tokenOf(rig.session.links.controller.url), 'Rogue');
    assert.ok(joined.sfu, "the session's media flows through LiveKit");
    assert.ok(rig.admitted.includes('Rogue'), 'the rogue knocked at the lobby and the host let it in');
    const hostId = joined.session.hostId;
    const beat = setInterval(() => signaling.heartbeat(), 2000);
    const room = rooms.room();
    const back = { error: 0, result: 0, other: 0 };
    room.on(RoomEvent.DataReceived, (payload, _participant, _kind, topic) => {
      if (topic !== TOPIC_TO_GUEST) return;
      try {
        const v = JSON.parse(Buffer.from(payload).toString('utf8')) as object;
        if ('error' in v) back.error++;
        else if ('result' in v) back.result++;
        else back.other++;
      } catch {
        back.other++;
      }
    });
    await room.connect(joined.sfu.url, joined.sfu.token, { autoSubscribe: false, dynacast: false });

    const g = new Gen(SEED);
    const tally = new Tally('LiveKit data', SEED);
    const dict = { words: [...KEY_ALLOWLIST], fields: { event: InputEvent } };
    const injectedBefore = (await rig.helper.inputStats()).injected;
    let heapBefore = await pageHeapMb(rig.host.page);
    const warmup = Math.max(200, Math.floor(COUNT / 10));
    let publishFailed = 0;
    try {
      while (tally.messages < COUNT) {
        const m = message(peerBoundary.aToB, g, { dict, hugeChars: MAX_PEER_MESSAGE_BYTES + 200, valid: 0.4 });
        const bytes = typeof m.data === 'string' ? new TextEncoder().encode(m.data) : m.data;
        const topic = g.chance(0.9) ? TOPIC_TO_HOST : g.pick([TOPIC_TO_GUEST, 'lk.chat', '', '__proto__', 'pairux.input ']);
        const toHost = g.chance(0.9);
        await room
          .localParticipant!.publishData(bytes, { reliable: g.chance(0.8), topic, ...(toHost ? { destination_identities: [hostId] } : {}) })
          .catch(() => publishFailed++);
        tally.messages++;
        if (tally.messages === warmup) heapBefore = await pageHeapMb(rig.host.page);
      }
      // The host answers a ping sent after everything else (reliable, ordered): it has read the lot.
      const ping = new TextEncoder().encode(JSON.stringify({ v: 1, id: 2147483000, method: 'peer.ping', params: { sentAt: 1 } }));
      const answered = back.result;
      const deadline = Date.now() + 20_000;
      while (back.result === answered && Date.now() < deadline) {
        await room.localParticipant!.publishData(ping, { reliable: true, topic: TOPIC_TO_HOST, destination_identities: [hostId] });
        await new Promise((r) => setTimeout(r, 500));
      }
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      clearInterval(beat);
    }
    const helperStats = await rig.helper.inputStats();
    tally.refused = back.error + publishFailed;
    tally.accepted = back.result - 1;
    tally.silent = Math.max(0, tally.messages - tally.refused - tally.accepted);
    tally.injectedWithoutGrant = watch.count();
    const heapAfter = await pageHeapMb(rig.host.page);
    tally.before = { heapMb: heapBefore, rssMb: 0 };
    tally.after = { heapMb: heapAfter, rssMb: 0 };
    const growth = heapAfter - heapBefore;
    tally.finish(
      `host page JS heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MB (+${growth.toFixed(1)}, tolerance ${HEAP_TOLERANCE_MB}); ${back.other} notices back (peer.input.refused, coalesced); ${publishFailed} refused by LiveKit itself`,
    );

    assert.ok(back.result >= 1, "the host answered the rogue's ping after the fuzz (it read what came before)");
    assert.equal(tally.injectedWithoutGrant, 0, `X input events during the fuzz: ${JSON.stringify(watch.kinds())}`);
    assert.equal(helperStats.injected, injectedBefore, 'the helper injected nothing');
    assert.ok(back.other > 0, "the host told the rogue its input was refused (so the input reached the host's gate)");
    assert.ok(growth < HEAP_TOLERANCE_MB, `host page heap grew ${growth.toFixed(1)} MB`);
    await rooms.disconnectAll();
    signaling.close();

    // A new controller sees the host's screen through LiveKit, is allowed, and its click lands on X.
    const legit = await ViewerPage.open(rig.browser, rig.session.links.controller.url, 'Legit');
    try {
      await legit.waitForState('live', 30_000);
      await legit.page.waitForFunction(() => ((document.querySelector('video') as HTMLVideoElement | null)?.videoWidth ?? 0) > 0, null, { timeout: 20_000 });
      await legitDriverLands(rig, legit.page);
    } finally {
      await legit.close();
    }
  });
});
