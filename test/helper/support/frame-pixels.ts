/** Reading what the helper sent: frames kept as they arrive, and pixels of whole frames and patches. */
import type { HelperFrame, HelperProcess } from '../../../helper/client';

/** Every frame the helper sends from now on (pixels copied: the client reuses its buffers). */
export function recorder(helper: HelperProcess): HelperFrame[] {
  const frames: HelperFrame[] = [];
  helper.on('frame', (f) => frames.push({ ...f, pixels: Buffer.from(f.pixels) }));
  return frames;
}

/** [R, G, B] at screen (x, y) from a frame: whole, or a patch whose rectangles cover the point. */
export function rgbAt(f: HelperFrame, x: number, y: number): number[] | undefined {
  let base = 0;
  for (const r of f.rects ?? [{ x: 0, y: 0, w: f.header.width, h: f.header.height }]) {
    if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h) {
      const at = base + ((y - r.y) * r.w + (x - r.x)) * 4;
      return [f.pixels[at + 2]!, f.pixels[at + 1]!, f.pixels[at]!];
    }
    base += r.w * r.h * 4;
  }
  return undefined;
}

/** 0xRRGGBB as [R, G, B]. */
export const rgb = (n: number): number[] => [(n >> 16) & 255, (n >> 8) & 255, n & 255];
