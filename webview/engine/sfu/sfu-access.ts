/**
 * Keeps an SFU session's LiveKit access valid: the token from the join is short-lived, so a
 * fresh one is asked for (`sfu.access`) a while before it expires, and always before a new
 * connection to LiveKit after a drop (the old token may have expired meanwhile, and a fresh one
 * also picks up a role change). A connected LiveKit client renews its own token with the server;
 * this matters for every *new* connection.
 */
import type { SfuAccess } from '../../../protocol/signaling';
import type { Logger } from '../logger';
import type { SignalingClient } from '../signaling/signaling-client';

/** Refresh this long before expiry (or at half the token's life if that is later). */
const REFRESH_AHEAD_MS = 60_000;
const RETRY_MS = 5_000;

export type AccessSignaling = Pick<SignalingClient, 'state' | 'sfu' | 'refreshSfuAccess' | 'on'>;

export class SfuAccessKeeper {
  private access: SfuAccess;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<SfuAccess> | undefined;
  private stopped = false;
  /** Fresh tokens obtained from the control plane so far. */
  refreshes = 0;
  private readonly offJoined: () => void;

  constructor(
    private readonly signaling: AccessSignaling,
    initial: SfuAccess,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.access = initial;
    // A rejoin brings its own fresh access with the join result.
    this.offJoined = signaling.on('joined', () => {
      const fresh = signaling.sfu;
      if (fresh && fresh.expiresAt >= this.access.expiresAt) this.access = fresh;
      this.schedule();
    });
    this.schedule();
  }

  get current(): SfuAccess {
    return this.access;
  }

  /** Access for a new identity (a join that could not resume): the old token names someone else. */
  use(access: SfuAccess): void {
    this.access = access;
    this.schedule();
  }

  /** Access for a new connection: a fresh token when `force` or when this one is near expiry. */
  async fresh(force = false): Promise<SfuAccess> {
    if (!force && this.access.expiresAt - this.now() > REFRESH_AHEAD_MS) return this.access;
    if (this.signaling.state !== 'joined') return this.access; // the next join brings one
    this.inFlight ??= this.signaling.refreshSfuAccess().finally(() => {
      this.inFlight = undefined;
    });
    try {
      this.access = await this.inFlight;
      this.refreshes++;
    } catch (err) {
      this.log('warn', `could not refresh the LiveKit token; using the one we have: ${String(err)}`);
    }
    this.schedule();
    return this.access;
  }

  stop(): void {
    this.stopped = true;
    this.offJoined();
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const left = this.access.expiresAt - this.now();
    // A minute ahead, or at half-life for a token shorter than two minutes.
    const wait = Math.max(RETRY_MS, Math.max(left - REFRESH_AHEAD_MS, left / 2));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.fresh(true).then(
        () => undefined,
        () => this.schedule(),
      );
    }, wait);
  }
}
