/**
 * The helper process: `node --import tsx helper/main.ts` from source, `node dist/helper.js` built.
 * stdout carries link frames and nothing else (console output is sent to stderr, the log).
 * Whatever way it ends (stdin closed, a signal, a broken link, a crash), nothing it pressed stays
 * pressed; and a previous helper's leftovers are released when it starts up (on the first request).
 */
import { format } from 'node:util';
import { HelperExit } from './exit-codes';
import { HelperLink } from './link/helper-link';
import { HelperService } from './service';
import { startUp } from './startup';

const log = (line: string) => process.stderr.write(`[helper ${process.pid}] ${line}\n`);
// A stray console.log would corrupt the frame stream; everything human goes to stderr.
console.log = console.info = console.warn = console.debug = (...args: unknown[]) => log(format(...args));

const env = process.env;
let protocolErrors = 0;
let shuttingDown = false;

const link = new HelperLink({
  side: 'b',
  input: process.stdin,
  output: process.stdout,
  onProtocolError: (e) => {
    // Logged, but not one line per frame of a flood.
    protocolErrors++;
    if (protocolErrors <= 10 || protocolErrors % 1000 === 0) log(`protocol error #${protocolErrors}: ${e.code} ${e.message}`);
  },
  onClose: (reason) => {
    const broken = reason.startsWith('framing lost');
    void shutdown(`link closed: ${reason}`, broken ? HelperExit.LinkBroken : HelperExit.Normal);
  },
});
// The link's close handler may name it: it only runs once this module has finished loading.
const service = new HelperService({
  link,
  env,
  log,
  startUp: async () => {
    const t = performance.now();
    const startup = await startUp(env, log);
    const { platform } = startup;
    const screen = platform.screen ? `${platform.screen.name} ${platform.screen.width}x${platform.screen.height}` : 'none';
    log(
      `started up in ${(performance.now() - t).toFixed(0)} ms, ${(process.uptime() * 1000).toFixed(0)} ms after launch (${platform.platform}, screen ${screen})`,
    );
    return startup;
  },
});

async function shutdown(why: string, code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  const released = service.shutdown() ?? [];
  log(`stopping: ${why}${released.length ? `; released ${released.join(' ')}` : ''}`);
  link.close(why);
  // Let queued frames (the last answers, input.refused) reach the runner, briefly.
  if (process.stdout.writableLength > 0) {
    await new Promise<void>((resolve) => {
      process.stdout.once('drain', resolve);
      setTimeout(resolve, 300).unref();
    });
  }
  process.exit(code);
}

for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void shutdown(signal, HelperExit.Normal));
}
// Ctrl-C in the host's terminal reaches the whole process group; it is meant for the runner,
// which stops the helper in order (revoke, release, exit). Run by hand, Ctrl-C still stops it.
process.on('SIGINT', () => {
  if (process.stdin.isTTY) void shutdown('SIGINT', HelperExit.Normal);
});
// The last line of defence: release before dying, whatever happened.
process.on('exit', () => {
  if (!shuttingDown) service.shutdown();
});
const crash = (err: unknown) => {
  log(`crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  try {
    service.shutdown();
  } finally {
    process.exit(HelperExit.Crashed);
  }
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
