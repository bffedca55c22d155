/**
 * Frames from the runner: the bridge's kind-first layout and the helper socket's length-prefixed
 * one both parse; garbage is counted and dropped without stopping the stream; a new screen size
 * is followed.
 */
import assert from 'node:assert/strict';
import {
  FrameKind,
  MAX_MOVES,
  rectsPrefixBytes,
  VIDEO_HEADER_BYTES,
  writeRectsHeader,
  writeVideoHeader,
  type PixelMove,
  type PixelRect,
} from '../../protocol/helper-framing';
import { BridgeFrameSource } from '../../webview/engine/frames/bridge-frame-source';
import type { RawFrame } from '../../webview/engine/frames/frame-source';
import { parseVideoMessage } from '../../webview/engine/frames/video-message';

function frame(width: number, height: number, seq: number, fill = 7, format: 'BGRX' | 'RGBX' = 'BGRX'): Uint8Array {
  const bytes = new Uint8Array(1 + VIDEO_HEADER_BYTES + width * height * 4);
  bytes[0] = FrameKind.Video;
  writeVideoHeader(new DataView(bytes.buffer), 1, { seq, width, height, format, captureTime: 1_700_000_000_000 + seq });
  bytes.fill(fill, 1 + VIDEO_HEADER_BYTES);
  return bytes;
}

function lengthPrefixed(inner: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + inner.byteLength);
  new DataView(out.buffer).setUint32(0, inner.byteLength, true);
  out.set(inner, 4);
  return out;
}

function rectsMessage(width: number, height: number, rects: PixelRect[], fill: number, moves: PixelMove[] = []): Uint8Array {
  const head = 1 + rectsPrefixBytes(rects.length, moves.length);
  const bytes = new Uint8Array(head + rects.reduce((n, r) => n + r.w * r.h * 4, 0));
  bytes[0] = FrameKind.Rects;
  writeRectsHeader(new DataView(bytes.buffer), 1, { seq: 9, width, height, format: 'BGRX', captureTime: 1 }, rects, moves);
  bytes.fill(fill, head);
  return bytes;
}

describe('webview: frames from the host bridge', () => {
  it('applies changed rectangles to the kept picture, and refuses ones that do not fit it', () => {
    const source = new BridgeFrameSource({ width: 32, height: 16, fps: 30, name: 'test', keepPicture: true });
    let shown: Uint8Array | undefined;
    source.start((f) => (shown = new Uint8Array(f.data as Uint8Array)));
    source.push(frame(32, 16, 1, 7));
    source.push(
      rectsMessage(
        32,
        16,
        [
          { x: 30, y: 15, w: 2, h: 1 },
          { x: 0, y: 2, w: 3, h: 2 },
        ],
        200,
      ),
    );
    const at = (x: number, y: number) => shown![(y * 32 + x) * 4];
    assert.deepEqual([at(30, 15), at(31, 15), at(29, 15), at(0, 2), at(2, 3), at(3, 3), at(0, 4)], [200, 200, 7, 200, 200, 7, 7]);
    const bad = source.framesBad;
    for (const message of [
      rectsMessage(32, 16, [{ x: 31, y: 0, w: 2, h: 1 }], 1),
      rectsMessage(32, 16, [{ x: 0, y: 0, w: 1, h: 1 }], 1).subarray(0, 30),
      rectsMessage(32, 16, [{ x: 0, y: 0, w: 0, h: 1 }], 1),
    ]) {
      const r = parseVideoMessage(message);
      assert.ok(!r.ok && !r.ignored);
      source.push(message);
    }
    assert.equal(source.framesBad, bad + 3);
    // An empty list repeats the picture.
    source.push(rectsMessage(32, 16, [], 0));
    assert.equal(at(30, 15), 200);
  });

  it('parses a relayed frame (kind byte first) and a stdio-framed one (length first)', () => {
    for (const message of [frame(32, 16, 5), lengthPrefixed(frame(32, 16, 5))]) {
      const parsed = parseVideoMessage(message);
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
      if (!parsed.ok) continue;
      assert.deepEqual({ ...parsed.header }, { seq: 5, width: 32, height: 16, format: 'BGRX', captureTime: 1_700_000_000_005 });
      assert.equal(parsed.pixels.byteLength, 32 * 16 * 4);
      assert.equal(parsed.pixels[0], 7);
    }
    // An ArrayBuffer (what a WebSocket delivers) works as well as a view.
    assert.ok(parseVideoMessage(frame(16, 16, 1).buffer as ArrayBuffer).ok);
  });

  it('copies moved blocks within the kept picture before the rectangles (a scroll)', () => {
    const source = new BridgeFrameSource({ width: 4, height: 4, fps: 30, name: 'test', keepPicture: true });
    let shown: Uint8Array | undefined;
    source.start((f) => (shown = new Uint8Array(f.data as Uint8Array)));
    const first = frame(4, 4, 1, 0);
    for (let y = 0; y < 4; y++) first.fill(10 + y, 1 + VIDEO_HEADER_BYTES + y * 16, 1 + VIDEO_HEADER_BYTES + (y + 1) * 16);
    source.push(first);
    // Rows 1..3 move up one; the last row is new.
    source.push(rectsMessage(4, 4, [{ x: 0, y: 3, w: 4, h: 1 }], 99, [{ x: 0, y: 0, w: 4, h: 3, sx: 0, sy: 1 }]));
    assert.equal(source.framesBad, 0, source.lastBadReason);
    assert.deepEqual(
      [0, 1, 2, 3].map((y) => shown![y * 16]),
      [11, 12, 13, 99],
    );
  });

  it('turns every kind of garbage into a reason, and JSON into "ignored"', () => {
    const good = frame(32, 16, 1);
    const cases: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['unknown kind', Uint8Array.of(9, 1, 2, 3)],
      ['truncated header', good.subarray(0, 10)],
      ['one byte short', good.subarray(0, good.byteLength - 1)],
      ['one byte long', Uint8Array.from([...good, 0])],
      [
        'zero width',
        (() => {
          const b = good.slice();
          new DataView(b.buffer).setUint16(5, 0, true);
          return b;
        })(),
      ],
      [
        'bad pixel format',
        (() => {
          const b = good.slice();
          b[9] = 7;
          return b;
        })(),
      ],
      ['random', Uint8Array.from({ length: 4096 }, (_, i) => ((i + 1) * 7919) & 0xff)],
      ['a move from outside the picture', rectsMessage(32, 16, [], 0, [{ x: 0, y: 0, w: 32, h: 8, sx: 0, sy: 9 }])],
      ['a move to outside the picture', rectsMessage(32, 16, [], 0, [{ x: 1, y: 0, w: 32, h: 8, sx: 0, sy: 0 }])],
      ['an empty move', rectsMessage(32, 16, [], 0, [{ x: 0, y: 0, w: 0, h: 8, sx: 0, sy: 0 }])],
      [
        'too many moves',
        rectsMessage(
          32,
          16,
          [],
          0,
          Array.from({ length: MAX_MOVES + 1 }, () => ({ x: 0, y: 0, w: 1, h: 1, sx: 0, sy: 1 })),
        ),
      ],
      [
        'a move table cut short',
        (() => {
          const b = rectsMessage(32, 16, [], 0, [{ x: 0, y: 0, w: 32, h: 8, sx: 0, sy: 8 }]);
          return b.subarray(0, b.byteLength - 2);
        })(),
      ],
    ];
    for (const [what, bytes] of cases) {
      const r = parseVideoMessage(bytes);
      assert.ok(!r.ok && !r.ignored, what);
      assert.ok(!r.ok && r.reason.length > 0, what);
    }
    const json = parseVideoMessage(Uint8Array.of(FrameKind.Json, 0x7b, 0x7d));
    assert.ok(!json.ok && json.ignored);
  });

  it('the source drops bad frames, keeps going, follows resizes and keeps timestamps increasing', () => {
    const resized: string[] = [];
    const source = new BridgeFrameSource({ width: 32, height: 16, fps: 30, name: 'test', onResize: (w, h) => resized.push(`${w}x${h}`) });
    const got: RawFrame[] = [];
    source.push(frame(32, 16, 0)); // before start: counted, not delivered
    source.start((f) => got.push({ ...f, data: new Uint8Array(f.data as Uint8Array) }));
    source.push(frame(32, 16, 1));
    source.push(Uint8Array.of(1, 2, 3));
    source.push(frame(32, 16, 2).subarray(0, 100));
    source.push(frame(48, 20, 3, 9, 'RGBX'));
    source.push(frame(48, 20, 4));
    assert.deepEqual(
      got.map((f) => [f.seq, f.width, f.height, f.format]),
      [
        [1, 32, 16, 'BGRX'],
        [3, 48, 20, 'RGBX'],
        [4, 48, 20, 'BGRX'],
      ],
    );
    assert.equal(source.framesBad, 2);
    assert.equal(source.framesIdle, 1);
    assert.match(source.lastBadReason ?? '', /bytes/);
    assert.deepEqual(resized, ['48x20']);
    assert.deepEqual([source.info.width, source.info.height], [48, 20]);
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.timestamp > got[i - 1]!.timestamp);
    assert.equal((got[1]!.data as Uint8Array)[0], 9);
    source.stop();
    source.push(frame(48, 20, 5));
    assert.equal(got.length, 3);
  });
});

describe('webview: frames into the track (fake MediaStreamTrackGenerator)', () => {
  interface FakeFrame {
    seq: number;
    closed: boolean;
    close(): void;
  }
  const made: FakeFrame[] = [];
  const written: number[] = [];
  let finish: Array<() => void> = [];
  const g = globalThis as Record<string, unknown>;
  let saved: Record<string, unknown> = {};

  before(() => {
    saved = { MediaStreamTrackGenerator: g.MediaStreamTrackGenerator, VideoFrame: g.VideoFrame };
    g.VideoFrame = class {
      seq: number;
      closed = false;
      constructor(data: Uint8Array) {
        this.seq = data[0]!;
        made.push(this);
      }
      close() {
        this.closed = true;
      }
    };
    g.MediaStreamTrackGenerator = class {
      contentHint = '';
      // Each write resolves when the test says so: the generator is "busy" until then.
      writable = new WritableStream<FakeFrame>({
        write: (f) =>
          new Promise<void>((resolve) => {
            written.push(f.seq);
            finish.push(resolve);
          }),
      });
      stop() {}
    };
  });
  after(() => Object.assign(g, saved));

  it('a frame that comes while the track is busy waits and is written next; a newer one replaces it; all are closed', async () => {
    const { FrameTrack } = await import('../../webview/engine/frames/track-from-frames');
    let sink: ((f: RawFrame) => void) | undefined;
    const source = { info: { width: 1, height: 1, fps: 30, name: 't' }, running: true, start: (s: (f: RawFrame) => void) => (sink = s), stop: () => undefined };
    const track = new FrameTrack(source, { maxInFlight: 1 });
    track.start();
    const frame = (seq: number): RawFrame => ({
      format: 'BGRX',
      width: 1,
      height: 1,
      data: Uint8Array.of(seq, 0, 0, 0),
      timestamp: seq,
      captureTime: seq,
      seq,
    });
    const tick = () => new Promise((r) => setTimeout(r, 0));
    sink!(frame(1));
    await tick();
    sink!(frame(2));
    sink!(frame(3));
    await tick();
    assert.deepEqual(written, [1], 'one write at a time');
    finish.shift()!();
    await tick();
    await tick();
    // The last change reaches the track without waiting for another frame from the source.
    assert.deepEqual(written, [1, 3]);
    assert.equal(track.framesDropped, 1);
    finish.shift()!();
    await tick();
    await tick();
    assert.ok(
      made.every((f) => f.closed),
      `closed: ${made.map((f) => `${f.seq}:${f.closed}`).join(' ')}`,
    );
    finish = [];
  });
});
