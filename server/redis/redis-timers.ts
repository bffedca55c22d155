/**
 * Session deadlines that outlive their instance. Each is a member of the sorted set `deadlines`
 * scored by when it is due (epoch ms; instances' clocks are assumed to agree within a second).
 * The instance that set it also keeps a local timer and runs it on time; every instance polls
 * the set and runs what is overdue by more than `slackMs` (its owner died or is stuck). Whoever
 * runs a deadline first claims it with ZREM, so it runs once.
 *
 * A deadline set while Redis did not answer exists only here: it runs from its local timer
 * unclaimed, and is written to Redis by `resync` if still pending.
 */
import type { SessionTimers } from '../session-timers';
import type { RedisLink } from './redis-link';

export interface RedisTimersOptions {
  pollMs?: number;
  /** How late a deadline must be before an instance other than its owner runs it. */
  slackMs?: number;
  onError?(err: unknown): void;
}

interface Local {
  timer: ReturnType<typeof setTimeout>;
  dueAt: number;
  /** Whether the deadline is in Redis (false: ZADD failed; nobody else knows of it). */
  durable: boolean;
}

export class RedisSessionTimers implements SessionTimers {
  private run: (key: string) => Promise<void> = async () => undefined;
  private readonly local = new Map<string, Local>();
  private readonly pollMs: number;
  private readonly slackMs: number;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private polling = false;
  private closed = false;
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly link: RedisLink,
    options: RedisTimersOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 500;
    this.slackMs = options.slackMs ?? 1000;
    this.onError = options.onError ?? ((err) => link.log('error', 'a session deadline failed', err));
  }

  bind(run: (key: string) => Promise<void>): void {
    this.run = run;
  }

  start(): void {
    this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
    this.pollTimer.unref();
  }

  schedule(key: string, ms: number): void {
    this.cancelLocal(key);
    const dueAt = Date.now() + ms;
    const entry: Local = { timer: setTimeout(() => void this.fire(key, entry), ms), dueAt, durable: true };
    entry.timer.unref?.();
    // After close (the sockets of a shutdown closing), the deadline still goes to Redis for the others.
    if (!this.closed) this.local.set(key, entry);
    else clearTimeout(entry.timer);
    this.link.run((r) => r.zadd(this.link.keys.deadlines(), dueAt, key)).catch(() => (entry.durable = false));
  }

  cancel(key: string): void {
    this.cancelLocal(key);
    this.link.fire('deadline cancel', (r) => r.zrem(this.link.keys.deadlines(), key));
  }

  close(): void {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const l of this.local.values()) clearTimeout(l.timer);
    this.local.clear();
  }

  /** Writes deadlines that could not be written while Redis was away. */
  async resync(): Promise<void> {
    for (const [key, l] of this.local) {
      if (l.durable) continue;
      await this.link.run((r) => r.zadd(this.link.keys.deadlines(), l.dueAt, key));
      l.durable = true;
    }
  }

  /** Runs every deadline overdue by more than the slack that nobody claimed yet; answers how many. */
  async poll(): Promise<number> {
    if (this.polling || this.closed || !this.link.isUp) return 0;
    this.polling = true;
    let ran = 0;
    try {
      const keys = await this.link.run((r) => r.zrangebyscore(this.link.keys.deadlines(), '-inf', Date.now() - this.slackMs, 'LIMIT', 0, 50));
      for (const key of keys) {
        if (!(await this.claim(key))) continue;
        this.cancelLocal(key);
        ran++;
        await this.run(key).catch(this.onError);
      }
    } catch {
      // Redis away: polled again later.
    } finally {
      this.polling = false;
    }
    return ran;
  }

  private async fire(key: string, entry: Local): Promise<void> {
    if (this.local.get(key) !== entry) return;
    this.local.delete(key);
    try {
      if (entry.durable && !(await this.claim(key))) return; // another instance ran it
    } catch {
      // Redis away: it stays in the set, and whoever polls first after Redis answers runs it.
      return;
    }
    await this.run(key).catch(this.onError);
  }

  private async claim(key: string): Promise<boolean> {
    return (await this.link.run((r) => r.zrem(this.link.keys.deadlines(), key))) === 1;
  }

  private cancelLocal(key: string): void {
    const l = this.local.get(key);
    if (l) clearTimeout(l.timer);
    this.local.delete(key);
  }
}
