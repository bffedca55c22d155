/**
 * The frame track's keep-warm: on a still screen (the source sends nothing) the last picture is
 * written again every `repeatMs`, with time moving on; a busy source is never repeated; nothing is
 * repeated while a write is pending; it stops with the track; every VideoFrame is closed.
 * Chromium's VideoFrame and MediaStreamTrackGenerator are stood in for (Node has neither); the
 * still-screen change through a real encoder and viewer is test/e2e/still-screen.test.ts.
 */
import assert from 'node:assert/strict';
import type { RawFrame } from '../../webview/engine/frames/frame-source';

class FakeFrame {
  static made: FakeFrame[] = [];
  /** Makes the next construction from a frame throw, as Chromium does for a closed one. */
  static failNextCopy = false;
  readonly id: number;
  readonly timestamp: number;
  closed = false;

  constructor(data: Uint8Array | FakeFrame, init: { timestamp: number }) {
    if (data instanceof FakeFrame) {
      if (data.closed || FakeFrame.failNextCopy) {
        FakeFrame.failNextCopy = false;
        throw new Error('InvalidStateError: the frame is closed');
      }
      this.id = data.id;
    } else {
      this.id = data[0]!;
    }
    this.timestamp = init.timestamp;
    FakeFrame.made.push(this);
  }

  clone(): FakeFrame {
    return new FakeFrame(this, { timestamp: this.timestamp });
  }

  close(): void {
    this.closed = true;
  }
}

const written: Array<{ id: number; timestamp: number }> = [];
/** When set, writes stay pending until the test resolves them. */
let hold: Array<() => void> | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webview: the frame track keeps receivers warm on a still screen', () => {
  const g = globalThis as Record<string, unknown>;
  let saved: Record<string, unknown> = {};

  before(() => {
    saved = { MediaStreamTrackGenerator: g.MediaStreamTrackGenerator, VideoFrame: g.VideoFrame };
    g.VideoFrame = FakeFrame;
    g.MediaStreamTrackGenerator = class {
      contentHint = '';
      writable = new WritableStream<FakeFrame>({
        write: (f) => {
          written.push({ id: f.id, timestamp: f.timestamp });
          return hold ? new Promise<void>((resolve) => hold!.push(resolve)) : undefined;
        },
      });
      stop() {}
    };
  });
  after(() => Object.assign(g, saved));
  beforeEach(() => {
    written.length = 0;
    FakeFrame.made = [];
    hold = undefined;
  });

  async function track(repeatMs: number, settle: { settleRepeats?: number; settleMs?: number } = { settleRepeats: 0 }) {
    const { FrameTrack } = await import('../../webview/engine/frames/track-from-frames');
    let sink: ((f: RawFrame) => void) | undefined;
    const source = { info: { width: 1, height: 1, fps: 30, name: 't' }, running: true, start: (s: (f: RawFrame) => void) => (sink = s), stop: () => undefined };
    const seen: number[] = [];
    const t = new FrameTrack(source, { repeatMs, ...settle, onFrame: (f, ok) => ok && seen.push(f.seq) });
    t.start();
    const push = (seq: number) =>
      sink!({ format: 'BGRX', width: 1, height: 1, data: Uint8Array.of(seq, 0, 0, 0), timestamp: Math.round(performance.now() * 1000), captureTime: seq, seq });
    return { t, push, seen };
  }

  it('repeats the last picture while nothing new comes, time moving on, without reporting repeats as frames', async () => {
    const { t, push, seen } = await track(25);
    push(7);
    await sleep(140);
    t.stop();
    assert.ok(written.length >= 3, `writes: ${written.length}`);
    assert.ok(
      written.every((w) => w.id === 7),
      'only the last picture',
    );
    for (let i = 1; i < written.length; i++)
      assert.ok(written[i]!.timestamp > written[i - 1]!.timestamp, `timestamps ${written.map((w) => w.timestamp).join(' ')}`);
    assert.equal(t.framesRepeated, written.length - 1);
    assert.equal(t.framesWritten, 1);
    assert.deepEqual(seen, [7], 'onFrame saw the one frame from the source');
    // A new picture is what gets repeated from then on.
  });

  it('repeats the newest picture, and never while the source keeps sending', async () => {
    const { t, push } = await track(40);
    for (let seq = 1; seq <= 10; seq++) {
      push(seq);
      await sleep(10);
    }
    assert.equal(t.framesRepeated, 0, 'a busy source is not repeated');
    await sleep(100);
    t.stop();
    assert.ok(t.framesRepeated >= 1, `repeats ${t.framesRepeated}`);
    assert.deepEqual([...new Set(written.slice(10).map((w) => w.id))], [10]);
  });

  it('does not repeat while a write is pending, and goes on once it is done', async () => {
    hold = [];
    const { t, push } = await track(15);
    push(3);
    await sleep(80);
    assert.equal(written.length, 1, 'the pending write was not joined by repeats');
    const pending = hold;
    hold = undefined;
    for (const resolve of pending) resolve();
    await sleep(80);
    t.stop();
    assert.ok(t.framesRepeated >= 2, `repeats after the write finished: ${t.framesRepeated}`);
  });

  it('stops with the track, and closes every frame it made', async () => {
    const { t, push } = await track(15);
    push(1);
    await sleep(50);
    t.stop();
    const after = written.length;
    await sleep(60);
    assert.equal(written.length, after, 'no repeat after stop()');
    assert.ok(after >= 2);
    assert.ok(
      FakeFrame.made.every((f) => f.closed),
      `open: ${FakeFrame.made.filter((f) => !f.closed).length} of ${FakeFrame.made.length}`,
    );
  });

  it('a picture that cannot be copied any more is not repeated; the next frame starts again', async () => {
    const { t, push } = await track(15);
    push(1);
    FakeFrame.failNextCopy = true;
    await sleep(60);
    assert.equal(written.length, 1, 'nothing repeated after the copy failed');
    assert.equal(t.framesRepeated, 0);
    push(2);
    await sleep(60);
    t.stop();
    assert.ok(t.framesRepeated >= 1);
    assert.deepEqual([...new Set(written.map((w) => w.id))], [1, 2]);
    assert.ok(FakeFrame.made.every((f) => f.closed));
  });

  it('a new picture nothing follows is repeated quickly a few times, then at the keep-warm rate', async () => {
    const { t, push } = await track(300, { settleRepeats: 3, settleMs: 20 });
    push(5);
    await sleep(130);
    assert.equal(t.framesRepeated, 3, 'three quick repeats, then a wait of repeatMs');
    await sleep(300);
    assert.equal(t.framesRepeated, 4);
    // A newer picture starts its own quick repeats.
    push(6);
    await sleep(130);
    t.stop();
    assert.equal(t.framesRepeated, 7);
    assert.deepEqual(
      written.map((w) => w.id),
      [5, 5, 5, 5, 5, 6, 6, 6, 6],
    );
  });

  it('repeatMs 0 turns it off', async () => {
    const { t, push } = await track(0);
    push(1);
    await sleep(60);
    t.stop();
    assert.equal(written.length, 1);
    assert.equal(t.framesRepeated, 0);
  });
});
