/**
 * The helper link's wire format on stdio: length-prefixed frames
 *
 *   u32 LE length (of what follows) | u8 kind | payload
 *
 * kind 0 = JSON (one `helper-link` message, UTF-8), kind 1 = a video frame:
 *
 *   u32 seq | u16 width | u16 height | u8 format (0 BGRX, 1 RGBX) | u8 reserved[3] | f64 captureTime (epoch ms) | pixels
 *
 * kind 2 = a patch (helper → runner when asked with `capture.start {patches}`, runner → host
 * page): the video header, then u16 firstRow | u16 rows,
 * then those rows of the full picture, tightly packed. It updates the receiver's copy of the last
 * picture; `rows` 0 repeats the picture unchanged (a keep-alive new viewers need).
 *
 * kind 3 = rectangles (helper → runner with `capture.start {patches}`, runner → host page): the
 * video header, then u16 count | u16 reserved | count × (u16 x | u16 y | u16 w | u16 h), then each
 * rectangle's pixels in that order, row by row (w × 4 bytes a row). Like a patch it updates the
 * receiver's copy of the last picture, but only where something changed: a pointer that moved
 * across the screen is two 12×19 squares, not the 500 rows between them. `count` 0 repeats the
 * picture (keep-alive). Rectangles lie inside the picture and may overlap (applied in order).
 * The second u16 of that header counts *moves*, whose table (moves × (u16 x | u16 y | u16 w |
 * u16 h | u16 sx | u16 sy)) comes before the rectangles' table: before any rectangle, the receiver
 * copies, in order, its picture's w×h block at (sx, sy) to (x, y). A scrolled page is one move and
 * the new line, not the whole page again (measured: ≈ 4 MB a frame while a page scrolled at 1080p).
 *
 * Pixels are tightly packed (stride = width × 4). All little-endian. Message-framed carriers
 * (the helper's own WebSocket, the runner's bridge to the host page) send `kind | payload`
 * per message, without the length prefix.
 */
export const FrameKind = { Json: 0, Video: 1, Patch: 2, Rects: 3 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export const LENGTH_BYTES = 4;
export const VIDEO_HEADER_BYTES = 4 + 2 + 2 + 1 + 3 + 8;
/** The largest screen a video frame may carry (8K UHD). */
export const MAX_VIDEO_WIDTH = 7680;
export const MAX_VIDEO_HEIGHT = 4320;
export const MAX_VIDEO_FRAME_BYTES = 1 + VIDEO_HEADER_BYTES + MAX_VIDEO_WIDTH * MAX_VIDEO_HEIGHT * 4;
export const PixelFormatCode = { BGRX: 0, RGBX: 1 } as const;

export interface VideoFrameHeader {
  seq: number;
  width: number;
  height: number;
  format: 'BGRX' | 'RGBX';
  captureTime: number;
}

/** Writes the video header into `target` at `offset` (the bytes after the kind byte). */
export function writeVideoHeader(target: DataView, offset: number, h: VideoFrameHeader): void {
  target.setUint32(offset, h.seq >>> 0, true);
  target.setUint16(offset + 4, h.width, true);
  target.setUint16(offset + 6, h.height, true);
  target.setUint8(offset + 8, PixelFormatCode[h.format]);
  target.setFloat64(offset + 12, h.captureTime, true);
}

/** The header fields both picture kinds share, with their ranges checked. */
function readHeaderFields(view: DataView, offset: number, what: string): VideoFrameHeader {
  const width = view.getUint16(offset + 4, true);
  const height = view.getUint16(offset + 6, true);
  const code = view.getUint8(offset + 8);
  if (width < 1 || height < 1 || width > MAX_VIDEO_WIDTH || height > MAX_VIDEO_HEIGHT) throw new Error(`${what} size ${width}x${height} is out of range`);
  if (code !== 0 && code !== 1) throw new Error(`unknown pixel format ${code}`);
  return { seq: view.getUint32(offset, true), width, height, format: code === 0 ? 'BGRX' : 'RGBX', captureTime: view.getFloat64(offset + 12, true) };
}

/** Reads and checks a video header; throws a short reason when it is not a valid frame. */
export function readVideoHeader(view: DataView, offset: number, payloadBytes: number): VideoFrameHeader {
  if (payloadBytes < VIDEO_HEADER_BYTES) throw new Error(`video frame of ${payloadBytes} bytes is shorter than its header`);
  const h = readHeaderFields(view, offset, 'video frame');
  if (payloadBytes !== VIDEO_HEADER_BYTES + h.width * h.height * 4) {
    throw new Error(`video frame of ${h.width}x${h.height} needs ${VIDEO_HEADER_BYTES + h.width * h.height * 4} bytes, got ${payloadBytes}`);
  }
  return h;
}

export const PATCH_HEADER_BYTES = VIDEO_HEADER_BYTES + 4;

export interface PatchHeader extends VideoFrameHeader {
  firstRow: number;
  rows: number;
}

export function writePatchHeader(target: DataView, offset: number, h: PatchHeader): void {
  writeVideoHeader(target, offset, h);
  target.setUint16(offset + VIDEO_HEADER_BYTES, h.firstRow, true);
  target.setUint16(offset + VIDEO_HEADER_BYTES + 2, h.rows, true);
}

/** Reads and checks a patch header; throws a short reason when it is not a valid patch. */
export function readPatchHeader(view: DataView, offset: number, payloadBytes: number): PatchHeader {
  if (payloadBytes < PATCH_HEADER_BYTES) throw new Error(`patch of ${payloadBytes} bytes is shorter than its header`);
  const h = readHeaderFields(view, offset, 'patch frame');
  const firstRow = view.getUint16(offset + VIDEO_HEADER_BYTES, true);
  const rows = view.getUint16(offset + VIDEO_HEADER_BYTES + 2, true);
  if (firstRow + rows > h.height) throw new Error(`patch rows ${firstRow}..${firstRow + rows} fall outside a ${h.height}-row picture`);
  if (payloadBytes !== PATCH_HEADER_BYTES + rows * h.width * 4) {
    throw new Error(`patch of ${rows} rows at ${h.width} px needs ${PATCH_HEADER_BYTES + rows * h.width * 4} bytes, got ${payloadBytes}`);
  }
  return { ...h, firstRow, rows };
}

/** One changed rectangle of a picture (kind 3). */
export interface PixelRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A block of the receiver's own picture copied from (sx, sy) to (x, y): a scroll. */
export interface PixelMove extends PixelRect {
  sx: number;
  sy: number;
}

/** More would say the whole screen changed: send it whole (or as one rectangle) instead. */
export const MAX_RECTS = 256;
/** Moves in one message (a scroll is one per moving column band of the damaged area). */
export const MAX_MOVES = 64;
export const RECTS_HEADER_BYTES = VIDEO_HEADER_BYTES + 4;
export const RECT_BYTES = 8;
export const MOVE_BYTES = 12;

/** Pixel bytes the rectangles carry. */
export function rectPixelBytes(rects: readonly PixelRect[]): number {
  let n = 0;
  for (const r of rects) n += r.w * r.h * 4;
  return n;
}

/** Bytes of a kind-3 payload's header, move table and rectangle table (what precedes the pixels). */
export function rectsPrefixBytes(count: number, moves = 0): number {
  return RECTS_HEADER_BYTES + moves * MOVE_BYTES + count * RECT_BYTES;
}

/** Writes header, counts, move table and rectangle table at `offset` (the bytes after the kind byte). */
export function writeRectsHeader(target: DataView, offset: number, h: VideoFrameHeader, rects: readonly PixelRect[], moves: readonly PixelMove[] = []): void {
  writeVideoHeader(target, offset, h);
  let at = offset + VIDEO_HEADER_BYTES;
  target.setUint16(at, rects.length, true);
  target.setUint16(at + 2, moves.length, true);
  at += 4;
  for (const m of moves) {
    target.setUint16(at, m.x, true);
    target.setUint16(at + 2, m.y, true);
    target.setUint16(at + 4, m.w, true);
    target.setUint16(at + 6, m.h, true);
    target.setUint16(at + 8, m.sx, true);
    target.setUint16(at + 10, m.sy, true);
    at += MOVE_BYTES;
  }
  for (const r of rects) {
    target.setUint16(at, r.x, true);
    target.setUint16(at + 2, r.y, true);
    target.setUint16(at + 4, r.w, true);
    target.setUint16(at + 6, r.h, true);
    at += RECT_BYTES;
  }
}

/** Reads and checks a rectangles header; throws a short reason when it is not valid. */
export function readRectsHeader(view: DataView, offset: number, payloadBytes: number): { header: VideoFrameHeader; rects: PixelRect[]; moves: PixelMove[] } {
  if (payloadBytes < RECTS_HEADER_BYTES) throw new Error(`rectangles message of ${payloadBytes} bytes is shorter than its header`);
  const header = readHeaderFields(view, offset, 'rectangles frame');
  const count = view.getUint16(offset + VIDEO_HEADER_BYTES, true);
  const moveCount = view.getUint16(offset + VIDEO_HEADER_BYTES + 2, true);
  if (count > MAX_RECTS) throw new Error(`${count} rectangles, over the ${MAX_RECTS} allowed`);
  if (moveCount > MAX_MOVES) throw new Error(`${moveCount} moves, over the ${MAX_MOVES} allowed`);
  if (payloadBytes < rectsPrefixBytes(count, moveCount)) {
    throw new Error(`rectangles message of ${payloadBytes} bytes is shorter than its tables (${moveCount} moves, ${count} rectangles)`);
  }
  const moves: PixelMove[] = [];
  let at = offset + RECTS_HEADER_BYTES;
  for (let i = 0; i < moveCount; i++, at += MOVE_BYTES) {
    const m = {
      x: view.getUint16(at, true),
      y: view.getUint16(at + 2, true),
      w: view.getUint16(at + 4, true),
      h: view.getUint16(at + 6, true),
      sx: view.getUint16(at + 8, true),
      sy: view.getUint16(at + 10, true),
    };
    if (m.w < 1 || m.h < 1 || m.x + m.w > header.width || m.y + m.h > header.height || m.sx + m.w > header.width || m.sy + m.h > header.height) {
      throw new Error(`move of ${m.w}x${m.h} from +${m.sx}+${m.sy} to +${m.x}+${m.y} is empty or leaves the ${header.width}x${header.height} picture`);
    }
    moves.push(m);
  }
  const rects: PixelRect[] = [];
  for (let i = 0; i < count; i++, at += RECT_BYTES) {
    const r = { x: view.getUint16(at, true), y: view.getUint16(at + 2, true), w: view.getUint16(at + 4, true), h: view.getUint16(at + 6, true) };
    if (r.w < 1 || r.h < 1 || r.x + r.w > header.width || r.y + r.h > header.height) {
      throw new Error(`rectangle ${r.w}x${r.h}+${r.x}+${r.y} is empty or outside the ${header.width}x${header.height} picture`);
    }
    rects.push(r);
  }
  const expected = rectsPrefixBytes(count, moveCount) + rectPixelBytes(rects);
  if (payloadBytes !== expected) throw new Error(`${count} rectangles need ${expected} bytes, got ${payloadBytes}`);
  return { header, rects, moves };
}

/**
 * Copies blocks within `picture` (stride = width × 4), in order: the receiver's half of kind 3's
 * moves, applied before its rectangles. Overlapping source and destination are safe (a scroll).
 */
export function applyMoves(picture: Uint8Array, width: number, moves: readonly PixelMove[]): void {
  const stride = width * 4;
  for (const m of moves) {
    const row = m.w * 4;
    if (m.x === 0 && m.sx === 0 && m.w === width) {
      // Whole rows are one run: one memmove.
      picture.copyWithin(m.y * stride, m.sy * stride, (m.sy + m.h) * stride);
      continue;
    }
    // Moving down, rows are copied bottom first so none is overwritten before it is read.
    const down = m.y > m.sy;
    for (let k = 0; k < m.h; k++) {
      const j = down ? m.h - 1 - k : k;
      const from = (m.sy + j) * stride + m.sx * 4;
      picture.copyWithin((m.y + j) * stride + m.x * 4, from, from + row);
    }
  }
}

/**
 * Copies tightly packed rectangle pixels (as kind 3 carries them, from `pixels[0]`) into `picture`
 * (the whole frame, stride = width × 4). The receiver's half of kind 3, shared by runner and page.
 */
export function applyRects(picture: Uint8Array, width: number, rects: readonly PixelRect[], pixels: Uint8Array): void {
  const stride = width * 4;
  let at = 0;
  for (const r of rects) {
    const row = r.w * 4;
    let to = r.y * stride + r.x * 4;
    if (r.w === width) {
      // Whole rows are one run in both buffers: one copy instead of one per row (a scrolled screen).
      picture.set(pixels.subarray(at, at + row * r.h), to);
      at += row * r.h;
      continue;
    }
    for (let y = 0; y < r.h; y++, at += row, to += stride) picture.set(pixels.subarray(at, at + row), to);
  }
}

/** A picture message: a whole frame, (with `band`) the rows of a patch, or (with `rects`) changed rectangles. */
export interface PictureBody {
  header: VideoFrameHeader;
  band?: { firstRow: number; rows: number };
  rects?: PixelRect[];
  /** Blocks the receiver copies within its picture before the rectangles (only when there are any). */
  moves?: PixelMove[];
  /** Where the pixels start in the body. */
  pixelsAt: number;
}

/**
 * Reads `body` = kind byte + payload of a video (1), patch (2) or rectangles (3) message: the one parser the
 * runner's link decoder and the host page share. Throws a short reason for anything else.
 */
export function readPictureBody(body: Uint8Array): PictureBody {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body[0] === FrameKind.Video) return { header: readVideoHeader(view, 1, body.byteLength - 1), pixelsAt: 1 + VIDEO_HEADER_BYTES };
  if (body[0] === FrameKind.Patch) {
    const { firstRow, rows, ...header } = readPatchHeader(view, 1, body.byteLength - 1);
    return { header, band: { firstRow, rows }, pixelsAt: 1 + PATCH_HEADER_BYTES };
  }
  if (body[0] === FrameKind.Rects) {
    const { header, rects, moves } = readRectsHeader(view, 1, body.byteLength - 1);
    return { header, rects, ...(moves.length ? { moves } : {}), pixelsAt: 1 + rectsPrefixBytes(rects.length, moves.length) };
  }
  throw new Error(`kind ${String(body[0])} is not a picture`);
}
