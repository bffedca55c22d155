/**
 * The helper link's wire format on stdio: length-prefixed frames
 *
 *   u32 LE length (of what follows) | u8 kind | payload
 *
 * kind 0 = JSON (one `helper-link` message, UTF-8), kind 1 = a video frame:
 *
 *   u32 seq | u16 width | u16 height | u8 format (0 BGRX, 1 RGBX) | u8 reserved[3] | f64 captureTime (epoch ms) | pixels
 *
 * Pixels are tightly packed (stride = width × 4). All little-endian. Message-framed carriers
 * (the helper's own WebSocket, the runner's bridge to the host page) send `kind | payload`
 * per message, without the length prefix.
 */
export const FrameKind = { Json: 0, Video: 1 } as const;
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

/** Reads and checks a video header; throws a short reason when it is not a valid frame. */
export function readVideoHeader(view: DataView, offset: number, payloadBytes: number): VideoFrameHeader {
  if (payloadBytes < VIDEO_HEADER_BYTES) throw new Error(`video frame of ${payloadBytes} bytes is shorter than its header`);
  const width = view.getUint16(offset + 4, true);
  const height = view.getUint16(offset + 6, true);
  const code = view.getUint8(offset + 8);
  if (width < 1 || height < 1 || width > MAX_VIDEO_WIDTH || height > MAX_VIDEO_HEIGHT) throw new Error(`video frame size ${width}x${height} is out of range`);
  if (code !== 0 && code !== 1) throw new Error(`unknown pixel format ${code}`);
  if (payloadBytes !== VIDEO_HEADER_BYTES + width * height * 4) {
    throw new Error(`video frame of ${width}x${height} needs ${VIDEO_HEADER_BYTES + width * height * 4} bytes, got ${payloadBytes}`);
  }
  return { seq: view.getUint32(offset, true), width, height, format: code === 0 ? 'BGRX' : 'RGBX', captureTime: view.getFloat64(offset + 12, true) };
}
