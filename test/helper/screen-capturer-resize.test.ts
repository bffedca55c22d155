/**
 * The sampling capture loop with a fake screen that changes size (no X): no strip is ever asked
 * of a screen that no longer holds it (on X11 such a grab ends the process), the whole screen
 * goes on at its new size with a whole frame first, and a region the screen shrank away from
 * stops capture with the reason.
 */
import assert from 'node:assert/strict';
import type { PixelRect, VideoFrameHeader } from '../../protocol/helper-framing';
import { ScreenCapturer, type FrameOutlet, type Rect, type ScreenGrabber } from '../../helper/capture/screen-capturer';
import { waitFor } from './support/xvfb';

/** Wide enough for 128-row strips (0.5 MB each), so a resize can land between two strips of one sample. */
function resizableScreen(width: number, height: number) {
  const size = { width, height };
  const offScreen: Rect[] = [];
  let value = 1;
  /** Called after each grab, as the X server might resize between two strips. */
  let afterGrab: ((r: Rect) => void) | undefined;
  const grabber: ScreenGrabber = {
    screenSize: () => ({ ...size }),
    grab: (r) => {
      if (r.x + r.width > size.width || r.y + r.height > size.height) offScreen.push(r);
      const img = { width: r.width, height: r.height, byteWidth: r.width * 4, bytesPerPixel: 4, image: Buffer.alloc(r.width * r.height * 4, value) };
      afterGrab?.(r);
      return img;
    },
    pointer: () => ({ x: 0, y: 0 }),
  };
  return {
    grabber,
    offScreen,
    resize: (w: number, h: number) => Object.assign(size, { width: w, height: h }),
    change: () => (value = (value + 1) & 0xff),
    onGrab: (f: ((r: Rect) => void) | undefined) => (afterGrab = f),
  };
}

function sink() {
  const sent: Array<{ header: VideoFrameHeader; bytes: number; rects?: PixelRect[] }> = [];
  const outlet: FrameOutlet = {
    ready: () => true,
    send: (header, strips, patch) => (sent.push({ header, bytes: strips.reduce((n, s) => n + s.length, 0), ...(patch ? { rects: patch.rects } : {}) }), true),
  };
  return { outlet, sent };
}

describe('helper capture sampling a screen that changes size (fake screen)', function () {
  this.timeout(10_000);

  it('shrinking between two strips of a sample: nothing off the new screen is grabbed, a whole frame of the new size follows, then patches', async () => {
    const screen = resizableScreen(1024, 512);
    const out = sink();
    const lines: string[] = [];
    const errors: string[] = [];
    const capturer = new ScreenCapturer(
      screen.grabber,
      out.outlet,
      (m) => errors.push(m),
      (l) => lines.push(l),
    );
    capturer.start({ fps: 20, drawCursor: false, idleFps: 0, patches: true });
    try {
      await waitFor(() => out.sent.length > 0, 2000, 'the first frame');
      screen.onGrab((r) => {
        if (r.y > 0) {
          screen.onGrab(undefined);
          screen.resize(640, 256);
        }
      });
      screen.change();
      await waitFor(() => out.sent.some((f) => f.header.width === 640), 2000, 'a frame of the new size');
      const first = out.sent.find((f) => f.header.width === 640)!;
      assert.deepEqual([first.header.height, first.rects, first.bytes], [256, undefined, 640 * 256 * 4], 'whole');
      const from = out.sent.length;
      screen.change();
      await waitFor(() => out.sent.length > from, 2000, 'a change at the new size');
      assert.ok(out.sent[from]!.rects, 'a patch');
      assert.deepEqual(capturer.target, { x: 0, y: 0, width: 640, height: 256 });
    } finally {
      capturer.stop();
    }
    assert.deepEqual(screen.offScreen, [], 'grabs off the screen');
    assert.deepEqual(errors, []);
    assert.deepEqual(lines, ['capture: the screen changed from 1024x512 to 640x256; sharing it at its new size']);
  });

  it('growing: a whole frame of the new size', async () => {
    const screen = resizableScreen(640, 256);
    const out = sink();
    const capturer = new ScreenCapturer(screen.grabber, out.outlet, () => undefined);
    capturer.start({ fps: 20, drawCursor: false, idleFps: 0, patches: true });
    try {
      await waitFor(() => out.sent.length > 0, 2000, 'the first frame');
      screen.resize(1024, 512);
      await waitFor(() => out.sent.some((f) => f.header.width === 1024), 2000, 'a frame of the new size');
      const first = out.sent.find((f) => f.header.width === 1024)!;
      assert.deepEqual([first.header.height, first.rects, first.bytes], [512, undefined, 1024 * 512 * 4]);
    } finally {
      capturer.stop();
    }
  });

  it('a region the screen no longer holds stops capture with the reason; one it still holds goes on', async () => {
    const screen = resizableScreen(1024, 512);
    const out = sink();
    const errors: Array<{ message: string; fatal: boolean }> = [];
    const capturer = new ScreenCapturer(screen.grabber, out.outlet, (message, fatal) => errors.push({ message, fatal }));
    capturer.start({ fps: 20, drawCursor: false, idleFps: 20, region: { x: 700, y: 100, width: 200, height: 100 } });
    await waitFor(() => out.sent.length > 0, 2000, 'the first frame');
    screen.resize(960, 400);
    const sent = out.sent.length;
    await waitFor(() => out.sent.length > sent + 2, 2000, 'frames after a resize that keeps the region');
    assert.deepEqual(errors, []);
    screen.resize(800, 400);
    await waitFor(() => errors.length > 0, 2000, 'capture stopping');
    assert.deepEqual(errors, [{ message: 'the screen is now 800x400 and the shared region 200x100+700+100 no longer fits; capture stopped', fatal: true }]);
    assert.equal(capturer.running, false);
    assert.deepEqual(screen.offScreen, []);
  });
});
