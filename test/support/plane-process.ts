/**
 * The control plane as its own process (`server/main.ts` through tsx, settings as PAIRUX_*
 * variables), so a test can kill it without a goodbye (SIGKILL): no socket closes cleanly, no
 * timer of its runs again, nothing it meant to write reaches Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_PAGES_ENV } from './test-pages';

export interface PlaneProcess {
  /** http://127.0.0.1:<port>, the instance itself (not the public URL). */
  url: string;
  port: number;
  pid: number;
  /** What it printed (stdout and stderr), for failure messages: the last 20,000 characters. */
  output(): string;
  /** Everything it printed since it started (a test searching its logs for a secret reads all of it). */
  allOutput(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function startPlaneProcess(env: Record<string, string>): Promise<PlaneProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PAIRUX_HOST: '127.0.0.1', PAIRUX_PORT: '0', ...TEST_PAGES_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const all: string[] = [];
  const collect = (d: Buffer) => {
    all.push(d.toString());
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`control plane did not start within 20 s: ${out}`)), 20_000);
    const look = () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', look);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`control plane exited with ${child.exitCode ?? child.signalCode} before listening: ${out}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    output: () => out,
    allOutput: () => all.join(''),
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
