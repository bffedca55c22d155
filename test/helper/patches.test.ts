/**
 * Helper capture with `patches`: a full frame first, then only the rectangles that changed since
 * the last frame sent, which rebuild the screen exactly; an unchanged screen sends empty changes.
 */
import assert from 'node:assert/strict';
import type { HelperFrame, HelperProcess } from '../../helper/client';
import { FrameRelay } from '../../runner/frame-relay';
import { BridgeFrameSource } from '../../webview/engine/frames/bridge-frame-source';
import { helperOn } from './support/helper';
import { startXterm, startXvfb, waitFor, type Xvfb } from './support/xvfb';

describe('helper capture with patches', function () {
  this.timeout(60_000);
  let x: Xvfb;
  let helper: HelperProcess;
  const frames: HelperFrame[] = [];

  before(async () => {
    x = await startXvfb(640, 480);
    x.run('xsetroot', '-solid', '#203040');
    helper = helperOn(x, { standby: false });
    helper.on('frame', (f) => frames.push({ ...f, pixels: Buffer.from(f.pixels) }));
    await helper.start();
  });
  after(async () => {
    await helper?.stop();
    await x?.stop();
  });

  const changes = (list: HelperFrame[]) => list.filter((f) => f.rects && f.rects.length > 0);

  it('sends a full frame, then rectangles covering just what changed, and the runner rebuilds the screen', async () => {
    await helper.startCapture({ fps: 20, idleFps: 2, patches: true, drawCursor: false });
    await waitFor(() => frames.length >= 1, 5000, 'the first frame');
    assert.equal(frames[0]!.rects, undefined, 'the first frame is whole');
    const from = frames.length;
    const term = await startXterm(x, { geometry: '10x3+200+300', bg: '#ff8000', command: 'sleep 600' });
    await waitFor(() => changes(frames.slice(from)).length > 0, 5000, 'a change');
    const patch = changes(frames.slice(from))[0]!;
    const covers = (px: number, py: number) => patch.rects!.some((r) => r.x <= px && px < r.x + r.w && r.y <= py && py < r.y + r.h);
    assert.ok(covers(210, 310), `a rectangle covers the new xterm: ${JSON.stringify(patch.rects)}`);
    assert.ok(!covers(50, 50) && !covers(600, 310), `and not the still background left and right of it: ${JSON.stringify(patch.rects)}`);
    assert.equal(
      patch.pixels.length,
      patch.rects!.reduce((n, r) => n + r.w * r.h * 4, 0),
    );

    // Replayed through the runner's relay into a page-side source, the last picture shows the patch.
    let shown: Uint8Array | undefined;
    const page = new BridgeFrameSource({ width: 640, height: 480, fps: 20, name: 'helper', keepPicture: true });
    page.start((f) => (shown = new Uint8Array(f.data instanceof ArrayBuffer ? f.data : f.data.slice())));
    const relay = new FrameRelay({ connected: () => true, ready: () => true, send: (b) => page.push(b) });
    for (const f of frames) relay.push(f.header, f.pixels, f.rects);
    assert.ok(shown);
    const at = (px: number, py: number) => [shown![(py * 640 + px) * 4 + 2], shown![(py * 640 + px) * 4 + 1], shown![(py * 640 + px) * 4]];
    assert.deepEqual(at(220, 310), [0xff, 0x80, 0x00], 'the orange xterm, in BGRX, at its place');
    assert.deepEqual(at(50, 50), [0x20, 0x30, 0x40], 'the background elsewhere');
    await term.stop();
  });

  it('a still screen sends empty changes at the idle rate', async () => {
    // The xterm closing at the end of the last test is a change; let it land first.
    await new Promise((r) => setTimeout(r, 500));
    const from = frames.length;
    await new Promise((r) => setTimeout(r, 1500));
    const idle = frames.slice(from);
    assert.ok(idle.length >= 1, 'idle frames keep coming');
    assert.ok(
      idle.every((f) => f.rects?.length === 0),
      JSON.stringify(idle.map((f) => f.rects)),
    );
  });

  it('a pointer moved across the screen costs its two places, not the rows between them', async () => {
    x.run('xdotool', 'mousemove', '40', '40');
    const started = frames.length;
    await helper.startCapture({ fps: 20, idleFps: 2, patches: true, drawCursor: true });
    await waitFor(() => frames.slice(started).some((f) => !f.rects), 5000, 'a whole frame');
    await new Promise((r) => setTimeout(r, 300));
    const from = frames.length;
    x.run('xdotool', 'mousemove', '500', '400');
    await waitFor(() => changes(frames.slice(from)).length > 0, 5000, 'the move');
    const move = changes(frames.slice(from))[0]!;
    assert.equal(move.rects!.length, 2, JSON.stringify(move.rects));
    const [before, after] = move.rects!;
    assert.ok(before!.x <= 40 && before!.y <= 40 && before!.y + before!.h > 40, `the old place: ${JSON.stringify(before)}`);
    assert.ok(after!.x <= 500 && after!.y <= 400 && after!.y + after!.h > 400, `the new place: ${JSON.stringify(after)}`);
    // Two arrows (12×19, blocks of 16 px) instead of 380 rows of 640 px.
    assert.ok(move.pixels.length < 2 * 32 * 19 * 4 + 1, `${move.pixels.length} bytes`);
  });
});
