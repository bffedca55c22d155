/**
 * One pending retry at a time, its delay doubling from `minMs` up to `maxMs` until `reset()` (a
 * success): how the SFU engines try a new room after LiveKit's own reconnects gave up.
 */
/** A new SFU room after LiveKit's own reconnects gave up: first after 1 s, then up to every 5 s. */
export const SFU_ROOM_RETRY = { minMs: 1000, maxMs: 5000 } as const;

export class RetryTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private delay: number;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    // Wrapped: a browser's setTimeout called as a method of this object throws "Illegal invocation".
    private readonly setTimer: (run: () => void, ms: number) => ReturnType<typeof setTimeout> = (run, ms) => setTimeout(run, ms),
  ) {
    this.delay = minMs;
  }

  /** Runs `retry` after the current delay, unless one is already pending. */
  schedule(retry: () => void): void {
    if (this.timer !== undefined) return;
    const delay = this.delay;
    this.delay = Math.min(this.maxMs, delay * 2);
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      retry();
    }, delay);
  }

  /** The next retry waits the least again. */
  reset(): void {
    this.delay = this.minMs;
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
