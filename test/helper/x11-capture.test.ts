/**
 * Event-driven X11 capture on a real X server: a still screen sends nothing after the first
 * frame, a change goes out as a patch of just its area with its pixels, a damage storm is capped
 * at fps without a queue, the pointer's moves go out as patches with it drawn, a new WebSocket
 * viewer gets a picture without idle frames; a scrolled page goes out as a move; a server without DAMAGE falls back to robotjs with a
 * reason, one without MIT-SHM reads with the core GetImage; a dropped X connection stops capture
 * with a fatal capture.error; a screen that shrinks is followed.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { HelperFrame } from '../../helper/client';
import { cursorPixel } from '../../helper/capture/cursor';
import { applyMoves, applyRects } from '../../protocol/helper-framing';
import type { CaptureErrorNotice } from '../../helper/client';
import { recorder, rgb, rgbAt } from './support/frame-pixels';
import { helperOn } from './support/helper';
import { openPainter, type Painter } from './support/x11-painter';
import { startXvfb, waitFor, type Xvfb } from './support/xvfb';

type Helper = ReturnType<typeof helperOn>;

/** The stats the helper logs when capture stops. */
function lastStats(helper: Helper): Record<string, number> {
  const line = [...helper.logLines].reverse().find((l) => l.includes('capture stopped: {'));
  assert.ok(line, `a stats line in the log: ${helper.logLines.join('\n')}`);
  return JSON.parse(line.slice(line.indexOf('{'))) as Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('helper capture on X11 damage', function () {
  this.timeout(60_000);
  let x: Xvfb;
  let helper: Helper;
  let frames: HelperFrame[];
  let painter: Painter | undefined;

  before(async () => {
    x = await startXvfb(640, 480);
    x.run('xsetroot', '-solid', '#203040');
    x.run('xdotool', 'mousemove', '600', '450');
    helper = helperOn(x, { standby: false });
    frames = recorder(helper);
    await helper.start();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(helper.logLines.slice(-20).join('\n'));
    await helper.stopCapture().catch(() => undefined);
    await painter?.close();
    painter = undefined;
  });
  after(async () => {
    await helper?.stop();
    await x?.stop();
  });

  it('an unchanged screen sends nothing after the first frame and grabs nothing, and a change still goes out', async () => {
    painter = await openPainter(x.display, { x: 100, y: 100, w: 20, h: 20 }, 0x203040);
    const from = frames.length;
    // idleFps left at its default: 0.
    const r = await helper.startCapture({ fps: 30, patches: true, drawCursor: true });
    assert.equal(r.backend, 'x11');
    assert.equal(r.fallback, undefined);
    await waitFor(() => frames.length > from, 5000, 'the first frame');
    await sleep(3000);
    assert.equal(frames.length - from, 1, `frames of a still screen in 3 s: ${frames.length - from}`);
    // The capture was live all along: a change goes out.
    painter.paint(0xffffff);
    await waitFor(() => frames.length > from + 1, 3000, 'the change');
    await helper.stopCapture();
    const stats = lastStats(helper);
    assert.equal(stats.grabbed, 2, `reads: the first frame and the change (${JSON.stringify(stats)})`);
  });

  it('a small change on a still screen arrives as a patch of just that area, with its pixels', async () => {
    painter = await openPainter(x.display, { x: 300, y: 200, w: 40, h: 30 }, 0x203040);
    const from = frames.length;
    await helper.startCapture({ fps: 30, idleFps: 0, patches: true, drawCursor: false });
    await waitFor(() => frames.length > from, 5000, 'the first frame');
    assert.equal(frames[from]!.rects, undefined, 'the first frame is whole');
    painter.paint(0x11aa33);
    await waitFor(() => frames.slice(from + 1).some((f) => rgbAt(f, 320, 215)?.join() === rgb(0x11aa33).join()), 3000, 'the painted colour');
    const patch = frames.slice(from + 1).find((f) => rgbAt(f, 320, 215)?.join() === rgb(0x11aa33).join())!;
    assert.ok(patch.rects && patch.rects.length > 0, 'a patch, not a whole frame');
    for (const r of patch.rects) {
      assert.ok(r.x >= 300 && r.y >= 200 && r.x + r.w <= 340 && r.y + r.h <= 230, `only the painted area: ${JSON.stringify(patch.rects)}`);
    }
    for (const [px, py] of [
      [300, 200],
      [339, 229],
    ] as const)
      assert.deepEqual(rgbAt(patch, px, py), rgb(0x11aa33), `pixel ${px},${py}`);
  });

  it('a damage storm (painted 200 times a second) goes out at no more than fps, without a queue', async () => {
    painter = await openPainter(x.display, { x: 50, y: 50, w: 200, h: 100 }, 0x0000ff);
    const from = frames.length;
    await helper.startCapture({ fps: 20, idleFps: 0, patches: true, drawCursor: false });
    await waitFor(() => frames.length > from, 5000, 'the first frame');
    const stopStorm = painter.storm(200);
    const stormFrom = frames.length;
    await sleep(2000);
    stopStorm();
    const during = frames.length - stormFrom;
    // 2 s at 20 fps is 40, +2 for a burst after the pause, +2 for the edges of the window; a queue would be hundreds.
    assert.ok(during <= 44, `${during} frames in 2 s of a 200 Hz storm at fps 20`);
    assert.ok(during >= 4, `the storm was captured: ${during} frames`);
    // No backlog: the last colour arrives promptly, and nothing queued trails behind it.
    painter.paint(0x00ff00);
    const t = Date.now();
    await waitFor(() => rgbAt(frames.at(-1)!, 150, 100)?.join() === rgb(0x00ff00).join(), 3000, 'the colour painted after the storm');
    const arrived = frames.length;
    await sleep(500);
    assert.ok(frames.length - arrived <= 1, `${frames.length - arrived} frames trailed the last change (in ${Date.now() - t} ms)`);
  });

  it('the pointer moving on a still screen goes out as patches with the pointer drawn at its new place', async () => {
    x.run('xdotool', 'mousemove', '40', '40');
    const from = frames.length;
    await helper.startCapture({ fps: 30, idleFps: 0, patches: true, drawCursor: true });
    await waitFor(() => frames.length > from, 5000, 'the first frame');
    const moved = frames.length;
    x.run('xdotool', 'mousemove', '500', '300');
    await waitFor(() => frames.slice(moved).some((f) => (f.rects?.length ?? 0) > 0), 3000, 'a patch for the move');
    const patch = frames.slice(moved).find((f) => (f.rects?.length ?? 0) > 0)!;
    for (let dy = 0; dy < 19; dy++) {
      for (let dx = 0; dx < 12; dx++) {
        const kind = cursorPixel(dx, dy);
        const want = kind === 'outline' ? [0, 0, 0] : kind === 'fill' ? [255, 255, 255] : rgb(0x203040);
        assert.deepEqual(rgbAt(patch, 500 + dx, 300 + dy), want, `arrow pixel ${dx},${dy} (${kind})`);
      }
    }
    assert.deepEqual(rgbAt(patch, 41, 45), rgb(0x203040), 'the old place shows the background again');
  });

  it('a page scrolled as a terminal does (CopyArea) goes out as a move and the new rows, and the rebuilt screen is right', async () => {
    const area = { x: 100, y: 100, w: 320, h: 240 };
    painter = await openPainter(x.display, area, 0x203040);
    // Every row different, as lines of text are: where a row came from is unambiguous.
    const rowsOf = (first: number, count: number) => {
      const px = Buffer.alloc(area.w * count * 4, 0x20);
      for (let k = 0; k < count; k++) {
        const n = first + k;
        const start = (n * 37) % 200;
        px.fill((n * 53) & 0xff, (k * area.w + start) * 4, (k * area.w + start + 40 + (n % 60)) * 4);
      }
      return px;
    };
    painter.image(rowsOf(0, area.h), { x: 0, y: 0, w: area.w, h: area.h });
    await painter.painted();
    const from = frames.length;
    await helper.startCapture({ fps: 30, idleFps: 0, patches: true, drawCursor: false });
    await waitFor(() => frames.length > from, 5000, 'the first frame');
    painter.copy({ x: 0, y: 32, w: area.w, h: area.h - 32 }, { x: 0, y: 0 });
    painter.image(rowsOf(area.h, 32), { x: 0, y: area.h - 32, w: area.w, h: 32 });
    await painter.painted();
    const want = rowsOf(32, area.h);
    const rebuild = () => {
      const screen = Buffer.from(frames[from]!.pixels);
      for (const f of frames.slice(from + 1)) {
        applyMoves(screen, 640, f.moves ?? []);
        applyRects(screen, 640, f.rects ?? [], f.pixels);
      }
      return screen;
    };
    const shows = (screen: Buffer) => {
      for (let k = 0; k < area.h; k++) {
        const at = ((area.y + k) * 640 + area.x) * 4;
        if (!screen.subarray(at, at + area.w * 4).equals(want.subarray(k * area.w * 4, (k + 1) * area.w * 4))) return false;
      }
      return true;
    };
    await waitFor(() => shows(rebuild()), 3000, 'the scrolled page in the rebuilt screen');
    const scrolls = frames.slice(from + 1).filter((f) => f.moves?.length);
    assert.ok(scrolls.length > 0, `a frame with a move among ${frames.length - from - 1}`);
    const sent = frames.slice(from + 1).reduce((n, f) => n + f.pixels.length, 0);
    assert.ok(sent < (area.w * area.h * 4) / 2, `${sent} bytes of pixels sent for a page of ${area.w * area.h * 4}`);
  });

  it('with no idle frames, every new WebSocket viewer still gets a picture at once', async () => {
    const r = await helper.startCapture({ fps: 30, idleFps: 0, deliver: 'websocket', drawCursor: false });
    assert.equal(r.backend, 'x11');
    const firstFrame = async () => {
      const ws = new WebSocket(r.websocketUrl!);
      try {
        return await new Promise<Buffer>((resolve, reject) => {
          ws.once('message', (d) => resolve(d as Buffer));
          ws.once('error', reject);
          setTimeout(() => reject(new Error('no frame within 3 s')), 3000);
        });
      } finally {
        ws.close();
      }
    };
    const a = await firstFrame();
    await sleep(1000);
    const b = await firstFrame();
    for (const data of [a, b]) {
      assert.equal(data[0], 1, 'a whole video frame');
      assert.equal(data.length, 1 + 20 + 640 * 480 * 4);
    }
  });
});

describe('helper capture on X11 servers without DAMAGE or MIT-SHM', function () {
  this.timeout(60_000);
  const servers: Xvfb[] = [];
  const helpers: Helper[] = [];
  after(async () => {
    for (const h of helpers) await h.stop();
    for (const x of servers) await x.stop();
  });

  async function helperOnServer(...extraArgs: string[]): Promise<{ x: Xvfb; helper: Helper; frames: HelperFrame[] }> {
    const x = await startXvfb(320, 240, extraArgs);
    servers.push(x);
    x.run('xsetroot', '-solid', '#ff8000');
    const helper = helperOn(x, { standby: false });
    helpers.push(helper);
    const frames = recorder(helper);
    await helper.start();
    return { x, helper, frames };
  }

  it('no DAMAGE: robotjs samples the screen, the answer and the log say why, and the pixels are right', async () => {
    const { helper, frames } = await helperOnServer('-extension', 'DAMAGE');
    const r = await helper.startCapture({ fps: 10, drawCursor: false });
    assert.equal(r.backend, 'robotjs');
    assert.match(r.fallback ?? '', /no DAMAGE extension/);
    assert.ok(
      helper.logLines.some((l) => /DAMAGE.*robotjs/.test(l)),
      helper.logLines.join('\n'),
    );
    await waitFor(() => frames.length > 0, 5000, 'a frame');
    assert.deepEqual(rgbAt(frames[0]!, 160, 120), rgb(0xff8000));
  });

  it('no MIT-SHM: damage still drives capture, read with the core GetImage, with the right pixels', async () => {
    const { x, helper, frames } = await helperOnServer('-extension', 'MIT-SHM');
    const r = await helper.startCapture({ fps: 10, idleFps: 0, patches: true, drawCursor: false });
    assert.equal(r.backend, 'x11');
    assert.ok(
      helper.logLines.some((l) => /MIT-SHM is not used.*core GetImage/.test(l)),
      helper.logLines.join('\n'),
    );
    await waitFor(() => frames.length > 0, 5000, 'a frame');
    assert.deepEqual(rgbAt(frames[0]!, 160, 120), rgb(0xff8000));
    const painter = await openPainter(x.display, { x: 10, y: 20, w: 30, h: 40 }, 0x118899);
    try {
      await waitFor(() => frames.some((f) => rgbAt(f, 25, 40)?.join() === rgb(0x118899).join()), 3000, 'the painted window');
    } finally {
      await painter.close();
    }
  });

  it('the screen shrinking mid-capture (RandR): capture goes on at the new size, whole frame first, then patches', async () => {
    const { x, helper, frames } = await helperOnServer();
    const errors: CaptureErrorNotice[] = [];
    helper.on('captureError', (e) => errors.push(e));
    const r = await helper.startCapture({ fps: 10, idleFps: 0, patches: true, drawCursor: false });
    assert.equal(r.backend, 'x11');
    await waitFor(() => frames.length > 0, 5000, 'a frame');
    // Xvfb shrinks only with its output off (xrandr exits 1 after turning it off, failing to resize).
    try {
      x.run('xrandr', '--output', 'screen', '--off');
    } catch {
      // expected, see above
    }
    x.run('xrandr', '--fb', '200x100');
    await waitFor(() => frames.some((f) => f.header.width === 200 && f.header.height === 100), 5000, 'a frame at the new size');
    const first = frames.find((f) => f.header.width === 200)!;
    assert.equal(first.rects, undefined, 'the first frame at the new size is whole');
    assert.equal(first.pixels.length, 200 * 100 * 4);
    const from = frames.length;
    const painter = await openPainter(x.display, { x: 10, y: 10, w: 20, h: 20 }, 0x118899);
    try {
      await waitFor(() => frames.slice(from).some((f) => f.rects && rgbAt(f, 20, 20)?.join() === rgb(0x118899).join()), 3000, 'a patch at the new size');
    } finally {
      await painter.close();
    }
    assert.ok(!errors.some((e) => e.fatal), JSON.stringify(errors));
    assert.ok(
      helper.logLines.some((l) => /changed from 320x240 to 200x100/.test(l)),
      helper.logLines.join('\n'),
    );
  });

  it('the X server going away stops capture with a fatal capture.error that says so', async () => {
    const { x, helper, frames } = await helperOnServer();
    const errors: CaptureErrorNotice[] = [];
    helper.on('captureError', (e) => errors.push(e));
    await helper.startCapture({ fps: 10, idleFps: 0, patches: true });
    await waitFor(() => frames.length > 0, 5000, 'a frame');
    await x.stop();
    await waitFor(() => errors.some((e) => e.fatal), 5000, 'a fatal capture error');
    assert.match(errors.find((e) => e.fatal)!.message, /closed the connection|capture stopped/);
  });
});
