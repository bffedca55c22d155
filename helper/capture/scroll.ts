/**
 * Finds a scroll in a freshly read area: column bands whose rows moved up or down together since
 * the kept picture. The receiver then copies them within its own picture (kind 3 moves,
 * protocol/helper-framing.ts) and only the rows that came into view travel. A page of text
 * scrolling at 1080p was ≈ 4 MB a frame through the helper link, the runner and the page, and its
 * trip took 200–300 ms where a typed character took 50.
 *
 * Bands, not whole rows: an editor scrolls while the sidebar beside it stays and its minimap
 * moves by another amount, all in one damaged area. Each band finds its own shift from a few
 * probe rows (a cheap row fingerprint finds where each came from, a byte compare confirms it),
 * then checks it on every row; adjacent bands with the same shift become one move. What the
 * move does not explain is left to the usual comparison, so a wrong guess costs bytes, never
 * pixels.
 */
import type { PixelMove, PixelRect } from '../../protocol/helper-framing';

/** Columns are judged in bands about this wide. */
const BAND_PX = 128;
/** Smaller areas are not worth looking at (a caret, a pointer, a line of text). */
const MIN_ROWS = 48;
const MIN_WIDTH = 64;
/** Rows sampled per band to find where its content came from. */
const PROBES = 24;
/** Rows with the same fingerprint checked per probe (repeated lines of a listing). */
const CANDIDATES = 8;
/** Probes that must agree on a shift. */
const MIN_VOTES = 3;
/** Share of the overlapping rows that must match at the shift for it to be a move. */
const MIN_MATCH = 1 / 3;

interface Shift {
  dy: number;
  /** Rows [k0, k1) of the area receive rows k + dy. */
  k0: number;
  k1: number;
}

/**
 * Moves (in picture coordinates, sources inside `r`) that turn `picture` under `r` into most of
 * `fresh` (r's pixels, tightly packed). Empty when nothing scrolled.
 */
export function findMoves(fresh: Buffer, r: PixelRect, picture: Buffer, width: number): PixelMove[] {
  if (!worthLooking(r)) return [];
  const n = Math.max(1, Math.round(r.w / BAND_PX));
  const bands = Array.from({ length: n }, (_, i) => ({ bx: Math.floor((i * r.w) / n), bw: Math.floor(((i + 1) * r.w) / n) - Math.floor((i * r.w) / n) }));
  const prints = new Prints(fresh, r, picture, width, bands);
  const stride = width * 4;
  const moves: PixelMove[] = [];
  let open: (PixelMove & { dy: number }) | undefined;
  for (let i = 0; i < n; i++) {
    const { bx, bw } = bands[i]!;
    const same = (k: number, j: number): boolean => {
      const o = (r.y + j) * stride + (r.x + bx) * 4;
      const f = k * r.w * 4 + bx * 4;
      return fresh.compare(picture, o, o + bw * 4, f, f + bw * 4) === 0;
    };
    const s = bandShift(prints, i, same);
    if (s && open && open.dy === s.dy && open.x + open.w === r.x + bx) {
      open.w += bw;
      continue;
    }
    if (open) moves.push(strip(open));
    open = s ? { x: r.x + bx, y: r.y + s.k0, w: bw, h: s.k1 - s.k0, sx: r.x + bx, sy: r.y + s.k0 + s.dy, dy: s.dy } : undefined;
  }
  if (open) moves.push(strip(open));
  return moves;
}

/** Whether an area is large enough to look for a scroll in (≈ 4 ms a look at 1080p). */
export function worthLooking(r: PixelRect): boolean {
  return r.h >= MIN_ROWS && r.w >= MIN_WIDTH;
}

function strip(m: PixelMove & { dy: number }): PixelMove {
  return { x: m.x, y: m.y, w: m.w, h: m.h, sx: m.sx, sy: m.sy };
}

/**
 * A fingerprint of every row of every band, fresh and kept: equal rows always share one, and
 * unequal ones rarely do (every SAMPLE_PX-th pixel is looked at; a byte compare confirms a shift
 * before it is used). Everything else works on these numbers, so the cost is one pass over the
 * area (≈ 3 ms at 1080p) whatever the content.
 */
const SAMPLE_PX = 8;
/** Rows compared byte for byte to confirm a shift the fingerprints agree on. */
const CONFIRM_ROWS = 8;

class Prints {
  readonly fresh: Int32Array;
  readonly old: Int32Array;
  /** A chained hash table over one band's old rows, refilled per band. */
  readonly table: { head: Int32Array; next: Int32Array; mask: number };

  constructor(
    freshPx: Buffer,
    readonly r: PixelRect,
    picture: Buffer,
    width: number,
    readonly bands: ReadonlyArray<{ bx: number; bw: number }>,
  ) {
    const h = r.h;
    this.fresh = new Int32Array(bands.length * h);
    this.old = new Int32Array(bands.length * h);
    const slots = 1 << Math.ceil(Math.log2(h * 2));
    this.table = { head: new Int32Array(slots), next: new Int32Array(h), mask: slots - 1 };
    const f32 = words(freshPx);
    const o32 = words(picture);
    for (let k = 0; k < h; k++) {
      const f0 = k * r.w;
      const o0 = (r.y + k) * width + r.x;
      for (let b = 0; b < bands.length; b++) {
        const { bx, bw } = bands[b]!;
        this.fresh[b * h + k] = print(f32, f0 + bx, bw);
        this.old[b * h + k] = print(o32, o0 + bx, bw);
      }
    }
  }
}

/** The pixels as 32-bit words (a copy only when the bytes do not start on a 4-byte boundary). */
function words(buf: Buffer): Uint32Array {
  const aligned = buf.byteOffset % 4 === 0 ? buf : Buffer.from(buf);
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 2);
}

function print(px: Uint32Array, at: number, count: number): number {
  let h = 0x811c9dc5;
  // Every SAMPLE_PX-th pixel's colour (BGRX: the X byte says nothing, whatever the byte order).
  for (let i = at, end = at + count; i < end; i += SAMPLE_PX) h = Math.imul(h ^ (px[i]! & 0x00ffffff), 16777619);
  return h;
}

function bandShift(p: Prints, b: number, same: (k: number, j: number) => boolean): Shift | undefined {
  const h = p.r.h;
  const fresh = p.fresh.subarray(b * h, (b + 1) * h);
  const old = p.old.subarray(b * h, (b + 1) * h);
  // Where a row may have come from: only the first row of each run of equal rows. A probe is the
  // first of its run too, so its source is; and a line of text whose glyph rows are all alike
  // (a terminal's block font) is then one candidate, not its eleven rows filling every slot
  // while the real source, lines further down, is never looked at.
  const { head, next, mask } = p.table;
  head.fill(-1);
  for (let j = h - 1; j >= 0; j--) {
    if (j > 0 && old[j] === old[j - 1]) continue;
    const slot = old[j]! & mask;
    next[j] = head[slot]!;
    head[slot] = j;
  }
  const sources = (k: number, visit?: (j: number) => void): number => {
    const want = fresh[k]!;
    let found = 0;
    for (let j = head[want & mask]!; j >= 0 && found <= CANDIDATES; j = next[j]!) {
      if (old[j] !== want || j === k) continue;
      found++;
      if (visit && found <= CANDIDATES) visit(j);
    }
    return found;
  };
  // Probes: rows that changed and start a run (a row like the one above it matches anywhere),
  // the first of each stretch of the band whose content is not too common to say where it came
  // from (a blank row between lines of text was everywhere before).
  const probes: number[] = [];
  const votes = new Map<number, number>();
  let fromNowhere = 0;
  const step = Math.max(1, Math.floor(h / PROBES));
  for (let from = 1; from < h && probes.length < PROBES; from += step) {
    for (let k = from; k < Math.min(h, from + step); k++) {
      if (fresh[k] === old[k] || fresh[k] === fresh[k - 1]) continue;
      const n = sources(k);
      if (n > CANDIDATES) continue;
      probes.push(k);
      if (n === 0) fromNowhere++;
      else sources(k, (j) => votes.set(j - k, (votes.get(j - k) ?? 0) + 1));
      break;
    }
    // Rows from nowhere in the band's past: new content (a video, another page), not a scroll.
    if (fromNowhere >= 2 * MIN_VOTES && votes.size === 0) return undefined;
  }
  if (probes.length < MIN_VOTES) return undefined;
  let dy = 0;
  let best = 0;
  for (const [d, n] of votes) {
    if (n > best || (n === best && Math.abs(d) < Math.abs(dy))) {
      dy = d;
      best = n;
    }
  }
  if (best < MIN_VOTES || best * 2 < probes.length) return undefined;
  const k0 = Math.max(0, -dy);
  const k1 = Math.min(h, h - dy);
  let matched = 0;
  let still = 0;
  for (let k = k0; k < k1; k++) {
    if (fresh[k] === old[k + dy]) matched++;
    else if (fresh[k] === old[k]) still++;
  }
  // A move must explain more rows than leaving them where they are would.
  if (matched < (k1 - k0) * MIN_MATCH || matched <= still) return undefined;
  // The fingerprints skip pixels: a few of the probes' rows, byte for byte.
  let confirmed = 0;
  for (const k of probes) {
    if (k + dy < 0 || k + dy >= h || fresh[k] !== old[k + dy]) continue;
    if (!same(k, k + dy)) return undefined;
    if (++confirmed >= CONFIRM_ROWS) break;
  }
  return confirmed > 0 ? { dy, k0, k1 } : undefined;
}
