/**
 * Direct video's wire format (protocol/direct-video.ts): a frame split into messages comes back
 * whole and byte-exact, and every malformed message is refused with a reason — dropping the frame
 * in progress, so the guest waits for a key frame instead of decoding garbage.
 */
import assert from 'node:assert/strict';
import {
  DIRECT_VIDEO_HEADER_BYTES,
  MAX_DIRECT_VIDEO_FRAME_BYTES,
  splitVideoFrame,
  VideoFrameAssembler,
  type EncodedVideoFrame,
} from '../../protocol/direct-video';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { peerBoundary, VideoDirect } from '../../protocol/peer';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';

function frame(bytes: number, seq = 7, key = true): EncodedVideoFrame {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + seq) & 0xff;
  return { seq, key, timestamp: 1_234_567.5, data };
}

function refusal(fn: () => unknown): PairuxError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PairuxError, `a PairuxError, not ${String(err)}`);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('direct video wire format', () => {
  it('a frame bigger than one message comes back whole, in order, with its key flag and timestamp', () => {
    const original = frame(150_000);
    const parts = splitVideoFrame(original, 64 * 1024);
    assert.equal(parts.length, 3);
    const assembler = new VideoFrameAssembler();
    assert.equal(assembler.push(parts[0]!), undefined);
    assert.equal(assembler.push(parts[1]!), undefined);
    const back = assembler.push(parts[2]!);
    assert.ok(back);
    assert.equal(back.seq, 7);
    assert.equal(back.key, true);
    assert.equal(back.timestamp, 1_234_567.5);
    assert.deepEqual(back.data, original.data);
  });

  it('frames follow one another; a delta frame stays a delta frame', () => {
    const assembler = new VideoFrameAssembler();
    for (const seq of [1, 2, 3]) {
      const [only] = splitVideoFrame(frame(500, seq, seq === 1));
      const back = assembler.push(only!);
      assert.equal(back?.seq, seq);
      assert.equal(back?.key, seq === 1);
    }
  });

  it('refuses a message shorter than its header', () => {
    const e = refusal(() => new VideoFrameAssembler().push(new Uint8Array(DIRECT_VIDEO_HEADER_BYTES - 1)));
    assert.equal(e.code, ErrorCode.BadMessage);
    assert.match(e.message, /shorter than its 24-byte header/);
  });

  it('refuses another version and unknown flags', () => {
    const [m] = splitVideoFrame(frame(100));
    const v2 = m!.slice();
    v2[0] = 2;
    assert.match(refusal(() => new VideoFrameAssembler().push(v2)).message, /version 2/);
    const flags = m!.slice();
    flags[1] = 0x80 | flags[1]!;
    assert.match(refusal(() => new VideoFrameAssembler().push(flags)).message, /unknown video message flags/);
  });

  it('refuses a part that does not continue the frame in progress, and starts clean after', () => {
    const a = splitVideoFrame(frame(100_000, 1), 40_000);
    const b = splitVideoFrame(frame(100_000, 2), 40_000);
    const assembler = new VideoFrameAssembler();
    assembler.push(a[0]!);
    const e = refusal(() => assembler.push(b[1]!));
    assert.match(e.message, /does not continue frame 1/);
    // The frame in progress is dropped: its next part is refused too, a new frame is accepted.
    assert.match(refusal(() => assembler.push(a[1]!)).message, /without its first part/);
    for (const part of b.slice(0, -1)) assembler.push(part);
    assert.equal(assembler.push(b.at(-1)!)?.seq, 2);
  });

  it('refuses a new frame before the last one was whole', () => {
    const a = splitVideoFrame(frame(100_000, 1), 40_000);
    const assembler = new VideoFrameAssembler();
    assembler.push(a[0]!);
    assert.match(refusal(() => assembler.push(splitVideoFrame(frame(10, 2))[0]!)).message, /started before frame 1 was whole/);
  });

  it('refuses parts that carry more or fewer bytes than the frame says', () => {
    const [m] = splitVideoFrame(frame(1000));
    const short = m!.slice(0, m!.byteLength - 10);
    assert.match(refusal(() => new VideoFrameAssembler().push(short)).message, /ended with 990 of its 1000 bytes/);
    const long = new Uint8Array(m!.byteLength + 5);
    long.set(m!);
    assert.match(refusal(() => new VideoFrameAssembler().push(long)).message, /more than its 1000 bytes/);
  });

  it('refuses a frame over the size cap, on both sides', () => {
    assert.equal(refusal(() => splitVideoFrame(frame(MAX_DIRECT_VIDEO_FRAME_BYTES + 1))).code, ErrorCode.TooLarge);
    const [m] = splitVideoFrame(frame(10));
    const huge = m!.slice();
    new DataView(huge.buffer).setUint32(12, MAX_DIRECT_VIDEO_FRAME_BYTES + 1);
    const e = refusal(() => new VideoFrameAssembler().push(huge));
    assert.equal(e.code, ErrorCode.TooLarge);
  });

  it('the codec request accepts WebCodecs codec strings only', async () => {
    const seen: string[] = [];
    const host = new RpcEndpoint({ boundary: peerBoundary, side: 'b', send: (t) => queueMicrotask(() => guest.receive(t)) });
    const guest = new RpcEndpoint({ boundary: peerBoundary, side: 'a', send: (t) => queueMicrotask(() => host.receive(t)), requestTimeoutMs: 500 });
    host.onRequest(VideoDirect, ({ codecs }) => {
      seen.push(...codecs);
      return { codec: codecs[0]! };
    });
    assert.deepEqual(await guest.request(VideoDirect, { codecs: ['vp8', 'vp09.00.10.08'] }), { codec: 'vp8' });
    // A codec string with anything but letters, digits and dots never reaches the host's handler.
    await assert.rejects(guest.request(VideoDirect, { codecs: ['vp8"; drop'] }), (e: PairuxError) => e.code === ErrorCode.BadMessage);
    await assert.rejects(guest.request(VideoDirect, { codecs: [] }), (e: PairuxError) => e.code === ErrorCode.BadMessage);
    assert.deepEqual(seen, ['vp8', 'vp09.00.10.08']);
  });
});
