/**
 * A guest's view of remote control: whether it may ask, whether it is waiting, driving, or why it
 * stopped, and who drives. Built only from the server's `control.changed` and the participant
 * list (the server is the authority; the host enforces the grant again on every event), so it
 * has no DOM and no timers and the page just renders `view`.
 */
import { TypedEmitter } from '../../../common/typed-emitter';
import type { Logger } from '../logger';
import type { ControlChange, SignalingClient } from '../signaling/signaling-client';
import { PairuxError } from '../../../protocol/errors';

/** 'asking': the request is on its way; 'waiting': the host has been asked. */
export type ControlPhase = 'none' | 'asking' | 'waiting' | 'driving';
/** Why the last request or drive ended; 'refused' is the server turning the request down itself. */
export type ControlOutcome = 'denied' | 'timeout' | 'taken-over' | 'revoked' | 'panic' | 'released' | 'left' | 'refused';

export interface GuestControlView {
  /** Only controllers may ask; viewers get no button (and the server would refuse them). */
  canRequest: boolean;
  phase: ControlPhase;
  outcome: ControlOutcome | undefined;
  /** The server's words when it refused the request ('refused'). */
  error: string | undefined;
  driverId: string | null;
}

export interface GuestControlEvents {
  change: { view: GuestControlView; previous: GuestControlView };
}

/** What GuestControl needs from the signaling client (a fake in tests). */
export type ControlSignaling = Pick<SignalingClient, 'self' | 'driverId' | 'on' | 'requestControl' | 'releaseControl'>;

const OUTCOMES: ReadonlySet<string> = new Set<ControlOutcome>(['denied', 'timeout', 'taken-over', 'revoked', 'panic', 'released', 'left']);

export class GuestControl extends TypedEmitter<GuestControlEvents> {
  private phase: ControlPhase = 'none';
  private outcome: ControlOutcome | undefined;
  private error: string | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly signaling: ControlSignaling,
    private readonly log: Logger = () => undefined,
  ) {
    super();
  }

  get view(): GuestControlView {
    return {
      canRequest: this.signaling.self?.role === 'controller',
      phase: this.phase,
      outcome: this.outcome,
      error: this.error,
      driverId: this.signaling.driverId,
    };
  }

  get driving(): boolean {
    return this.phase === 'driving';
  }

  start(): void {
    this.unsubscribe.push(
      this.signaling.on('controlChanged', (change) => this.onChange(change)),
      this.signaling.on('joined', ({ result, identityChanged }) => this.onJoined(result.self.controlState, identityChanged)),
    );
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** Ask the host to drive. Resolves when the server has passed the request on (or refused it). */
  async request(): Promise<void> {
    if (this.phase !== 'none') return;
    this.update(() => {
      this.phase = 'asking';
      this.outcome = undefined;
      this.error = undefined;
    });
    try {
      await this.signaling.requestControl();
    } catch (err) {
      const message = err instanceof PairuxError ? err.message : String(err);
      this.log('warn', `control request refused: ${message}`);
      if (this.phaseNow() === 'asking') {
        this.update(() => {
          this.phase = 'none';
          this.outcome = 'refused';
          this.error = message;
        });
      }
      return;
    }
    // The server announces 'requested' before it answers; still asking means it was a no-op.
    if (this.phaseNow() === 'asking') this.update(() => (this.phase = 'waiting'));
  }

  /** Stop driving, or withdraw a request. */
  async release(): Promise<void> {
    if (this.phase === 'none') return;
    try {
      await this.signaling.releaseControl();
    } catch (err) {
      this.log('warn', `could not release control: ${String(err)}`);
      throw err;
    }
  }

  private onChange(change: ControlChange): void {
    const selfId = this.signaling.self?.id;
    if (change.participantId !== selfId) {
      // Someone else's change: only who drives matters here (the view reads it live).
      this.update(() => undefined);
      return;
    }
    this.update(() => {
      if (change.state === 'requested') {
        this.phase = 'waiting';
        this.outcome = undefined;
      } else if (change.state === 'granted') {
        this.phase = 'driving';
        this.outcome = undefined;
      } else {
        this.phase = 'none';
        this.outcome = OUTCOMES.has(change.reason) ? (change.reason as ControlOutcome) : undefined;
      }
      this.error = undefined;
    });
  }

  /** A (re)join: the server's list is the truth; a drive or request that vanished was lost with the connection. */
  private onJoined(state: 'none' | 'requested' | 'granted', identityChanged: boolean): void {
    this.update(() => {
      const before = this.phase;
      this.phase = state === 'granted' ? 'driving' : state === 'requested' ? 'waiting' : 'none';
      if (this.phase === 'none' && (before === 'driving' || before === 'waiting') && !identityChanged) this.outcome = 'left';
      if (identityChanged && this.phase === 'none') this.outcome = undefined;
    });
  }

  /** Read through a call: the phase changes across awaits, which narrowing cannot see. */
  private phaseNow(): ControlPhase {
    return this.phase;
  }

  private update(mutate: () => unknown): void {
    const previous = this.view;
    mutate();
    this.emit('change', { view: this.view, previous });
  }
}
