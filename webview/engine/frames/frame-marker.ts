/**
 * A machine-readable stamp painted into the top-left of every generated frame: a 16-bit frame
 * counter and the low 32 bits of the capture time (ms), guarded by a CRC-8, as a grid of
 * black/white cells. Receivers read it back from the decoded `<video>` to measure latency and
 * frame delivery without trusting any side channel.
 *
 * Why this layout survives VP8/VP9/AV1 at low bitrate: cells are pure black or white (all the
 * energy is in the luma DC of each block), the cell size is a fixed fraction of the frame width
 * (so it decodes after the encoder or the page scales the picture) and lands on the 8-px block
 * grid at 640/1280/1920 wide, the decoder samples only each cell's centre (edges ring), and it
 * calibrates its threshold from reference cells instead of assuming 0/255.
 *
 * Pure functions over byte arrays: no DOM, usable from mocha, the page and the probe alike.
 */

/** Grid: column 0 and column COLS-1 are reference cells, the 14 columns between carry data. */
export const MARKER_COLS = 16;
export const MARKER_ROWS = 4;
/** Cell size = frame width / this: 8 px at 640, 16 px at 1280, 24 px at 1920. */
export const MARKER_CELLS_PER_WIDTH = 80;
const DATA_COLS = MARKER_COLS - 2;
export const MARKER_DATA_BITS = DATA_COLS * MARKER_ROWS; // 56 = 16 frame + 32 time + 8 CRC
/** Below this a cell is under 2 px and cannot be sampled reliably. */
export const MARKER_MIN_FRAME_WIDTH = 2 * MARKER_CELLS_PER_WIDTH;
/** White − black of the reference cells must exceed this, or the region is not a marker. */
const MIN_CONTRAST = 64;

export interface MarkerValue {
  /** Frame counter modulo 2^16. */
  frame: number;
  /** `Math.floor(captureTimeMs) mod 2^32`. */
  captureTimeLow32: number;
}

export interface MarkerGeometry {
  /** Cell edge in px (fractional; cell boundaries are rounded per cell). */
  cell: number;
  /** Size of the whole marker in px, from the frame's top-left corner. */
  width: number;
  height: number;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function markerGeometry(frameWidth: number): MarkerGeometry {
  const cell = frameWidth / MARKER_CELLS_PER_WIDTH;
  return { cell, width: Math.round(MARKER_COLS * cell), height: Math.round(MARKER_ROWS * cell) };
}

/** Pixel rectangle of one cell; encoder and decoder share it so their rounding agrees. */
export function cellRect(geometry: MarkerGeometry, col: number, row: number): Rect {
  const x0 = Math.round(col * geometry.cell);
  const y0 = Math.round(row * geometry.cell);
  return { x: x0, y: y0, w: Math.round((col + 1) * geometry.cell) - x0, h: Math.round((row + 1) * geometry.cell) - y0 };
}

export function captureTimeLow32(captureTimeMs: number): number {
  return Math.floor(captureTimeMs) % 2 ** 32;
}

/**
 * The full epoch time (ms) whose low 32 bits are `low32`, nearest to `nearMs` (a clock reading
 * within ±24 days of the capture): undoes the truncation for latency maths.
 */
export function expandCaptureTime(low32: number, nearMs: number): number {
  const span = 2 ** 32;
  const base = Math.floor(nearMs / span) * span;
  let best = base + low32;
  for (const candidate of [best - span, best + span]) {
    if (Math.abs(candidate - nearMs) < Math.abs(best - nearMs)) best = candidate;
  }
  return best;
}

/** CRC-8, polynomial 0x07 with output XOR 0x55 (ITU I.432.1), so an all-zero payload does not check. */
export function crc8(bytes: ArrayLike<number>): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= (bytes[i] ?? 0) & 0xff;
    for (let b = 0; b < 8; b++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc ^ 0x55;
}

function payloadBytes(value: MarkerValue): number[] {
  const f = value.frame & 0xffff;
  const t = value.captureTimeLow32 >>> 0;
  const bytes = [f >>> 8, f & 0xff, t >>> 24, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff];
  bytes.push(crc8(bytes));
  return bytes;
}

/** Whether the cell at (col,row) is white, for the whole grid including reference columns. */
export function markerCells(value: MarkerValue): Uint8Array {
  const cells = new Uint8Array(MARKER_COLS * MARKER_ROWS);
  const bytes = payloadBytes(value);
  for (let row = 0; row < MARKER_ROWS; row++) {
    // Reference columns: opposite phases, so every row and both columns hold a white and a black.
    cells[row * MARKER_COLS] = row % 2 === 0 ? 1 : 0;
    cells[row * MARKER_COLS + MARKER_COLS - 1] = row % 2 === 0 ? 0 : 1;
  }
  for (let i = 0; i < MARKER_DATA_BITS; i++) {
    const bit = ((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1;
    cells[Math.floor(i / DATA_COLS) * MARKER_COLS + 1 + (i % DATA_COLS)] = bit;
  }
  return cells;
}

/**
 * Paints the marker into a 4-byte-per-pixel buffer (RGBX, BGRX or RGBA alike: black and white
 * are the same in every order). `stride` is bytes per row, default width × 4.
 */
export function paintMarker(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, value: MarkerValue, stride = width * 4): void {
  if (width < MARKER_MIN_FRAME_WIDTH) return;
  const geometry = markerGeometry(width);
  if (geometry.height > height) return;
  const cells = markerCells(value);
  for (let row = 0; row < MARKER_ROWS; row++) {
    for (let col = 0; col < MARKER_COLS; col++) {
      const v = cells[row * MARKER_COLS + col] ? 255 : 0;
      const r = cellRect(geometry, col, row);
      for (let y = r.y; y < r.y + r.h; y++) {
        const start = y * stride + r.x * 4;
        pixels.fill(v, start, start + r.w * 4);
      }
    }
  }
}

/** Luma of the pixel at byte offset `o` of a 4-byte-per-pixel buffer (BT.601 weights). */
function lumaAt4(pixels: ArrayLike<number>, o: number): number {
  return ((pixels[o] ?? 0) * 77 + (pixels[o + 1] ?? 0) * 150 + (pixels[o + 2] ?? 0) * 29) >> 8;
}

/** Mean luma of the centre half of a cell, on a sparse grid (≤ 8×8 samples). */
function sampleCell(luma: (x: number, y: number) => number, r: Rect): number {
  const x0 = r.x + r.w / 4;
  const y0 = r.y + r.h / 4;
  const n = Math.max(1, Math.min(8, Math.floor(r.w / 2)));
  const m = Math.max(1, Math.min(8, Math.floor(r.h / 2)));
  const dx = r.w / 2 / n;
  const dy = r.h / 2 / m;
  let sum = 0;
  for (let j = 0; j < m; j++) {
    const y = Math.floor(y0 + (j + 0.5) * dy);
    for (let i = 0; i < n; i++) sum += luma(Math.floor(x0 + (i + 0.5) * dx), y);
  }
  return sum / (n * m);
}

/**
 * Reads the marker from the top-left of a 4-byte-per-pixel frame (RGBA/RGBX/BGRX; the buffer
 * may hold only the top rows, as long as `width` is the full frame width). Null when there is no
 * valid marker: too small, no contrast between the reference cells, or a CRC mismatch.
 */
export function decodeMarker(pixels: Uint8ClampedArray | Uint8Array, width: number, height: number, stride = width * 4): MarkerValue | null {
  if (pixels.length < stride * Math.min(height, markerGeometry(width).height)) return null;
  return decodeCells(width, height, (x, y) => lumaAt4(pixels, y * stride + x * 4));
}

/**
 * The same from a luma plane (one byte per pixel: the Y plane of an I420/NV12 VideoFrame), which
 * a receiver can copy out of a decoded frame without converting it to RGB.
 */
export function decodeMarkerLuma(luma: Uint8Array | Uint8ClampedArray, width: number, height: number, stride = width): MarkerValue | null {
  if (luma.length < stride * Math.min(height, markerGeometry(width).height)) return null;
  return decodeCells(width, height, (x, y) => luma[y * stride + x] ?? 0);
}

function decodeCells(width: number, height: number, lumaAt: (x: number, y: number) => number): MarkerValue | null {
  if (width < MARKER_MIN_FRAME_WIDTH) return null;
  const geometry = markerGeometry(width);
  if (geometry.height > height) return null;
  const luma = new Float64Array(MARKER_COLS * MARKER_ROWS);
  for (let row = 0; row < MARKER_ROWS; row++) {
    for (let col = 0; col < MARKER_COLS; col++) {
      luma[row * MARKER_COLS + col] = sampleCell(lumaAt, cellRect(geometry, col, row));
    }
  }
  const whites: number[] = [];
  const blacks: number[] = [];
  for (let row = 0; row < MARKER_ROWS; row++) {
    const left = luma[row * MARKER_COLS] ?? 0;
    const right = luma[row * MARKER_COLS + MARKER_COLS - 1] ?? 0;
    if (row % 2 === 0) {
      whites.push(left);
      blacks.push(right);
    } else {
      blacks.push(left);
      whites.push(right);
    }
  }
  const minWhite = Math.min(...whites);
  const maxBlack = Math.max(...blacks);
  if (minWhite - maxBlack < MIN_CONTRAST) return null;
  const threshold = (minWhite + maxBlack) / 2;
  const bytes = new Array<number>(7).fill(0);
  for (let i = 0; i < MARKER_DATA_BITS; i++) {
    const cell = luma[Math.floor(i / DATA_COLS) * MARKER_COLS + 1 + (i % DATA_COLS)] ?? 0;
    if (cell > threshold) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (1 << (7 - (i & 7)));
  }
  if (crc8(bytes.slice(0, 6)) !== bytes[6]) return null;
  const [f1 = 0, f0 = 0, t3 = 0, t2 = 0, t1 = 0, t0 = 0] = bytes;
  return { frame: (f1 << 8) | f0, captureTimeLow32: ((t3 << 24) | (t2 << 16) | (t1 << 8) | t0) >>> 0 };
}
