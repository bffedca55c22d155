/**
 * One binary message carrying a helper video frame (protocol/helper-framing.ts): the host bridge
 * relays `kind | header | pixels`; a helper's own WebSocket may also send the stdio framing with
 * its u32 length first. Both are accepted, and anything else is a reason, never an exception, so
 * a bad frame is counted and dropped while the stream goes on. Pure: tested in Node.
 */
import { FrameKind, LENGTH_BYTES, readPictureBody, type PixelMove, type PixelRect, type VideoFrameHeader } from '../../../protocol/helper-framing';

export type VideoMessage =
  /**
   * `band` set: a patch, and `pixels` holds only those rows; `rects` set: only those rectangles'
   * pixels, in turn, after `moves` (if any) are copied within the picture.
   */
  | { ok: true; header: VideoFrameHeader; pixels: Uint8Array; band?: { firstRow: number; rows: number }; rects?: PixelRect[]; moves?: PixelMove[] }
  /** A JSON (kind 0) message on a frame stream: not a frame, not an error. */
  | { ok: false; ignored: true; reason: string }
  | { ok: false; ignored: false; reason: string };

function atKind(bytes: Uint8Array, kindAt: number): VideoMessage {
  const kind = bytes[kindAt];
  if (kind === FrameKind.Json) return { ok: false, ignored: true, reason: 'JSON message on the frame stream' };
  if (kind !== FrameKind.Video && kind !== FrameKind.Patch && kind !== FrameKind.Rects)
    return { ok: false, ignored: false, reason: `unknown message kind ${String(kind)}` };
  const body = bytes.subarray(kindAt);
  try {
    const { header, band, rects, moves, pixelsAt } = readPictureBody(body);
    const pixels = body.subarray(pixelsAt);
    if (rects) return moves ? { ok: true, header, pixels, rects, moves } : { ok: true, header, pixels, rects };
    return band ? { ok: true, header, pixels, band } : { ok: true, header, pixels };
  } catch (err) {
    return { ok: false, ignored: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

export function parseVideoMessage(data: ArrayBuffer | Uint8Array): VideoMessage {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < 1) return { ok: false, ignored: false, reason: 'empty message' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const direct = atKind(bytes, 0);
  if (direct.ok || direct.ignored) return direct;
  // The stdio framing: a length that covers exactly the rest of the message.
  if (bytes.byteLength > LENGTH_BYTES && view.getUint32(0, true) === bytes.byteLength - LENGTH_BYTES) {
    const framed = atKind(bytes, LENGTH_BYTES);
    if (framed.ok || framed.ignored) return framed;
  }
  return direct;
}
