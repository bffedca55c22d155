/**
 * The pointer, drawn into frames: the OS grab has none, and a guest must see where the host's
 * pointer is. A classic 1× arrow (black outline, white fill) drawn pixel by pixel, so it stays
 * crisp through the encoder. Drawing saves the pixels it covers, so the frame can still be
 * compared with the next grab as if the arrow were not there.
 */

const ARROW = [
  'X           ',
  'XX          ',
  'X.X         ',
  'X..X        ',
  'X...X       ',
  'X....X      ',
  'X.....X     ',
  'X......X    ',
  'X.......X   ',
  'X........X  ',
  'X.........X ',
  'X......XXXXX',
  'X...X..X    ',
  'X..XX..X    ',
  'X.X  X..X   ',
  'XX   X..X   ',
  'X     X..X  ',
  '      X..X  ',
  '       XX   ',
];
export const CURSOR_WIDTH = ARROW[0]!.length;
export const CURSOR_HEIGHT = ARROW.length;

/** Where the arrow was drawn (clipped to the frame) and the pixels it covered, row by row. */
export interface CursorStamp {
  x: number;
  y: number;
  width: number;
  height: number;
  saved: Buffer;
}

/**
 * Draws the arrow with its hotspot (tip) at (`px`, `py`) into tightly packed 4-byte pixels
 * (BGRX or RGBX: black and white read the same). Returns null when it is wholly outside.
 */
export function drawCursor(pixels: Buffer, width: number, height: number, px: number, py: number): CursorStamp | null {
  const x0 = Math.max(0, px);
  const y0 = Math.max(0, py);
  const x1 = Math.min(width, px + CURSOR_WIDTH);
  const y1 = Math.min(height, py + CURSOR_HEIGHT);
  if (x0 >= x1 || y0 >= y1) return null;
  const w = x1 - x0;
  const h = y1 - y0;
  const stride = width * 4;
  const saved = Buffer.allocUnsafe(w * h * 4);
  for (let y = y0; y < y1; y++) {
    const row = y * stride;
    pixels.copy(saved, (y - y0) * w * 4, row + x0 * 4, row + x1 * 4);
    const art = ARROW[y - py]!;
    for (let x = x0; x < x1; x++) {
      const c = art[x - px];
      if (c === ' ') continue;
      const v = c === 'X' ? 0 : 255;
      const at = row + x * 4;
      pixels[at] = v;
      pixels[at + 1] = v;
      pixels[at + 2] = v;
    }
  }
  return { x: x0, y: y0, width: w, height: h, saved };
}

/** Whether (`x`, `y`) relative to the hotspot is outline ('X'), fill ('.') or clear (' '): for tests. */
export function cursorPixel(x: number, y: number): 'outline' | 'fill' | 'clear' {
  const c = ARROW[y]?.[x] ?? ' ';
  return c === 'X' ? 'outline' : c === '.' ? 'fill' : 'clear';
}
