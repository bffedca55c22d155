/**
 * What this machine lets the helper do, decided once at start and reported in `helper.hello`.
 * Sharing a black screen is worse than refusing, so the Wayland cases are refused with a reason a
 * person can act on; macOS and Windows compile and may well work, and say they are untested.
 */
import { installXErrorHandler } from './native/x-error-handler';
import { loadRobot, type Robot } from './native/robot';
import { hasXdotool, probeXDisplay } from './native/x11';

export interface Availability {
  available: boolean;
  reason?: string;
}

export interface PlatformReport {
  platform: NodeJS.Platform;
  screen: { name: string; width: number; height: number } | null;
  capture: Availability;
  inject: Availability & { xdotool: boolean };
  /** A working X11 display: the XTEST tools (xinput, xdotool, xmodmap) apply. */
  x11: boolean;
  /** Loaded only when something is available; never touched otherwise (it can crash without a display). */
  robot: Robot | null;
}

export const WAYLAND_REASON =
  'Screen capture needs an X11 session: this is a Wayland session, where X capture shows a black screen ' +
  'and capture through the desktop portal (xdg-desktop-portal ScreenCast) is not supported yet. ' +
  'Log in with an X11 session (on the login screen, e.g. "GNOME on Xorg") to share your screen.';

function unavailable(platform: NodeJS.Platform, reason: string, xdotool = false): PlatformReport {
  return { platform, screen: null, capture: { available: false, reason }, inject: { available: false, reason, xdotool }, x11: false, robot: null };
}

export async function probePlatform(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<PlatformReport> {
  if (platform === 'linux') return probeLinux(env);
  if (platform !== 'darwin' && platform !== 'win32') return unavailable(platform, `${platform} is not supported`);
  const robot = loadRobot();
  if (robot instanceof Error) return unavailable(platform, robot.message);
  const size = robot.getScreenSize();
  const os = platform === 'darwin' ? 'macOS' : 'Windows';
  const perm = platform === 'darwin' ? ' (needs the Screen Recording permission)' : '';
  const injectPerm = platform === 'darwin' ? ' (needs the Accessibility permission)' : '';
  return {
    platform,
    screen: { name: 'main', width: size.width, height: size.height },
    capture: { available: true, reason: `untested on ${os}${perm}` },
    inject: { available: true, reason: `untested on ${os}${injectPerm}`, xdotool: false },
    x11: false,
    robot,
  };
}

async function probeLinux(env: NodeJS.ProcessEnv): Promise<PlatformReport> {
  const wayland = env.XDG_SESSION_TYPE === 'wayland' || !!env.WAYLAND_DISPLAY;
  const display = env.DISPLAY;
  if (!display) {
    return unavailable(
      'linux',
      wayland ? WAYLAND_REASON : 'There is no X display (DISPLAY is not set). On a machine without a screen, run the editor under Xvfb.',
    );
  }
  const [probe, xdotool] = await Promise.all([probeXDisplay(env), hasXdotool(env)]);
  if (!probe.ok) return unavailable('linux', probe.reason, xdotool);
  // DISPLAY inside a Wayland session is XWayland: its root window shows none of the Wayland windows.
  if (probe.xwayland) return unavailable('linux', `${WAYLAND_REASON} (DISPLAY=${display} is XWayland.)`, xdotool);
  const robot = loadRobot();
  if (robot instanceof Error) return unavailable('linux', robot.message, xdotool);
  // robotjs's X errors (a grab racing a screen shrinking) become exceptions instead of an exit.
  const xErrors = installXErrorHandler((s) =>
    console.warn(`X error ${s.last?.errorCode ?? '?'} on request ${s.last?.requestCode ?? '?'} handled (${s.count} so far): the helper goes on`),
  );
  if (!xErrors.installed) console.warn(`no X error handler (${xErrors.reason}): an X error ends the helper, and the runner starts it again`);
  return {
    platform: 'linux',
    screen: { name: display.slice(0, 64), width: probe.width, height: probe.height },
    capture: { available: true },
    inject: xdotool ? { available: true, xdotool } : { available: true, xdotool, reason: 'xdotool is not installed: text outside ASCII cannot be typed' },
    x11: true,
    robot,
  };
}
