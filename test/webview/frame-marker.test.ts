/**
 * The frame marker that tests and benches read back from decoded video: it must survive noise
 * and scaling, and a misread must come back as "no marker", never as a wrong frame number.
 */
import assert from 'node:assert/strict';
import { cellRect, decodeMarker, expandCaptureTime, captureTimeLow32, markerGeometry, paintMarker } from '../../webview/engine/frames/frame-marker';

function frame(width: number, height: number, fill = 40): Uint8ClampedArray {
  return new Uint8ClampedArray(width * height * 4).fill(fill);
}

/** Deterministic noise so a failure reproduces. */
function addNoise(pixels: Uint8ClampedArray, amplitude: number, seed = 1): void {
  let s = seed;
  for (let i = 0; i < pixels.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    pixels[i] = pixels[i]! + ((s % (2 * amplitude + 1)) - amplitude);
  }
}

function downscale(src: Uint8ClampedArray, w: number, h: number, factor: number): Uint8ClampedArray {
  const W = w / factor;
  const H = h / factor;
  const out = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 4; c++) {
        let sum = 0;
        for (let dy = 0; dy < factor; dy++) for (let dx = 0; dx < factor; dx++) sum += src[((y * factor + dy) * w + x * factor + dx) * 4 + c]!;
        out[(y * W + x) * 4 + c] = sum / (factor * factor);
      }
    }
  }
  return out;
}

describe('webview: frame marker', () => {
  for (const [w, h] of [
    [640, 360],
    [1280, 720],
    [1920, 1080],
  ] as const) {
    it(`round-trips frame number and capture time at ${w}×${h}, with noise`, () => {
      const pixels = frame(w, h);
      const value = { frame: 54_321, captureTimeLow32: 0xdeadbeef };
      paintMarker(pixels, w, h, value);
      addNoise(pixels, 45);
      assert.deepEqual(decodeMarker(pixels, w, h), value);
    });
  }

  it('decodes after the picture is scaled down by half', () => {
    const pixels = frame(1280, 720);
    paintMarker(pixels, 1280, 720, { frame: 7, captureTimeLow32: 123_456 });
    assert.deepEqual(decodeMarker(downscale(pixels, 1280, 720, 2), 640, 360), { frame: 7, captureTimeLow32: 123_456 });
  });

  it('reports no marker rather than a wrong one when a cell is damaged', () => {
    const w = 640;
    const pixels = frame(w, 360);
    paintMarker(pixels, w, 360, { frame: 1000, captureTimeLow32: 42 });
    // Invert one data cell.
    const r = cellRect(markerGeometry(w), 5, 1);
    for (let y = r.y; y < r.y + r.h; y++)
      for (let x = r.x; x < r.x + r.w; x++) for (let c = 0; c < 3; c++) pixels[(y * w + x) * 4 + c] = 255 - pixels[(y * w + x) * 4 + c]!;
    assert.equal(decodeMarker(pixels, w, 360), null);
  });

  it('finds nothing in a frame without a marker, or one too small to carry it', () => {
    assert.equal(decodeMarker(frame(640, 360), 640, 360), null);
    const noisy = frame(640, 360, 128);
    addNoise(noisy, 127, 7);
    assert.equal(decodeMarker(noisy, 640, 360), null);
    assert.equal(decodeMarker(frame(100, 50), 100, 50), null);
  });

  it('recovers a full capture time from its low 32 bits near a reference clock', () => {
    const t = Date.now() + 0.75;
    assert.equal(expandCaptureTime(captureTimeLow32(t), t + 5_000), Math.floor(t));
  });
});
