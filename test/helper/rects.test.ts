/**
 * The helper's change detection (helper/capture/rects.ts) and the receivers' half
 * (protocol/helper-framing.ts applyRects): whatever changes between two pictures, the
 * rectangles cover it, their pixels rebuild the new picture exactly from the old, and what did
 * not change stays out of them.
 */
import assert from 'node:assert/strict';
import { applyRects, MAX_RECTS } from '../../protocol/helper-framing';
import { changedRects, rectPixels } from '../../helper/capture/rects';

const W = 200;
const H = 90;
const STRIP = 32;

function strips(picture: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let y = 0; y < H; y += STRIP) out.push(Buffer.from(picture.subarray(y * W * 4, Math.min(H, y + STRIP) * W * 4)));
  return out;
}

function paint(p: Buffer, x: number, y: number, w: number, h: number, v: number): void {
  for (let r = y; r < y + h; r++) p.fill(v, (r * W + x) * 4, (r * W + x + w) * 4);
}

/** Deterministic pseudo-random numbers, so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('helper: changed rectangles', () => {
  it('two distant small changes are two small rectangles, and nothing else is covered', () => {
    const a = Buffer.alloc(W * H * 4, 7);
    const b = Buffer.from(a);
    paint(b, 5, 3, 10, 6, 200);
    paint(b, 150, 70, 12, 12, 90);
    const rects = changedRects(
      strips(b),
      strips(a),
      W,
      STRIP,
      strips(a).map(() => true),
    );
    assert.equal(rects.length, 2, JSON.stringify(rects));
    const area = rects.reduce((n, r) => n + r.w * r.h, 0);
    assert.ok(area < 2 * 32 * 19, `covered ${area} px`);
    const rebuilt = Buffer.from(a);
    applyRects(rebuilt, W, rects, Buffer.concat(rectPixels(strips(b), W, STRIP, rects)));
    assert.ok(rebuilt.equals(b));
  });

  it('random changes, across strip edges and full rows: the old picture plus the rectangles is the new one', () => {
    const next = rng(42);
    for (let round = 0; round < 200; round++) {
      const a = Buffer.alloc(W * H * 4);
      for (let i = 0; i < a.length; i++) a[i] = (i * 31) & 0xff;
      const b = Buffer.from(a);
      const n = 1 + Math.floor(next() * 6);
      for (let k = 0; k < n; k++) {
        const full = next() < 0.2;
        const x = full ? 0 : Math.floor(next() * W);
        const y = Math.floor(next() * H);
        const w = full ? W : 1 + Math.floor(next() * (W - x));
        const h = 1 + Math.floor(next() * Math.min(40, H - y));
        paint(b, x, y, w, h, Math.floor(next() * 256));
      }
      const rects = changedRects(
        strips(b),
        strips(a),
        W,
        STRIP,
        strips(a).map(() => true),
      );
      for (const r of rects) assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.w <= W && r.y + r.h <= H && r.w > 0 && r.h > 0, JSON.stringify(r));
      const rebuilt = Buffer.from(a);
      applyRects(rebuilt, W, rects, Buffer.concat(rectPixels(strips(b), W, STRIP, rects)));
      assert.ok(rebuilt.equals(b), `round ${round}: ${JSON.stringify(rects)}`);
    }
  });

  it('equal pictures have no rectangles; strips not flagged dirty are not looked at', () => {
    const a = Buffer.alloc(W * H * 4, 1);
    assert.deepEqual(changedRects(strips(a), strips(a), W, STRIP, [true, true, true]), []);
    const b = Buffer.from(a);
    paint(b, 0, 0, 4, 4, 9);
    assert.deepEqual(changedRects(strips(b), strips(a), W, STRIP, [false, true, true]), []);
  });

  it(`more than ${MAX_RECTS} separate changes collapse into one rectangle`, () => {
    const w = 16;
    const h = (MAX_RECTS + 1) * 10;
    const a = Buffer.alloc(w * h * 4);
    const b = Buffer.from(a);
    for (let i = 0; i <= MAX_RECTS; i++) b.fill(1, i * 10 * w * 4, (i * 10 + 1) * w * 4);
    const rects = changedRects([b], [a], w, h, [true]);
    assert.equal(rects.length, 1);
    assert.deepEqual(rects[0], { x: 0, y: 0, w, h: MAX_RECTS * 10 + 1 });
  });
});
