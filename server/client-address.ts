/**
 * Who a request comes from, for the per-address caps, and a small per-address rate limiter whose
 * memory stays bounded however many addresses call.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** The peer's address, or with `trustProxy` the last `X-Forwarded-For` entry (the one our proxy added). */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const peer = (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  if (!trustProxy) return peer;
  const header = req.headers['x-forwarded-for'];
  const last = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').pop()?.trim() ?? '';
  const stripped = last.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return isIP(stripped) ? stripped : peer;
}

/** Whether the request came through a proxy (which makes a loopback peer address meaningless). */
export function forwarded(req: IncomingMessage): boolean {
  return req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
}

/**
 * At most `limit` events per address per `windowMs` (fixed windows). When `maxKeys` addresses
 * are tracked, the oldest window is forgotten first: a flood of addresses costs memory, not
 * correctness for the busiest ones.
 */
export class AddressRateLimit {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one event; returns 0 when allowed, else the milliseconds until the address may retry. */
  take(address: string): number {
    const t = this.now();
    let w = this.windows.get(address);
    if (!w || t - w.start >= this.windowMs) {
      this.windows.delete(address);
      if (this.windows.size >= this.maxKeys) this.forgetOldest(t);
      w = { start: t, count: 0 };
      this.windows.set(address, w);
    }
    if (w.count >= this.limit) return Math.max(1, w.start + this.windowMs - t);
    w.count++;
    return 0;
  }

  private forgetOldest(t: number): void {
    for (const [key, w] of this.windows) {
      if (t - w.start >= this.windowMs || this.windows.size >= this.maxKeys) this.windows.delete(key);
      else break;
    }
  }
}
