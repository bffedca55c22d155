/**
 * What changed between two grabs, as a few rectangles (kind 3 messages, protocol/helper-framing.ts),
 * and their pixels. One band of rows from the first to the last change was the previous answer;
 * a pointer that moves across the screen then costs every row between its old and new places
 * (measured: ≈ 2 MB per move at 1080p, through runner, bridge and page), where two rectangles
 * cost ≈ 2 KB.
 *
 * Frames come as strips of whole rows (the capturer grabs in strips); all strips but the last
 * have `stripRows` rows.
 */
import { MAX_RECTS, type PixelRect } from '../../protocol/helper-framing';

/** Columns are compared in blocks of this many pixels: the rectangles' left and right edges snap to them. */
const BLOCK_PX = 16;
/** Changed rows at most this far apart share a rectangle (fewer, slightly taller rectangles). */
const ROW_GAP = 8;

/** The changed columns of one row, [x0, x1) in blocks snapped to BLOCK_PX, or null when equal. */
function rowSpan(next: Buffer, prev: Buffer, at: number, width: number): [number, number] | null {
  const stride = width * 4;
  if (next.compare(prev, at, at + stride, at, at + stride) === 0) return null;
  const blocks = Math.ceil(width / BLOCK_PX);
  const block = (b: number) => {
    const from = at + b * BLOCK_PX * 4;
    const to = Math.min(at + stride, from + BLOCK_PX * 4);
    return next.compare(prev, from, to, from, to) !== 0;
  };
  let first = 0;
  while (first < blocks && !block(first)) first++;
  let last = blocks - 1;
  while (last > first && !block(last)) last--;
  return [first * BLOCK_PX, Math.min(width, (last + 1) * BLOCK_PX)];
}

/**
 * Rectangles covering every pixel where `next` differs from `prev` (both with the pointer drawn,
 * same geometry), looking only at strips flagged in `dirty`. Empty when nothing differs.
 */
export function changedRects(next: readonly Buffer[], prev: readonly Buffer[], width: number, stripRows: number, dirty: readonly boolean[]): PixelRect[] {
  const stride = width * 4;
  const rects: PixelRect[] = [];
  let open: { x0: number; x1: number; y0: number; y1: number } | undefined;
  const close = () => {
    if (open) rects.push({ x: open.x0, y: open.y0, w: open.x1 - open.x0, h: open.y1 - open.y0 + 1 });
    open = undefined;
  };
  for (let i = 0; i < next.length; i++) {
    if (!dirty[i]) continue;
    const n = next[i]!;
    const p = prev[i]!;
    const rows = n.length / stride;
    for (let r = 0; r < rows; r++) {
      const span = rowSpan(n, p, r * stride, width);
      if (!span) continue;
      const y = i * stripRows + r;
      if (open && y - open.y1 <= ROW_GAP) {
        open.x0 = Math.min(open.x0, span[0]);
        open.x1 = Math.max(open.x1, span[1]);
        open.y1 = y;
      } else {
        close();
        open = { x0: span[0], x1: span[1], y0: y, y1: y };
      }
    }
  }
  close();
  return rects.length > MAX_RECTS ? [bounds(rects)] : rects;
}

/**
 * Where a freshly read rectangle `r` (tight rows, r.w × 4 bytes each) differs from `picture` (the
 * whole area, `width` px wide) under it: rectangles in picture coordinates, exact to the rows and
 * (in 16-px blocks) columns. The X server's damage covers whatever was drawn, changed or not: a
 * scrolled page reports the whole window, where often only part of each line differs.
 */
export function changedWithin(fresh: Buffer, r: PixelRect, picture: Buffer, width: number): PixelRect[] {
  const stride = width * 4;
  const row = r.w * 4;
  const rects: PixelRect[] = [];
  let open: { x0: number; x1: number; y0: number; y1: number } | undefined;
  const close = () => {
    if (open) rects.push({ x: open.x0, y: open.y0, w: open.x1 - open.x0, h: open.y1 - open.y0 + 1 });
    open = undefined;
  };
  const blocks = Math.ceil(r.w / BLOCK_PX);
  for (let k = 0; k < r.h; k++) {
    const at = (r.y + k) * stride + r.x * 4;
    const from = k * row;
    if (fresh.compare(picture, at, at + row, from, from + row) === 0) continue;
    const block = (b: number) => {
      const o = b * BLOCK_PX * 4;
      const n = Math.min(row, o + BLOCK_PX * 4) - o;
      return fresh.compare(picture, at + o, at + o + n, from + o, from + o + n) !== 0;
    };
    let first = 0;
    while (first < blocks && !block(first)) first++;
    let last = blocks - 1;
    while (last > first && !block(last)) last--;
    const x0 = r.x + first * BLOCK_PX;
    const x1 = r.x + Math.min(r.w, (last + 1) * BLOCK_PX);
    const y = r.y + k;
    if (open && y - open.y1 <= ROW_GAP) {
      open.x0 = Math.min(open.x0, x0);
      open.x1 = Math.max(open.x1, x1);
      open.y1 = y;
    } else {
      close();
      open = { x0, x1, y0: y, y1: y };
    }
  }
  close();
  return rects;
}

export function bounds(rects: readonly PixelRect[]): PixelRect {
  const x0 = Math.min(...rects.map((r) => r.x));
  const y0 = Math.min(...rects.map((r) => r.y));
  const x1 = Math.max(...rects.map((r) => r.x + r.w));
  const y1 = Math.max(...rects.map((r) => r.y + r.h));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/**
 * The rectangles' pixels as kind 3 carries them (each rectangle's rows in turn). Full-width
 * rectangles are views into the strips (no copy); narrower ones are copied out row by row.
 */
export function rectPixels(strips: readonly Buffer[], width: number, stripRows: number, rects: readonly PixelRect[]): Buffer[] {
  const stride = width * 4;
  const out: Buffer[] = [];
  for (const r of rects) {
    if (r.x === 0 && r.w === width) {
      for (let y = r.y; y < r.y + r.h;) {
        const i = Math.floor(y / stripRows);
        const inStrip = y - i * stripRows;
        const take = Math.min(r.y + r.h - y, strips[i]!.length / stride - inStrip);
        out.push(strips[i]!.subarray(inStrip * stride, (inStrip + take) * stride));
        y += take;
      }
      continue;
    }
    const row = r.w * 4;
    const buf = Buffer.allocUnsafe(row * r.h);
    for (let k = 0; k < r.h; k++) {
      const y = r.y + k;
      const i = Math.floor(y / stripRows);
      const at = (y - i * stripRows) * stride + r.x * 4;
      strips[i]!.copy(buf, k * row, at, at + row);
    }
    out.push(buf);
  }
  return out;
}

/** Where two rectangles overlap, or undefined. */
export function intersect(a: PixelRect, b: PixelRect): PixelRect | undefined {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.w, b.x + b.w);
  const y1 = Math.min(a.y + a.h, b.y + b.h);
  return x < x1 && y < y1 ? { x, y, w: x1 - x, h: y1 - y } : undefined;
}

/**
 * Why capture of `region` must stop now that the screen is `screen` (it no longer fits), or
 * undefined while it does. One wording for both capture backends: the runner and people see one
 * reason whichever ran.
 */
export function regionLost(screen: { width: number; height: number }, region: { x: number; y: number; width: number; height: number }): string | undefined {
  const r = region;
  if (r.x + r.width <= screen.width && r.y + r.height <= screen.height) return undefined;
  return `the screen is now ${screen.width}x${screen.height} and the shared region ${r.width}x${r.height}+${r.x}+${r.y} no longer fits; capture stopped`;
}
