/**
 * Screen capture on a real X server: what is on the screen arrives in the frames, at the right
 * size, in BGRX order, with the pointer drawn; a still screen costs `idleFps` frames, a busy one
 * the requested rate; the loopback WebSocket delivers the same frames to whoever has the key;
 * and a Wayland session whose portal cannot be reached is refused with a reason instead of a black screen.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { readVideoHeader, type VideoFrameHeader } from '../../protocol/helper-framing';
import { HelperProcess, type HelperFrame, type RestartInfo } from '../../helper/client';
import { cursorPixel, drawCursor } from '../../helper/capture/cursor';
import { sameScreen, tightPixels } from '../../helper/capture/pixels';
import { helperOn } from './support/helper';
import { startXterm, startXvfb, waitFor, type Xterm, type Xvfb } from './support/xvfb';

/** [B, G, R] at (x, y) of a tightly packed BGRX frame. */
function bgr(f: { header: VideoFrameHeader; pixels: Buffer }, x: number, y: number): number[] {
  const at = (y * f.header.width + x) * 4;
  return [f.pixels[at]!, f.pixels[at + 1]!, f.pixels[at + 2]!];
}

const ORANGE = [0x00, 0x80, 0xff]; // #ff8000 as B, G, R
const TEAL = [0x99, 0x88, 0x11]; // #118899

function nextFrame(helper: HelperProcess, where: (f: HelperFrame) => boolean = () => true, ms = 5000): Promise<HelperFrame> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      helper.off('frame', on);
      reject(new Error(`no matching frame within ${ms} ms`));
    }, ms);
    const on = (f: HelperFrame) => {
      if (!where(f)) return;
      clearTimeout(timer);
      helper.off('frame', on);
      resolve(f);
    };
    helper.on('frame', on);
  });
}

describe('helper capture: pixels', () => {
  it('repacks rows padded by the X server into tight rows', () => {
    const image = Buffer.alloc(3 * 12);
    for (let y = 0; y < 3; y++) for (let i = 0; i < 8; i++) image[y * 12 + i] = y * 10 + i;
    const tight = tightPixels({ width: 2, height: 3, byteWidth: 12, bytesPerPixel: 4, image });
    assert.deepEqual([...tight], [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25, 26, 27]);
  });

  it('compares a new grab with a frame that has the pointer drawn in, as if it were not', () => {
    const w = 40;
    const h = 30;
    const grab = () => Buffer.alloc(w * h * 4, 0x33);
    const sent = grab();
    const stamp = drawCursor(sent, w, h, 30, 20); // clipped at the right and bottom edges
    assert.ok(stamp);
    assert.equal(sent.equals(grab()), false, 'the arrow is in the frame');
    assert.equal(sameScreen(grab(), sent, w, stamp), true, 'same screen underneath');
    const changedUnder = grab();
    changedUnder[(22 * w + 31) * 4] = 0; // a pixel under the arrow changed
    assert.equal(sameScreen(changedUnder, sent, w, stamp), false);
    const changedElsewhere = grab();
    changedElsewhere[5] = 0;
    assert.equal(sameScreen(changedElsewhere, sent, w, stamp), false);
  });
});

// Both capturers (X11 damage, the default where DAMAGE is, and robotjs sampling) answer to the same expectations.
for (const backend of ['x11', 'robotjs'] as const) {
  describe(`helper capture: a real screen (${backend})`, function () {
    this.timeout(60_000);
    let x: Xvfb;
    let helper: ReturnType<typeof helperOn>;

    before(async () => {
      x = await startXvfb(800, 600);
      x.run('xsetroot', '-solid', '#ff8000');
      helper = helperOn(x, { env: { ...x.env, PAIRUX_CAPTURE: backend } });
      await helper.start();
    });
    afterEach(async function () {
      if (this.currentTest?.state === 'failed') console.error(helper.logLines.slice(-20).join('\n'));
      await helper.stopCapture().catch(() => undefined);
    });
    after(async () => {
      await helper?.stop();
      await x?.stop();
    });

    it('says in hello which display it captures and that capture is available', () => {
      assert.deepEqual(helper.info?.screen, { name: x.display, width: 800, height: 600 });
      assert.deepEqual(helper.info?.capture, { available: true });
    });

    it('sends the whole screen at its size, in BGRX order, with the colours on the screen', async () => {
      const first = nextFrame(helper);
      const r = await helper.startCapture({ fps: 10, drawCursor: false });
      assert.deepEqual(r, { width: 800, height: 600, fps: 10, backend });
      const f = await first;
      assert.equal(f.header.format, 'BGRX');
      assert.deepEqual([f.header.width, f.header.height, f.pixels.length], [800, 600, 800 * 600 * 4]);
      for (const [px, py] of [
        [0, 0],
        [799, 0],
        [400, 300],
        [0, 599],
        [799, 599],
      ] as const)
        assert.deepEqual(bgr(f, px, py), ORANGE, `pixel ${px},${py}`);
      assert.ok(Math.abs(f.header.captureTime - Date.now()) < 2000, 'captureTime is epoch ms');
    });

    it('captures a region: its size, and what is inside and outside a window at the right places', async () => {
      let term: Xterm | undefined;
      try {
        term = await startXterm(x, { geometry: '20x5+300+200', bg: '#118899', command: 'sleep 600' });
        const geo = x.run('xdotool', 'getwindowgeometry', term.windowId);
        const pos = /Position: (\d+),(\d+)/.exec(geo)!;
        const size = /Geometry: (\d+)x(\d+)/.exec(geo)!;
        const [wx, wy, ww, wh] = [Number(pos[1]), Number(pos[2]), Number(size[1]), Number(size[2])];
        const region = { x: wx - 50, y: wy - 40, width: 333, height: 201 };
        const r = await helper.startCapture({ fps: 10, drawCursor: false, region });
        assert.deepEqual([r.width, r.height], [333, 201]);
        // The first frame may predate the xterm's first paint: wait for it.
        const f = await nextFrame(helper, (fr) => fr.header.width === 333 && bgr(fr, 55, 45).join() === TEAL.join());
        assert.equal(f.pixels.length, 333 * 201 * 4, 'tight rows');
        assert.deepEqual(bgr(f, 10, 10), ORANGE, 'root window above-left of the xterm');
        assert.deepEqual(bgr(f, 50 + Math.floor(ww / 2), 40 + Math.floor(wh / 2)), TEAL, 'the middle of the xterm');
        assert.deepEqual(bgr(f, 50 + ww + 5, 40 + 2), ORANGE, 'root window right of the xterm');
      } finally {
        await term?.stop();
      }
    });

    it('refuses a region outside the screen with BAD_MESSAGE', async () => {
      await assert.rejects(
        helper.startCapture({ region: { x: 700, y: 0, width: 200, height: 100 } }),
        (e: unknown) => e instanceof PairuxError && e.code === ErrorCode.BadMessage,
      );
    });

    it('draws a crisp arrow where the pointer is, and none when asked not to', async () => {
      x.run('xdotool', 'mousemove', '200', '150');
      await helper.startCapture({ fps: 10, drawCursor: true });
      const f = await nextFrame(helper);
      for (let dy = 0; dy < 19; dy++) {
        for (let dx = 0; dx < 12; dx++) {
          const kind = cursorPixel(dx, dy);
          const want = kind === 'outline' ? [0, 0, 0] : kind === 'fill' ? [255, 255, 255] : ORANGE;
          assert.deepEqual(bgr(f, 200 + dx, 150 + dy), want, `arrow pixel ${dx},${dy} (${kind})`);
        }
      }
      await helper.stopCapture();
      await helper.startCapture({ fps: 10, drawCursor: false });
      const plain = await nextFrame(helper);
      assert.deepEqual(bgr(plain, 200, 150), ORANGE);
    });

    it('skips unchanged frames down to idleFps, and sends at once when the screen or pointer changes', async () => {
      const frames: HelperFrame[] = [];
      const on = (f: HelperFrame) => frames.push(f);
      helper.on('frame', on);
      try {
        await helper.startCapture({ fps: 30, idleFps: 1, drawCursor: true });
        await new Promise((r) => setTimeout(r, 2500));
        // 1 at start + 1 per second: 3 in 2.5 s, against 75 if nothing were skipped.
        assert.ok(frames.length >= 2 && frames.length <= 4, `${frames.length} frames of a still screen in 2.5 s`);
        const before = frames.length;
        const t = Date.now();
        x.run('xsetroot', '-solid', '#118899');
        await waitFor(() => frames.slice(before).some((f) => bgr(f, 600, 500).join() === TEAL.join()), 2000, 'a frame showing the new colour');
        assert.ok(Date.now() - t < 600, `a change goes out on the next tick, not at idle pace (1 s): ${Date.now() - t} ms`);
        const beforeMove = frames.length;
        x.run('xdotool', 'mousemove', '50', '60');
        await waitFor(() => frames.length > beforeMove && bgr(frames.at(-1)!, 50, 60).join() === '0,0,0', 2000, 'a frame with the moved pointer');
      } finally {
        helper.off('frame', on);
        x.run('xsetroot', '-solid', '#ff8000');
      }
    });

    it('keeps the requested rate without drift or bursts (a still screen with idleFps = fps sends every tick)', async () => {
      const frames: HelperFrame[] = [];
      const on = (f: HelperFrame) => frames.push(f);
      try {
        await helper.startCapture({ fps: 20, idleFps: 20, drawCursor: false });
        await new Promise((r) => setTimeout(r, 300));
        helper.on('frame', on);
        await new Promise((r) => setTimeout(r, 3000));
        helper.off('frame', on);
        const span = (frames.at(-1)!.header.captureTime - frames[0]!.header.captureTime) / 1000;
        const rate = (frames.length - 1) / span;
        // Never above the rate; below it only if this machine is too busy to grab in time.
        assert.ok(rate > 12 && rate < 20.6, `${rate.toFixed(1)} fps for 20 requested (${frames.length} frames)`);
        const gaps = frames
          .slice(1)
          .map((f, i) => f.header.captureTime - frames[i]!.header.captureTime)
          .sort((a, b) => a - b);
        const median = gaps[Math.floor(gaps.length / 2)]!;
        assert.ok(Math.abs(median - 50) < 5, `median interval ${median.toFixed(1)} ms for 50`);
        assert.ok(gaps[0]! > 20, `no bursts: shortest interval ${gaps[0]!.toFixed(1)} ms`);
        assert.deepEqual(
          frames.map((f) => f.header.seq),
          frames.map((_, i) => frames[0]!.header.seq + i),
          'consecutive seq numbers',
        );
      } finally {
        helper.off('frame', on);
      }
    });

    it('serves the same frames on a loopback WebSocket to the key holder only', async () => {
      const r = await helper.startCapture({ fps: 10, deliver: 'websocket', drawCursor: false });
      assert.match(r.websocketUrl ?? '', /^ws:\/\/127\.0\.0\.1:\d+\/frames\/[A-Za-z0-9_-]{20,}$/);
      const url = new URL(r.websocketUrl!);
      const wrong = new WebSocket(`ws://${url.host}/frames/not-the-key`);
      const status = await new Promise<number>((resolve) => {
        wrong.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        wrong.on('open', () => resolve(101));
        wrong.on('error', () => undefined);
      });
      assert.equal(status, 403, 'a wrong key is refused before the upgrade');
      const ws = new WebSocket(r.websocketUrl!);
      try {
        const data = await new Promise<Buffer>((resolve, reject) => {
          ws.once('message', (d, isBinary) => (isBinary ? resolve(d as Buffer) : reject(new Error('text message'))));
          ws.once('error', reject);
        });
        assert.equal(data[0], 1, 'kind byte: video');
        const h = readVideoHeader(new DataView(data.buffer, data.byteOffset, data.byteLength), 1, data.length - 1);
        assert.deepEqual([h.width, h.height, h.format], [800, 600, 'BGRX']);
        assert.deepEqual(bgr({ header: h, pixels: data.subarray(21) }, 400, 300), ORANGE);
      } finally {
        ws.close();
      }
    });
  });
}

describe('helper capture: across a helper restart', function () {
  this.timeout(60_000);

  it('serves frames again on the same WebSocket URL after the helper is killed and restarted', async () => {
    const x = await startXvfb(640, 480);
    const helper = helperOn(x);
    const firstFrame = (url: string) =>
      new Promise<Buffer>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.once('message', (d) => {
          ws.close();
          resolve(d as Buffer);
        });
        ws.once('error', reject);
      });
    try {
      x.run('xsetroot', '-solid', '#118899');
      await helper.start();
      const r = await helper.startCapture({ fps: 10, deliver: 'websocket' });
      assert.equal((await firstFrame(r.websocketUrl!))[0], 1);
      const restarted = new Promise<RestartInfo>((resolve) => helper.once('restarted', resolve));
      process.kill(helper.pid!, 'SIGKILL');
      const info = await restarted;
      assert.equal(info.capture?.websocketUrl, r.websocketUrl, 'same URL: the page reconnects to what it has');
      const data = await firstFrame(r.websocketUrl!);
      const h = readVideoHeader(new DataView(data.buffer, data.byteOffset, data.byteLength), 1, data.length - 1);
      assert.deepEqual(bgr({ header: h, pixels: data.subarray(21) }, 600, 400), TEAL);
    } finally {
      await helper.stop();
      await x.stop();
    }
  });
});

describe('helper capture: platforms where it cannot work', function () {
  this.timeout(30_000);

  async function helloWith(env: NodeJS.ProcessEnv) {
    const helper = new HelperProcess({ env, autoRestart: false });
    try {
      const hello = await helper.start();
      const err = await helper.startCapture().catch((e: unknown) => e);
      return { hello, err };
    } finally {
      await helper.stop();
    }
  }

  function envWithout(...names: string[]): NodeJS.ProcessEnv {
    const env = { ...process.env };
    for (const n of names) delete env[n];
    return env;
  }

  it('a Wayland session whose portal cannot be reached: capture unavailable, naming what is missing, and capture.start fails clearly', async () => {
    for (const extra of [{ WAYLAND_DISPLAY: 'wayland-0' }, { XDG_SESSION_TYPE: 'wayland' }]) {
      const { hello, err } = await helloWith({
        ...envWithout('DISPLAY', 'WAYLAND_DISPLAY', 'XDG_SESSION_TYPE', 'DBUS_SESSION_BUS_ADDRESS', 'XDG_RUNTIME_DIR'),
        ...extra,
      });
      assert.equal(hello.desktop, 'wayland');
      assert.equal(hello.capture.available, false);
      assert.match(hello.capture.reason ?? '', /on Wayland needs the desktop portal, which cannot be reached: there is no session bus/);
      assert.equal(hello.inject.available, false);
      assert.equal(hello.screen, null);
      assert.ok(err instanceof PairuxError);
      assert.match(err.message, /screen capture is not available here: Screen capture on Wayland needs the desktop portal/);
      assert.equal(err.code, 'UNAVAILABLE');
      assert.deepEqual(err.data, { unavailable: 'screen capture' });
    }
  });

  it('no display at all: says so; a display that does not answer: says which', async () => {
    const none = await helloWith(envWithout('DISPLAY', 'WAYLAND_DISPLAY', 'XDG_SESSION_TYPE'));
    assert.match(none.hello.capture.reason ?? '', /no X display.*Xvfb/);
    const dead = await helloWith({ ...envWithout('WAYLAND_DISPLAY', 'XDG_SESSION_TYPE'), DISPLAY: ':87' });
    assert.equal(dead.hello.capture.available, false);
    assert.match(dead.hello.capture.reason ?? '', /cannot open X display :87/);
  });
});
