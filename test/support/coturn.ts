/**
 * A real coturn (Debian's `turnserver`) on loopback for one test: TURN REST auth with a shared
 * secret, relaying only on 127.0.0.1, its log kept so a test can see the allocations it made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Coturn {
  url: string;
  secret: string;
  port: number;
  /** Everything coturn logged so far. */
  log(): string;
  stop(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export interface CoturnOptions {
  /** Address to listen and relay on (default 127.0.0.1). */
  address?: string;
  /** Its UDP port (default: a free one on loopback). */
  port?: number;
  /** Runs coturn elsewhere, e.g. inside a network namespace: `Machine.argv`. */
  argv?: (command: string, ...args: string[]) => [string, string[]];
}

export async function startCoturn(options: CoturnOptions = {}): Promise<Coturn> {
  if (!existsSync('/usr/bin/turnserver')) throw new Error('coturn is not installed: run `npm run bootstrap` as root, or apt-get install coturn');
  const dir = mkdtempSync(path.join(tmpdir(), 'pairux-coturn-'));
  const logFile = path.join(dir, 'turn.log');
  const secret = randomBytes(16).toString('hex');
  const address = options.address ?? '127.0.0.1';
  const port = options.port ?? (await freeUdpPort());
  const relayBase = 50_000 + Math.floor(Math.random() * 10_000);
  const args = [
    '-n', // no config file
    `--listening-ip=${address}`,
    `--listening-port=${port}`,
    `--relay-ip=${address}`,
    '--allow-loopback-peers',
    `--min-port=${relayBase}`,
    `--max-port=${relayBase + 200}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    '--realm=pairux.test',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--no-tcp-relay',
    '--fingerprint',
    '--verbose',
    `--log-file=${logFile}`,
    '--simple-log',
    '--no-stdout-log',
    `--pidfile=${path.join(dir, 'turn.pid')}`,
    `--userdb=${path.join(dir, 'turndb')}`,
  ];
  const [command, argv] = options.argv ? options.argv('/usr/bin/turnserver', ...args) : ['/usr/bin/turnserver', args];
  const child: ChildProcess = spawn(command, argv, { stdio: 'ignore' });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const deadline = Date.now() + 5000;
  while (!/listener opened on|IPv4\. UDP listener/i.test(log())) {
    if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}: ${log()}`);
    if (Date.now() > deadline) throw new Error(`turnserver did not start within 5 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `turn:${address}:${port}?transport=udp`,
    secret,
    port,
    log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
