/** Starting real helpers for tests: through HelperProcess, or raw, to write arbitrary bytes at it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { HelperProcess, resolveHelperCommand, type HelperProcessOptions } from '../../../helper/client';
import { FrameDecoder } from '../../../helper/link/frame-decoder';
import type { Xvfb } from './xvfb';

/** A HelperProcess on this X server with its log kept (printed when a test fails, see `dumpLog`). */
export function helperOn(x: Xvfb, options: HelperProcessOptions = {}): HelperProcess & { logLines: string[] } {
  const helper = new HelperProcess({ env: x.env, ...options }) as HelperProcess & { logLines: string[] };
  helper.logLines = [];
  helper.on('log', (line) => helper.logLines.push(line));
  return helper;
}

export interface RawHelper {
  child: ChildProcess;
  /** Every JSON message the helper sent, parsed. */
  messages: Array<Record<string, unknown>>;
  videoFrames: number;
  stderr(): string;
  write(bytes: Buffer): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a request and waits for its response. */
  request(method: string, params: unknown, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(): Promise<void>;
}

let nextId = 1_000_000;

export function spawnRawHelper(env: NodeJS.ProcessEnv): RawHelper {
  const cmd = resolveHelperCommand();
  const child = spawn(cmd.command, cmd.args, { cwd: cmd.cwd, env: { ...env, ...cmd.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: Array<Record<string, unknown>> = [];
  let stderr = '';
  const raw: RawHelper = {
    child,
    messages,
    videoFrames: 0,
    stderr: () => stderr,
    write: (bytes) =>
      new Promise((resolve, reject) => {
        child.stdin!.write(bytes, (err) => (err ? reject(err) : resolve()));
      }),
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    async request(method, params, timeoutMs = 10_000) {
      const id = nextId++;
      const body = Buffer.from(JSON.stringify({ v: 1, id, method, params }));
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32LE(1 + body.length, 0);
      body.copy(frame, 5);
      await raw.write(frame);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const reply = messages.find((m) => m.id === id);
        if (reply) return reply;
        if (Date.now() > deadline) throw new Error(`no answer to ${method} within ${timeoutMs} ms; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await raw.exited;
    },
  };
  const decoder = new FrameDecoder({
    acceptVideo: true,
    onJson: (text) => messages.push(JSON.parse(text) as Record<string, unknown>),
    onVideo: () => raw.videoFrames++,
    onError: (e) => {
      throw e;
    },
    onFatal: (e) => {
      throw e;
    },
  });
  child.stdout!.on('data', (chunk: Buffer) => decoder.push(chunk));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  child.stdin!.on('error', () => undefined); // EPIPE once it has exited: the tests look at `exited`
  return raw;
}
