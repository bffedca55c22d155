/**
 * The test internet's link shaper: `delay-line.py` carries the packets of TUN device pairs with a
 * one-way delay and a loss rate, because this kernel has no netem (see the script's header).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./delay-line.py', import.meta.url));

/** One direction's figures; a link applies them both ways. */
export interface LinkShape {
  delayMs: number;
  lossPercent: number;
  /** A bottleneck at this rate (kbit/s), its queue holding 200 ms of it; none when absent or 0. */
  rateKbps?: number;
}

export interface DelayLine {
  /** Sets link `index` (its place in the pairs given) and resolves once the line applies it. */
  set(index: number, shape: LinkShape): Promise<void>;
  close(): void;
}

/** `pairs`: each link's two persistent TUN devices as "netns:device". Resolves once all are attached. */
export async function startDelayLine(pairs: Array<[string, string]>): Promise<DelayLine> {
  const child: ChildProcess = spawn('python3', [SCRIPT, ...pairs.map(([a, b]) => `${a},${b}`)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const waiting = new Map<string, Array<(err?: Error) => void>>();
  const failAll = (err: Error) => {
    for (const list of waiting.values()) for (const done of list) done(err);
    waiting.clear();
  };
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const list = waiting.get(line);
    list?.shift()?.();
    if (list && !list.length) waiting.delete(line);
  });
  const expect = (line: string) =>
    new Promise<void>((resolve, reject) => {
      const list = waiting.get(line) ?? [];
      list.push((err) => (err ? reject(err) : resolve()));
      waiting.set(line, list);
    });
  child.once('exit', (code, signal) => failAll(new Error(`the delay line exited (${signal ?? code}): ${stderr.trim() || 'no output'}`)));
  child.once('error', (err) => failAll(new Error(`the delay line could not start (python3): ${err.message}`)));
  await expect('ready');
  return {
    async set(index, { delayMs, lossPercent, rateKbps = 0 }) {
      if (!(index >= 0 && index < pairs.length)) throw new RangeError(`no link ${index} (${pairs.length} links)`);
      if (!(delayMs >= 0 && lossPercent >= 0 && lossPercent <= 100 && rateKbps >= 0))
        throw new RangeError(`bad link shape ${delayMs} ms, ${lossPercent} %, ${rateKbps} kbit/s`);
      const applied = expect(`ok ${index}`);
      child.stdin!.write(`${index} ${delayMs} ${lossPercent} ${rateKbps}\n`);
      await applied;
    },
    close() {
      child.stdin?.end();
      child.kill('SIGTERM');
    },
  };
}
