/**
 * Helper capture with `patches`: a full frame first, then only the rows that changed since the
 * last frame sent, which rebuild the screen exactly; an unchanged screen sends empty patches.
 */
import assert from 'node:assert/strict';
import type { HelperFrame, HelperProcess } from '../../helper/client';
import { FrameRelay } from '../../demo/frame-relay';
import { BridgeFrameSource } from '../../webview/engine/bridge-frame-source';
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

  it('sends a full frame, then a band covering just what changed, and the runner rebuilds the screen', async () => {
    await helper.startCapture({ fps: 20, idleFps: 2, patches: true, drawCursor: false });
    await waitFor(() => frames.length >= 1, 5000, 'the first frame');
    assert.equal(frames[0]!.band, undefined, 'the first frame is whole');
    const from = frames.length;
    const term = await startXterm(x, { geometry: '10x3+200+300', bg: '#ff8000', command: 'sleep 600' });
    await waitFor(() => frames.slice(from).some((f) => f.band && f.band.rows > 0), 5000, 'a patch with rows');
    const patch = frames.slice(from).find((f) => f.band && f.band.rows > 0)!;
    assert.ok(patch.band!.rows < 480, `only part of the screen (${patch.band!.rows} rows)`);
    assert.ok(patch.band!.firstRow <= 300 && patch.band!.firstRow + patch.band!.rows > 300, `the band covers row 300: ${JSON.stringify(patch.band)}`);
    assert.equal(patch.pixels.length, patch.band!.rows * 640 * 4);

    // Replayed through the runner's relay into a page-side source, the last picture shows the patch.
    let shown: Uint8Array | undefined;
    const page = new BridgeFrameSource({ width: 640, height: 480, fps: 20, name: 'helper', keepPicture: true });
    page.start((f) => (shown = new Uint8Array(f.data instanceof ArrayBuffer ? f.data : f.data.slice())));
    const relay = new FrameRelay({ connected: () => true, ready: () => true, send: (b) => page.push(b) });
    for (const f of frames) relay.push(f.header, f.pixels, f.band);
    assert.ok(shown);
    const at = (px: number, py: number) => [shown![(py * 640 + px) * 4 + 2], shown![(py * 640 + px) * 4 + 1], shown![(py * 640 + px) * 4]];
    assert.deepEqual(at(220, 310), [0xff, 0x80, 0x00], 'the orange xterm, in BGRX, at its place');
    assert.deepEqual(at(50, 50), [0x20, 0x30, 0x40], 'the background elsewhere');
    await term.stop();
  });

  it('a still screen sends empty patches at the idle rate', async () => {
    const from = frames.length;
    await new Promise((r) => setTimeout(r, 1500));
    const idle = frames.slice(from);
    assert.ok(idle.length >= 1, 'idle frames keep coming');
    assert.ok(idle.every((f) => f.band?.rows === 0 || (f.band && f.band.rows < 480)), JSON.stringify(idle.map((f) => f.band)));
  });
});
