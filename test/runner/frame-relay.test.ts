/**
 * The runner's frame relay and the page's frame source together: what the page reconstructs
 * from a full frame and then patches must equal the helper's pictures, row for row, however the
 * page's pace makes changes accumulate, and a scroll the helper found goes on as a move.
 */
import assert from 'node:assert/strict';
import { FrameRelay } from '../../runner/frame-relay';
import { applyMoves, rectsPrefixBytes, type PixelMove, type PixelRect, type VideoFrameHeader } from '../../protocol/helper-framing';
import { BridgeFrameSource } from '../../webview/engine/frames/bridge-frame-source';

const W = 64;
const H = 48;
const header = (seq: number): VideoFrameHeader => ({ seq, width: W, height: H, format: 'BGRX', captureTime: 1000 + seq });

function picture(fill: number): Uint8Array {
  return new Uint8Array(W * H * 4).fill(fill);
}

function paintRows(p: Uint8Array, from: number, to: number, value: number): Uint8Array {
  const out = p.slice();
  out.fill(value, from * W * 4, (to + 1) * W * 4);
  return out;
}

function harness() {
  const sent: Uint8Array[] = [];
  let ready = true;
  const relay = new FrameRelay({ connected: () => true, ready: () => ready, send: (b) => sent.push(b) });
  const shown: Uint8Array[] = [];
  const page = new BridgeFrameSource({ width: W, height: H, fps: 30, name: 'helper', keepPicture: true });
  page.start((f) => shown.push(new Uint8Array(f.data instanceof ArrayBuffer ? f.data : f.data.slice())));
  const deliver = () => {
    for (const m of sent.splice(0)) page.push(m);
  };
  return { relay, sent, shown, page, deliver, setReady: (r: boolean) => (ready = r) };
}

describe('demo: frame relay (full frame, then changed areas only)', () => {
  it('a small change far from another costs the two areas, whether the relay or the helper found them', () => {
    for (const fromHelper of [false, true]) {
      const h = harness();
      const a = picture(10);
      h.relay.push(header(1), a);
      const b = a.slice();
      for (const [x, y] of [
        [2, 1],
        [60, 45],
      ] as const)
        b.fill(99, (y * W + x) * 4, (y * W + x + 3) * 4);
      if (fromHelper) {
        const rects = [
          { x: 2, y: 1, w: 3, h: 1 },
          { x: 60, y: 45, w: 3, h: 1 },
        ];
        h.relay.push(header(2), new Uint8Array(2 * 3 * 4).fill(99), rects);
      } else {
        h.relay.push(header(2), b);
      }
      // Two 16-px blocks of one row each, not the 45 rows between them.
      assert.ok(h.sent[1]!.byteLength <= 1 + rectsPrefixBytes(2) + 2 * 16 * 4, `${h.sent[1]!.byteLength} bytes`);
      h.deliver();
      assert.ok(Buffer.from(h.shown.at(-1)!).equals(Buffer.from(b)), `from the ${fromHelper ? 'helper' : 'relay'}: the page shows the new picture`);
    }
  });

  it('a scroll from the helper reaches the page as a move and the new rows, not the whole page', () => {
    const h = harness();
    const a = new Uint8Array(W * H * 4).map((_, i) => (i * 7 + (i >> 8)) & 255);
    h.relay.push(header(1), a);
    h.deliver();
    // The helper's picture scrolled up by 8 rows; rows 40..47 are new.
    const move: PixelMove = { x: 0, y: 0, w: W, h: H - 8, sx: 0, sy: 8 };
    const b = a.slice();
    applyMoves(b, W, [move]);
    b.fill(5, (H - 8) * W * 4);
    h.relay.push(header(2), new Uint8Array(8 * W * 4).fill(5), [{ x: 0, y: H - 8, w: W, h: 8 }], [move]);
    assert.equal(h.sent[0]!.byteLength, 1 + rectsPrefixBytes(1, 1) + 8 * W * 4);
    h.deliver();
    assert.ok(Buffer.from(h.shown.at(-1)!).equals(Buffer.from(b)), 'the page shows the scrolled picture exactly');
  });

  it('moves and changes queued while the page is busy rebuild every picture the page gets, exactly', () => {
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const int = (n: number) => Math.floor(rnd() * n);
    for (let run = 0; run < 20; run++) {
      const h = harness();
      // The helper's picture, as it changes; the page must end up with it after each delivery.
      const helper = new Uint8Array(W * H * 4).map(() => int(256));
      h.relay.push(header(1), helper);
      h.deliver();
      for (let step = 2; step < 40; step++) {
        h.setReady(rnd() < 0.4);
        const moves: PixelMove[] = [];
        if (rnd() < 0.6) {
          const w = 1 + int(W);
          const x = int(W - w + 1);
          const hh = 1 + int(H - 1);
          moves.push({ x, y: int(H - hh + 1), w, h: hh, sx: x, sy: int(H - hh + 1) });
          applyMoves(helper, W, moves);
        }
        const rects: PixelRect[] = [];
        for (let k = int(3); k > 0; k--) {
          const r = { x: int(W - 1), y: int(H - 1), w: 1, h: 1 };
          r.w = 1 + int(W - r.x);
          r.h = 1 + int(H - r.y);
          rects.push(r);
        }
        const pixels: number[] = [];
        for (const r of rects) {
          for (let y = r.y; y < r.y + r.h; y++) {
            for (let x = r.x; x < r.x + r.w; x++) {
              const v = [int(256), int(256), int(256), 0];
              helper.set(v, (y * W + x) * 4);
              pixels.push(...v);
            }
          }
        }
        h.relay.push(header(step), new Uint8Array(pixels), rects, moves);
        if (h.sent.length) {
          h.deliver();
          assert.ok(Buffer.from(h.shown.at(-1)!).equals(Buffer.from(helper)), `run ${run}, step ${step}: the page's picture is the helper's`);
        }
      }
    }
  });

  it('still takes row bands (kind 2) from a helper that sends them', () => {
    const h = harness();
    const a = picture(3);
    h.relay.push(header(1), a);
    const b = paintRows(a, 10, 11, 77);
    h.relay.push(header(2), b.subarray(10 * W * 4, 12 * W * 4), { firstRow: 10, rows: 2 });
    h.deliver();
    assert.ok(Buffer.from(h.shown.at(-1)!).equals(Buffer.from(b)));
  });

  it('sends a full frame first, then only the band that changed, and the page rebuilds each picture', () => {
    const h = harness();
    const a = picture(10);
    h.relay.push(header(1), a);
    const b = paintRows(a, 5, 7, 200);
    h.relay.push(header(2), b);
    assert.equal(h.relay.fullSent, 1);
    assert.equal(h.relay.patchesSent, 1);
    // 3 changed rows: the patch is a small fraction of the frame.
    assert.ok(h.sent[1]!.byteLength < 3 * W * 4 + 64, `patch of ${h.sent[1]!.byteLength} bytes`);
    h.deliver();
    assert.deepEqual(
      h.shown.map((s) => Buffer.compare(Buffer.from(s), Buffer.from(s))),
      [0, 0],
    );
    assert.ok(Buffer.from(h.shown[0]!).equals(Buffer.from(a)));
    assert.ok(Buffer.from(h.shown[1]!).equals(Buffer.from(b)));
  });

  it('accumulates changes while the page is busy, losing none', () => {
    const h = harness();
    let p = picture(0);
    h.relay.push(header(1), p);
    h.deliver();
    h.setReady(false);
    p = paintRows(p, 2, 3, 50);
    h.relay.push(header(2), p);
    p = paintRows(p, 40, 41, 60);
    h.relay.push(header(3), p);
    assert.equal(h.sent.length, 0);
    h.setReady(true);
    p = paintRows(p, 20, 20, 70);
    h.relay.push(header(4), p);
    h.deliver();
    assert.ok(Buffer.from(h.shown.at(-1)!).equals(Buffer.from(p)), 'the page shows the latest picture exactly');
  });

  it('repeats an unchanged picture with an empty patch (new viewers need frames)', () => {
    const h = harness();
    const p = picture(9);
    h.relay.push(header(1), p);
    h.relay.push(header(2), p);
    assert.equal(h.sent[1]!.byteLength, 1 + rectsPrefixBytes(0));
    h.deliver();
    assert.equal(h.shown.length, 2);
    assert.ok(Buffer.from(h.shown[1]!).equals(Buffer.from(p)));
  });

  it('a page that missed the full frame refuses patches until the relay resets', () => {
    const h = harness();
    h.relay.push(header(1), picture(1));
    h.sent.splice(0);
    h.relay.push(header(2), paintRows(picture(1), 0, 0, 2));
    h.deliver();
    assert.equal(h.shown.length, 0);
    assert.equal(h.page.framesBad, 1);
    h.relay.reset();
    h.deliver();
    assert.equal(h.shown.length, 1);
  });
});
