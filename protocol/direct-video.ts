/**
 * Boundary: host → guest encoded video over the RTCDataChannel `pairux-video` of a P2P
 * connection ("direct video"). WebRTC's own video path makes the receiver hold every frame in an
 * adaptive jitter buffer (Chromium's estimate grows with frame-size swings, 100–200 ms on a text
 * screen with a few large changes), and only the sender's playout-delay header can turn that off,
 * which a browser sender never sets. Here the host encodes with WebCodecs and the guest decodes and
 * shows each frame as soon as it is whole.
 *
 * A frame travels as one or more binary messages (a data channel message is capped well below a
 * 1080p keyframe), each with a fixed 24-byte header, big-endian:
 *   0 u8  version (1)         1 u8  flags (bit 0 key frame, bit 1 last part)
 *   2 u16 part index           4 u16 part count          6 u16 reserved (0)
 *   8 u32 frame sequence      12 u32 frame bytes (all parts)
 *  16 f64 timestamp (µs, the VideoFrame's)
 * The control messages (which codec, key-frame requests, stop) go over the `pairux` channel:
 * `VideoDirect`, `VideoKeyframe` and `VideoDirectStop` in protocol/peer.ts.
 */
import { ErrorCode, PairuxError } from './errors';

export const DIRECT_VIDEO_CHANNEL_LABEL = 'pairux-video';
export const DIRECT_VIDEO_VERSION = 1;
export const DIRECT_VIDEO_HEADER_BYTES = 24;
/** Payload per message: under Chromium's 256 KB data-channel cap and small enough not to stall the SCTP queue. */
export const DIRECT_VIDEO_PART_BYTES = 64 * 1024;
/** Largest encoded frame accepted (a 4K keyframe of dense text is a few MB). */
export const MAX_DIRECT_VIDEO_FRAME_BYTES = 16 * 1024 * 1024;
/** Largest number of parts in one frame (follows from the two caps above). */
export const MAX_DIRECT_VIDEO_PARTS = Math.ceil(MAX_DIRECT_VIDEO_FRAME_BYTES / DIRECT_VIDEO_PART_BYTES);

const FLAG_KEY = 1;
const FLAG_LAST = 2;

export interface EncodedVideoFrame {
  seq: number;
  key: boolean;
  /** µs, carried through to the decoded VideoFrame. */
  timestamp: number;
  data: Uint8Array;
}

/** One frame as the messages to send, in order. */
export function splitVideoFrame(frame: EncodedVideoFrame, partBytes = DIRECT_VIDEO_PART_BYTES): Uint8Array[] {
  const total = frame.data.byteLength;
  if (total > MAX_DIRECT_VIDEO_FRAME_BYTES) {
    throw new PairuxError(ErrorCode.TooLarge, `an encoded frame of ${total} bytes is over the ${MAX_DIRECT_VIDEO_FRAME_BYTES}-byte cap`);
  }
  const count = Math.max(1, Math.ceil(total / partBytes));
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const payload = frame.data.subarray(i * partBytes, Math.min(total, (i + 1) * partBytes));
    const message = new Uint8Array(DIRECT_VIDEO_HEADER_BYTES + payload.byteLength);
    const view = new DataView(message.buffer);
    view.setUint8(0, DIRECT_VIDEO_VERSION);
    view.setUint8(1, (frame.key ? FLAG_KEY : 0) | (i === count - 1 ? FLAG_LAST : 0));
    view.setUint16(2, i);
    view.setUint16(4, count);
    view.setUint32(8, frame.seq >>> 0);
    view.setUint32(12, total);
    view.setFloat64(16, frame.timestamp);
    message.set(payload, DIRECT_VIDEO_HEADER_BYTES);
    parts.push(message);
  }
  return parts;
}

/**
 * Puts frames back together from their messages, checking each header against the frame it
 * continues. A bad message throws a PairuxError (BAD_MESSAGE or TOO_LARGE) that says what was
 * wrong and drops the frame in progress; the caller then asks for a key frame.
 */
export class VideoFrameAssembler {
  private current: { seq: number; key: boolean; timestamp: number; count: number; next: number; data: Uint8Array; filled: number } | undefined;

  push(message: ArrayBuffer | Uint8Array): EncodedVideoFrame | undefined {
    const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
    try {
      return this.take(bytes);
    } catch (err) {
      this.current = undefined;
      throw err;
    }
  }

  /** Forgets a frame in progress (after a reset, the next message must start a frame). */
  reset(): void {
    this.current = undefined;
  }

  private take(bytes: Uint8Array): EncodedVideoFrame | undefined {
    if (bytes.byteLength < DIRECT_VIDEO_HEADER_BYTES) {
      throw bad(`a video message of ${bytes.byteLength} bytes is shorter than its ${DIRECT_VIDEO_HEADER_BYTES}-byte header`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint8(0);
    if (version !== DIRECT_VIDEO_VERSION) throw bad(`video message version ${version}; this guest speaks ${DIRECT_VIDEO_VERSION}`);
    const flags = view.getUint8(1);
    if (flags & ~(FLAG_KEY | FLAG_LAST)) throw bad(`unknown video message flags 0x${flags.toString(16)}`);
    const index = view.getUint16(2);
    const count = view.getUint16(4);
    const seq = view.getUint32(8);
    const total = view.getUint32(12);
    const timestamp = view.getFloat64(16);
    const payload = bytes.subarray(DIRECT_VIDEO_HEADER_BYTES);
    if (total > MAX_DIRECT_VIDEO_FRAME_BYTES) {
      throw new PairuxError(ErrorCode.TooLarge, `a video frame of ${total} bytes is over the ${MAX_DIRECT_VIDEO_FRAME_BYTES}-byte cap`);
    }
    if (count === 0 || count > MAX_DIRECT_VIDEO_PARTS || index >= count) throw bad(`video part ${index} of ${count} is not a valid part`);
    if (!Number.isFinite(timestamp)) throw bad('video frame timestamp is not a finite number');
    const last = (flags & FLAG_LAST) !== 0;
    if (last !== (index === count - 1)) throw bad(`video part ${index} of ${count} has the wrong last-part flag`);
    if (index === 0) {
      if (this.current) throw bad(`frame ${seq} started before frame ${this.current.seq} was whole`);
      this.current = { seq, key: (flags & FLAG_KEY) !== 0, timestamp, count, next: 0, data: new Uint8Array(total), filled: 0 };
    }
    const cur = this.current;
    if (!cur) throw bad(`video part ${index} of frame ${seq} came without its first part`);
    if (cur.seq !== seq || cur.count !== count || cur.next !== index || cur.data.byteLength !== total || cur.timestamp !== timestamp) {
      throw bad(`video part ${index} of frame ${seq} does not continue frame ${cur.seq} (part ${cur.next} of ${cur.count} expected)`);
    }
    if (cur.filled + payload.byteLength > total) throw bad(`frame ${seq}'s parts carry more than its ${total} bytes`);
    cur.data.set(payload, cur.filled);
    cur.filled += payload.byteLength;
    cur.next++;
    if (!last) return undefined;
    this.current = undefined;
    if (cur.filled !== total) throw bad(`frame ${seq} ended with ${cur.filled} of its ${total} bytes`);
    return { seq, key: cur.key, timestamp, data: cur.data };
  }
}

function bad(message: string): PairuxError {
  return new PairuxError(ErrorCode.BadMessage, message);
}
