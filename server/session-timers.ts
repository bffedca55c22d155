/**
 * The session service's deadlines (grace periods, host-join deadlines, purges of ended sessions)
 * by key, not by closure: with several instances a deadline of an instance that died must be
 * run by another, which can only know *what* to run from the key. The service binds the
 * dispatcher that turns a key into its action. In memory here; `server/redis/redis-timers.ts`
 * keeps them in Redis as well.
 */
export interface SessionTimers {
  /** Who runs a deadline when it is due (the session service's dispatcher). Called once, before `schedule`. */
  bind(run: (key: string) => Promise<void>): void;
  /** Runs the key's action after `ms`; scheduling a key again replaces its earlier deadline. */
  schedule(key: string, ms: number): void;
  cancel(key: string): void;
  /** Stops this instance's timers (deadlines kept elsewhere stay for others to run). */
  close(): void;
}

export class LocalSessionTimers implements SessionTimers {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private run: (key: string) => Promise<void> = async () => undefined;
  private readonly onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void = () => undefined) {
    this.onError = onError;
  }

  bind(run: (key: string) => Promise<void>): void {
    this.run = run;
  }

  schedule(key: string, ms: number): void {
    this.cancel(key);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.run(key).catch(this.onError);
    }, ms);
    timer.unref?.();
    this.timers.set(key, timer);
  }

  cancel(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
