/**
 * What this machine lets the helper do, decided once at start and reported in `helper.hello`.
 * Sharing a black screen is worse than refusing, so the Wayland cases are refused with a reason a
 * person can act on; macOS and Windows compile and may well work, and say they are untested.
 */
import { gstreamerMissing } from './capture/pipewire-frames';
import { WaylandVirtualInput } from './native/wayland-virtual-input';
import { installXErrorHandler } from './native/x-error-handler';
import { PortalBus } from './portal/portal-bus';
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
  /** A Wayland session: capture goes through the desktop portal's ScreenCast. */
  wayland: boolean;
  /** Set for a Wayland session even when the portal cannot be used, so the runner can say which desktop it found. */
  desktop?: 'wayland';
  /** Loaded only when something is available; never touched otherwise (it can crash without a display). */
  robot: Robot | null;
  /** Wayland: the virtual keyboard and pointer, when the compositor offers them. */
  waylandInput?: WaylandVirtualInput;
}

function unavailable(platform: NodeJS.Platform, reason: string, xdotool = false): PlatformReport {
  return {
    platform,
    screen: null,
    capture: { available: false, reason },
    inject: { available: false, reason, xdotool },
    x11: false,
    wayland: false,
    robot: null,
  };
}

/** How a Wayland session was recognised, for the log; undefined when this is not one. */
export function waylandSession(env: NodeJS.ProcessEnv): string | undefined {
  if (env.WAYLAND_DISPLAY) return `WAYLAND_DISPLAY=${env.WAYLAND_DISPLAY}`;
  if (env.XDG_SESSION_TYPE === 'wayland') return 'XDG_SESSION_TYPE=wayland';
  return undefined;
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
    wayland: false,
    robot,
  };
}

/**
 * A Wayland session: X capture there shows a black screen (XWayland's root window has none of the
 * Wayland windows), so capture goes through the portal, and needs GStreamer's PipeWire plugin and a
 * desktop with the ScreenCast portal. Each missing part is named.
 */
async function probeWayland(env: NodeJS.ProcessEnv): Promise<PlatformReport> {
  const refuse = (reason: string): PlatformReport => ({ ...unavailable('linux', reason), desktop: 'wayland' });
  const gst = await gstreamerMissing(env);
  if (gst) return refuse(`Screen capture on Wayland goes through the desktop portal and PipeWire, and ${gst}.`);
  let version: number;
  try {
    const bus = await PortalBus.open(env);
    try {
      version = Number(await bus.property('org.freedesktop.portal.ScreenCast', 'version'));
    } finally {
      bus.close();
    }
  } catch (err) {
    return refuse(`Screen capture on Wayland needs the desktop portal, which cannot be reached: ${(err as Error).message}.`);
  }
  if (!Number.isFinite(version) || version < 1) {
    return refuse(
      'This Wayland desktop offers no ScreenCast portal (org.freedesktop.portal.ScreenCast): install the portal of your desktop (xdg-desktop-portal-gnome, -kde or -wlr).',
    );
  }
  // Input: the wlroots virtual keyboard and pointer where the compositor offers them.
  let waylandInput: WaylandVirtualInput | undefined;
  let injectReason: string | undefined;
  try {
    waylandInput = WaylandVirtualInput.open(env);
  } catch (err) {
    injectReason = (err as Error).message;
  }
  return {
    platform: 'linux',
    screen: { name: (env.WAYLAND_DISPLAY ?? 'wayland').slice(0, 64), width: 0, height: 0 },
    capture: { available: true },
    inject: waylandInput ? { available: true, xdotool: false } : { available: false, reason: injectReason, xdotool: false },
    ...(waylandInput ? { waylandInput } : {}),
    x11: false,
    wayland: true,
    desktop: 'wayland',
    robot: null,
  };
}

async function probeLinux(env: NodeJS.ProcessEnv): Promise<PlatformReport> {
  if (waylandSession(env)) return probeWayland(env);
  const display = env.DISPLAY;
  if (!display) return unavailable('linux', 'There is no X display (DISPLAY is not set). On a machine without a screen, run the editor under Xvfb.');
  const [probe, xdotool] = await Promise.all([probeXDisplay(env), hasXdotool(env)]);
  if (!probe.ok) return unavailable('linux', probe.reason, xdotool);
  // DISPLAY is XWayland though the environment does not say Wayland: its root window shows none of the Wayland windows.
  if (probe.xwayland) return probeWayland(env);
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
    wayland: false,
    robot,
  };
}
