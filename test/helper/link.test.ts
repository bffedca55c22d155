/**
 * The helper link's framing: frames decode however the pipe chunks them, every bad frame gets a
 * typed error (or, when its length cannot be trusted, the link closes), video is written without
 * copies and dropped rather than queued, and a real helper fed thousands of bad frames never
 * crashes and never injects anything.
 */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { FrameKind, MAX_VIDEO_FRAME_BYTES, type VideoFrameHeader } from '../../protocol/helper-framing';
import { Hello, MAX_HELPER_JSON_BYTES } from '../../protocol/helper-link';
import { HelperExit } from '../../helper/exit-codes';
import { FrameDecoder, type DecodedVideoFrame } from '../../helper/link/frame-decoder';
import { FrameEncoder } from '../../helper/link/frame-encoder';
import { HelperLink } from '../../helper/link/helper-link';
import { badFrameForHelper, chunked, frame, jsonFrame, prefixOnly, randomBytes, rng, videoFrame } from './support/frames';
import { spawnRawHelper } from './support/helper';
import { mouseLocation, startXterm, startXvfb, type Xterm, type Xvfb } from './support/xvfb';

function collect(acceptVideo: boolean) {
  const json: string[] = [];
  const video: DecodedVideoFrame[] = [];
  const errors: PairuxError[] = [];
  const fatal: PairuxError[] = [];
  const decoder = new FrameDecoder({
    acceptVideo,
    onJson: (t) => json.push(t),
    onVideo: (f) => video.push(f),
    onError: (e) => errors.push(e),
    onFatal: (e) => fatal.push(e),
  });
  return { decoder, json, video, errors, fatal };
}

const header = (seq: number, width = 4, height = 3): VideoFrameHeader => ({ seq, width, height, format: 'BGRX', captureTime: 1_700_000_000_000 + seq });

describe('helper link: frame decoder', () => {
  const stream = Buffer.concat([
    jsonFrame({ a: 1 }),
    videoFrame(header(1), Buffer.alloc(4 * 3 * 4, 0x11)),
    jsonFrame('{"b":"ünïcødé"}'),
    videoFrame(header(2, 2, 2), Buffer.alloc(2 * 2 * 4, 0x22)),
  ]);

  function assertDecoded(c: ReturnType<typeof collect>) {
    assert.deepEqual(c.json, ['{"a":1}', '{"b":"ünïcødé"}']);
    assert.equal(c.video.length, 2);
    assert.deepEqual(c.video[0]!.header, header(1));
    assert.ok(c.video[0]!.pixels.equals(Buffer.alloc(48, 0x11)));
    assert.equal(c.video[0]!.frame[0], FrameKind.Video, 'frame starts with the kind byte, ready to relay');
    assert.equal(c.video[0]!.frame.length, 1 + 20 + 48);
    assert.deepEqual(c.video[1]!.header, header(2, 2, 2));
    assert.deepEqual([c.errors.length, c.fatal.length], [0, 0]);
  }

  it('decodes frames split into single bytes', () => {
    const c = collect(true);
    for (let i = 0; i < stream.length; i++) c.decoder.push(stream.subarray(i, i + 1));
    assertDecoded(c);
  });

  it('decodes many frames arriving in one chunk', () => {
    const c = collect(true);
    c.decoder.push(stream);
    assertDecoded(c);
  });

  it('decodes frames cut at random places, for many cuttings', () => {
    const random = rng(42);
    for (let run = 0; run < 200; run++) {
      const c = collect(true);
      for (const chunk of chunked(random, stream, 40)) c.decoder.push(chunk);
      assertDecoded(c);
    }
  });

  it('skips and reports a JSON frame over the cap, then goes on (the length is still sane on the runner side)', () => {
    const c = collect(true);
    c.decoder.push(Buffer.concat([frame(FrameKind.Json, Buffer.alloc(MAX_HELPER_JSON_BYTES + 1, 0x20)), jsonFrame({ next: true })]));
    assert.equal(c.errors[0]?.code, ErrorCode.TooLarge);
    assert.deepEqual(c.json, ['{"next":true}']);
    assert.equal(c.fatal.length, 0);
  });

  it('closes on a length over the cap: on the helper side anything over the JSON cap', () => {
    const c = collect(false);
    c.decoder.push(Buffer.concat([prefixOnly(1 + MAX_HELPER_JSON_BYTES + 1), jsonFrame({ after: true })]));
    assert.equal(c.fatal.length, 1);
    assert.match(c.fatal[0]!.message, /framing lost/);
    assert.deepEqual(c.json, [], 'nothing after a bad length is trusted');
    c.decoder.push(jsonFrame({ later: true }));
    assert.deepEqual(c.json, []);
  });

  it('closes on a length over the video cap on the runner side, and on a zero length', () => {
    const big = collect(true);
    big.decoder.push(prefixOnly(MAX_VIDEO_FRAME_BYTES + 1, FrameKind.Video));
    assert.equal(big.fatal.length, 1);
    const zero = collect(true);
    zero.decoder.push(Buffer.concat([prefixOnly(0), jsonFrame({})]));
    assert.equal(zero.fatal.length, 1);
    assert.deepEqual(zero.json, []);
  });

  it('skips a frame of unknown kind with a sane length, reports it, and decodes the next', () => {
    const c = collect(true);
    c.decoder.push(Buffer.concat([frame(7, Buffer.from('whatever')), frame(200, Buffer.alloc(0)), jsonFrame({ ok: 1 })]));
    assert.deepEqual(
      c.errors.map((e) => e.code),
      [ErrorCode.BadMessage, ErrorCode.BadMessage],
    );
    assert.match(c.errors[0]!.message, /unknown frame kind 7/);
    assert.deepEqual(c.json, ['{"ok":1}']);
  });

  it('refuses video frames on the helper side (video only flows helper → runner)', () => {
    const c = collect(false);
    c.decoder.push(Buffer.concat([videoFrame(header(1)), jsonFrame({ ok: 1 })]));
    assert.equal(c.video.length, 0);
    assert.match(c.errors[0]!.message, /only travel from the helper/);
    assert.deepEqual(c.json, ['{"ok":1}']);
  });

  it('reports a video frame whose header does not match its length, and goes on', () => {
    const c = collect(true);
    const bad = videoFrame(header(1, 4, 3));
    bad.writeUInt16LE(5, 5 + 4); // width 5 no longer matches the pixel bytes
    c.decoder.push(Buffer.concat([bad, jsonFrame({ ok: 1 })]));
    assert.match(c.errors[0]!.message, /bad video frame/);
    assert.deepEqual(c.json, ['{"ok":1}']);
  });

  it('reports a stream that ends mid-frame', () => {
    const c = collect(true);
    c.decoder.push(jsonFrame({ whole: 1 }));
    c.decoder.push(jsonFrame({ cut: 1 }).subarray(0, 9));
    c.decoder.end();
    assert.deepEqual(c.json, ['{"whole":1}']);
    assert.match(c.errors[0]!.message, /ended in the middle/);
  });

  it('fuzz: thousands of random frames in random chunks — every bad frame reported once, every good one decoded, nothing thrown', () => {
    for (const seed of [1, 2, 3]) {
      const random = rng(seed);
      const parts: Buffer[] = [];
      const expectJson: string[] = [];
      let expectVideo = 0;
      let expectErrors = 0;
      for (let i = 0; i < 3000; i++) {
        const r = random();
        if (r < 0.3) {
          const text = JSON.stringify({ i, s: randomBytes(random, Math.floor(random() * 50)).toString('base64') });
          parts.push(jsonFrame(text));
          expectJson.push(text);
        } else if (r < 0.45) {
          const w = 1 + Math.floor(random() * 8);
          const h = 1 + Math.floor(random() * 8);
          parts.push(videoFrame({ seq: i, width: w, height: h, format: random() < 0.5 ? 'BGRX' : 'RGBX', captureTime: i }, randomBytes(random, w * h * 4)));
          expectVideo++;
        } else if (r < 0.7) {
          parts.push(frame(2 + Math.floor(random() * 254), randomBytes(random, Math.floor(random() * 100))));
          expectErrors++;
        } else if (r < 0.85) {
          // A video frame whose header lies about its size.
          const body = randomBytes(random, 20 + Math.floor(random() * 64));
          body.writeUInt16LE(100 + Math.floor(random() * 100), 4);
          body.writeUInt16LE(1, 6);
          parts.push(frame(FrameKind.Video, body));
          expectErrors++;
        } else {
          // JSON payload of random bytes: decodes (to mojibake) and is RpcEndpoint's business.
          const body = randomBytes(random, Math.floor(random() * 80));
          parts.push(frame(FrameKind.Json, body));
          expectJson.push(body.toString('utf8'));
        }
      }
      const c = collect(true);
      for (const chunk of chunked(random, Buffer.concat(parts), 700)) c.decoder.push(chunk);
      c.decoder.end();
      assert.deepEqual(c.json, expectJson, `seed ${seed}`);
      assert.equal(c.video.length, expectVideo);
      assert.equal(c.errors.length, expectErrors);
      assert.equal(c.fatal.length, 0);
    }
  });

  it('fuzz: truncated streams and pure garbage never throw; each ends in errors or one close', () => {
    const random = rng(7);
    for (let run = 0; run < 2000; run++) {
      const good = Buffer.concat([jsonFrame({ run }), videoFrame(header(run, 3, 2))]);
      const cut = good.subarray(0, Math.floor(random() * good.length));
      const garbage = randomBytes(random, Math.floor(random() * 64));
      const c = collect(run % 2 === 0);
      assert.doesNotThrow(() => {
        for (const chunk of chunked(random, Buffer.concat([cut, garbage]), 16)) c.decoder.push(chunk);
        c.decoder.end();
      });
      assert.ok(c.fatal.length <= 1);
      // (Without video accepted, the skipped video frame is a second report.)
      if (run % 2 === 0 && garbage.length === 0 && cut.length < good.length && cut.length > 0) {
        assert.equal(c.errors.length + c.fatal.length, 1, 'a cut stream is reported exactly once');
      }
    }
  });
});

/** A writable that holds each write's callback until `flush()`: a runner that reads slowly. */
class SlowWritable extends Writable {
  writes: Buffer[][] = [];
  private held: Array<() => void> = [];
  constructor() {
    super({ highWaterMark: 1024 });
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: () => void): void {
    this.writes.push(chunks.map((c) => c.chunk));
    this.held.push(cb);
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.writes.push([chunk]);
    this.held.push(cb);
  }
  flush(): void {
    const held = this.held;
    this.held = [];
    for (const cb of held) cb();
  }
}

describe('helper link: frame encoder', () => {
  it("writes the prefix and the caller's pixel buffer together, without copying the pixels", () => {
    const out = new SlowWritable();
    const enc = new FrameEncoder(out);
    const pixels = Buffer.alloc(4 * 3 * 4, 9);
    assert.equal(enc.writeVideo(header(1), pixels), true);
    const write = out.writes[0]!;
    assert.equal(write.length, 2, 'one writev: prefix + pixels');
    assert.ok(write[1] === pixels, 'the very buffer handed in');
    const c = collect(true);
    c.decoder.push(Buffer.concat(write));
    assert.deepEqual(c.video[0]!.header, header(1));
  });

  it('drops a video frame while the previous one is unflushed, counts it, and never drops JSON', () => {
    const out = new SlowWritable();
    const enc = new FrameEncoder(out);
    assert.equal(enc.writeVideo(header(1), Buffer.alloc(48)), true);
    assert.equal(enc.writeVideo(header(2), Buffer.alloc(48)), false);
    assert.equal(enc.writeVideo(header(3), Buffer.alloc(48)), false);
    assert.equal(enc.writeJson('{"still":"sent"}'), true);
    assert.deepEqual(enc.stats, { jsonFrames: 1, videoFrames: 1, videoDropped: 2 });
    out.flush();
    out.flush();
    assert.equal(enc.writeVideo(header(4), Buffer.alloc(48)), true, 'the next frame goes once the previous is flushed');
  });

  it('refuses a JSON message over the cap with TOO_LARGE instead of sending what the peer would reject', () => {
    const enc = new FrameEncoder(new SlowWritable());
    assert.throws(
      () => enc.writeJson('x'.repeat(MAX_HELPER_JSON_BYTES + 1)),
      (e: unknown) => e instanceof PairuxError && e.code === ErrorCode.TooLarge,
    );
  });
});

describe('helper link: HelperLink', () => {
  function linked() {
    const aToB = new PassThrough();
    const bToA = new PassThrough();
    const a = new HelperLink({ side: 'a', input: bToA, output: aToB });
    const b = new HelperLink({ side: 'b', input: aToB, output: bToA });
    return { a, b };
  }

  it('carries a request and its answer', async () => {
    const { a, b } = linked();
    b.rpc.onRequest(Hello, () => ({
      version: 't',
      pid: 1,
      platform: 'test',
      screen: null,
      capture: { available: false },
      inject: { available: false, xdotool: false },
      releasedAtStart: [],
    }));
    assert.equal((await a.rpc.request(Hello, {})).version, 't');
  });

  /** Side a alone: its requests go nowhere, so they stay pending. */
  function lonely() {
    const bToA = new PassThrough();
    const closedA: string[] = [];
    const a = new HelperLink({ side: 'a', input: bToA, output: new PassThrough(), onClose: (r) => closedA.push(r) });
    return { a, bToA, closedA };
  }

  it('rejects every pending request with CLOSED when the other end goes away', async () => {
    const { a, bToA, closedA } = lonely();
    const pending = a.rpc.request(Hello, {}, 5000);
    const pending2 = a.rpc.request(Hello, {}, 5000);
    bToA.end();
    for (const p of [pending, pending2]) await assert.rejects(p, (e: unknown) => e instanceof PairuxError && e.code === ErrorCode.Closed);
    assert.equal(closedA.length, 1);
  });

  it('closes (and rejects what is pending) when framing is lost', async () => {
    const { a, bToA, closedA } = lonely();
    const pending = a.rpc.request(Hello, {}, 5000);
    bToA.write(prefixOnly(MAX_VIDEO_FRAME_BYTES + 10));
    await assert.rejects(pending, (e: unknown) => e instanceof PairuxError && e.code === ErrorCode.Closed);
    assert.match(closedA[0]!, /framing lost/);
  });
});

describe('helper link: a real helper fed bad frames', function () {
  this.timeout(90_000);
  let x: Xvfb;
  let term: Xterm;

  before(async () => {
    x = await startXvfb(1024, 768);
    term = await startXterm(x);
    x.run('xdotool', 'mousemove', '333', '222');
  });
  after(async () => {
    await term?.stop();
    await x?.stop();
  });

  function assertNothingReachedX() {
    assert.deepEqual(mouseLocation(x), { x: 333, y: 222 }, 'the pointer did not move');
    assert.equal(term.read(), '', 'nothing was typed');
  }

  it('answers each of 3000 bad frames with a typed error, refuses ungranted input, stays up, injects nothing', async () => {
    const helper = spawnRawHelper(x.env);
    try {
      assert.equal((await helper.request('helper.hello', {})).error, undefined);
      const random = rng(2024);
      const kinds = new Map<string, number>();
      let expected = 0;
      let inputs = 0;
      for (let batch = 0; batch < 30; batch++) {
        const frames: Buffer[] = [];
        for (let i = 0; i < 100; i++) {
          if (random() < 0.15) {
            // Well-formed input with no grant, and broken input: refused, never injected.
            const event = random() < 0.5 ? { t: 'text', seq: i, text: 'rm -rf /\n' } : { t: 'move', seq: i, x: random() * 3 - 1, y: 0.5 };
            frames.push(jsonFrame({ v: 1, method: 'input', params: { controllerId: 'mallory', event } }));
            inputs++;
            continue;
          }
          const bad = badFrameForHelper(random);
          kinds.set(bad.what, (kinds.get(bad.what) ?? 0) + 1);
          frames.push(bad.bytes);
          expected++;
        }
        for (const chunk of chunked(random, Buffer.concat(frames), 3000)) await helper.write(chunk);
      }
      const errors = () => helper.messages.filter((m) => 'error' in m);
      const refusals = () => helper.messages.filter((m) => m.method === 'input.refused').reduce((n, m) => n + ((m.params as { count: number }).count ?? 0), 0);
      const deadline = Date.now() + 15_000;
      while ((errors().length < expected || refusals() < inputs) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(errors().length, expected, `one error per bad frame (${[...kinds].map(([k, n]) => `${k}: ${n}`).join(', ')})`);
      for (const m of errors()) {
        const body = m.error as { code: string; message: string };
        assert.ok(Object.values(ErrorCode).includes(body.code as ErrorCode), `typed code, got ${body.code}`);
        assert.ok(body.message.length > 0);
      }
      assert.equal(refusals(), inputs, 'every ungranted input event refused (coalesced)');
      assert.ok(helper.messages.filter((m) => m.method === 'input.refused').length < inputs / 2, 'refusals are coalesced');
      const hello = await helper.request('helper.hello', {});
      assert.equal((hello.result as { pid: number }).pid, helper.child.pid, 'still up and answering');
      assertNothingReachedX();
      assert.doesNotMatch(helper.stderr(), /crashed|Uncaught|TypeError|RangeError/);
    } finally {
      await helper.kill();
    }
  });

  it('closes the link on a length it cannot trust: says why, exits cleanly with LinkBroken, no crash', async () => {
    const helper = spawnRawHelper(x.env);
    await helper.request('helper.hello', {});
    await helper.write(Buffer.concat([prefixOnly(0xffffffff), jsonFrame({ v: 1, id: 1, method: 'control.grant', params: { controllerId: 'mallory' } })]));
    const { code } = await helper.exited;
    assert.equal(code, HelperExit.LinkBroken);
    const last = helper.messages.at(-1) as { error?: { message: string } };
    assert.match(last.error?.message ?? '', /framing lost/);
    assert.doesNotMatch(helper.stderr(), /crashed/);
    assertNothingReachedX();
  });

  it('exits cleanly when its stdin ends in the middle of a frame', async () => {
    const helper = spawnRawHelper(x.env);
    await helper.request('helper.hello', {});
    await helper.write(jsonFrame({ v: 1, id: 5, method: 'helper.hello', params: {} }).subarray(0, 12));
    helper.child.stdin!.end();
    const { code } = await helper.exited;
    assert.equal(code, HelperExit.Normal);
    assert.match(helper.stderr(), /ended in the middle/);
  });

  it('survives streams of pure garbage and truncated frames: never a crash, only errors or a LinkBroken exit', async () => {
    const random = rng(99);
    for (let run = 0; run < 4; run++) {
      const helper = spawnRawHelper(x.env);
      await helper.request('helper.hello', {});
      const parts: Buffer[] = [];
      for (let i = 0; i < 500; i++) {
        const good = jsonFrame({ v: 1, method: 'input', params: { controllerId: 'm', event: { t: 'move', seq: i, x: 0.9, y: 0.9 } } });
        parts.push(random() < 0.5 ? good.subarray(0, Math.floor(random() * good.length)) : randomBytes(random, Math.floor(random() * 40)));
      }
      for (const chunk of chunked(random, Buffer.concat(parts), 512)) {
        if (helper.child.exitCode !== null) break;
        await helper.write(chunk).catch(() => undefined);
      }
      helper.child.stdin!.end();
      const { code, signal } = await helper.exited;
      assert.equal(signal, null);
      assert.ok(code === HelperExit.Normal || code === HelperExit.LinkBroken, `exit code ${code}; stderr: ${helper.stderr().slice(-500)}`);
      assert.doesNotMatch(helper.stderr(), /crashed/);
    }
    assertNothingReachedX();
  });
});
