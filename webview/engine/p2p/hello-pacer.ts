/**
 * Paces guests' hellos on the P2P host. Every hello asks the host for a new peer connection (an
 * offer, ICE gathering, an encoder): a viewer sending 150 hellos a second, within the server's
 * rate limit, once kept new viewers from ever getting a picture and halved everyone's frame rate.
 * So each guest gets at most one rebuild per interval: a hello within the interval of that
 * guest's last rebuild is deferred to the interval's end, later hellos merge into it, and each
 * deferral doubles that guest's interval (up to a cap) until it has been quiet for a while. One
 * guest's hellos never delay another's.
 */
export const HELLO_MIN_INTERVAL_MS = 1000;
export const HELLO_MAX_INTERVAL_MS = 8000;

export type HelloOutcome = 'now' | 'deferred' | 'merged';

export interface HelloPacerOptions {
  minIntervalMs?: number;
  maxIntervalMs?: number;
  now?: () => number;
}

interface GuestPace {
  lastAt: number;
  interval: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class HelloPacer {
  private readonly guests = new Map<string, GuestPace>();
  private readonly min: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(
    /** Builds the guest's connection (replacing any it had). */
    private readonly connect: (guestId: string) => void,
    options: HelloPacerOptions = {},
  ) {
    this.min = options.minIntervalMs ?? HELLO_MIN_INTERVAL_MS;
    this.max = Math.max(this.min, options.maxIntervalMs ?? HELLO_MAX_INTERVAL_MS);
    this.now = options.now ?? (() => Date.now());
  }

  hello(guestId: string): HelloOutcome {
    const now = this.now();
    let pace = this.guests.get(guestId);
    if (!pace) {
      pace = { lastAt: -Infinity, interval: this.min, timer: undefined };
      this.guests.set(guestId, pace);
    }
    if (pace.timer) return 'merged';
    const since = now - pace.lastAt;
    if (since >= pace.interval) {
      // Quiet for long enough: this guest is back to the shortest interval.
      if (since >= this.max) pace.interval = this.min;
      this.build(guestId, pace);
      return 'now';
    }
    const entry = pace;
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined;
        if (this.guests.get(guestId) === entry) this.build(guestId, entry);
      },
      entry.lastAt + entry.interval - now,
    );
    entry.interval = Math.min(this.max, entry.interval * 2);
    return 'deferred';
  }

  /** A connection built without a hello (connectAll) counts as this guest's latest rebuild. */
  built(guestId: string): void {
    const pace = this.guests.get(guestId);
    if (pace) pace.lastAt = this.now();
    else this.guests.set(guestId, { lastAt: this.now(), interval: this.min, timer: undefined });
  }

  /** The guest left: nothing deferred for it may build a connection any more. */
  forget(guestId: string): void {
    const pace = this.guests.get(guestId);
    if (pace?.timer) clearTimeout(pace.timer);
    this.guests.delete(guestId);
  }

  stop(): void {
    for (const id of [...this.guests.keys()]) this.forget(id);
  }

  private build(guestId: string, pace: GuestPace): void {
    pace.lastAt = this.now();
    this.connect(guestId);
  }
}
