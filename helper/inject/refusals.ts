/**
 * Coalesces input refusals into a few `input.refused` notifications per second: a guest flooding
 * bad events must not turn the link into a flood of answers. The first refusal of a quiet spell
 * goes out at once; later ones are counted and summed into one notice per code per window.
 */
export interface Refusal {
  /** Whose event it was, so the runner tells the right guest. */
  controllerId: string;
  seq?: number;
  code: string;
  reason: string;
  /** How many refusals this notice stands for. */
  count: number;
}

export class RefusalReporter {
  private readonly pending = new Map<string, Refusal>();
  private lastSent = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (refusal: Refusal) => void,
    /** At most one batch per window. */
    private readonly windowMs = 250,
    private readonly now: () => number = () => performance.now(),
  ) {}

  refuse(controllerId: string, code: string, reason: string, seq?: number): void {
    const key = `${controllerId}\u0000${code}`;
    const prior = this.pending.get(key);
    const next: Refusal = { controllerId, code, reason, count: (prior?.count ?? 0) + 1 };
    const lastSeq = seq ?? prior?.seq;
    if (lastSeq !== undefined) next.seq = lastSeq;
    this.pending.set(key, next);
    if (this.timer) return;
    const wait = this.lastSent + this.windowMs - this.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Sends what is pending now (also used at shutdown). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    this.lastSent = this.now();
    const batch = [...this.pending.values()];
    this.pending.clear();
    for (const r of batch) this.send(r);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}
