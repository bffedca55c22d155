/** What bench/capture.ts and bench/input.ts share: a helper on an Xvfb screen, and a screen that keeps changing. */
import { spawn, type ChildProcess } from 'node:child_process';
import { HelperProcess, type HelperCommand } from '../../helper/client';
import type { CaptureStats } from '../../helper/capture/screen-capturer';
import type { Xvfb } from '../../test/helper/support/xvfb';

export interface BenchHelper {
  helper: HelperProcess;
  /** The helper's capture stats from its last `capture stopped: {…}` log line. */
  lastStats(): (CaptureStats & { link: { sent: number; dropped: number } }) | undefined;
  log: string[];
}

/** A helper on `x`'s screen (`command`: how to run it, e.g. as a Wayland desktop's user). */
export async function benchHelper(x: Pick<Xvfb, 'env'>, command?: HelperCommand): Promise<BenchHelper> {
  // No standby: it would be a second process in the CPU figures.
  const helper = new HelperProcess({ env: x.env, standby: false, ...(command ? { command } : {}) });
  const log: string[] = [];
  let stats: ReturnType<BenchHelper['lastStats']>;
  helper.on('log', (line) => {
    log.push(line);
    const m = /capture stopped: (\{.*\})$/.exec(line);
    if (m) stats = JSON.parse(m[1]!) as typeof stats;
  });
  await helper.start();
  return { helper, log, lastStats: () => stats };
}

/**
 * Keeps the whole screen changing (the root window's colour, ~100 times a second) so every grab
 * differs from the last: the worst case for capture. Its own CPU (a shell loop, xsetroot and the X
 * server repainting) is not the helper's and is not counted.
 */
export function changingScreen(x: Xvfb): { stop(): void } {
  const child: ChildProcess = spawn(
    'bash',
    ['-c', 'while :; do xsetroot -solid "#$(printf %06x $(( (RANDOM << 9 ^ RANDOM) & 0xffffff )))"; sleep 0.01; done'],
    {
      env: x.env,
      stdio: 'ignore',
      detached: true,
    },
  );
  return {
    stop: () => {
      // Its own process group: the loop and whatever xsetroot is running.
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
