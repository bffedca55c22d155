/** Chromium for benches: a browser whose process tree we can meter, and a page server for bench-only pages. */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../../demo/chromium';
import { treeCpuSeconds } from './stats';

export interface MeteredBrowser {
  browser: Browser;
  pid: number;
  /** CPU seconds of the whole Chromium process tree so far. */
  cpuSeconds(): number;
  close(): Promise<void>;
}

/** `executablePath`: Chromium started through a wrapper (a network namespace's), metered all the same. */
export async function launchMeteredChromium(o: { executablePath?: string } = {}): Promise<MeteredBrowser> {
  const server = await chromium.launchServer({ executablePath: o.executablePath ?? findChromium(), headless: true, args: CHROMIUM_ARGS });
  const browser = await chromium.connect(server.wsEndpoint());
  const pid = server.process().pid!;
  return {
    browser,
    pid,
    cpuSeconds: () => treeCpuSeconds(pid),
    async close() {
      // A host page drowning in queued frames can take minutes to close: a bench run must not wait on it.
      const closed = await within(
        15_000,
        browser.close().catch(() => undefined),
      ).then(() => within(5_000, server.close()));
      if (!closed) await server.kill();
    },
  };
}

/** Whether `p` settled within `ms`. */
async function within(ms: number, p: Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = await Promise.race([p.then(() => true), late]);
  clearTimeout(timer);
  return done;
}

/** Serves dist/bench/*.js under a blank page, on loopback by default (a secure context for WebCodecs). */
export async function serveBenchPages(host = '127.0.0.1'): Promise<{ url: string; close(): Promise<void> }> {
  const dist = fileURLToPath(new URL('../../dist/bench/', import.meta.url));
  const server = createServer((req, res) => void serve(req, res));
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const name = (req.url ?? '/').replace(/^\//, '');
    if (/^[a-z-]+\.js$/.test(name)) {
      try {
        const body = await readFile(dist + name);
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(body);
        return;
      } catch {
        // fall through to 404
      }
    }
    if (name === '' || name.startsWith('page')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><meta charset="utf-8"><title>bench</title><body style="margin:0;background:#000"></body>');
      return;
    }
    res.writeHead(404).end();
  }
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host}:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
