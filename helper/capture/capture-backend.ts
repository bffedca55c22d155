/**
 * Which capturer takes a `capture.start`: on Wayland the desktop portal's screen cast (the only
 * way there); on X11 damage where the X server has DAMAGE (reading with MIT-SHM, else the core
 * GetImage), robotjs sampling elsewhere (no DAMAGE, macOS, Windows). The environment's
 * PAIRUX_CAPTURE (x11, robotjs, portal or auto) overrides what the runner asks. A missing
 * extension is a fallback with a log line and a reason in the answer, never an error.
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { PlatformReport } from '../platform';
import { PortalError } from '../portal/portal-bus';
import { X11Connection } from '../native/x11-connection';
import type { Capturer, FrameOutlet } from './capturer';
import { PortalCapturer } from './portal-capturer';
import { robotGrabber, X11ScreenSize, type RobotGrabber } from './robot-grabber';
import { ScreenCapturer } from './screen-capturer';
import { X11DamageCapturer } from './x11-damage-capturer';

export type BackendAsked = 'auto' | 'x11' | 'robotjs' | 'portal';
export type BackendName = 'x11' | 'robotjs' | 'portal';

export interface ChosenCapturer {
  capturer: Capturer;
  backend: BackendName;
  /** Why it is not the backend asked for (or, for auto, not x11 on an X11 session). */
  fallback?: string;
  /** Wayland: what lets the next cast skip the desktop's dialog. */
  restoreToken?: string;
}

/** What the portal needs to know before it starts a cast. */
export interface CastWishes {
  restoreToken?: string | undefined;
  drawCursor: boolean;
}

export interface CaptureBackendOptions {
  env: NodeJS.ProcessEnv;
  platform: PlatformReport;
  outlet: FrameOutlet;
  onError(message: string, fatal: boolean): void;
  log(line: string): void;
}

export class CaptureBackends {
  private robot: { capturer: ScreenCapturer; grabber: RobotGrabber } | undefined;
  private x11: { conn: X11Connection; capturer: X11DamageCapturer } | undefined;
  /** The last token a cast gave: a restarted capture in this helper skips the dialog too. */
  private restoreToken: string | undefined;

  constructor(private readonly o: CaptureBackendOptions) {}

  /** The backend asked for, unless the environment says otherwise (benches and people comparing them). */
  wanted(asked: BackendAsked): BackendAsked {
    const forced = this.o.env.PAIRUX_CAPTURE?.trim().toLowerCase();
    return forced === 'x11' || forced === 'robotjs' || forced === 'portal' || forced === 'auto' ? forced : asked;
  }

  async choose(asked: BackendAsked, wishes: CastWishes = { drawCursor: true }): Promise<ChosenCapturer> {
    const wanted = this.wanted(asked);
    if (this.o.platform.wayland) {
      // The desktop asks its user (or remembers the token): a cast per capture, ended when it stops.
      const capturer = await PortalCapturer.open({
        env: this.o.env,
        outlet: this.o.outlet,
        onError: this.o.onError,
        log: this.o.log,
        restoreToken: wishes.restoreToken ?? this.restoreToken,
        drawCursor: wishes.drawCursor,
      }).catch((err: unknown) => {
        throw portalRefusal(err);
      });
      this.restoreToken = capturer.restoreToken ?? this.restoreToken;
      const fallback =
        wanted === 'auto' || wanted === 'portal'
          ? undefined
          : `${wanted} capture needs an X11 session; this is Wayland, where the desktop portal shares the screen`;
      return { capturer, backend: 'portal', ...(fallback ? { fallback } : {}), ...(capturer.restoreToken ? { restoreToken: capturer.restoreToken } : {}) };
    }
    if (wanted === 'portal') {
      const x11 = this.o.platform.x11 ? await this.x11Capturer() : undefined;
      if (x11 instanceof X11DamageCapturer) return { capturer: x11, backend: 'x11', fallback: 'portal capture is for Wayland sessions; this is X11' };
      return { capturer: await this.robotCapturer(), backend: 'robotjs', fallback: 'portal capture is for Wayland sessions' };
    }
    if (wanted === 'robotjs') return { capturer: await this.robotCapturer(), backend: 'robotjs' };
    if (!this.o.platform.x11) {
      const capturer = await this.robotCapturer();
      return wanted === 'x11'
        ? { capturer, backend: 'robotjs', fallback: 'x11 capture needs an X11 session; this platform has none' }
        : { capturer, backend: 'robotjs' };
    }
    const x11 = await this.x11Capturer();
    if (x11 instanceof X11DamageCapturer) return { capturer: x11, backend: 'x11' };
    this.o.log(`capture: ${x11}; sampling the screen with robotjs instead`);
    return { capturer: await this.robotCapturer(), backend: 'robotjs', fallback: x11 };
  }

  /** Closes the X connection (at shutdown). */
  close(): void {
    this.x11?.conn.close();
    this.x11 = undefined;
    this.robot?.grabber.close();
  }

  private async robotCapturer(): Promise<ScreenCapturer> {
    const robot = this.o.platform.robot;
    if (!robot) throw new Error('robotjs is not loaded');
    if (!this.robot) {
      // On X11 robotjs must not be asked the screen's size, see robot-grabber.ts.
      let screen: X11ScreenSize | undefined;
      const display = this.o.env.DISPLAY;
      if (this.o.platform.x11 && display) {
        screen = await X11ScreenSize.open(display).catch((err: Error) => {
          this.o.log(`capture: the screen's size is not watched (${err.message}); a screen that changes size may end the helper`);
          return undefined;
        });
      }
      // Another start may have made one while this one waited for the X server.
      if (this.robot) screen?.close();
      else {
        const grabber = robotGrabber(robot, screen);
        this.robot = { capturer: new ScreenCapturer(grabber, this.o.outlet, this.o.onError, this.o.log), grabber };
      }
    }
    return this.robot.capturer;
  }

  /** The X11 capturer on a live connection (a dropped one is reopened), or why there is none. */
  private async x11Capturer(): Promise<X11DamageCapturer | string> {
    if (this.x11 && !this.x11.conn.isClosed) return this.x11.capturer;
    this.x11 = undefined;
    let conn: X11Connection;
    try {
      conn = await X11Connection.open(this.o.env);
    } catch (err) {
      return `x11 capture could not connect to the X server (${(err as Error).message})`;
    }
    if (!conn.features.damage) {
      conn.close();
      return 'the X server has no DAMAGE extension';
    }
    if (!conn.features.shm) this.o.log(`capture: MIT-SHM is not used (${conn.features.shmReason}); damaged areas are read with the core GetImage`);
    const capturer = new X11DamageCapturer(conn, this.o.outlet, this.o.onError, this.o.log);
    this.x11 = { conn, capturer };
    return capturer;
  }
}

/** A cast that did not start, as the runner hears it: the user's no, a missing part, or the desktop's failure. */
function portalRefusal(err: unknown): PairuxError {
  if (!(err instanceof PortalError))
    return err instanceof PairuxError ? err : new PairuxError(ErrorCode.Internal, `screen cast: ${String((err as Error)?.message ?? err)}`);
  if (err.code === 'cancelled')
    return new PairuxError(ErrorCode.Cancelled, `sharing was cancelled in the desktop's dialog, so nothing is shared (${err.message})`);
  return new PairuxError(ErrorCode.Unavailable, `the desktop did not start a screen cast: ${err.message}`, { unavailable: 'screen capture' });
}
