/** Runs the built control plane (dist/server.js) as its own process, so its CPU and memory are its own. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_PAGES_ENV } from '../../test/support/test-pages';

export interface ServerProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const script = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
  const child = spawn(process.execPath, [script], {
    // Benches create hundreds of sessions and open thousands of sockets from one address: no per-address limits.
    env: {
      ...process.env,
      PAIRUX_HOST: '127.0.0.1',
      PAIRUX_PORT: '0',
      PAIRUX_SESSION_CREATES_PER_MINUTE: '0',
      PAIRUX_MAX_UNJOINED_SOCKETS_PER_IP: '100000',
      PAIRUX_MAX_UNJOINED_SOCKETS: '100000',
      ...TEST_PAGES_ENV,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${out}`)));
  });
  return {
    url,
    pid: child.pid!,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
