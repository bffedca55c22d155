/**
 * The runner's handle on the helper (the demo now, the VS Code extension next; no `vscode` here):
 * spawns it, speaks the link with typed requests, emits its video frames and notifications, and
 * restarts it when it dies unexpectedly — first at once, then with backoff capped at 1 s — putting
 * capture and the current grant back, and saying so ('restarted').
 *
 *   const helper = new HelperProcess({ env: { ...process.env, DISPLAY: ':0' } });
 *   const hello = await helper.start();
 *   helper.on('frame', ({ header, pixels, frame }) => …);
 *   await helper.startCapture({ fps: 30 });
 *   await helper.grant('guest-1');
 *   helper.sendInput('guest-1', { t: 'move', seq: 1, x: 0.5, y: 0.5 });
 *   await helper.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ErrorCode, PairuxError } from '../protocol/errors';
import {
  CaptureError,
  GrantControl,
  Hello,
  Input,
  InputRefused,
  InputStats,
  ListMonitors,
  RevokeControl,
  StartCapture,
  StopCapture,
  type CaptureRegion,
  type MonitorInfo,
} from '../protocol/helper-link';
import { describeIssues, type ParamsOf, type ResultOf } from '../protocol/rpc';
import { FRAME_SOCKET_KEY_ENV, FRAME_SOCKET_PORT_ENV } from './capture/frame-socket-env';
import { replacementMonitor } from './capture/monitors';
import { resolveHelperCommand, type HelperCommand } from './command';
import { HelperExit } from './exit-codes';
import type { DecodedVideoFrame } from './link/frame-decoder';
import { HelperLink } from './link/helper-link';

export { resolveHelperCommand, type HelperCommand } from './command';
export { HelperExit } from './exit-codes';

export type HelloResult = ResultOf<typeof Hello>;
export type CaptureResult = ResultOf<typeof StartCapture>;
export type CaptureParams = ParamsOf<typeof StartCapture>;
export type InputStatsResult = ResultOf<typeof InputStats>;
export type RevokeReason = ParamsOf<typeof RevokeControl>['reason'];
export type InputRefusedNotice = ParamsOf<typeof InputRefused>;
export type CaptureErrorNotice = ParamsOf<typeof CaptureError>;
/** A video frame: `pixels` tightly packed; `frame` is kind byte + header + pixels, to relay as is. */
export type HelperFrame = DecodedVideoFrame;

/** `capture.start` parameters; omitted ones take the protocol's defaults. */
export interface CaptureOptions {
  fps?: number;
  region?: CaptureRegion;
  drawCursor?: boolean;
  idleFps?: number;
  deliver?: 'link' | 'websocket';
  /** Only changed rows after a full frame (link delivery); frames then carry `band`. */
  patches?: boolean;
  /** A RandR monitor to share, by name (`listMonitors()`); `region` is then relative to it. */
  monitor?: string;
  /** How frames are taken (x11 damage, robotjs sampling, the desktop portal on Wayland; auto: the best offered). */
  backend?: 'auto' | 'x11' | 'robotjs' | 'portal';
  /** Wayland: the token an earlier capture's answer gave, so the desktop skips its dialog. */
  restoreToken?: string;
}

export interface RestartInfo {
  /** Why the previous helper ended, e.g. "killed by SIGKILL" or "exited with code 70". */
  reason: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Restarts in a row (1 for the first after a stable run). */
  attempt: number;
  /** From noticing the death to the new helper answering with capture and grant restored. */
  downtimeMs: number;
  hello: HelloResult;
  /** The re-issued capture (same websocketUrl as before: key and port are kept), or null when none was running. */
  capture: CaptureResult | null;
  /** The grant put back, or null. */
  granted: string | null;
  /** The previous helper's last stderr lines. */
  stderrTail: string[];
}

export interface HelperExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** 'stopped' after stop(); otherwise why it is gone for good. */
  reason: string;
  stderrTail: string[];
}

export interface HelperEvents {
  frame: [HelperFrame];
  inputRefused: [InputRefusedNotice];
  captureError: [CaptureErrorNotice];
  restarted: [RestartInfo];
  /** One restart attempt failed; more follow until `maxRestartAttempts`. */
  restartFailed: [{ attempt: number; error: Error }];
  /** The helper is gone for good (stop(), or restarts gave up / are off). */
  exit: [HelperExitInfo];
  /** A line the helper wrote to stderr (its log). */
  log: [string];
  /** Something malformed came from the helper; the link goes on. */
  protocolError: [PairuxError];
}

export interface HelperProcessOptions {
  /** Default: `resolveHelperCommand()`. */
  command?: HelperCommand;
  /** The helper's environment (DISPLAY decides the screen). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Restart the helper when it dies unexpectedly. Default true. */
  autoRestart?: boolean;
  /** Longest wait between restart attempts. Default (and most) 1000 ms. */
  maxRestartDelayMs?: number;
  /** Failed restart attempts (no hello, or it died again before answering) in a row before giving up. Default 10. */
  maxRestartAttempts?: number;
  /** Per request. Default 10 s. */
  requestTimeoutMs?: number;
  /** For `helper.hello` after a spawn. Default 10 s. */
  startTimeoutMs?: number;
  /**
   * Keep a second helper spawned and idle (modules loaded, X untouched until its first request)
   * to take over at once when the active one dies: a restart then costs a hello, not a Node start
   * (≈ 0.3–1 s from source on a busy 2-core machine). Costs one idle process (RSS ≈ 65 MB bundled,
   * ≈ 100 MB through tsx). Default true.
   */
  standby?: boolean;
}

interface Generation {
  child: ChildProcess;
  /** The frame WebSocket port it was given (0: none yet). */
  framePort: number;
  /** A standby that has answered a request: loaded and ready to take over. */
  warm?: boolean;
  link: HelperLink;
  hello?: HelloResult;
  stderrTail: string[];
  startedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its stderr has ended: every last word is in `stderrTail`. */
  stderrDone: Promise<void>;
}

/** A helper that ran this long is stable: the next crash restarts at once again. */
const STABLE_MS = 5000;
const STDERR_TAIL_LINES = 40;

export class HelperProcess extends EventEmitter<HelperEvents> {
  private readonly command: HelperCommand;
  private readonly maxDelay: number;
  private gen: Generation | undefined;
  /** Resolves to the live, ready helper; replaced while restarting. */
  private ready: Promise<Generation> | undefined;
  private stopping = false;
  private capture: CaptureParams | null = null;
  /** The capture a fatal capture.error stopped (the desktop ended a Wayland cast): what `resumeCapture` starts again. */
  private stoppedCapture: CaptureParams | null = null;
  private lastCapture: CaptureResult | null = null;
  private granted: string | null = null;
  private restartsInARow = 0;
  private restarting = false;
  /** The helper's frame WebSocket keeps this key and port across restarts: the page's URL stays good. */
  private readonly frameKey = randomBytes(24).toString('base64url');
  private framePort = 0;
  private spare: Generation | undefined;
  private inputDropped = 0;

  constructor(private readonly options: HelperProcessOptions = {}) {
    super();
    this.command = options.command ?? resolveHelperCommand();
    this.maxDelay = Math.min(1000, options.maxRestartDelayMs ?? 1000);
  }

  /** Spawns the helper and waits for its hello. */
  async start(): Promise<HelloResult> {
    if (this.ready) return (await this.ready).hello!;
    this.stopping = false;
    this.ready = this.spawnReady().then((g) => {
      this.prepareStandby();
      return g;
    });
    return (await this.ready).hello!;
  }

  /** The last hello (null before start). */
  get info(): HelloResult | null {
    return this.gen?.hello ?? null;
  }

  get pid(): number | undefined {
    return this.gen?.child.pid;
  }

  /** The capture now running, or null. Its websocketUrl stays the same across helper restarts. */
  get currentCapture(): CaptureResult | null {
    return this.capture ? this.lastCapture : null;
  }

  get controller(): string | null {
    return this.granted;
  }

  /** Whether a warm standby is loaded and waiting (a restart then takes a hello, not a Node start). */
  get standbyReady(): boolean {
    return this.spare?.warm === true;
  }

  /** Input notifications not sent because no helper was ready (during a restart). */
  get droppedInput(): number {
    return this.inputDropped;
  }

  async hello(): Promise<HelloResult> {
    return this.onLive((g) => g.link.rpc.request(Hello, {}));
  }

  async startCapture(options: CaptureOptions = {}): Promise<CaptureResult> {
    const parsed = StartCapture.params.safeParse(options);
    if (!parsed.success) throw new PairuxError(ErrorCode.BadMessage, `bad capture options: ${describeIssues(parsed.error)}`);
    const result = await this.onLive((g) => g.link.rpc.request(StartCapture, parsed.data));
    // A restarted helper asks the desktop again with the newest token: no dialog in the middle of a session.
    this.capture = result.restoreToken ? { ...parsed.data, restoreToken: result.restoreToken } : parsed.data;
    this.lastCapture = result;
    this.rememberFramePort(result);
    return result;
  }

  /**
   * Starts again the capture a fatal capture.error stopped, as it was asked for (on Wayland with
   * the desktop's newest restore token: the same screen, no dialog). For "sharing stopped on the
   * host" when the desktop ended the cast and the host wants to share again.
   */
  async resumeCapture(): Promise<CaptureResult> {
    const params = this.capture ?? this.stoppedCapture;
    if (!params) throw new PairuxError(ErrorCode.BadMessage, 'no capture to resume: none was started');
    return this.startCapture(params);
  }

  /** The screen's monitors, the primary first (on X11 RandR's; elsewhere the one screen). */
  async listMonitors(): Promise<MonitorInfo[]> {
    return (await this.onLive((g) => g.link.rpc.request(ListMonitors, {}))).monitors;
  }

  async stopCapture(): Promise<void> {
    this.capture = null;
    this.stoppedCapture = null;
    this.lastCapture = null;
    await this.onLive((g) => g.link.rpc.request(StopCapture, {}));
  }

  async grant(controllerId: string): Promise<void> {
    await this.onLive((g) => g.link.rpc.request(GrantControl, { controllerId }));
    this.granted = controllerId;
  }

  /** Stops injection at once; what the driver held is released. The grant is forgotten even if this fails. */
  async revoke(reason: RevokeReason = 'revoked'): Promise<{ released: string[] }> {
    this.granted = null;
    return this.onLive((g) => g.link.rpc.request(RevokeControl, { reason }));
  }

  async inputStats(): Promise<InputStatsResult> {
    return this.onLive((g) => g.link.rpc.request(InputStats, {}));
  }

  /**
   * One driver event (high rate, no answer; refusals come back as 'inputRefused'). False when no
   * helper is ready: input is never queued across a restart, stale input is worse than none.
   */
  sendInput(controllerId: string, event: unknown): boolean {
    const g = this.gen;
    if (!g?.hello || g.link.closed || this.stopping) {
      this.inputDropped++;
      return false;
    }
    g.link.rpc.notify(Input, { controllerId, event });
    return true;
  }

  /**
   * Revokes control, closes the helper's stdin (it exits on that) and kills it if it has not
   * exited within `timeoutMs`.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.granted = null;
    this.capture = null;
    const spare = this.spare;
    this.spare = undefined;
    spare?.child.stdin?.end();
    const g = this.gen;
    if (!g || g.child.exitCode !== null || g.child.signalCode !== null) {
      this.ready = undefined;
      return;
    }
    if (g.hello && !g.link.closed) {
      await g.link.rpc.request(RevokeControl, { reason: 'shutdown' }, Math.min(timeoutMs, 1000)).catch(() => undefined);
    }
    g.child.stdin?.end();
    const exited = await Promise.race([g.exited.then(() => true), delay(timeoutMs).then(() => false)]);
    if (!exited) {
      g.child.kill('SIGTERM');
      if (!(await Promise.race([g.exited.then(() => true), delay(500).then(() => false)]))) g.child.kill('SIGKILL');
      await g.exited;
    }
    if (spare && !(await Promise.race([spare.exited.then(() => true), delay(500).then(() => false)]))) spare.child.kill('SIGKILL');
    this.ready = undefined;
  }

  /**
   * Runs a request on the live helper. A request that was already on its way to a helper that
   * died is not lost: once the death is handled it goes to the restarted helper (these requests
   * are all safe to repeat), so a caller never sees a restart it did not cause.
   */
  private async onLive<R>(run: (g: Generation) => Promise<R>): Promise<R> {
    const g = await this.live();
    try {
      return await run(g);
    } catch (err) {
      if (!(err instanceof PairuxError) || err.code !== ErrorCode.Closed || this.stopping) throw err;
      // The link can close a moment before the exit that starts the restart is handled.
      await Promise.race([g.exited, delay(2000)]);
      await new Promise((r) => setImmediate(r));
      const next = await this.live();
      if (next === g) throw err;
      return run(next);
    }
  }

  private async live(): Promise<Generation> {
    if (!this.ready || this.stopping) throw new PairuxError(ErrorCode.Closed, 'the helper is not running (call start())');
    return this.ready;
  }

  private spawnGeneration(): Generation {
    const { command } = this;
    const child = spawn(command.command, command.args, {
      cwd: command.cwd,
      env: {
        ...(this.options.env ?? process.env),
        ...command.env,
        [FRAME_SOCKET_KEY_ENV]: this.frameKey,
        ...(this.framePort ? { [FRAME_SOCKET_PORT_ENV]: String(this.framePort) } : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    const stderrDone = new Promise<void>((resolve) => {
      child.stderr!.once('close', () => resolve());
      child.once('error', () => resolve());
    });
    const g: Generation = {
      child,
      framePort: this.framePort,
      link: undefined as unknown as HelperLink,
      stderrTail: [],
      startedAt: performance.now(),
      exited,
      stderrDone,
    };
    g.link = new HelperLink({
      side: 'a',
      input: child.stdout!,
      output: child.stdin!,
      ...(this.options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: this.options.requestTimeoutMs }),
      onVideo: (frame) => this.emit('frame', frame),
      onProtocolError: (e) => this.emit('protocolError', e),
      onClose: (reason) => {
        // A helper whose frames cannot be read is of no use: end it, the exit handler restarts it.
        if (reason.startsWith('framing lost') && child.exitCode === null) child.kill('SIGKILL');
      },
    });
    g.link.rpc.onNotification(InputRefused, (p) => this.emit('inputRefused', p));
    g.link.rpc.onNotification(CaptureError, (p) => {
      if (p.fatal) {
        this.stoppedCapture = this.capture ?? this.stoppedCapture;
        this.capture = null;
      } else if (this.capture?.monitor !== undefined) void this.followMonitor(this.capture);
      this.emit('captureError', p);
    });
    let partial = '';
    const line = (text: string) => {
      g.stderrTail.push(text);
      if (g.stderrTail.length > STDERR_TAIL_LINES) g.stderrTail.shift();
      this.emit('log', text);
    };
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) line(l);
    });
    child.stderr!.once('end', () => {
      if (partial) line(partial);
    });
    void exited.then(({ code, signal }) => this.onExit(g, code, signal));
    return g;
  }

  /**
   * Makes a helper the active one (the standby if there is a live one, else a new one) and waits
   * for its hello; throws (after killing it) when it does not answer.
   */
  private async spawnReady(): Promise<Generation> {
    const spare = this.spare;
    this.spare = undefined;
    const usable = spare && spare.child.exitCode === null && spare.child.signalCode === null && !spare.link.closed;
    if (spare && !usable) spare.child.kill('SIGKILL');
    const g = usable ? spare : this.spawnGeneration();
    this.gen = g;
    try {
      g.hello = await g.link.rpc.request(Hello, {}, this.options.startTimeoutMs ?? 10_000);
      return g;
    } catch (err) {
      g.child.kill('SIGKILL');
      await Promise.race([g.stderrDone, delay(500)]);
      const tail = g.stderrTail.slice(-5).join(' | ');
      throw new PairuxError(ErrorCode.Closed, `the helper did not start: ${(err as Error).message}${tail ? ` (stderr: ${tail})` : ''}`, undefined, {
        cause: err,
      });
    }
  }

  private onExit(g: Generation, code: number | null, signal: NodeJS.Signals | null): void {
    const reason = signal ? `killed by ${signal}` : code === HelperExit.LinkBroken ? 'exited: the link broke' : `exited with code ${code}`;
    g.link.close(`helper ${reason}`);
    if (g === this.spare) {
      // The standby died (it should not): make another, unhurried.
      this.spare = undefined;
      if (!this.stopping) setTimeout(() => this.prepareStandby(), 1000).unref();
      return;
    }
    // Only the established helper's death starts a restart; a failed attempt is the loop's business.
    if (g !== this.gen || !g.hello || this.restarting) return;
    if (this.stopping) {
      this.emit('exit', { code, signal, reason: 'stopped', stderrTail: g.stderrTail });
      return;
    }
    if (this.options.autoRestart === false) {
      this.ready = undefined;
      this.emit('exit', { code, signal, reason: `helper ${reason}`, stderrTail: g.stderrTail });
      return;
    }
    if (performance.now() - g.startedAt > STABLE_MS) this.restartsInARow = 0;
    this.ready = this.restart({ reason, code, signal, stderrTail: g.stderrTail }).then((next) => {
      this.prepareStandby();
      return next;
    });
    // Requests wait on `ready`; if nobody is waiting, a final failure must not go unhandled.
    this.ready.catch(() => undefined);
  }

  private async restart(died: { reason: string; code: number | null; signal: NodeJS.Signals | null; stderrTail: string[] }): Promise<Generation> {
    this.restarting = true;
    try {
      return await this.restartLoop(died);
    } finally {
      this.restarting = false;
    }
  }

  /**
   * The helper moved capture off a monitor that is gone (to the primary, or the one left): a
   * restarted helper must be asked for that one too, not for the monitor that is no more.
   */
  private async followMonitor(params: CaptureParams): Promise<void> {
    const monitors = await this.listMonitors().catch(() => undefined);
    if (!monitors || this.capture !== params || monitors.some((m) => m.name === params.monitor)) return;
    const next = replacementMonitor(monitors);
    if (!next) return;
    const { region: _dropped, ...rest } = params;
    this.capture = { ...rest, monitor: next.name };
    if (this.lastCapture)
      this.lastCapture = {
        ...this.lastCapture,
        width: next.width,
        height: next.height,
        monitor: { name: next.name, x: next.x, y: next.y, width: next.width, height: next.height },
      };
  }

  private async restartLoop(died: { reason: string; code: number | null; signal: NodeJS.Signals | null; stderrTail: string[] }): Promise<Generation> {
    const since = performance.now();
    const maxFailures = this.options.maxRestartAttempts ?? 10;
    let failures = 0;
    for (;;) {
      this.restartsInARow++;
      const attempt = this.restartsInARow;
      if (attempt > 1) await delay(Math.min(this.maxDelay, 100 * 2 ** (attempt - 2)));
      if (this.stopping) throw new PairuxError(ErrorCode.Closed, 'the helper was stopped');
      try {
        const g = await this.spawnReady();
        // The state the runner asked for, put back: capture first (viewers see the screen again),
        // then the grant. A refusal (not a death) is reported and the helper kept.
        let capture: CaptureResult | null = null;
        if (this.capture) {
          const params = this.capture;
          capture = await this.reissue(
            g,
            () => g.link.rpc.request(StartCapture, params),
            (e) => {
              this.capture = null;
              this.emit('captureError', { message: `capture could not be restarted: ${e.message}`.slice(0, 1000), fatal: true });
            },
          );
          this.lastCapture = capture;
          if (capture) this.rememberFramePort(capture);
        }
        let granted = this.granted;
        if (granted) {
          const id = granted;
          const ok = await this.reissue(
            g,
            () => g.link.rpc.request(GrantControl, { controllerId: id }),
            (e) => {
              this.granted = null;
              this.emit('protocolError', new PairuxError(e.code, `the grant could not be restored: ${e.message}`));
            },
          );
          if (!ok) granted = null;
        }
        this.emit('restarted', {
          ...died,
          attempt,
          downtimeMs: Math.round(performance.now() - since),
          hello: g.hello!,
          capture,
          granted,
        });
        return g;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.emit('restartFailed', { attempt, error });
        if (++failures >= maxFailures) {
          this.emit('exit', {
            code: died.code,
            signal: died.signal,
            reason: `gave up after ${failures} failed restarts: ${error.message}`,
            stderrTail: this.gen?.stderrTail ?? died.stderrTail,
          });
          throw error;
        }
      }
    }
  }

  private rememberFramePort(result: CaptureResult): void {
    if (!result.websocketUrl) return;
    this.framePort = Number(new URL(result.websocketUrl).port) || 0;
    // A standby spawned before the port was known would serve frames elsewhere: replace it.
    if (this.spare && this.spare.framePort !== this.framePort) {
      this.spare.child.stdin?.end();
      this.spare = undefined;
      this.prepareStandby();
    }
  }

  /**
   * Spawns the idle standby if it is wanted and missing, and asks it for its input stats: the one
   * question a helper answers without starting up (touching X), so an answer means it is loaded.
   */
  private prepareStandby(): void {
    if (this.options.standby === false || this.stopping || this.spare || !this.gen?.hello) return;
    const spare = this.spawnGeneration();
    this.spare = spare;
    spare.link.rpc.request(InputStats, {}, 30_000).then(
      () => {
        spare.warm = true;
      },
      () => {
        if (this.spare !== spare) return;
        this.spare = undefined;
        spare.child.kill('SIGKILL');
        if (!this.stopping) setTimeout(() => this.prepareStandby(), 1000).unref();
      },
    );
  }

  /** Runs a re-issue request; a dead helper throws (the loop tries again), a refusal is handed to `refused`. */
  private async reissue<R>(g: Generation, request: () => Promise<R>, refused: (e: PairuxError) => void): Promise<R | null> {
    try {
      return await request();
    } catch (err) {
      const e = PairuxError.from(err);
      if (g.link.closed || e.code === ErrorCode.Closed || e.code === ErrorCode.Timeout) {
        g.child.kill('SIGKILL');
        throw e;
      }
      refused(e);
      return null;
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
