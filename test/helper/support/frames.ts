/** Builders for helper-link frames, good and bad, for the framing tests and the fuzz runs. */
import { FrameKind, VIDEO_HEADER_BYTES, writeVideoHeader, type VideoFrameHeader } from '../../../protocol/helper-framing';

export function frame(kind: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32LE(1 + payload.length, 0);
  out[4] = kind;
  payload.copy(out, 5);
  return out;
}

export function jsonFrame(value: unknown): Buffer {
  return frame(FrameKind.Json, Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8'));
}

export function videoFrame(header: VideoFrameHeader, pixels: Buffer = Buffer.alloc(header.width * header.height * 4, 7)): Buffer {
  const payload = Buffer.alloc(VIDEO_HEADER_BYTES + pixels.length);
  writeVideoHeader(new DataView(payload.buffer, payload.byteOffset, payload.byteLength), 0, header);
  pixels.copy(payload, VIDEO_HEADER_BYTES);
  return frame(FrameKind.Video, payload);
}

/** A frame prefix claiming `length` bytes, with nothing after it. */
export function prefixOnly(length: number, kind: number = FrameKind.Json): Buffer {
  const out = Buffer.alloc(5);
  out.writeUInt32LE(length, 0);
  out[4] = kind;
  return out;
}

/** Deterministic PRNG (mulberry32), so a failing fuzz run can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(random: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
  return b;
}

/** Splits a stream into chunks of random sizes (1 byte to `max`), as a pipe might deliver it. */
export function chunked(random: () => number, data: Buffer, max = 4096): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const n = 1 + Math.floor(random() * Math.min(max, data.length - at));
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

/**
 * A bad frame the helper must answer with exactly one error response (never a close): broken
 * JSON, JSON that is not a message, unknown methods, bad params, unknown kinds, video sent the
 * wrong way. None of them can grant control.
 */
export function badFrameForHelper(random: () => number): { bytes: Buffer; what: string } {
  const pick = Math.floor(random() * 9);
  switch (pick) {
    case 0: {
      // Random bytes that cannot start a JSON object.
      const body = randomBytes(random, 1 + Math.floor(random() * 200));
      body[0] = 0x21 + Math.floor(random() * 0x5a);
      if (body[0] === 0x7b) body[0] = 0x78;
      return { bytes: frame(FrameKind.Json, body), what: 'random bytes as JSON' };
    }
    case 1:
      return { bytes: jsonFrame([1, 2, random()]), what: 'a JSON array' };
    case 2:
      return { bytes: jsonFrame({ v: 1, method: `no.such.${Math.floor(random() * 1e6)}`, params: {} }), what: 'an unknown notification' };
    case 3:
      return { bytes: jsonFrame({ v: 1, id: 1 + Math.floor(random() * 1000), method: 'capture.start', params: { fps: 1000 + random() } }), what: 'bad params' };
    case 4:
      return { bytes: jsonFrame({ v: 9, id: 7, method: 'helper.hello', params: {} }), what: 'a wrong version' };
    case 5:
      return { bytes: frame(2 + Math.floor(random() * 254), randomBytes(random, Math.floor(random() * 300))), what: 'an unknown kind' };
    case 6:
      return { bytes: videoFrame({ seq: 1, width: 2, height: 2, format: 'BGRX', captureTime: 0 }), what: 'video towards the helper' };
    case 7:
      return { bytes: jsonFrame({ v: 1, id: 9, method: 'system.exec', params: { cmd: randomBytes(random, 8).toString('hex') } }), what: 'an unknown request' };
    default:
      return { bytes: jsonFrame({ v: 1, id: 3, method: 'control.grant', params: { controllerId: '' } }), what: 'a grant with an invalid id' };
  }
}
