/**
 * A host with two monitors (RandR 1.5 monitors on a real Xvfb) shares the one it chose: the helper
 * lists them, frames are that monitor's size and pixels, the pointer maps onto it, an unknown
 * name is refused with the list, and a monitor unplugged mid-capture moves capture to the one left
 * (or stops it with the reason when none is), as does a screen shrinking under a region.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { readVideoHeader } from '../../protocol/helper-framing';
import type { CaptureErrorNotice, HelperFrame, HelperProcess, RestartInfo } from '../../helper/client';
import { toPixel } from '../../helper/inject/os-sink';
import { helperOn } from './support/helper';
import { mouseLocation, waitFor } from './support/xvfb';
import { BAND, BLUE, LEFT, ORANGE, RIGHT, outputOff, pixelAt, startTwoMonitors, type TwoMonitors } from '../support/two-monitors';

const rect = (m: { name: string; x: number; y: number; width: number; height: number }) => ({ name: m.name, x: m.x, y: m.y, width: m.width, height: m.height });

describe('helper: several monitors', function () {
  this.timeout(60_000);
  let screen: TwoMonitors;
  let helper: HelperProcess & { logLines: string[] };
  const frames: HelperFrame[] = [];
  const errors: CaptureErrorNotice[] = [];
  let seq = 0;

  beforeEach(async () => {
    frames.length = 0;
    errors.length = 0;
    screen = await startTwoMonitors();
    helper = helperOn(screen.x);
    helper.on('frame', (f) => frames.push(f));
    helper.on('captureError', (e) => errors.push(e));
    await helper.start();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(helper.logLines.join('\n'));
    await helper?.stop();
    await screen?.stop();
  });

  const lastFrame = () => frames[frames.length - 1]!;
  async function frameOfSize(width: number, height: number): Promise<HelperFrame> {
    await waitFor(() => frames.some((f) => f.header.width === width && f.header.height === height), 5000, `a ${width}x${height} frame`);
    return frames.filter((f) => f.header.width === width && f.header.height === height).pop()!;
  }
  async function pointerAt(nx: number, ny: number, want: { x: number; y: number }): Promise<void> {
    helper.sendInput('guest-1', { t: 'move', seq: seq++, x: nx, y: ny });
    await waitFor(
      () => {
        const at = mouseLocation(screen.x);
        return at.x === want.x && at.y === want.y;
      },
      5000,
      `the pointer at ${want.x},${want.y} (it is at ${JSON.stringify(mouseLocation(screen.x))})`,
    );
  }

  it('lists the monitors, the primary first, with their places on the screen', async () => {
    assert.deepEqual(await helper.listMonitors(), [LEFT, RIGHT]);
  });

  it('sharing the second monitor sends frames of its size showing what is on it', async () => {
    const r = await helper.startCapture({ fps: 10, monitor: 'RIGHT', drawCursor: false });
    assert.deepEqual([r.width, r.height], [RIGHT.width, RIGHT.height]);
    assert.deepEqual(r.monitor, rect(RIGHT));
    const f = await frameOfSize(RIGHT.width, RIGHT.height);
    // The orange band covers the top of RIGHT only: its first column and last band row are orange, below it blue.
    assert.equal(pixelAt(f.pixels, RIGHT.width, 0, 0), ORANGE);
    assert.equal(pixelAt(f.pixels, RIGHT.width, RIGHT.width - 1, BAND.height - 1), ORANGE);
    assert.equal(pixelAt(f.pixels, RIGHT.width, 0, BAND.height), BLUE);
    assert.equal(pixelAt(f.pixels, RIGHT.width, RIGHT.width - 1, RIGHT.height - 1), BLUE);
  });

  it('a region is taken relative to its monitor', async () => {
    const r = await helper.startCapture({ fps: 10, monitor: 'RIGHT', region: { x: 0, y: 150, width: 640, height: 100 }, drawCursor: false });
    assert.deepEqual([r.width, r.height], [640, 100]);
    const f = await frameOfSize(640, 100);
    assert.equal(pixelAt(f.pixels, 640, 10, 49), ORANGE, 'rows 150-199 of RIGHT are the band');
    assert.equal(pixelAt(f.pixels, 640, 10, 50), BLUE);
    await assert.rejects(
      helper.startCapture({ fps: 10, monitor: 'RIGHT', region: { x: 0, y: 400, width: 640, height: 100 } }),
      (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.BadMessage && /outside the monitor RIGHT 640×480/.test(err.message),
    );
  });

  it('the pointer maps onto the shared monitor', async () => {
    await helper.startCapture({ fps: 5, monitor: 'RIGHT' });
    await helper.grant('guest-1');
    await pointerAt(0.5, 0.5, { x: RIGHT.x + toPixel(0.5, RIGHT.width), y: RIGHT.y + toPixel(0.5, RIGHT.height) });
    await pointerAt(0, 0, { x: RIGHT.x, y: RIGHT.y });
  });

  it('an unknown monitor is refused with the names of the monitors there are', async () => {
    await assert.rejects(
      helper.startCapture({ fps: 5, monitor: 'MIDDLE' }),
      (err: unknown) =>
        err instanceof PairuxError &&
        err.code === ErrorCode.BadMessage &&
        /no monitor named “MIDDLE”.*LEFT 800×600 at 0,0 \(primary\); RIGHT 640×480 at 800,0/.test(err.message),
    );
    assert.equal(helper.currentCapture, null);
    // The helper is fine and shares a monitor that exists.
    assert.equal((await helper.startCapture({ fps: 5, monitor: 'LEFT' })).width, LEFT.width);
  });

  it('the shared monitor unplugged: capture moves to the primary, says so, and the pointer follows', async () => {
    await helper.startCapture({ fps: 10, monitor: 'RIGHT', drawCursor: false });
    await frameOfSize(RIGHT.width, RIGHT.height);
    screen.x.run('xrandr', '--delmonitor', 'RIGHT');
    await waitFor(() => errors.length > 0, 5000, 'word of the monitor going');
    assert.deepEqual(errors, [{ fatal: false, message: 'the shared monitor RIGHT is gone (unplugged?): sharing LEFT 800×600 at 0,0 (primary) instead' }]);
    const f = await frameOfSize(LEFT.width, LEFT.height);
    assert.equal(pixelAt(f.pixels, LEFT.width, LEFT.width - 1, 0), BLUE, 'LEFT has no orange band');
    // A helper restarted from here is asked for the monitor now shared.
    await waitFor(() => helper.currentCapture?.monitor?.name === 'LEFT', 3000, 'the client to follow the move');
    await helper.grant('guest-1');
    await pointerAt(0.5, 0.5, { x: toPixel(0.5, LEFT.width), y: toPixel(0.5, LEFT.height) });
  });

  it("on the helper's own WebSocket too: frames of the monitor, then of the one capture moved to", async () => {
    const r = await helper.startCapture({ fps: 10, deliver: 'websocket', monitor: 'RIGHT', drawCursor: false });
    const sizes: string[] = [];
    const ws = new WebSocket(r.websocketUrl!);
    ws.on('message', (d: Buffer) => {
      const h = readVideoHeader(new DataView(d.buffer, d.byteOffset, d.byteLength), 1, d.length - 1);
      sizes.push(`${h.width}x${h.height}`);
    });
    try {
      await waitFor(() => sizes.includes('640x480'), 5000, "a frame of RIGHT's size");
      screen.x.run('xrandr', '--delmonitor', 'RIGHT');
      await waitFor(() => sizes.includes('800x600'), 5000, "a frame of LEFT's size after the move");
      assert.deepEqual(
        errors.map((e) => e.fatal),
        [false],
      );
    } finally {
      ws.close();
    }
  });

  it('a helper restarted after the move shares the monitor capture moved to', async () => {
    await helper.startCapture({ fps: 10, monitor: 'RIGHT', drawCursor: false });
    screen.x.run('xrandr', '--delmonitor', 'RIGHT');
    await waitFor(() => helper.currentCapture?.monitor?.name === 'LEFT', 5000, 'the client to follow the move');
    const restarted = new Promise<RestartInfo>((resolve) => helper.once('restarted', resolve));
    process.kill(helper.pid!, 'SIGKILL');
    const info = await restarted;
    assert.deepEqual(info.capture?.monitor, rect(LEFT), `capture errors: ${JSON.stringify(errors)}`);
    frames.length = 0;
    await frameOfSize(LEFT.width, LEFT.height);
  });

  it('no monitor left: capture stops with the reason', async () => {
    // Frames keep coming on a still screen, to see capture staying on RIGHT while LEFT goes.
    await helper.startCapture({ fps: 10, idleFps: 10, monitor: 'RIGHT', drawCursor: false });
    await frameOfSize(RIGHT.width, RIGHT.height);
    outputOff(screen.x);
    screen.x.run('xrandr', '--delmonitor', 'LEFT');
    // RIGHT is still there: capture stays on it (a frame after LEFT went, still RIGHT's size).
    const count = frames.length;
    await waitFor(() => frames.length > count, 5000, 'a frame after LEFT went');
    assert.deepEqual([lastFrame().header.width, lastFrame().header.height], [RIGHT.width, RIGHT.height]);
    screen.x.run('xrandr', '--delmonitor', 'RIGHT');
    await waitFor(() => errors.some((e) => e.fatal), 5000, 'capture stopping');
    assert.deepEqual(errors, [{ fatal: true, message: 'the shared monitor RIGHT is gone (unplugged?) and no monitor is left to share: capture stopped' }]);
    assert.equal(helper.currentCapture, null);
  });

  it('the screen shrinking under a shared region stops capture with the reason', async () => {
    await helper.startCapture({ fps: 10, region: { x: 900, y: 0, width: 400, height: 300 }, drawCursor: false });
    await frameOfSize(400, 300);
    try {
      screen.x.run('xrandr', '--fb', '800x600');
    } catch {
      // xrandr exits 1 after shrinking the screen (it cannot shrink Xvfb's CRTC with it).
    }
    await waitFor(() => errors.some((e) => e.fatal), 5000, 'capture stopping');
    assert.ok(
      errors.some((e) => e.fatal && /the screen is now 800[x×]600 and the shared region 400[x×]300.*900.0/.test(e.message)),
      JSON.stringify(errors),
    );
    assert.equal(helper.currentCapture, null);
  });
});
