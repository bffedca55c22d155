/**
 * The runner → host page frame stream: length-prefixed messages in one HTTP response, cut back
 * into messages whatever the chunks; a length no frame can have ends the stream; the runner
 * serves it only to the page whose bridge WebSocket is connected, with the bridge's key.
 */
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { FrameStreamSplitter, frameLengthPrefix, frameStreamUrl } from '../../protocol/bridge-frame-stream';
import { MAX_VIDEO_FRAME_BYTES } from '../../protocol/helper-framing';
import { HostBridgeServer } from '../../runner/websocket-bridge';

function stream(...messages: Uint8Array[]): Uint8Array {
  const parts = messages.flatMap((m) => [frameLengthPrefix(m.byteLength), m]);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 256);

describe('protocol: the host bridge frame stream', () => {
  it('gives back each message whole, from one chunk or one byte at a time', () => {
    const messages = [bytes(1, 1), bytes(5000, 2), bytes(70_000, 3)];
    const whole = stream(...messages);
    for (const chunk of [whole.byteLength, 1, 3, 4099]) {
      const got: Uint8Array[] = [];
      const splitter = new FrameStreamSplitter((m) => got.push(new Uint8Array(m)));
      for (let at = 0; at < whole.byteLength; at += chunk) splitter.push(whole.subarray(at, at + chunk));
      assert.deepEqual(got, messages, `chunks of ${chunk} bytes`);
      assert.equal(splitter.partial, 0);
    }
  });

  it('a stream cut mid-message says how much is missing', () => {
    const splitter = new FrameStreamSplitter(() => assert.fail('no message is complete'));
    splitter.push(stream(bytes(100, 0)).subarray(0, 50));
    assert.equal(splitter.partial, 54);
  });

  it('a length of 0 or beyond the largest frame is refused, and so is everything after it', () => {
    for (const length of [0, MAX_VIDEO_FRAME_BYTES + 1, 0xffffffff]) {
      const got: ArrayBuffer[] = [];
      const splitter = new FrameStreamSplitter((m) => got.push(m));
      splitter.push(stream(bytes(10, 0)));
      assert.equal(got.length, 1, 'the message before it went through');
      assert.throws(() => splitter.push(frameLengthPrefix(length)), new RegExp(`a message of ${length} bytes`));
      assert.throws(() => splitter.push(stream(bytes(10, 0))), /frame stream/);
      assert.equal(got.length, 1);
    }
  });

  it('its URL is the bridge URL with its key, over http', () => {
    assert.equal(frameStreamUrl('ws://127.0.0.1:4100/bridge?k=abc'), 'http://127.0.0.1:4100/bridge/frames?k=abc');
  });
});

describe('runner: who gets the frame stream', () => {
  let server: HostBridgeServer;
  beforeEach(() => {
    server = new HostBridgeServer({
      hello: () => ({}) as never,
      askControl: () => Promise.resolve({ decision: 'deny' }) as never,
      controlState: () => undefined,
      input: () => undefined,
    });
  });
  afterEach(() => server.close());

  it('the wrong key gets 403, a page without its bridge WebSocket 409; the right page gets frames, and only then', async () => {
    const url = await server.listen();
    const wrong = await fetch(frameStreamUrl(url.replace(/k=[^&]+/, 'k=nope')));
    assert.equal(wrong.status, 403);
    const early = await fetch(frameStreamUrl(url));
    assert.equal(early.status, 409);
    assert.match(await early.text(), /WebSocket first/);

    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    assert.equal(server.frameTarget.connected(), false, 'no frames before the page opened its stream');
    const connected = new Promise<void>((resolve) => (server.onPageConnected = resolve));
    const response = await fetch(frameStreamUrl(url));
    assert.equal(response.status, 200);
    await connected;
    assert.equal(server.frameTarget.ready(), true);
    server.frameTarget.send(bytes(300, 9));
    assert.equal(server.frameTarget.ready(), false, 'the next waits for frame.taken');
    const got: Uint8Array[] = [];
    const splitter = new FrameStreamSplitter((m) => got.push(new Uint8Array(m)));
    const reader = response.body!.getReader();
    while (got.length === 0) splitter.push((await reader.read()).value!);
    assert.deepEqual(got, [bytes(300, 9)]);
    ws.close();
    // The page's WebSocket gone, its stream ends.
    for (;;) if ((await reader.read()).done) break;
  });
});
