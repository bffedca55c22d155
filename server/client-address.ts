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
 * A token bucket per address: `perWindow` events per `windowMs`, with a burst of twice that (as
 * the socket's message limit). When `maxKeys` addresses are tracked, the least recently seen are
 * forgotten first: a flood of addresses costs memory, not correctness for the busiest ones.
 */
export class AddressRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly capacity: number;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = perWindow * 2;
  }

  /** Counts one event; returns 0 when allowed, else the milliseconds until the address may retry. */
  take(address: string): number {
    const t = this.now();
    const b = this.buckets.get(address) ?? { tokens: this.capacity, at: t };
    b.tokens = Math.min(this.capacity, b.tokens + ((t - b.at) / this.windowMs) * this.perWindow);
    b.at = t;
    // Re-inserted, so the map's order is least recently seen first.
    this.buckets.delete(address);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(key);
    }
    this.buckets.set(address, b);
    if (b.tokens < 1) return Math.max(1, Math.ceil(((1 - b.tokens) / this.perWindow) * this.windowMs));
    b.tokens -= 1;
    return 0;
  }
}
