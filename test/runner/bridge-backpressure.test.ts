/**
 * The runner sends the host page its next frame only once the page has taken the previous one;
 * changes made meanwhile merge in the relay. Measured before: a page busy with a scrolling 1080p
 * window had seconds of patches queued between the runner's socket and its own message queue
 * (bench:latency's scroll row, runner → page p50 2.6–4.4 s), because an empty bufferedAmount
 * only meant the kernel had taken the bytes.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { VideoFrameHeader } from '../../protocol/helper-framing';
import { FrameRelay } from '../../runner/frame-relay';
import { HostBridgeServer } from '../../runner/websocket-bridge';

const W = 128;
const H = 128;
const header = (seq: number): VideoFrameHeader => ({ seq, width: W, height: H, format: 'BGRX', captureTime: Date.now() });

describe('runner: the host bridge sends a frame only when the page has taken the last one', () => {
  let server: HostBridgeServer;
  let page: ChildProcess | undefined;

  beforeEach(() => {
    server = new HostBridgeServer({
      hello: () => ({ width: W, height: H, fps: 30 }) as never,
      askControl: () => Promise.resolve({ decision: 'deny' }) as never,
      controlState: () => undefined,
      input: () => undefined,
    });
  });

  afterEach(async () => {
    page?.kill();
    page = undefined;
    await server.close();
  });

  it('a slow page gets the newest picture soon after the changes stop, not a backlog of every change', async () => {
    const url = await server.listen();
    // The page (its own process, as a browser page) takes 40 ms over each frame.
    page = fork(fileURLToPath(new URL('../support/slow-bridge-page.ts', import.meta.url)), [url, '40'], { execArgv: ['--import', 'tsx'] });
    const received: Array<{ seq: number; at: number }> = [];
    await new Promise<void>((resolve, reject) => {
      page!.on('message', (m: 'ready' | { seq: number; at: number }) => (m === 'ready' ? resolve() : received.push(m)));
      page!.once('error', reject);
      page!.once('exit', (code) => reject(new Error(`the page process exited (${code})`)));
    });
    const relay = new FrameRelay(server.frameTarget);
    // 150 changes 4 ms apart (a scroll), each a whole new picture.
    const LAST = 149;
    for (let seq = 0; seq <= LAST; seq++) {
      relay.push(header(seq), new Uint8Array(W * H * 4).fill(seq % 251));
      await new Promise((r) => setTimeout(r, 4));
    }
    const stoppedAt = performance.timeOrigin + performance.now();
    const deadline = performance.now() + 10_000;
    while (!received.some((r) => r.seq === LAST) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    relay.dispose();
    const last = received.find((r) => r.seq === LAST);
    assert.ok(last, `the last change reached the page (it got ${received.length} messages, the newest seq ${received.at(-1)?.seq})`);
    const lateMs = last.at - stoppedAt;
    // The page took what it could and the rest merged in the relay...
    assert.ok(server.framesTaken > 0, 'the page said it took frames');
    // ...so the newest picture came about one page-frame after the last change (the bug: a backlog of seconds).
    assert.ok(lateMs < 1000, `the last change reached the page ${lateMs.toFixed(0)} ms after it was made (${received.length} messages for 150 changes)`);
  });
});
