/**
 * The X11 damage capturer against a fake X connection, for what a test X server cannot do: the
 * screen changing size mid-capture (Xvfb cannot resize), reads that fail, and an outlet that
 * stays busy while damage keeps coming.
 */
import assert from 'node:assert/strict';
import type { PixelRect, VideoFrameHeader } from '../../protocol/helper-framing';
import type { FrameOutlet } from '../../helper/capture/capturer';
import { X11DamageCapturer } from '../../helper/capture/x11-damage-capturer';
import { FakeDamageScreen } from './support/fake-damage-screen';
import { waitFor } from './support/xvfb';

class FakeScreen extends FakeDamageScreen {
  /** What reads return where nothing was painted: every byte this value. */
  fill = 1;
  /** Painted areas, newest last: reads return their byte inside them. */
  painted: Array<{ r: PixelRect; v: number }> = [];
  failReads = 0;
  reads: PixelRect[][] = [];
  constructor() {
    super(64, 48);
  }
  grab(rects: readonly PixelRect[]) {
    this.reads.push([...rects]);
    for (const r of rects) {
      if (r.x + r.w > this.width || r.y + r.h > this.height || this.failReads > 0) {
        this.failReads = Math.max(0, this.failReads - 1);
        return Promise.reject(new Error('BadMatch (X error 8, request 73.0)'));
      }
    }
    return Promise.resolve(
      rects.map((r) => {
        const px = Buffer.alloc(r.w * r.h * 4, this.fill);
        for (const { r: p, v } of this.painted) {
          for (let y = Math.max(r.y, p.y); y < Math.min(r.y + r.h, p.y + p.h); y++) {
            for (let x = Math.max(r.x, p.x); x < Math.min(r.x + r.w, p.x + p.w); x++)
              px.fill(v, ((y - r.y) * r.w + (x - r.x)) * 4, ((y - r.y) * r.w + (x - r.x) + 1) * 4);
          }
        }
        return px;
      }),
    );
  }
}

interface Sent {
  header: VideoFrameHeader;
  bytes: number;
  rects?: PixelRect[];
}

function outlet(): FrameOutlet & { sent: Sent[]; isReady: boolean } {
  const o = {
    sent: [] as Sent[],
    isReady: true,
    ready: () => o.isReady,
    send(header: VideoFrameHeader, strips: Buffer[], patch?: { rects: PixelRect[] }) {
      o.sent.push({ header, bytes: strips.reduce((n, s) => n + s.length, 0), ...(patch ? { rects: patch.rects } : {}) });
      return true;
    },
  };
  return o;
}

describe('helper capture: X11 damage capturer (fake X server)', function () {
  this.timeout(10_000);
  const settings = { fps: 60, idleFps: 0, drawCursor: false, patches: true };

  it('a screen that changes size mid-capture goes on at the new size, with a whole frame', async () => {
    const screen = new FakeScreen();
    const out = outlet();
    const logs: string[] = [];
    const errors: string[] = [];
    const c = new X11DamageCapturer(
      screen,
      out,
      (m) => errors.push(m),
      (l) => logs.push(l),
    );
    await c.start(settings);
    await waitFor(() => out.sent.length === 1, 2000, 'the first frame');
    screen.width = 100;
    screen.height = 80;
    screen.damage({ x: 0, y: 0, w: 100, h: 80 });
    await waitFor(() => out.sent.length === 2, 2000, 'a frame after the resize');
    const f = out.sent[1]!;
    assert.deepEqual([f.header.width, f.header.height, f.rects, f.bytes], [100, 80, undefined, 100 * 80 * 4]);
    assert.deepEqual(c.target, { x: 0, y: 0, width: 100, height: 80 });
    assert.ok(
      logs.some((l) => l.includes('64x48 to 100x80')),
      logs.join('\n'),
    );
    assert.deepEqual(errors, []);
    c.stop();
  });

  it('a shared region that no longer fits after a resize stops capture with a fatal error', async () => {
    const screen = new FakeScreen();
    const out = outlet();
    const errors: Array<[string, boolean]> = [];
    const c = new X11DamageCapturer(screen, out, (m, fatal) => errors.push([m, fatal]));
    await c.start({ ...settings, region: { x: 32, y: 0, width: 32, height: 48 } });
    await waitFor(() => out.sent.length === 1, 2000, 'the first frame');
    screen.width = 40;
    screen.damage({ x: 0, y: 0, w: 40, h: 48 });
    await waitFor(() => errors.length > 0, 2000, 'an error');
    assert.equal(errors[0]![1], true);
    assert.match(errors[0]![0], /no longer fits/);
    assert.equal(c.running, false);
  });

  it('a failed read is reported once (not fatal) and capture recovers with a whole frame', async () => {
    const screen = new FakeScreen();
    const out = outlet();
    const errors: Array<[string, boolean]> = [];
    const c = new X11DamageCapturer(screen, out, (m, fatal) => errors.push([m, fatal]));
    await c.start(settings);
    await waitFor(() => out.sent.length === 1, 2000, 'the first frame');
    screen.failReads = 3;
    screen.fill = 9;
    screen.damage({ x: 1, y: 1, w: 2, h: 2 });
    await waitFor(() => out.sent.length === 2, 3000, 'a frame after the failures');
    assert.deepEqual(errors.length, 1);
    assert.equal(errors[0]![1], false);
    assert.match(errors[0]![0], /BadMatch/);
    assert.equal(out.sent[1]!.rects, undefined, 'whole, since what the runner has is unknown');
    assert.equal(c.running, true);
    c.stop();
  });

  it('damage over unchanged pixels sends nothing; a change inside a large damaged area goes out as just that part', async () => {
    const screen = new FakeScreen();
    const out = outlet();
    const c = new X11DamageCapturer(screen, out, () => undefined);
    await c.start(settings);
    await waitFor(() => out.sent.length === 1, 2000, 'the first frame');
    const reads = screen.reads.length;
    screen.damage({ x: 0, y: 0, w: 64, h: 48 });
    await waitFor(() => screen.reads.length > reads, 2000, 'the damage read');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(out.sent.length, 1, 'the same pixels drawn again: no frame');
    assert.equal(c.stats().unchanged, 1);
    screen.painted.push({ r: { x: 20, y: 10, w: 3, h: 2 }, v: 7 });
    screen.damage({ x: 0, y: 0, w: 64, h: 48 });
    await waitFor(() => out.sent.length === 2, 2000, 'the change');
    // Columns in 16-px blocks, rows exact.
    assert.deepEqual(out.sent[1]!.rects, [{ x: 16, y: 10, w: 16, h: 2 }]);
    c.stop();
  });

  it('while the outlet is busy, damage coalesces into one frame sent when it is ready', async () => {
    const screen = new FakeScreen();
    const out = outlet();
    const c = new X11DamageCapturer(screen, out, () => undefined);
    await c.start(settings);
    await waitFor(() => out.sent.length === 1, 2000, 'the first frame');
    out.isReady = false;
    screen.fill = 2;
    for (let i = 0; i < 50; i++) screen.damage({ x: i % 10, y: 5, w: 1, h: 1 });
    screen.damage({ x: 40, y: 40, w: 2, h: 2 });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(out.sent.length, 1, 'nothing while busy');
    const readsBefore = screen.reads.length;
    out.isReady = true;
    await waitFor(() => out.sent.length === 2, 2000, 'the coalesced frame');
    assert.deepEqual(out.sent[1]!.rects, [
      { x: 0, y: 5, w: 10, h: 1 },
      { x: 40, y: 40, w: 2, h: 2 },
    ]);
    assert.equal(screen.reads.length - readsBefore, 1, 'one read for it all');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(out.sent.length, 2, 'and no queue behind it');
    assert.ok(c.stats().busy > 0);
    c.stop();
  });
});
