import type { ChildProcess } from 'node:child_process';

/**
 * Stops a child the way a user stops the demo (Ctrl-C: SIGINT, so it ends its session and cleans
 * up), and kills it if it has not gone within `graceMs`. Nothing to do for one already gone.
 */
export async function stopChild(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
