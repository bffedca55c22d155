/**
 * Per-sender, per-kind limits on relayed signals, on top of the socket's general message rate.
 * A `hello` makes the host tear down and build a peer connection for its sender, which costs the
 * host far more than the message costs the sender: a viewer sending them under the general rate
 * kept every new viewer from getting a picture (review F3). A guest sends one on join and one per
 * reconnect or failure, so a few per 10 s is plenty for an honest one.
 */
import { ErrorCode, PairuxError } from '../protocol/errors';
import type { SignalPayload } from '../protocol/signaling';

export const HELLO_LIMIT = { count: 5, windowMs: 10_000 };

/** A guest publishes its E2EE public key once per join; the host re-keys once per removal (per guest), each acked once. */
export const E2EE_LIMIT = { count: 10, windowMs: 10_000 };

const LIMITS: Partial<Record<SignalPayload['kind'], { count: number; windowMs: number }>> = {
  hello: HELLO_LIMIT,
  'e2ee-public': E2EE_LIMIT,
  'e2ee-rekey': { count: 30, windowMs: 10_000 },
  'e2ee-ack': E2EE_LIMIT,
};

/** Sliding windows of relay times per (session, sender, kind), in this instance (a sender's socket is on one). */
export class SignalLimiter {
  private readonly sent = new Map<string, number[]>();
  private checks = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Counts one relay of `kind` from the sender, or throws RATE_LIMITED without counting it.
   * Returns the undo for a relay that then found nobody to deliver to (a retry loop during a
   * reconnect must not use up the allowance).
   */
  take(sessionId: string, participantId: string, kind: SignalPayload['kind']): () => void {
    const limit = LIMITS[kind];
    if (!limit) return () => undefined;
    const t = this.now();
    if (++this.checks % 1024 === 0) this.prune(t);
    const key = `${sessionId}:${participantId}:${kind}`;
    const times = (this.sent.get(key) ?? []).filter((at) => at > t - limit.windowMs);
    if (times.length >= limit.count) {
      this.sent.set(key, times);
      const retryAfterMs = times[0]! + limit.windowMs - t;
      throw new PairuxError(
        ErrorCode.RateLimited,
        `Too many '${kind}' signals: at most ${limit.count} every ${limit.windowMs / 1000} s reach the host. Try again in ${Math.ceil(retryAfterMs / 1000)} s.`,
        { kind, limit: limit.count, windowMs: limit.windowMs, retryAfterMs },
      );
    }
    times.push(t);
    this.sent.set(key, times);
    return () => {
      const now = this.sent.get(key);
      const i = now?.lastIndexOf(t) ?? -1;
      if (i >= 0) now!.splice(i, 1);
    };
  }

  /** The participant is gone: its windows go too. */
  forget(sessionId: string, participantId: string): void {
    const prefix = `${sessionId}:${participantId}:`;
    for (const key of this.sent.keys()) if (key.startsWith(prefix)) this.sent.delete(key);
  }

  private prune(t: number): void {
    const longest = Math.max(...Object.values(LIMITS).map((l) => l.windowMs));
    for (const [key, times] of this.sent) if ((times.at(-1) ?? 0) <= t - longest) this.sent.delete(key);
  }
}
