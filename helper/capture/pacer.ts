/**
 * Calls `tick` at a fixed rate without drift: every deadline is computed from the start time
 * (start + n × interval), never from when the previous tick ran, so timer lateness and the time
 * a tick takes do not add up. When a tick overruns whole intervals, the missed ticks are skipped,
 * not bunched: a burst of stale frames helps nobody.
 */
export class Pacer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private origin = 0;
  private n = 0;
  /** Ticks skipped because a tick (or the event loop) overran. */
  skipped = 0;
  ticks = 0;

  constructor(
    private readonly fps: number,
    /** May be async: the next deadline is scheduled once it has finished. */
    private readonly tick: () => void | Promise<void>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get interval(): number {
    return 1000 / this.fps;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    this.origin = this.now();
    this.n = 0;
    this.timer = setTimeout(() => this.run(), 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    this.ticks++;
    const timer = this.timer;
    const next = () => {
      // Stopped (or restarted) meanwhile: that run schedules itself.
      if (this.timer === timer) this.schedule();
    };
    let result: void | Promise<void>;
    try {
      result = this.tick();
    } catch (err) {
      next();
      throw err;
    }
    if (result instanceof Promise) result.then(next, next);
    else next();
  }

  private schedule(): void {
    const now = this.now();
    this.n++;
    const due = Math.floor((now - this.origin) / this.interval);
    if (due > this.n) {
      this.skipped += due - this.n;
      this.n = due;
    }
    const next = this.origin + this.n * this.interval;
    this.timer = setTimeout(() => this.run(), Math.max(0, next - now));
  }
}
