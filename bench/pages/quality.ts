/**
 * Text sharpness at a viewer, for bench:tuning: PSNR of the luma of the code area in the decoded
 * video against the same area rendered locally by the same generator (same fonts, same machine).
 * The area excludes everything that moves (marker, clock, sweeping box).
 */
import { GeneratedScreenSource } from '../../webview/engine/frames/generated-screen';

let reference: { width: number; height: number; luma: Float32Array } | undefined;

function region(width: number, height: number) {
  return { x: Math.round(width * 0.05), y: Math.round(height * 0.12), w: Math.round(width * 0.55), h: Math.round(height * 0.6) };
}

function lumaOf(data: ArrayLike<number>, order: 'rgb' | 'bgr'): Float32Array {
  const out = new Float32Array(data.length / 4);
  for (let i = 0; i < out.length; i++) {
    const r = data[i * 4 + (order === 'rgb' ? 0 : 2)]!;
    const g = data[i * 4 + 1]!;
    const b = data[i * 4 + (order === 'rgb' ? 2 : 0)]!;
    out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
  }
  return out;
}

async function referenceFor(width: number, height: number) {
  if (reference && reference.width === width && reference.height === height) return reference;
  const source = new GeneratedScreenSource({ width, height, fps: 5, marker: false });
  const frame = await new Promise<Uint8Array>((resolve) => {
    source.start((f) => {
      resolve(new Uint8Array(f.data instanceof ArrayBuffer ? f.data : f.data.slice()));
      source.stop();
    });
  });
  const r = region(width, height);
  const rows = new Uint8Array(r.w * r.h * 4);
  for (let y = 0; y < r.h; y++) rows.set(frame.subarray(((r.y + y) * width + r.x) * 4, ((r.y + y) * width + r.x + r.w) * 4), y * r.w * 4);
  reference = { width, height, luma: lumaOf(rows, 'rgb') };
  return reference;
}

/** PSNR (dB) of the code area of the current video picture; NaN if the video is not the source size. */
async function psnr(): Promise<number> {
  const video = document.querySelector('video');
  if (!video || !video.videoWidth) return Number.NaN;
  const { videoWidth: w, videoHeight: h } = video;
  const ref = await referenceFor(w, h);
  const r = region(w, h);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(video, 0, 0);
  const got = lumaOf(ctx.getImageData(r.x, r.y, r.w, r.h).data, 'rgb');
  let sum = 0;
  for (let i = 0; i < got.length; i++) sum += (got[i]! - ref.luma[i]!) ** 2;
  const mse = sum / got.length;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

(window as unknown as { pairuxQuality: { psnr: typeof psnr } }).pairuxQuality = { psnr };
