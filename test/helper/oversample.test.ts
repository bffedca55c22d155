/**
 * The capture loop's pacing with a fake screen (no X): a changing screen is sampled at twice the
 * frame rate and a change goes out on the first sample that sees it, yet no more than about `fps`
 * frames leave per second; a still screen is sampled at `fps` only.
 */
import assert from 'node:assert/strict';
import type { VideoFrameHeader } from '../../protocol/helper-framing';
import { ScreenCapturer, type FrameOutlet, type ScreenGrabber } from '../../helper/capture/screen-capturer';

const W = 64;
const H = 32;

function fakeScreen(grabMs = 0) {
  let value = 0;
  let grabs = 0;
  const grabber: ScreenGrabber = {
    screenSize: () => ({ width: W, height: H }),
    grab: (r) => {
      grabs++;
      // A slow XGetImage (or a starved machine): synchronous, like the real one.
      const until = performance.now() + grabMs;
      while (performance.now() < until);
      return { width: r.width, height: r.height, byteWidth: r.width * 4, bytesPerPixel: 4, image: Buffer.alloc(r.width * r.height * 4, value) };
    },
    pointer: () => ({ x: 0, y: 0 }),
  };
  return { grabber, change: () => (value = (value + 1) & 0xff), grabs: () => grabs };
}

function sink() {
  const sent: Array<{ header: VideoFrameHeader; at: number }> = [];
  const outlet: FrameOutlet = { ready: () => true, send: (header) => (sent.push({ header, at: performance.now() }), true) };
  return { outlet, sent };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('helper capture pacing (fake screen)', function () {
  this.timeout(10_000);

  it('a still screen is sampled at fps; a changing one at twice fps, with at most about fps frames sent', async () => {
    const screen = fakeScreen();
    const out = sink();
    const capturer = new ScreenCapturer(screen.grabber, out.outlet, () => undefined);
    capturer.start({ fps: 10, drawCursor: false, idleFps: 1, patches: true });
    await sleep(1200); // past the first frame's activity window
    const g0 = screen.grabs();
    await sleep(1000);
    const still = screen.grabs() - g0;
    assert.ok(still >= 7 && still <= 11, `${still} grabs in 1 s of a still screen at 10 fps`);
    const timer = setInterval(screen.change, 7);
    const g1 = screen.grabs();
    const s1 = out.sent.length;
    await sleep(1000);
    clearInterval(timer);
    const busy = screen.grabs() - g1;
    const sent = out.sent.length - s1;
    capturer.stop();
    assert.ok(busy >= 14 && busy <= 21, `${busy} grabs in 1 s of a changing screen at 10 fps`);
    assert.ok(sent >= 7 && sent <= 14, `${sent} frames sent in 1 s (cap ≈ 10)`);
    const gaps = out.sent.slice(s1 + 1).map((f, i) => f.at - out.sent[s1 + i]!.at);
    assert.ok(Math.min(...gaps) > 55, `no two frames closer than 0.6 of an interval: ${Math.min(...gaps).toFixed(1)} ms`);
  });

  it('while the screen is active, a change goes out within about half a frame interval', async () => {
    const screen = fakeScreen();
    const out = sink();
    const capturer = new ScreenCapturer(screen.grabber, out.outlet, () => undefined);
    capturer.start({ fps: 10, drawCursor: false, idleFps: 1, patches: true });
    const waits: number[] = [];
    try {
      await sleep(300);
      for (let i = 0; i < 12; i++) {
        // Changes 130–190 ms apart: always past the cap, at every phase of the samples.
        await sleep(130 + ((i * 17) % 60));
        const from = out.sent.length;
        const at = performance.now();
        screen.change();
        while (out.sent.length === from) await sleep(1);
        waits.push(out.sent[from]!.at - at);
      }
    } finally {
      capturer.stop();
    }
    waits.sort((a, b) => a - b);
    const median = waits[Math.floor(waits.length / 2)]!;
    // Sampling at 10 Hz would make it ≈ 50 ms (up to 100); at 20 Hz ≈ 25 (up to 50).
    assert.ok(median < 40, `median wait ${median.toFixed(1)} ms: ${waits.map((w) => w.toFixed(0)).join(' ')}`);
  });

  it('a helper whose samples are slow does not take the extra ones', async () => {
    const screen = fakeScreen(25);
    const out = sink();
    const capturer = new ScreenCapturer(screen.grabber, out.outlet, () => undefined);
    // One strip (a 64×32 screen): 25 ms a sample, against a budget of 0.4 × 50 ms.
    capturer.start({ fps: 10, drawCursor: false, idleFps: 1, patches: true });
    const timer = setInterval(screen.change, 7);
    try {
      await sleep(700);
      const g = screen.grabs();
      await sleep(1000);
      const grabs = screen.grabs() - g;
      assert.ok(grabs >= 7 && grabs <= 12, `${grabs} grabs in 1 s of a changing screen with slow grabs at 10 fps`);
    } finally {
      clearInterval(timer);
      capturer.stop();
    }
  });
});
