/**
 * The one way to an input sink: the grant check, the rate limit and `sanitizeInputEvent`, in that
 * order, in front of every event. Events from anyone but the granted controller, or when nobody
 * is granted, are refused with FORBIDDEN and counted, never injected. A new grant or a revoke
 * releases whatever the previous driver still held.
 */
import { ErrorCode } from '../../protocol/errors';
import { InputRateLimiter, sanitizeInputEvent } from '../../protocol/input';
import type { InputSink } from './input-sink';
import { RefusalReporter, type Refusal } from './refusals';

export interface GateStats {
  injected: number;
  refused: Record<string, number>;
  rateLimited: number;
  granted: string | null;
}

export interface GrantGateOptions {
  /** Where refusals go (coalesced): `input.refused` to the runner. */
  onRefused(refusal: Refusal): void;
  /** A sink threw: logged by the owner. */
  onSinkError?(message: string): void;
  /** Events per second per driver; the protocol's cap by default. */
  perSecond?: number;
}

export class GrantGate {
  private granted: string | null = null;
  private limiter: InputRateLimiter;
  private readonly reporter: RefusalReporter;
  private injected = 0;
  private rateLimited = 0;
  private readonly refused: Record<string, number> = {};

  constructor(
    private readonly sink: InputSink,
    private readonly options: GrantGateOptions,
  ) {
    this.limiter = new InputRateLimiter(options.perSecond);
    this.reporter = new RefusalReporter(options.onRefused);
  }

  get controller(): string | null {
    return this.granted;
  }

  /** Lets `controllerId` drive. Granting someone else first releases what the previous driver held. */
  grant(controllerId: string): string[] {
    if (this.granted === controllerId) return [];
    const released = this.sink.releaseAll();
    this.granted = controllerId;
    this.limiter = new InputRateLimiter(this.options.perSecond);
    return released;
  }

  /** Stops injection at once and releases every key and button held. */
  revoke(): string[] {
    this.granted = null;
    return this.sink.releaseAll();
  }

  handle(controllerId: string, raw: unknown): void {
    const seq = seqOf(raw);
    if (this.granted === null || controllerId !== this.granted) {
      const reason = this.granted === null ? 'no controller is granted' : `${controllerId} is not the granted controller`;
      this.refuse(controllerId, ErrorCode.Forbidden, reason, seq);
      return;
    }
    if (!this.limiter.take()) {
      this.rateLimited++;
      this.reporter.refuse(controllerId, ErrorCode.RateLimited, 'over the input rate limit; event dropped', seq);
      return;
    }
    const checked = sanitizeInputEvent(raw);
    if (!checked.ok) {
      this.refuse(controllerId, checked.code, checked.reason, seq);
      return;
    }
    try {
      this.sink.inject(checked.event);
      this.injected++;
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      this.options.onSinkError?.(`${this.sink.name} sink failed on ${checked.event.t}: ${message}`);
      const code = (err as { code?: unknown }).code === ErrorCode.RateLimited ? ErrorCode.RateLimited : ErrorCode.Internal;
      this.refuse(controllerId, code, code === ErrorCode.Internal ? 'the event could not be injected' : message, checked.event.seq);
    }
  }

  stats(): GateStats {
    return { injected: this.injected, refused: { ...this.refused }, rateLimited: this.rateLimited, granted: this.granted };
  }

  /** Sends any refusals still being coalesced (shutdown). */
  flush(): void {
    this.reporter.flush();
  }

  dispose(): void {
    this.reporter.dispose();
  }

  private refuse(controllerId: string, code: string, reason: string, seq: number | undefined): void {
    this.refused[code] = (this.refused[code] ?? 0) + 1;
    this.reporter.refuse(controllerId, code, reason.slice(0, 300), seq);
  }
}

function seqOf(raw: unknown): number | undefined {
  const seq = typeof raw === 'object' && raw !== null ? (raw as { seq?: unknown }).seq : undefined;
  return typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 && seq <= 2 ** 31 - 1 ? seq : undefined;
}
