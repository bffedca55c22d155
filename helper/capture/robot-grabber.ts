/**
 * robotjs as the capture loop's screen: X11 XGetImage on Linux, BGRX bytes, no pointer.
 *
 * On X11 robotjs cannot be trusted with the screen's size. It grabs with XGetImage under Xlib's
 * default error handler, which ends the whole process on any X error, and a grab reaching past
 * the screen's edge is one (BadMatch): a screen that shrank under capture (RandR) ended the helper
 * with "X Error of failed request: BadMatch … X_GetImage" and exit code 1. Its own bounds check
 * would turn that into a catchable exception, but it checks against the size Xlib recorded when
 * robotjs's connection opened, which a resize does not update (nor does `getScreenSize`). So the
 * size comes from the X server's word instead: a connection of our own (the pure-JS `x11`
 * package) that hears the root window's ConfigureNotify, sent on every resize, and keeps the size
 * at hand for the capture loop to look at before each strip. When it changes, robotjs's
 * connection is reopened, so its check agrees with the screen again (a screen that grew can be
 * grabbed whole; a stale rectangle throws instead of ending the process).
 *
 * What this cannot close by itself: a resize the server carries out after the size was looked at
 * and before it serves the strip asked for next. Measured (1080p Xvfb, 30 fps, still screen, 100
 * shrinks 1920x1080 → 1280x720, load 4–5 on 2 cores): 7 ended the helper (without this watch, the
 * first shrink always did). The helper's Xlib error handler (native/x-error-handler.ts) closes
 * it: that grab then throws, and the next one is made at the new size (the same 100 shrinks and
 * grows back, twice: no exit, 12 errors handled in one run).
 */
import x11 from 'x11';
import { reopenRobotDisplay, type Robot } from '../native/robot';
import { withTimeout } from '../native/x11-connection';
import type { ScreenGrabber } from './screen-capturer';

export interface RobotGrabber extends ScreenGrabber {
  /** Closes the X connection that watches the screen's size (at shutdown). */
  close(): void;
}

interface Size {
  width: number;
  height: number;
}

/** The parts of the x11 client used here that its type declarations do not name. */
interface RawClient {
  ChangeWindowAttributes(window: number, values: { eventMask: number }): void;
  GetGeometry(drawable: number, cb: (err: Error | null, g: Size) => void): void;
  on(event: 'event', listener: (ev: { name?: string; wid1?: unknown; width?: unknown; height?: unknown }) => void): void;
  on(event: 'error' | 'end', listener: () => void): void;
  terminate(): void;
}

const STRUCTURE_NOTIFY = 0x00020000;
const OPEN_TIMEOUT_MS = 3000;

/** The X screen's size as the server last said, kept current by the root window's ConfigureNotify. */
export class X11ScreenSize {
  private listener: ((size: Size) => void) | undefined;
  private ended = false;

  private constructor(
    private readonly X: RawClient,
    private readonly root: number,
    private current: Size,
  ) {
    X.on('event', (ev) => {
      if (ev.name !== 'ConfigureNotify' || ev.wid1 !== root || typeof ev.width !== 'number' || typeof ev.height !== 'number') return;
      this.set({ width: ev.width, height: ev.height });
    });
    // A void request's error has nobody to tell; the size stays as last heard.
    X.on('error', () => undefined);
    X.on('end', () => {
      this.ended = true;
    });
  }

  static open(display: string): Promise<X11ScreenSize> {
    return withTimeout(
      new Promise<X11ScreenSize>((resolve, reject) => {
        const client = x11.createClient({ display, shm: false }, (err, d) => {
          if (err) return reject(err);
          const X = d.client as unknown as RawClient;
          const root = d.screen[0]?.root;
          if (root === undefined) return reject(new Error('the X display has no screen'));
          X.ChangeWindowAttributes(root, { eventMask: STRUCTURE_NOTIFY });
          // Asked after selecting the events: a resize before the answer is in it, one after sends an event.
          X.GetGeometry(root, (e, g) => {
            if (e) {
              X.terminate();
              return reject(e);
            }
            resolve(new X11ScreenSize(X, root, { width: g.width, height: g.height }));
          });
        });
        client.on('error', (e) => reject(e));
      }),
      OPEN_TIMEOUT_MS,
      `the X display ${display} did not answer`,
    );
  }

  /** The size now, or undefined once the connection is gone (the server went away). */
  get size(): Size | undefined {
    return this.ended ? undefined : this.current;
  }

  /** Called with the new size on every change. */
  onChange(listener: (size: Size) => void): void {
    this.listener = listener;
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.X.terminate();
  }

  private set(size: Size): void {
    if (size.width === this.current.width && size.height === this.current.height) return;
    this.current = size;
    this.listener?.(size);
  }
}

/** With `screen` (X11) the size is the server's word, and robotjs is told when it changes. */
export function robotGrabber(robot: Robot, screen?: X11ScreenSize): RobotGrabber {
  if (screen) {
    screen.onChange(() => reopenRobotDisplay(robot));
    // robotjs's connection may be older than a resize that came before this watch.
    const { width, height } = robot.getScreenSize();
    const now = screen.size;
    if (now && (now.width !== width || now.height !== height)) reopenRobotDisplay(robot);
  }
  return {
    screenSize: () => screen?.size ?? robot.getScreenSize(),
    grab: (r) => robot.screen.capture(r.x, r.y, r.width, r.height),
    pointer: () => robot.getMousePos(),
    close: () => screen?.close(),
  };
}
