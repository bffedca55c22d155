/**
 * The host's half of remote control: answers control requests by asking the host's runner (a
 * terminal prompt in the demo, a VS Code notification in the extension), tells the runner who
 * drives, and decides for every input event whether its sender drives right now.
 *
 * The stop-all (panic) action takes effect here first: `stopAll()` closes the gate synchronously,
 * before the revoke even leaves for the server, and keeps it closed until the server has
 * confirmed the revoke and a new grant arrives. Requests already being asked about when the host
 * stops everything are not granted, whatever the runner answers later.
 *
 * The server's `control.changed` says who drives, but a hostile or confused server could name
 * anyone: input passes only for a driver the host's own user approved here (the asker said allow
 * for that participant, or the host granted it through `grant()`), and the approval ends with that
 * participant's control (revoked, released, stop-all, taken over, left, demoted).
 */
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import type { ClientKind, ControlReason, Participant } from '../../../protocol/signaling';
import { TypedEmitter } from '../../../common/typed-emitter';
import type { Logger } from '../logger';
import type { ControlChange, SignalingClient } from '../signaling/signaling-client';

export interface AskAnswer {
  allow: boolean;
  reason: 'allowed' | 'denied' | 'timeout' | 'disabled';
}

/** Whoever decides for the host (the runner, over the host bridge). */
export interface ControlAsker {
  ask(participantId: string, name: string, who?: Requester): Promise<AskAnswer>;
}

/** More than a display name (names are not unique): what the host's prompt shows of a requester. */
export interface Requester {
  client?: ClientKind;
  /** The share link they joined through, when the server says. */
  link?: string;
}

export interface DriverInfo {
  driverId: string | null;
  driverName: string | null;
  reason: ControlReason;
  /** The host's own user approved this driver (false: the server named one nobody allowed here). */
  approved: boolean;
}

export interface HostControlEvents {
  /** Every `control.changed`, with the driver's name resolved (for the runner's `control.state`). */
  changed: DriverInfo & { change: ControlChange };
  /** stopAll() ran: input is refused from now on. */
  stopped: Record<string, never>;
  /** The host's own explicit grant (not an answer to a request): the runner hears of it too. */
  approved: { participantId: string };
  error: { message: string };
}

/** What HostControl needs from the signaling client (a fake in tests). */
export type HostControlSignaling = Pick<
  SignalingClient,
  'self' | 'participants' | 'driverId' | 'state' | 'on' | 'grantControl' | 'denyControl' | 'revokeControl'
>;

export interface HostControlOptions {
  signaling: HostControlSignaling;
  /** Until an asker is set (no runner connected), requests are denied at once. */
  asker?: ControlAsker;
  log?: Logger;
}

export class HostControl extends TypedEmitter<HostControlEvents> {
  private asker: ControlAsker | undefined;
  private readonly signaling: HostControlSignaling;
  private readonly log: Logger;
  private readonly asking = new Set<string>();
  /** Who the host's own user let drive; input from anyone else is refused whatever the server says. */
  private readonly approved = new Set<string>();
  private readonly unsubscribe: Array<() => void> = [];
  /** Bumped by stopAll(): answers to questions asked before it are void. */
  private epoch = 0;
  private _stopped = false;
  /** The server has applied the panic revoke (so a later grant is a fresh decision). */
  private revokeConfirmed = true;
  asked = 0;
  granted = 0;
  denied = 0;

  constructor(options: HostControlOptions) {
    super();
    this.signaling = options.signaling;
    this.asker = options.asker;
    this.log = options.log ?? (() => undefined);
  }

  get stopped(): boolean {
    return this._stopped;
  }

  /** The driver as far as this host lets input through (null while stopped). */
  get driverId(): string | null {
    const driver = this.signaling.driverId;
    return this._stopped || !driver || !this.approved.has(driver) ? null : driver;
  }

  setAsker(asker: ControlAsker | undefined): void {
    this.asker = asker;
  }

  start(): void {
    const s = this.signaling;
    this.unsubscribe.push(
      s.on('controlChanged', (change) => this.onChange(change)),
      s.on('participantLeft', ({ participantId }) => this.unapprove(participantId, 'left')),
      s.on('participantUpdated', ({ participant }) => {
        if (participant.role !== 'controller') this.unapprove(participant.id, 'no longer a controller');
      }),
      s.on('joined', ({ identityChanged }) => {
        // A new identity is a new session as far as the server knows: nothing approved carries over.
        if (identityChanged) this.approved.clear();
        if (this._stopped && !this.revokeConfirmed) this.sendRevoke();
        // Requests made while this page was away (or before it loaded) still need an answer.
        for (const p of s.participants.values()) if (p.controlState === 'requested') void this.consider(p.id);
      }),
    );
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /**
   * Why input from `guestId` must be refused now, or undefined when it drives. The identity is
   * the peer connection's, never anything the event says about itself.
   */
  refusalFor(guestId: string): string | undefined {
    if (this._stopped) return 'the host stopped all remote control';
    const driver = this.signaling.driverId;
    if (driver !== guestId) return driver ? 'someone else is driving' : 'nobody has been given control';
    const p = this.signaling.participants.get(guestId);
    if (p && p.role !== 'controller') return 'only controllers can drive';
    if (!this.approved.has(guestId)) return `the host never allowed ${guestId} to drive`;
    return undefined;
  }

  /** The host's own explicit grant (the editor's Grant Control, the page's own action). */
  async grant(participantId: string): Promise<void> {
    this.approved.add(participantId);
    this.emit('approved', { participantId });
    try {
      await this.signaling.grantControl(participantId);
    } catch (err) {
      this.unapprove(participantId, 'the grant failed');
      throw err;
    }
  }

  /** The panic action: refuse all input from now on, then revoke everyone at the server. */
  stopAll(): void {
    this.epoch++;
    this._stopped = true;
    this.approved.clear();
    this.revokeConfirmed = false;
    this.log('warn', 'stop all control: input is refused from now on');
    this.emit('stopped', {});
    this.sendRevoke();
  }

  private sendRevoke(): void {
    if (this.signaling.state !== 'joined') return; // retried on the next join
    this.signaling.revokeControl({ panic: true }).then(
      () => {
        this.revokeConfirmed = true;
      },
      (err: unknown) => {
        // The gate stays closed; the next join tries again.
        this.fail(`could not revoke control at the server: ${String(err)}`);
      },
    );
  }

  private onChange(change: ControlChange): void {
    if (change.state === 'granted' && this._stopped && this.revokeConfirmed) {
      this._stopped = false;
      this.log('info', 'a new grant after stop-all: input flows again');
    }
    // That participant's control ended (revoked, released, taken over, denied): so does its approval.
    if (change.state !== 'granted') this.unapprove(change.participantId, change.reason);
    const driver = change.driverId ? this.signaling.participants.get(change.driverId) : undefined;
    const approved = change.driverId !== null && this.approved.has(change.driverId);
    if (change.driverId && !approved) this.log('warn', `the server named ${change.driverId} as driver, but you never allowed it: ignored`);
    this.emit('changed', { driverId: change.driverId, driverName: change.driverId ? (driver?.name ?? null) : null, reason: change.reason, approved, change });
    if (change.state === 'requested') void this.consider(change.participantId);
  }

  private async consider(participantId: string): Promise<void> {
    if (this.asking.has(participantId)) return;
    const p = this.signaling.participants.get(participantId);
    if (!p || p.controlState !== 'requested') return;
    this.asking.add(participantId);
    const epoch = this.epoch;
    try {
      let answer: AskAnswer;
      const asker = this.asker;
      if (!asker) {
        this.log('info', `${p.name} asked for control, but no host runner is connected to ask: denied`);
        answer = { allow: false, reason: 'denied' };
      } else {
        this.asked++;
        answer = await asker.ask(participantId, p.name, requester(p)).catch((err: unknown): AskAnswer => {
          const timedOut = err instanceof PairuxError && err.code === ErrorCode.Timeout;
          this.log('warn', `asking the host about ${p.name} failed: ${String(err)}`);
          return { allow: false, reason: timedOut ? 'timeout' : 'denied' };
        });
      }
      if (epoch !== this.epoch) answer = { allow: false, reason: 'denied' };
      // Withdrawn, dropped or already decided meanwhile: a grant now would surprise everyone.
      if (this.signaling.participants.get(participantId)?.controlState !== 'requested') return;
      if (answer.allow) {
        this.approved.add(participantId);
        try {
          await this.signaling.grantControl(participantId);
        } catch (err) {
          this.unapprove(participantId, 'the grant failed');
          throw err;
        }
        this.granted++;
      } else {
        await this.signaling.denyControl(participantId, answer.reason === 'timeout' ? 'timeout' : 'denied');
        this.denied++;
      }
    } catch (err) {
      this.fail(`could not answer ${p.name}'s control request: ${String(err)}`);
    } finally {
      this.asking.delete(participantId);
    }
  }

  private unapprove(participantId: string, why: string): void {
    if (this.approved.delete(participantId)) this.log('info', `${participantId} may no longer drive (${why})`);
  }

  private fail(message: string): void {
    this.log('warn', message);
    this.emit('error', { message });
  }
}

/** What the prompt may show besides the name: the client, and the label of the link they came through. */
function requester(p: Participant): Requester {
  return { ...(p.client ? { client: p.client } : {}), ...(p.link ? { link: p.link.label.slice(0, 64) } : {}) };
}
