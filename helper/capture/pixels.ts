/** Pixel buffers as robotjs hands them out, turned into what the link carries. */
import type { CursorStamp } from './cursor';

export interface GrabbedImage {
  width: number;
  height: number;
  /** Bytes per row; X may pad rows, so it can be more than width × 4. */
  byteWidth: number;
  bytesPerPixel: number;
  image: Buffer;
}

/** Tightly packed rows (stride = width × 4): the grab itself when it has no padding, else a copy. */
export function tightPixels(img: GrabbedImage): Buffer {
  if (img.bytesPerPixel !== 4) throw new Error(`the screen has ${img.bytesPerPixel * 8} bits per pixel; only 32 is supported`);
  const row = img.width * 4;
  if (img.byteWidth === row) return img.image.length === row * img.height ? img.image : img.image.subarray(0, row * img.height);
  const out = Buffer.allocUnsafe(row * img.height);
  for (let y = 0; y < img.height; y++) img.image.copy(out, y * row, y * img.byteWidth, y * img.byteWidth + row);
  return out;
}

/**
 * Whether `next` (a fresh grab) shows the same screen as `prev`, a frame that has had the cursor
 * drawn over `stamp`: outside the stamp the bytes are compared directly, inside it against the
 * pixels the cursor covered. memcmp speed, no copy of `prev` needed.
 */
export function sameScreen(next: Buffer, prev: Buffer, width: number, stamp: CursorStamp | null): boolean {
  if (next.length !== prev.length) return false;
  if (!stamp) return next.equals(prev);
  const stride = width * 4;
  const same = (from: number, to: number) => from >= to || next.compare(prev, from, to, from, to) === 0;
  const top = stamp.y * stride;
  const bottom = (stamp.y + stamp.height) * stride;
  if (!same(0, top) || !same(bottom, next.length)) return false;
  const left = stamp.x * 4;
  const span = stamp.width * 4;
  for (let i = 0; i < stamp.height; i++) {
    const row = top + i * stride;
    if (!same(row, row + left) || !same(row + left + span, row + stride)) return false;
    if (next.compare(stamp.saved, i * span, (i + 1) * span, row + left, row + left + span) !== 0) return false;
  }
  return true;
}
