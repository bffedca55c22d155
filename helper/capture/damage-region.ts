/**
 * The damaged area waiting to be read, as a few rectangles: what the X server reported since the
 * last read, coalesced while a frame is in flight or the rate cap holds (a damage storm keeps
 * growing one region, never a queue). Rectangles that touch or overlap merge into their bounding
 * box, and past MAX_PENDING the whole region becomes one box: a few extra pixels read are cheaper
 * than hundreds of requests.
 */
import type { PixelRect } from '../../protocol/helper-framing';

/** More rectangles than this pending become their bounding box. */
const MAX_PENDING = 32;
/** Rectangles closer than this (px) merge: two GetImage requests cost more than the strip between them. */
const MERGE_GAP = 8;

export class DamageRegion {
  private list: PixelRect[] = [];

  constructor(private bounds: { width: number; height: number }) {}

  get empty(): boolean {
    return this.list.length === 0;
  }

  get rects(): readonly PixelRect[] {
    return this.list;
  }

  /** Changes the area rectangles are clipped to (a new screen size); drops what is pending. */
  reset(bounds: { width: number; height: number }): void {
    this.bounds = bounds;
    this.list = [];
  }

  /** Adds an area (clipped to the bounds; nothing when it is outside). */
  add(r: PixelRect): void {
    const x0 = Math.max(0, r.x);
    const y0 = Math.max(0, r.y);
    const x1 = Math.min(this.bounds.width, r.x + r.w);
    const y1 = Math.min(this.bounds.height, r.y + r.h);
    if (x0 >= x1 || y0 >= y1) return;
    let next: PixelRect = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    // Merging can make a box that now touches others: repeat until it touches none.
    for (let merged = true; merged;) {
      merged = false;
      for (let i = 0; i < this.list.length; i++) {
        const o = this.list[i]!;
        if (near(o, next)) {
          next = union(o, next);
          this.list.splice(i, 1);
          merged = true;
          break;
        }
      }
    }
    this.list.push(next);
    if (this.list.length > MAX_PENDING) this.list = [this.list.reduce(union)];
  }

  /** Everything pending, and nothing left. */
  take(): PixelRect[] {
    const out = this.list;
    this.list = [];
    return out;
  }
}

function near(a: PixelRect, b: PixelRect): boolean {
  return a.x <= b.x + b.w + MERGE_GAP && b.x <= a.x + a.w + MERGE_GAP && a.y <= b.y + b.h + MERGE_GAP && b.y <= a.y + a.h + MERGE_GAP;
}

export function union(a: PixelRect, b: PixelRect): PixelRect {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}
