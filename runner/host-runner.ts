/**
 * The host's runner, shared by the demo and the VS Code extension (Node, no `vscode`). It owns the helper
 * (real screen, input injection), relays the helper's frames to the host page over the bridge,
 * asks the host (console) when a guest wants control, tells the helper who may drive, and
 * carries the panic action to both the helper (at once, locally) and the page (server revoke).
 *
 * Who drives is the server's word, relayed by the page; the helper is granted only a driver the
 * host's own user approved: allowed at this runner's prompt, or granted by the host itself
 * (`approve()`: the editor's Grant Control, the page's own grant). An approval ends when that
 * participant stops driving, at stop-all, or unused after a while.
 */
import type { ParamsOf, ResultOf } from '../protocol/rpc';
import type { AskAdmit, AskControl, BridgeHello, ControlState } from '../protocol/host-bridge';
import type { ClientKind } from '../protocol/signaling';
import type { CaptureResult, HelperProcess, RevokeReason } from '../helper/client';
import type { BridgeBackend, RunnerBridge } from './bridge-backend';
import { FrameRelay, type FrameRelayOptions } from './frame-relay';
import { RefusalReporter } from '../helper/inject/refusals';
import { ErrorCode } from '../protocol/errors';
import { ControlAudit, refusalKind, stintSummary, type ApprovalVia, type AuditPerson, type StintEnd, type StintRecord } from './control-audit';

/** The host's answer to one control request; no answer in time is a deny ('timeout'). */
export interface PromptAnswer {
  allow: boolean;
  reason: 'allowed' | 'denied' | 'timeout' | 'disabled';
}

/** Whoever answers control requests for the host: the demo's console, a notification in VS Code. */
export interface ControlAsker {
  ask(name: string, who?: Requester): Promise<PromptAnswer>;
}

/** Who asks, beyond a display name (names are not unique). */
export interface Requester {
  participantId: string;
  /** The first characters of the participant id: enough to tell two "Ada"s apart. */
  shortId: string;
  client?: ClientKind;
  /** The share link they joined through, when known. */
  link?: string;
}

/** Someone in the lobby, as the host's prompt names them (names are not unique). */
export type Knock = ParamsOf<typeof AskAdmit>;

/** Whoever lets people in for the host: the demo's console, a notification in VS Code. No answer in time is a no. */
export interface LobbyAsker {
  admit(knock: Knock): Promise<ResultOf<typeof AskAdmit>>;
}

/** An approval the server never acts on lapses: a late `control.state` cannot use it. */
export const APPROVAL_TTL_MS = 30_000;

export function shortId(participantId: string): string {
  return participantId.slice(0, 6);
}

const REVOKE_REASON: Record<string, RevokeReason> = {
  panic: 'panic',
  'taken-over': 'taken-over',
  left: 'driver-left',
};

/** The helper's refusals are coalesced for up to 250 ms: a stint's summary waits for the last of them. */
const REFUSAL_SETTLE_MS = 300;

export interface HostRunnerOptions {
  helper: HelperProcess;
  capture: CaptureResult;
  prompt: ControlAsker;
  say(line: string): void;
  /** Frames relayed through the bridge (default), or the page reads the helper's own WebSocket. */
  frames: 'bridge' | 'websocket';
  controlRequests: boolean;
  /** Answers lobby knocks; without one, nobody waiting is let in. */
  lobby?: LobbyAsker;
  /** Viewers wait in the lobby too (the host page turns it on at the server). */
  lobbyEveryone?: boolean;
  /** Sees every frame message relayed to the page (benches time the hops with it). */
  onFrameSent?: FrameRelayOptions['onSent'];
}

export class HostRunner implements BridgeBackend {
  private bridge: RunnerBridge | undefined;
  private relay: FrameRelay | undefined;
  private driver: string | null = null;
  /** Participant → until when its approval may start a grant (Infinity while it drives). */
  private readonly approvals = new Map<string, number>();
  /** Input refused here, coalesced like the helper's own refusals. */
  private readonly refusals = new RefusalReporter((r) => this.bridge?.inputRefused(r));
  /** Who drove, how it was allowed, what was injected and refused: the host's record of control. */
  readonly controlAudit = new ControlAudit();
  /** The helper's injected count when the open stint began; a restart resets that count. */
  private stintBase: { stint: StintRecord; injected: Promise<number | undefined>; restarted: boolean } | undefined;

  constructor(private readonly o: HostRunnerOptions) {
    o.helper.on('frame', (f) => this.relay?.push(f.header, f.pixels, f.rects ?? f.band, f.moves));
    o.helper.on('inputRefused', (n) => {
      this.controlAudit.refused(n.controllerId, refusalKind(n.code, n.reason), n.count, true);
      this.bridge?.inputRefused(n);
    });
    o.helper.on('restarted', (r) => {
      if (this.stintBase) this.stintBase.restarted = true;
      if (this.driver && r.granted !== this.driver) this.endStint('helper-restart');
      o.say(
        `the helper stopped (${r.reason}) and was restarted in ${r.downtimeMs} ms${r.hello.releasedAtStart.length ? `; released held input: ${r.hello.releasedAtStart.join(', ')}` : ''}`,
      );
      if (r.capture) this.o.capture = r.capture;
    });
    o.helper.on('captureError', (e) => o.say(`screen capture ${e.fatal ? 'failed' : 'hiccup'}: ${e.message}`));
    o.helper.on('exit', (e) => {
      if (e.reason !== 'stopped') o.say(`the helper is gone for good (${e.reason}); the screen is frozen. Restart the demo.`);
    });
  }

  attach(bridge: RunnerBridge): void {
    this.bridge = bridge;
    this.relay = new FrameRelay(bridge.frameTarget, this.o.onFrameSent ? { onSent: this.o.onFrameSent } : {});
    bridge.onPageConnected = () => this.relay?.reset();
  }

  /** What the relay did: frames from the helper, full frames and patches to the page. */
  relayStats(): { framesIn: number; fullSent: number; patchesSent: number; bytesSent: number } | undefined {
    const r = this.relay;
    return r && { framesIn: r.framesIn, fullSent: r.fullSent, patchesSent: r.patchesSent, bytesSent: r.bytesSent };
  }

  /**
   * Shares again after the capture stopped (the host's desktop ended its screen cast: "sharing
   * stopped on the host"): the helper starts it as it was, and the page gets a whole picture.
   */
  async resumeCapture(): Promise<CaptureResult> {
    const c = await this.o.helper.resumeCapture();
    this.o.capture = c;
    this.relay?.reset();
    return c;
  }

  hello(_params: ParamsOf<typeof BridgeHello>): ResultOf<typeof BridgeHello> {
    // The page starts taking frames once it has this answer: give it a full picture right after.
    setTimeout(() => this.relay?.reset(), 0);
    // The capture running now: the helper moves it to another monitor when the shared one is unplugged.
    const c = this.o.helper.currentCapture ?? this.o.capture;
    const frames = this.o.frames === 'websocket' && c.websocketUrl ? { via: 'websocket' as const, url: c.websocketUrl } : { via: 'bridge' as const };
    return {
      frames,
      screen: { width: c.width, height: c.height, fps: c.fps, source: 'helper' },
      controlRequests: this.o.controlRequests,
      ...(this.o.lobbyEveryone ? { lobbyEveryone: true } : {}),
    };
  }

  async askControl(params: ParamsOf<typeof AskControl>): Promise<ResultOf<typeof AskControl>> {
    if (!this.o.controlRequests) return { allow: false, reason: 'disabled' };
    const who: Requester = {
      participantId: params.participantId,
      shortId: shortId(params.participantId),
      ...(params.client ? { client: params.client } : {}),
      ...(params.link ? { link: params.link } : {}),
    };
    this.controlAudit.requested({
      id: params.participantId,
      name: params.name,
      ...(params.client ? { client: params.client } : {}),
      ...(params.link ? { link: params.link } : {}),
    });
    const answer = await this.o.prompt.ask(params.name, who);
    if (answer.allow) this.approve(params.participantId, 'prompt');
    else this.controlAudit.denied(params.participantId, answer.reason === 'allowed' ? 'denied' : answer.reason);
    return answer;
  }

  async askAdmit(params: Knock): Promise<ResultOf<typeof AskAdmit>> {
    if (!this.o.lobby) {
      this.o.say(`${params.name} waits in the lobby, but nothing here can ask you: turned away`);
      return { admit: false, reason: 'denied' };
    }
    return this.o.lobby.admit(params);
  }

  /** The host's own grant, made outside this runner's prompt (the editor's Grant Control, the page). */
  approve(participantId: string, via: ApprovalVia = 'page', who?: Omit<AuditPerson, 'id'>): void {
    const until = this.approvals.get(participantId);
    // An approval that lapsed (or ended with a stop-all) is not the one this stint starts with.
    if (until === undefined || until < Date.now()) this.controlAudit.approvalLapsed(participantId);
    // A driver re-approved while it drives keeps driving; its stint is already counted.
    if (until !== Infinity) this.controlAudit.approved(participantId, via, who);
    this.approvals.set(participantId, Date.now() + APPROVAL_TTL_MS);
  }

  controlState(p: ParamsOf<typeof ControlState>): void {
    const previous = this.driver;
    // The previous driver's control ended (revoked, released, taken over, left): so did its approval.
    if (previous && previous !== p.driverId) this.approvals.delete(previous);
    if (p.reason === 'panic') this.approvals.clear();
    // Counted before the helper hears of the change: its count then holds exactly the ended stint's events.
    if (this.controlAudit.open && this.controlAudit.open.driver.id !== p.driverId) {
      this.endStint(p.reason === 'granted' || p.reason === 'requested' ? 'taken-over' : p.reason);
    }
    const until = p.driverId ? this.approvals.get(p.driverId) : undefined;
    if (p.driverId && (until === undefined || until < Date.now())) {
      if (until !== undefined) this.controlAudit.approvalLapsed(p.driverId);
      this.approvals.delete(p.driverId);
      this.driver = null;
      if (this.controlAudit.open?.driver.id !== p.driverId) this.controlAudit.ignored(p.driverId, p.driverName);
      this.o.say(`the server named ${p.driverId} as driver, but you never allowed it: ignored`);
      if (previous) this.o.helper.revoke('revoked').catch(() => undefined);
      return;
    }
    this.driver = p.driverId;
    if (p.driverId) {
      if (this.controlAudit.open?.driver.id !== p.driverId) this.startStint(p.driverId, p.driverName);
      this.approvals.set(p.driverId, Infinity);
      this.o.say(`${p.driverName ?? p.driverId} is driving (type s + Enter to stop all control)`);
      this.o.helper.grant(p.driverId).catch((err: Error) => this.o.say(`could not hand control to the helper: ${err.message}`));
    } else if (previous || p.reason === 'panic') {
      this.o.say(p.reason === 'panic' ? 'all control stopped' : `control ended (${p.reason})`);
      this.o.helper.revoke(REVOKE_REASON[p.reason] ?? 'revoked').catch(() => undefined);
    }
  }

  input(controllerId: string, event: unknown): void {
    // A revoke is a request to the helper and input is not: without this check, events that cross
    // a revoke (or that a page forwarded on the server's word) would still be injected.
    if (controllerId !== this.driver) {
      const seq = (event as { seq?: unknown } | null)?.seq;
      const reason = this.driver ? `${controllerId} is not the driver the host allowed` : 'nobody the host allowed is driving';
      this.refusals.refuse(controllerId, ErrorCode.Forbidden, reason, Number.isInteger(seq) ? (seq as number) : undefined);
      this.controlAudit.refused(controllerId, 'not-granted');
      return;
    }
    // The helper checks the grant and the allowlist again.
    if (this.o.helper.sendInput(controllerId, event)) this.controlAudit.forwarded(controllerId);
    else this.controlAudit.refused(controllerId, 'failed');
  }

  /** The host's panic action: the helper stops injecting now, then the session hears of it. */
  async stopAllControl(): Promise<void> {
    this.driver = null;
    this.approvals.clear();
    const revoked = this.o.helper.revoke('panic').catch(() => undefined);
    this.endStint('panic');
    await revoked;
    this.bridge?.stopAllControl();
  }

  /**
   * The session is over: an open stint ends (counted without the helper, which may be going too),
   * its summary goes to the log, and the whole audit comes back as lines.
   */
  closeControlAudit(): string[] {
    const stint = this.controlAudit.ended('session-ended');
    this.stintBase = undefined;
    if (stint) this.o.say(stintSummary(stint));
    return this.controlAudit.report();
  }

  private startStint(driverId: string, driverName: string | null): void {
    // Asked before the grant goes out, on the same ordered link: nothing of this stint is counted yet.
    const injected = this.helperInjected();
    this.stintBase = { stint: this.controlAudit.started(driverId, driverName), injected, restarted: false };
  }

  /** Ends the open record; a stint's summary goes to the log once the helper's counts are in. */
  private endStint(reason: StintEnd): void {
    const stint = this.controlAudit.ended(reason);
    const base = this.stintBase;
    this.stintBase = undefined;
    if (!stint) return;
    const usable = base?.stint === stint && !base.restarted;
    const end = usable ? this.helperInjected() : Promise.resolve(undefined);
    void Promise.all([usable ? base.injected : undefined, end]).then(async ([from, to]) => {
      if (from !== undefined && to !== undefined && to >= from) this.controlAudit.confirmInjected(stint, to - from);
      await new Promise((r) => setTimeout(r, REFUSAL_SETTLE_MS));
      this.o.say(stintSummary(stint));
    });
  }

  /** The helper's own count of injected events (undefined when it cannot say). */
  private helperInjected(): Promise<number | undefined> {
    return this.o.helper.inputStats().then(
      (s) => s.injected,
      () => undefined,
    );
  }
}
