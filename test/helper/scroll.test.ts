/**
 * Scrolls found in the helper (helper/capture/scroll.ts) and sent as moves: a scrolled page
 * costs one move and the lines that came into view, a still sidebar beside it is left alone,
 * and whatever the content (a change that is no scroll, repeated lines, a plain background) the
 * moves and the rectangles sent with them rebuild the screen exactly, the pointer included.
 */
import assert from 'node:assert/strict';
import { applyMoves, applyRects, type PixelMove, type PixelRect, type VideoFrameHeader } from '../../protocol/helper-framing';
import { findMoves } from '../../helper/capture/scroll';
import { changedWithin } from '../../helper/capture/rects';
import { drawCursor } from '../../helper/capture/cursor';
import type { FrameOutlet } from '../../helper/capture/capturer';
import { X11DamageCapturer } from '../../helper/capture/x11-damage-capturer';
import { FakeDamageScreen } from './support/fake-damage-screen';
import { waitFor } from './support/xvfb';

/** A deterministic pseudo-random source, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A page of "text": lines of 16 rows, glyph-like dabs on a plain background, some lines blank. */
function textPage(width: number, height: number, seed: number): Buffer {
  const rnd = random(seed);
  const px = Buffer.alloc(width * height * 4, 0x20);
  for (let line = 0; line * 16 < height; line++) {
    if (rnd() < 0.2) continue;
    const length = Math.floor(width * (0.5 + rnd() * 0.5));
    for (let x = 4; x < length; x += 7) {
      const top = line * 16 + 2 + Math.floor(rnd() * 4);
      const rows = 4 + Math.floor(rnd() * 8);
      const colour = 0x80 + Math.floor(rnd() * 0x7f);
      for (let y = top; y < Math.min(height, top + rows); y++) px.fill(colour, (y * width + x) * 4, (y * width + x + 5) * 4);
    }
  }
  return px;
}

/** `page` with its rows [y0, y1) within columns [x0, x1) moved up by dy (down when negative), new rows from `fresh`. */
function scrolled(page: Buffer, width: number, area: PixelRect, dy: number, incoming: Buffer): Buffer {
  const out = Buffer.from(page);
  const stride = width * 4;
  for (let y = area.y; y < area.y + area.h; y++) {
    const from = y + dy;
    const src = from >= area.y && from < area.y + area.h ? page : incoming;
    const at = from * stride + area.x * 4;
    const row = src === page ? at : (((y - area.y + 997) % area.h) + area.y) * stride + area.x * 4;
    src.copy(out, y * stride + area.x * 4, row, row + area.w * 4);
  }
  return out;
}

function cut(picture: Buffer, width: number, r: PixelRect): Buffer {
  const out = Buffer.alloc(r.w * r.h * 4);
  for (let k = 0; k < r.h; k++) picture.copy(out, k * r.w * 4, ((r.y + k) * width + r.x) * 4, ((r.y + k) * width + r.x + r.w) * 4);
  return out;
}

/** What the helper does with a fresh read: moves, then rectangles; and what a receiver rebuilds from them. */
function sendAndRebuild(before: Buffer, after: Buffer, width: number, area: PixelRect) {
  const fresh = cut(after, width, area);
  const copy = Buffer.from(before);
  const moves = findMoves(fresh, area, copy, width);
  applyMoves(copy, width, moves);
  const rects = changedWithin(fresh, area, copy, width);
  const receiver = Buffer.from(before);
  applyMoves(receiver, width, moves);
  applyRects(receiver, width, rects, Buffer.concat(rects.map((r) => cut(after, width, r))));
  const sentPixels = rects.reduce((n, r) => n + r.w * r.h, 0);
  return { moves, rects, receiver, sentPixels };
}

describe('helper capture: a scroll goes out as a move', () => {
  const W = 640;
  const H = 400;

  it('a page scrolled up by three lines beside a still sidebar: one move over the page, and only the new lines sent', () => {
    const before = textPage(W, H, 1);
    const page: PixelRect = { x: 128, y: 0, w: W - 128, h: H };
    const after = scrolled(before, W, page, 48, textPage(W, H, 2));
    // The X server reports the whole window, sidebar included.
    const { moves, receiver, sentPixels } = sendAndRebuild(before, after, W, { x: 0, y: 0, w: W, h: H });
    assert.deepEqual(moves, [{ x: 128, y: 0, w: W - 128, h: H - 48, sx: 128, sy: 48 }]);
    assert.ok(receiver.equals(after), 'the receiver has the scrolled page exactly');
    assert.ok(sentPixels <= 48 * (W - 128), `pixels sent: ${sentPixels}, the new lines are ${48 * (W - 128)}`);
  });

  it('scrolling back down is a move the other way, beside the sidebar or across the whole width', () => {
    for (const page of [
      { x: 128, y: 0, w: W - 128, h: H },
      { x: 0, y: 0, w: W, h: H },
    ]) {
      const before = textPage(W, H, 3);
      const after = scrolled(before, W, page, -32, textPage(W, H, 4));
      const { moves, receiver, sentPixels } = sendAndRebuild(before, after, W, { x: 0, y: 0, w: W, h: H });
      assert.deepEqual(moves, [{ x: page.x, y: 32, w: page.w, h: H - 32, sx: page.x, sy: 0 }]);
      assert.ok(receiver.equals(after));
      assert.ok(sentPixels <= 32 * page.w, `pixels sent: ${sentPixels}`);
    }
  });

  it('a terminal scrolling a line in a block font (every glyph row of a line alike, lines repeating) is a move', () => {
    // Each line's eleven glyph rows are equal and its pattern comes back every 9 lines, so a
    // row's fingerprint is found dozens of times in the old picture: looking only at the first
    // few places found none of the real sources and sent the whole page.
    const line = 19;
    const terminal = (first: number) => {
      const px = new Uint32Array(W * H).fill(0x1e1e1e);
      for (let row = 0; (row + 1) * line <= H; row++) {
        for (let word = 0, col = 2; col < 56; word++) {
          const len = 2 + (((first + row) * 7 + word * 13) % 9);
          for (let y = row * line + 4; y < (row + 1) * line - 4; y++) px.fill(0xb4b4b4, y * W + col * 10, y * W + (col + len) * 10 - 2);
          col += len + 1;
        }
      }
      return Buffer.from(px.buffer);
    };
    const area: PixelRect = { x: 0, y: 0, w: W, h: Math.floor(H / line) * line };
    const before = terminal(0);
    const after = terminal(1);
    const { moves, receiver, sentPixels } = sendAndRebuild(before, after, W, area);
    assert.equal(moves.length, 1, `moves: ${JSON.stringify(moves)}`);
    assert.deepEqual({ y: moves[0]!.y, sy: moves[0]!.sy, h: moves[0]!.h }, { y: 0, sy: line, h: area.h - line });
    assert.ok(receiver.equals(after));
    assert.ok(sentPixels <= line * W, `pixels sent: ${sentPixels}, the new line is ${line * W}`);
  });
  it('a change that is no scroll (a new page, a colour fill, a plain background) finds no move', () => {
    const area: PixelRect = { x: 0, y: 0, w: W, h: H };
    const plain = Buffer.alloc(W * H * 4, 0x20);
    for (const [before, after] of [
      [textPage(W, H, 5), textPage(W, H, 6)],
      [textPage(W, H, 7), Buffer.alloc(W * H * 4, 0x99)],
      [plain, Buffer.alloc(W * H * 4, 0x21)],
    ] as const) {
      const { moves, receiver } = sendAndRebuild(before, after, W, area);
      assert.deepEqual(moves, []);
      assert.ok(receiver.equals(after));
    }
  });

  it('small areas are not looked at: a caret or a line of text costs nothing extra', () => {
    const before = textPage(W, H, 8);
    const line: PixelRect = { x: 0, y: 160, w: W, h: 16 };
    const after = scrolled(before, W, line, 4, textPage(W, H, 9));
    assert.deepEqual(findMoves(cut(after, W, line), line, before, W), []);
  });

  it('whatever the content and the scroll, the moves and the rectangles rebuild the picture exactly', () => {
    const rnd = random(42);
    for (let trial = 0; trial < 60; trial++) {
      const before = textPage(W, H, 100 + trial);
      // Sometimes every line the same (a listing of equal lines): many shifts look right.
      if (trial % 5 === 0) for (let y = 16; y < H; y++) before.copy(before, y * W * 4, (y % 16) * W * 4, ((y % 16) + 1) * W * 4);
      const x = Math.floor(rnd() * 200);
      const y = Math.floor(rnd() * 100);
      const area: PixelRect = { x, y, w: 64 + Math.floor(rnd() * (W - x - 64)), h: 48 + Math.floor(rnd() * (H - y - 48)) };
      const dy = Math.floor((rnd() - 0.5) * area.h * 0.8);
      const after = scrolled(before, W, area, dy, textPage(W, H, 900 + trial));
      // Now and then something else changes in the same area too.
      if (trial % 3 === 0) after.fill(0x77, ((area.y + 3) * W + area.x) * 4, ((area.y + 3) * W + area.x + 30) * 4);
      const { receiver } = sendAndRebuild(before, after, W, area);
      assert.ok(receiver.equals(after), `trial ${trial}: area ${JSON.stringify(area)}, dy ${dy}`);
    }
  });
});

/** A fake X connection over a whole picture: reads return its pixels. */
class PictureScreen extends FakeDamageScreen {
  constructor(
    public picture: Buffer,
    width: number,
    height: number,
  ) {
    super(width, height);
    this.pointerAt = { x: 300, y: 200 };
  }
  grab(rects: readonly PixelRect[]) {
    return Promise.resolve(rects.map((r) => cut(this.picture, this.width, r)));
  }
}

describe('helper capture: the X11 damage capturer sends a scroll as a move (fake X server)', function () {
  this.timeout(10_000);
  const W = 640;
  const H = 400;

  it('the receiver rebuilds the scrolled screen exactly, with the pointer drawn once where it is now', async () => {
    const screen = new PictureScreen(textPage(W, H, 11), W, H);
    const receiver = { picture: Buffer.alloc(0), frames: [] as Array<{ moves: PixelMove[]; bytes: number }> };
    const out: FrameOutlet = {
      ready: () => true,
      send(h: VideoFrameHeader, strips: Buffer[], patch?: { rects: PixelRect[]; moves?: PixelMove[] }) {
        const pixels = Buffer.concat(strips);
        if (!patch) receiver.picture = Buffer.from(pixels);
        else {
          applyMoves(receiver.picture, h.width, patch.moves ?? []);
          applyRects(receiver.picture, h.width, patch.rects, pixels);
        }
        receiver.frames.push({ moves: patch?.moves ?? [], bytes: pixels.length });
        return true;
      },
    };
    const c = new X11DamageCapturer(screen, out, (m) => assert.fail(m));
    await c.start({ fps: 60, idleFps: 0, drawCursor: true, patches: true });
    await waitFor(() => receiver.frames.length === 1, 2000, 'the first frame');
    // The pointer sits inside the page that scrolls: the receivers' copy of it moves with the page.
    for (const [step, dy] of [
      [1, 48],
      [2, 16],
      [3, -32],
    ] as const) {
      screen.picture = scrolled(screen.picture, W, { x: 0, y: 0, w: W, h: H }, dy, textPage(W, H, 20 + step));
      screen.damage({ x: 0, y: 0, w: W, h: H });
      await waitFor(() => receiver.frames.length === 1 + step, 2000, `frame ${1 + step}`);
      const sent = receiver.frames.at(-1)!;
      assert.equal(sent.moves.length, 1, `step ${step}: one move`);
      assert.ok(sent.bytes <= (Math.abs(dy) * W + 2 * 12 * 19) * 4, `step ${step}: ${sent.bytes} bytes sent`);
      const expected = Buffer.from(screen.picture);
      drawCursor(expected, W, H, screen.pointerAt.x, screen.pointerAt.y);
      assert.ok(receiver.picture.equals(expected), `step ${step}: the receiver's picture is the screen with the pointer`);
    }
    const stats = c.stop();
    assert.equal(stats.scrolled, 3);
  });

  it('a box changing on its own beside the scrolling page (a clock, a status line) does not stop the page being looked at', async () => {
    // The box is its own damaged area, large enough to look at and never a scroll. Judged area by
    // area, its miss made the page's next frames go unlooked, and they went out whole.
    const page: PixelRect = { x: 0, y: 112, w: W, h: H - 112 };
    const screen = new PictureScreen(textPage(W, H, 31), W, H);
    let frames = 0;
    let moved = 0;
    const out: FrameOutlet = {
      ready: () => true,
      send(_h: VideoFrameHeader, _strips: Buffer[], patch?: { rects: PixelRect[]; moves?: PixelMove[] }) {
        frames++;
        if (patch?.moves?.length) moved++;
        return true;
      },
    };
    const c = new X11DamageCapturer(screen, out, (m) => assert.fail(m));
    await c.start({ fps: 60, idleFps: 0, drawCursor: false, patches: true });
    await waitFor(() => frames === 1, 2000, 'the first frame');
    for (let step = 1; step <= 8; step++) {
      screen.picture = scrolled(screen.picture, W, page, 16, textPage(W, H, 40 + step));
      screen.picture.fill(step * 20, 0, 100 * W * 4);
      screen.damage({ x: 0, y: 0, w: 200, h: 100 });
      screen.damage(page);
      await waitFor(() => frames === 1 + step, 2000, `frame ${1 + step}`);
    }
    c.stop();
    assert.equal(moved, 8, `frames sent with a move: ${moved} of 8`);
  });
});
