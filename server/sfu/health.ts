/**
 * Whether an SFU deployment answers: LiveKit serves "OK" on its signal port's root (what its own
 * load balancer checks are pointed at), so that is what is asked, with a timeout short enough
 * that a hung LiveKit (SIGSTOP, a dead link that does not close) is noticed as fast as a dead one.
 * One failure is not a verdict (a lost packet, a GC pause): `failuresToDown` in a row are.
 */
import { describeCause, httpUrlOf } from './rooms';

export type ProbeResult = { ok: true; ms: number } | { ok: false; ms: number; reason: string };

export async function probeLiveKit(url: string, timeoutMs: number): Promise<ProbeResult> {
  const started = Date.now();
  const target = new URL('/', httpUrlOf(url));
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'text/plain' } });
    // Drain it, so the kept-alive connection serves the next check.
    await res.arrayBuffer();
    if (res.ok) return { ok: true, ms: Date.now() - started };
    return { ok: false, ms: Date.now() - started, reason: `LiveKit at ${url} answered its health check with HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, ms: Date.now() - started, reason: `LiveKit at ${url} did not answer (${err instanceof Error ? describeCause(err) : String(err)})` };
  }
}

export type HealthState = 'unknown' | 'up' | 'down';
export type HealthChange = { to: 'down'; reason: string; failures: number } | { to: 'up'; downForMs: number };

/** Consecutive failures with hysteresis: down once after `failuresToDown`, up again at the first success. */
export class HealthTracker {
  state: HealthState = 'unknown';
  failures = 0;
  lastError: string | undefined;
  lastOkAt: number | undefined;
  downSince: number | undefined;
  lastProbeMs: number | undefined;
  checkedAt: number | undefined;

  constructor(private readonly failuresToDown: number) {}

  record(result: ProbeResult, now = Date.now()): HealthChange | undefined {
    this.checkedAt = now;
    this.lastProbeMs = result.ms;
    if (result.ok) {
      this.failures = 0;
      this.lastOkAt = now;
      const was = this.state;
      this.state = 'up';
      if (was !== 'down') return undefined;
      const downForMs = now - (this.downSince ?? now);
      this.downSince = undefined;
      return { to: 'up', downForMs };
    }
    this.failures++;
    this.lastError = result.reason;
    if (this.state === 'down' || this.failures < this.failuresToDown) return undefined;
    this.state = 'down';
    this.downSince = now;
    return { to: 'down', reason: result.reason, failures: this.failures };
  }
}
