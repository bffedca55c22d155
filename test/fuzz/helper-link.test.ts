/**
 * Fuzz: the helper link (protocol/helper-link.ts over helper-framing.ts) into a real helper on a
 * real X server, with nobody granted. Generated runner → helper messages (every request and
 * notification of the boundary, valid, bent and broken, plus bad frames of sane length) must
 * never crash the helper and never put one input event on the display; afterwards a granted
 * driver's move still lands. A valid `control.grant` is the runner's privilege, so it is never
 * sent (the generator withholds it and the harness drops any mutation that happens to be one).
 */
import assert from 'node:assert/strict';
import { FrameKind } from '../../protocol/helper-framing';
import { GrantControl, helperBoundary, InputEvent } from '../../protocol/helper-link';
import { KEY_ALLOWLIST } from '../../protocol/input';
import { badFrameForHelper, frame } from '../helper/support/frames';
import { spawnRawHelper, type RawHelper } from '../helper/support/helper';
import { mouseLocation, startXvfb, waitFor, type Xvfb } from '../helper/support/xvfb';
import { Gen, message } from './support/generate';
import { fuzzCount, fuzzSeed, rssOf, Tally } from './support/run';
import { watchX, type XWatch } from './support/x-watch';

const COUNT = fuzzCount(2000);
const SEED = fuzzSeed();
/**
 * The helper's RSS may grow this much over the run: capture buffers come and go with capture.start,
 * and the X11 capturer takes two screen-sized ones per start (16 MB at 1080p) that wait for a GC.
 * A plateau, not a leak: 2000 messages grew it 43.5 MB, 8000 grew it 38.9 (PAIRUX_FUZZ_COUNT=8000).
 * Where it ends depends on when the last GC ran: the same 2000 messages (seed 12) in five CI runs
 * grew it 20.7, 21.2, 31.5, 42.0 and 72.4 MB.
 */
const RSS_TOLERANCE_MB = 96;

/** A valid grant, however it was generated: never sent, only the harness grants. */
function isGrant(text: string): boolean {
  try {
    const m = JSON.parse(text) as { v?: unknown; id?: unknown; method?: unknown; params?: unknown };
    return m.method === GrantControl.method && GrantControl.params.safeParse(m.params).success;
  } catch {
    return false;
  }
}

describe('fuzz: helper link into a real helper on X, nobody granted', function () {
  this.timeout(60_000 + COUNT * 5);
  let x: Xvfb;
  let helper: RawHelper;
  let watch: XWatch;

  before(async () => {
    x = await startXvfb(640, 480);
    helper = spawnRawHelper(x.env);
    const hello = await helper.request('helper.hello', {});
    assert.ok('result' in hello, `helper hello: ${JSON.stringify(hello)}`);
    watch = await watchX(x);
  });
  after(async () => {
    watch?.stop();
    await helper?.kill();
    await x?.stop();
  });

  it('the watcher sees a granted move (so its zero below means nothing landed)', async () => {
    assert.ok('result' in (await helper.request('control.grant', { controllerId: 'watcher-proof' })));
    const body = Buffer.from(
      JSON.stringify({ v: 1, method: 'input', params: { controllerId: 'watcher-proof', event: { t: 'move', seq: 1, x: 0.25, y: 0.25 } } }),
    );
    await helper.write(frame(FrameKind.Json, body));
    await watch.waitFor(1, 5000);
    await waitFor(() => mouseLocation(x).x === 160, 5000, 'the pointer at x 160');
    assert.ok('result' in (await helper.request('control.revoke', { reason: 'revoked' })));
    await new Promise((r) => setTimeout(r, 300));
    watch.reset();
  });

  it(`${COUNT} generated messages: the helper stays up, answers, injects nothing; a granted move lands afterwards`, async () => {
    const g = new Gen(SEED);
    const tally = new Tally('helper link', SEED);
    const dict = { words: [...KEY_ALLOWLIST], fields: { event: InputEvent }, ids: () => ['watcher-proof', 'guest-1'] };
    const warmup = Math.max(200, Math.floor(COUNT / 10));
    const answeredBefore = helper.messages.length;
    let withheld = 0;
    while (tally.messages < COUNT) {
      let bytes: Buffer;
      if (g.chance(0.1)) {
        bytes = badFrameForHelper(g.random).bytes;
        // The last kind is a grant with a bad id: refused, so it may go.
      } else {
        const m = message(helperBoundary.aToB, g, { dict, withhold: [GrantControl.method], hugeChars: 70_000 });
        const body = typeof m.data === 'string' ? Buffer.from(m.data, 'utf8') : Buffer.from(m.data);
        if (typeof m.data === 'string' && isGrant(m.data)) {
          withheld++;
          continue;
        }
        // Over the JSON cap the helper must close the link (its framing test covers that): keep the run going.
        if (body.length > 64 * 1024) continue;
        bytes = frame(FrameKind.Json, body);
      }
      await helper.write(bytes);
      tally.messages++;
      if (tally.messages === warmup) tally.before = { heapMb: 0, rssMb: await rssOf(helper.child.pid!) };
      if (helper.child.exitCode !== null || helper.child.signalCode !== null) {
        tally.crashes++;
        break;
      }
    }
    // Everything written has been read once a request sent after it is answered.
    const last = await helper.request('input.stats', {}, 30_000);
    const stats = (last as { result?: { injected: number; granted: string | null } }).result;
    const replies = helper.messages.slice(answeredBefore).filter((m) => 'id' in m);
    tally.refused = replies.filter((m) => 'error' in m).length;
    tally.accepted = replies.filter((m) => 'result' in m).length - 1;
    tally.silent = tally.messages - tally.refused - tally.accepted;
    await new Promise((r) => setTimeout(r, 500));
    tally.injectedWithoutGrant = watch.count();
    tally.after = { heapMb: 0, rssMb: await rssOf(helper.child.pid!) };
    const growth = tally.after.rssMb - tally.before.rssMb;
    tally.finish(
      `helper RSS ${tally.before.rssMb.toFixed(1)} → ${tally.after.rssMb.toFixed(1)} MB (+${growth.toFixed(1)}, tolerance ${RSS_TOLERANCE_MB}); ${withheld} valid grants withheld`,
    );

    assert.equal(tally.crashes, 0, `the helper exited: ${helper.stderr().slice(-2000)}`);
    assert.ok(stats, `input.stats answered: ${JSON.stringify(last)}`);
    assert.equal(stats.granted, null, 'nobody is granted after the fuzz');
    assert.equal(stats.injected, 1, "the helper injected only the watcher proof's move");
    assert.equal(tally.injectedWithoutGrant, 0, `X input events during the fuzz: ${JSON.stringify(watch.kinds())}`);
    assert.ok(tally.refused > tally.messages / 10, `refusals were answered (${tally.refused})`);
    assert.ok(growth < RSS_TOLERANCE_MB, `helper RSS grew ${growth.toFixed(1)} MB`);

    // A legitimate driver still drives.
    await helper.request('capture.stop', {});
    const granted = await helper.request('control.grant', { controllerId: 'legit' });
    assert.ok('result' in granted, `the legitimate grant: ${JSON.stringify(granted)}`);
    watch.reset();
    const body = Buffer.from(JSON.stringify({ v: 1, method: 'input', params: { controllerId: 'legit', event: { t: 'move', seq: 1, x: 0.75, y: 0.5 } } }));
    await helper.write(frame(FrameKind.Json, body));
    await waitFor(() => mouseLocation(x).x === 480, 5000, 'the legitimate move to x 480');
    await watch.waitFor(1, 5000);
    await helper.request('control.revoke', { reason: 'revoked' });
  });
});
