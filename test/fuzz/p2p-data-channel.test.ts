/**
 * Fuzz: a rogue guest page sends generated messages on its P2P data channel (protocol/peer.ts) to
 * a real host page in Chromium, whose runner, helper and X server are real. The rogue is the real
 * viewer page joined with the controller link, plus a script of the attacker's that grabs its
 * `pairux` data channel and writes to it directly: every request and notification of the peer
 * boundary, input events valid and not, binary, broken JSON, oversize. The host's user never
 * allows the rogue. Asserted: not one input event reaches X, the host page stays up with a flat
 * heap, and afterwards a new controller sees the screen, is allowed, and its click lands.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { MAX_PEER_MESSAGE_BYTES } from '../../protocol/limits';
import { InputEvent, KEY_ALLOWLIST } from '../../protocol/input';
import { peerBoundary } from '../../protocol/peer';
import { ViewerPage } from '../support/browser-viewer';
import { Gen, message } from './support/generate';
import { legitDriverLands, pageHeapMb, startHostRig, type HostRig } from './support/host-rig';
import { fuzzCount, fuzzSeed, Tally } from './support/run';
import { watchX, type XWatch } from './support/x-watch';

const COUNT = fuzzCount(1000);
const SEED = fuzzSeed();
const HEAP_TOLERANCE_MB = 20;
const BATCH = 250;

/** The attacker's addition to the viewer page: keep every data channel the page is handed. */
const GRAB_CHANNELS = `(() => {
  const Native = window.RTCPeerConnection;
  const stats = { error: 0, result: 0, other: 0 };
  window.__rogue = { channels: [], stats };
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('datachannel', (e) => {
        window.__rogue.channels.push(e.channel);
        e.channel.addEventListener('message', (m) => {
          try {
            const v = JSON.parse(typeof m.data === 'string' ? m.data : '');
            if ('error' in v) stats.error++; else if ('result' in v) stats.result++; else stats.other++;
          } catch { stats.other++; }
        });
      });
    }
  };
})();`;

type RogueStats = { error: number; result: number; other: number };

async function rogueSend(page: Page, batch: Array<string | number[]>): Promise<{ sent: number; buffered: number }> {
  return page.evaluate(async (items) => {
    const r = (window as unknown as { __rogue: { channels: RTCDataChannel[] } }).__rogue;
    const ch = r.channels.find((c) => c.readyState === 'open');
    if (!ch) return { sent: 0, buffered: -1 };
    let sent = 0;
    for (const m of items) {
      try {
        if (typeof m === 'string') ch.send(m);
        else ch.send(new Uint8Array(m));
        sent++;
      } catch {
        // Over the channel's own limit: the browser refuses to send it, nothing reaches the host.
      }
    }
    // Let the channel drain so the host reads what was sent before the next batch.
    while (ch.bufferedAmount > 64 * 1024 && ch.readyState === 'open') await new Promise((res) => setTimeout(res, 5));
    return { sent, buffered: ch.bufferedAmount };
  }, batch);
}

describe('fuzz: a rogue guest page on the P2P data channel, real host page, runner, helper and X', function () {
  this.timeout(120_000 + COUNT * 20);
  let rig: HostRig;
  let watch: XWatch;

  before(async () => {
    rig = await startHostRig({ allow: (name) => name === 'Legit' });
    watch = await watchX(rig.x);
  });
  after(async () => {
    watch?.stop();
    await rig?.close();
  });

  it('the watcher sees the helper inject a granted move (so its zero below means nothing landed)', async () => {
    await rig.helper.grant('watcher-proof');
    rig.helper.sendInput('watcher-proof', { t: 'move', seq: 1, x: 0.1, y: 0.1 });
    await watch.waitFor(1, 5000);
    await rig.helper.revoke('revoked');
    await new Promise((r) => setTimeout(r, 300));
    watch.reset();
  });

  it(`${COUNT} generated data-channel messages from a rogue guest: nothing lands on X, the host stays up, a new driver's click lands`, async () => {
    // The rogue page with the attacker's script: the real viewer code, its channel grabbed.
    const context = await rig.browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(GRAB_CHANNELS);
    const page = await context.newPage();
    const url = new URL(rig.session.links.controller.url);
    url.hash = `${url.hash.replace(/^#/, '')}&name=Rogue`;
    await page.goto(url.toString());
    await page.waitForFunction(
      () => (window as unknown as { __rogue: { channels: RTCDataChannel[] } }).__rogue.channels.some((c) => c.readyState === 'open'),
      null,
      { timeout: 20_000 },
    );
    assert.ok(rig.admitted.includes('Rogue'), 'the rogue knocked at the lobby and the host let it in');

    const g = new Gen(SEED);
    const tally = new Tally('P2P data channel', SEED);
    const dict = { words: [...KEY_ALLOWLIST], fields: { event: InputEvent } };
    const injectedBefore = (await rig.helper.inputStats()).injected;
    let heapBefore = await pageHeapMb(rig.host.page);
    const warmup = Math.max(BATCH, Math.floor(COUNT / 10));
    let browserRefused = 0;
    while (tally.messages < COUNT) {
      const batch: Array<string | number[]> = [];
      for (let i = 0; i < BATCH && tally.messages + batch.length < COUNT; i++) {
        const m = message(peerBoundary.aToB, g, { dict, hugeChars: MAX_PEER_MESSAGE_BYTES + 200, valid: 0.4 });
        batch.push(typeof m.data === 'string' ? m.data : [...m.data]);
      }
      const { sent, buffered } = await rogueSend(page, batch);
      assert.ok(buffered >= 0, "the rogue's data channel is still open (the host did not have to close it)");
      browserRefused += batch.length - sent;
      tally.messages += batch.length;
      if (tally.messages >= warmup && tally.messages - batch.length < warmup) heapBefore = await pageHeapMb(rig.host.page);
    }
    // The host answers a ping sent after everything else: it has read the lot.
    await page.evaluate(() =>
      (window as unknown as { __rogue: { channels: RTCDataChannel[] } }).__rogue.channels
        .find((c) => c.readyState === 'open')!
        .send(JSON.stringify({ v: 1, id: 2147483000, method: 'peer.ping', params: { sentAt: 1 } })),
    );
    await page.waitForFunction(
      (n) =>
        (window as unknown as { __rogue: { stats: RogueStats } }).__rogue.stats.result +
          (window as unknown as { __rogue: { stats: RogueStats } }).__rogue.stats.error >=
        n,
      1,
      { timeout: 20_000 },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const stats = await page.evaluate(() => (window as unknown as { __rogue: { stats: RogueStats } }).__rogue.stats);
    const helperStats = await rig.helper.inputStats();
    tally.refused = stats.error + browserRefused;
    tally.accepted = stats.result - 1;
    tally.silent = Math.max(0, tally.messages - tally.refused - tally.accepted);
    tally.injectedWithoutGrant = watch.count();
    const heapAfter = await pageHeapMb(rig.host.page);
    tally.before = { heapMb: heapBefore, rssMb: 0 };
    tally.after = { heapMb: heapAfter, rssMb: 0 };
    const growth = heapAfter - heapBefore;
    tally.finish(
      `host page JS heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MB (+${growth.toFixed(1)}, tolerance ${HEAP_TOLERANCE_MB}); ${stats.other} notices back (peer.input.refused, coalesced); ${browserRefused} too big for the browser to send`,
    );

    assert.equal(tally.injectedWithoutGrant, 0, `X input events during the fuzz: ${JSON.stringify(watch.kinds())}`);
    assert.equal(helperStats.injected, injectedBefore, 'the helper injected nothing');
    assert.equal(helperStats.granted, null, 'nobody holds a grant at the helper');
    assert.ok(stats.other > 0, "the host told the rogue its input was refused (so the input reached the host's gate)");
    assert.ok(growth < HEAP_TOLERANCE_MB, `host page heap grew ${growth.toFixed(1)} MB`);
    await context.close();

    // A new controller sees the host's screen, is allowed, and its click lands on X.
    const legit = await ViewerPage.open(rig.browser, rig.session.links.controller.url, 'Legit');
    try {
      await legit.waitForState('live', 20_000);
      await legit.page.waitForFunction(() => ((document.querySelector('video') as HTMLVideoElement | null)?.videoWidth ?? 0) > 0, null, { timeout: 20_000 });
      await legitDriverLands(rig, legit.page);
    } finally {
      await legit.close();
    }
  });
});
