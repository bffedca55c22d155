/**
 * The gate every guest input event passes on the host, in this order: the sender (known from
 * its peer connection) must be the driver, the event must pass `sanitizeInputEvent`, and the
 * sender must be within its `InputRateLimiter` budget; only then does it reach the `InputSink`
 * (the runner, through the host bridge; later also the editor itself). Whatever is refused is
 * counted and answered with `peer.input.refused`, coalesced so a flood of refusals costs the
 * data channel a few messages per second at most.
 */
import { ErrorCode } from '../../../protocol/errors';
import { InputRateLimiter, sanitizeInputEvent, type InputEvent } from '../../../protocol/input';

/** Where accepted input goes. False: the sink cannot take input now (counted as refused). */
export interface InputSink {
  input(controllerId: string, event: InputEvent): boolean;
}

export interface Refusal {
  seq?: number;
  code: string;
  reason: string;
}

export type RefusalNotice = Refusal & { count: number };

export interface HostInputGateOptions {
  /** Why input from this guest must be refused now; undefined when it drives. */
  refusalFor(guestId: string): string | undefined;
  sink?: InputSink;
  /** Least time between two refusal notices to one guest (default 300 ms). */
  refusalIntervalMs?: number;
  ratePerSecond?: number;
  now?: () => number;
}

export interface InputGateStats {
  forwarded: number;
  /** Refused events by code. */
  refused: Record<string, number>;
  /** Refusal notices actually sent (after coalescing). */
  notices: number;
}

interface Coalescer {
  send: ((notice: RefusalNotice) => void) | undefined;
  pending: RefusalNotice | undefined;
  lastSentAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const MAX_REASON_CHARS = 300;

export class HostInputGate {
  private sink: InputSink | undefined;
  private readonly limiters = new Map<string, InputRateLimiter>();
  private readonly coalescers = new Map<string, Coalescer>();
  private readonly interval: number;
  private readonly now: () => number;
  private readonly counts: InputGateStats = { forwarded: 0, refused: {}, notices: 0 };

  constructor(private readonly options: HostInputGateOptions) {
    this.sink = options.sink;
    this.interval = options.refusalIntervalMs ?? 300;
    this.now = options.now ?? (() => performance.now());
  }

  setSink(sink: InputSink | undefined): void {
    this.sink = sink;
  }

  stats(): InputGateStats {
    return { forwarded: this.counts.forwarded, refused: { ...this.counts.refused }, notices: this.counts.notices };
  }

  /**
   * Where refusals for this guest go (its current data channel). Returns the detach function,
   * which leaves a newer attachment for the same guest alone.
   */
  attach(guestId: string, send: (notice: RefusalNotice) => void): () => void {
    const c = this.coalescer(guestId);
    c.send = send;
    return () => {
      if (c.send === send) c.send = undefined;
    };
  }

  /** One `peer.input` payload from the guest on the other end of a peer connection. */
  receive(guestId: string, raw: unknown): void {
    const seq = seqOf(raw);
    const notDriving = this.options.refusalFor(guestId);
    if (notDriving !== undefined)
      return this.refuse(guestId, { ...(seq === undefined ? {} : { seq }), code: ErrorCode.Forbidden, reason: `not forwarded: ${notDriving}` });
    const checked = sanitizeInputEvent(raw);
    if (!checked.ok) return this.refuse(guestId, { ...(checked.seq === undefined ? {} : { seq: checked.seq }), code: checked.code, reason: checked.reason });
    const limiter = this.limiters.get(guestId) ?? new InputRateLimiter(this.options.ratePerSecond, this.now);
    this.limiters.set(guestId, limiter);
    if (!limiter.take()) return this.refuse(guestId, { seq: checked.event.seq, code: ErrorCode.RateLimited, reason: 'too many input events; slow down' });
    const sink = this.sink;
    if (!sink || !sink.input(guestId, checked.event)) {
      return this.refuse(guestId, { seq: checked.event.seq, code: ErrorCode.Closed, reason: "the host's input path is not connected" });
    }
    this.counts.forwarded++;
  }

  /** Refuses (and tells the guest about) one event; also for refusals from further down (the helper). */
  refuse(guestId: string, refusal: Refusal, count = 1): void {
    this.counts.refused[refusal.code] = (this.counts.refused[refusal.code] ?? 0) + count;
    const c = this.coalescer(guestId);
    const reason = refusal.reason.slice(0, MAX_REASON_CHARS);
    const merged: RefusalNotice = {
      ...(refusal.seq === undefined ? {} : { seq: refusal.seq }),
      code: refusal.code.slice(0, 32),
      reason,
      count: (c.pending?.count ?? 0) + count,
    };
    c.pending = merged;
    const wait = c.lastSentAt + this.interval - this.now();
    if (wait <= 0 && c.timer === undefined) this.flush(c);
    else c.timer ??= setTimeout(() => this.flush(c), Math.max(0, wait));
  }

  /** Forget a guest that left (its budget and pending notices). */
  forget(guestId: string): void {
    const c = this.coalescers.get(guestId);
    if (c?.timer !== undefined) clearTimeout(c.timer);
    this.coalescers.delete(guestId);
    this.limiters.delete(guestId);
  }

  private coalescer(guestId: string): Coalescer {
    let c = this.coalescers.get(guestId);
    if (!c) {
      c = { send: undefined, pending: undefined, lastSentAt: -Infinity, timer: undefined };
      this.coalescers.set(guestId, c);
    }
    return c;
  }

  private flush(c: Coalescer): void {
    c.timer = undefined;
    const notice = c.pending;
    c.pending = undefined;
    if (!notice) return;
    c.lastSentAt = this.now();
    if (!c.send) return;
    try {
      c.send(notice);
      this.counts.notices++;
    } catch {
      // The channel is closing; the guest learns from the control state anyway.
    }
  }
}

function seqOf(raw: unknown): number | undefined {
  const seq = typeof raw === 'object' && raw !== null ? (raw as { seq?: unknown }).seq : undefined;
  return typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 && seq <= 2 ** 31 - 1 ? seq : undefined;
}
