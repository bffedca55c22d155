/**
 * The robotjs fallback (an X server without DAMAGE) when the screen changes size mid-capture
 * (RandR): the helper lives on and shares the screen at its new size, a whole frame first, then
 * patches; a screen that grows again is followed too; a shared region the screen shrank away from
 * stops capture with the reason, as on the X11 path, and the helper still serves requests.
 */
import assert from 'node:assert/strict';
import type { CaptureErrorNotice, HelperExitInfo, HelperFrame } from '../../helper/client';
import { outputOff } from '../support/two-monitors';
import { recorder, rgb, rgbAt } from './support/frame-pixels';
import { helperOn } from './support/helper';
import { openPainter } from './support/x11-painter';
import { startXvfb, waitFor, type Xvfb } from './support/xvfb';

const BACKGROUND = 0xff8000;

describe('helper capture with robotjs: the screen changing size', function () {
  this.timeout(60_000);
  let x: Xvfb;
  let helper: ReturnType<typeof helperOn>;
  let frames: HelperFrame[];
  let errors: CaptureErrorNotice[];
  let exits: HelperExitInfo[];
  let pid: number | undefined;

  beforeEach(async () => {
    // No DAMAGE: the helper samples the screen with robotjs.
    x = await startXvfb(320, 240, ['-extension', 'DAMAGE']);
    x.run('xsetroot', '-solid', '#ff8000');
    // A death must show as one, not be hidden by a restart.
    helper = helperOn(x, { standby: false, autoRestart: false });
    frames = recorder(helper);
    errors = [];
    exits = [];
    helper.on('captureError', (e) => errors.push(e));
    helper.on('exit', (e) => exits.push(e));
    await helper.start();
    pid = helper.pid;
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error([...helper.logLines.slice(-30), JSON.stringify(exits)].join('\n'));
    await helper?.stop();
    await x?.stop();
  });

  /** Xvfb shrinks only with its output off; xrandr exits 1 after turning it off, failing to resize. */
  function resize(width: number, height: number): void {
    outputOff(x);
    x.run('xrandr', '--fb', `${width}x${height}`);
  }

  function alive(): void {
    assert.deepEqual(exits, [], 'the helper did not exit');
    assert.equal(helper.pid, pid, 'the same helper process');
  }

  const sized = (w: number, h: number) => (f: HelperFrame) => f.header.width === w && f.header.height === h;

  it('the whole screen shrinking: the helper lives on and sends the new size, whole frame first, then patches; growing again is followed', async () => {
    const r = await helper.startCapture({ fps: 10, idleFps: 0, patches: true, drawCursor: false });
    assert.equal(r.backend, 'robotjs');
    assert.deepEqual([r.width, r.height], [320, 240]);
    await waitFor(() => frames.some(sized(320, 240)), 5000, 'a 320x240 frame');

    resize(200, 100);
    await waitFor(() => frames.some(sized(200, 100)) || exits.length > 0, 5000, 'a frame at the new size');
    alive();
    const first = frames.find(sized(200, 100))!;
    assert.equal(first.rects, undefined, 'the first frame at the new size is whole');
    assert.equal(first.pixels.length, 200 * 100 * 4);
    assert.deepEqual(rgbAt(first, 199, 99), rgb(BACKGROUND));
    assert.ok(!frames.slice(frames.indexOf(first)).some(sized(320, 240)), 'no frame of the old size after it');

    const from = frames.length;
    const painter = await openPainter(x.display, { x: 10, y: 10, w: 20, h: 20 }, 0x118899);
    try {
      await waitFor(() => frames.slice(from).some((f) => f.rects && rgbAt(f, 20, 20)?.join() === rgb(0x118899).join()), 3000, 'a patch at the new size');
    } finally {
      await painter.close();
    }
    for (const f of frames.slice(from)) assert.ok(sized(200, 100)(f), `a ${f.header.width}x${f.header.height} frame on a 200x100 screen`);

    x.run('xrandr', '--fb', '320x240');
    await waitFor(() => frames.slice(from).some(sized(320, 240)) || exits.length > 0, 5000, 'a frame at the grown size');
    alive();
    const grown = frames.slice(from).find(sized(320, 240))!;
    assert.equal(grown.rects, undefined, 'the first frame at the grown size is whole');
    assert.equal(grown.pixels.length, 320 * 240 * 4);
    assert.deepEqual(rgbAt(grown, 319, 239), rgb(BACKGROUND), 'the area the screen grew by');

    assert.deepEqual(errors, [], 'a resize is no error');
    assert.ok(
      helper.logLines.some((l) => /changed from 320x240 to 200x100/.test(l)) && helper.logLines.some((l) => /changed from 200x100 to 320x240/.test(l)),
      helper.logLines.join('\n'),
    );
    alive();
  });

  it('a screen growing past the size it had when the helper started is followed, whole frame first', async () => {
    await helper.stop();
    exits.length = 0;
    resize(200, 100);
    // A helper that first saw the screen at 200x100.
    helper = helperOn(x, { standby: false, autoRestart: false });
    frames = recorder(helper);
    helper.on('captureError', (e) => errors.push(e));
    helper.on('exit', (e) => exits.push(e));
    await helper.start();
    pid = helper.pid;
    const r = await helper.startCapture({ fps: 10, idleFps: 0, patches: true, drawCursor: false });
    assert.deepEqual([r.backend, r.width, r.height], ['robotjs', 200, 100]);
    await waitFor(() => frames.some(sized(200, 100)), 5000, 'a 200x100 frame');

    x.run('xrandr', '--fb', '320x240');
    await waitFor(() => frames.some(sized(320, 240)) || errors.length > 0 || exits.length > 0, 5000, 'a frame at the grown size');
    alive();
    assert.deepEqual(errors, [], 'a resize is no error');
    const grown = frames.find(sized(320, 240))!;
    assert.equal(grown.rects, undefined, 'the first frame at the grown size is whole');
    assert.deepEqual(rgbAt(grown, 319, 239), rgb(BACKGROUND), 'the area the screen grew by');
    // Capture goes on there: a change past the old edge arrives.
    const from = frames.length;
    const painter = await openPainter(x.display, { x: 250, y: 150, w: 20, h: 20 }, 0x118899);
    try {
      await waitFor(() => frames.slice(from).some((f) => rgbAt(f, 260, 160)?.join() === rgb(0x118899).join()), 3000, 'a change past the old edge');
    } finally {
      await painter.close();
    }
    assert.deepEqual(errors, []);
    alive();
  });

  it('the screen shrinking under a shared region stops capture with the reason, and the helper serves on', async () => {
    const r = await helper.startCapture({ fps: 10, region: { x: 220, y: 0, width: 80, height: 60 }, drawCursor: false });
    assert.equal(r.backend, 'robotjs');
    await waitFor(() => frames.some(sized(80, 60)), 5000, 'a frame of the region');

    resize(200, 100);
    await waitFor(() => errors.some((e) => e.fatal) || exits.length > 0, 5000, 'capture stopping');
    alive();
    assert.ok(
      errors.some((e) => e.fatal && /the screen is now 200[x×]100 and the shared region 80[x×]60.*220.0/.test(e.message)),
      JSON.stringify(errors),
    );
    assert.equal(helper.currentCapture, null);

    // The helper is fine: the whole screen, at its new size.
    const from = frames.length;
    const again = await helper.startCapture({ fps: 10, drawCursor: false });
    assert.deepEqual([again.width, again.height], [200, 100]);
    await waitFor(() => frames.slice(from).some(sized(200, 100)), 5000, 'a frame of the shrunk screen');
    alive();
  });
});
