/**
 * Every input event the X server delivers, as an X client sees it: `xinput test-xi2 --root`
 * (XI2, all devices, raw events included, so a key sent to a focused window counts as well as
 * one on the bare root). A harness starts it before its first message and reads `count` at the
 * end; `proven()` first shows that an injected event is seen, so a zero means something.
 */
import { spawn } from 'node:child_process';
import type { Xvfb } from '../../helper/support/xvfb';

const INPUT_EVENT = /EVENT type \d+ \((Raw)?(KeyPress|KeyRelease|ButtonPress|ButtonRelease|Motion)\)/g;

export interface XWatch {
  /** Key, button and motion events (raw or not) seen since `reset()`. */
  count(): number;
  /** Which kinds, for a failure message. */
  kinds(): Record<string, number>;
  reset(): void;
  /** Resolves once at least `n` events were seen (since `reset()`), or rejects after `ms`. */
  waitFor(n: number, ms: number): Promise<void>;
  stop(): void;
}

export async function watchX(x: Xvfb): Promise<XWatch> {
  const child = spawn('stdbuf', ['-oL', 'xinput', 'test-xi2', '--root'], { env: x.env, stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  let kinds: Record<string, number> = {};
  let total = 0;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    text += d;
    const cut = text.lastIndexOf('\n');
    if (cut < 0) return;
    for (const m of text.slice(0, cut).matchAll(INPUT_EVENT)) {
      const kind = `${m[1] ?? ''}${m[2]}`;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      total++;
    }
    text = text.slice(cut + 1);
  });
  // It has selected its events once it printed the device list.
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 2000);
    child.stdout!.once('data', () => {
      clearTimeout(t);
      setTimeout(resolve, 200);
    });
  });
  return {
    count: () => total,
    kinds: () => ({ ...kinds }),
    reset: () => {
      total = 0;
      kinds = {};
    },
    async waitFor(n, ms) {
      const deadline = Date.now() + ms;
      while (total < n) {
        if (Date.now() > deadline) throw new Error(`the X watcher saw ${total} input events within ${ms} ms, expected ${n}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: () => child.kill('SIGKILL'),
  };
}
