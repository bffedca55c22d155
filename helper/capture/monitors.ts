/**
 * The monitors of a screen and the choices made about them: which one a name means, the screen
 * rectangle to capture for it, and which one takes over when the shared one is gone. Pure (no X
 * connection: that is randr-monitors.ts), so the runner's side can make the same choice.
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { CaptureRegion, MonitorInfo } from '../../protocol/helper-link';

export type { MonitorInfo };

/** The screen and its monitors, the primary first. */
export interface MonitorLayout {
  screen: { width: number; height: number };
  monitors: MonitorInfo[];
}

/** A rectangle smaller than this is no monitor to share (the protocol's smallest region). */
const MIN_SIDE = 16;

/**
 * The monitors as the X server reported them, each clipped to the screen (a monitor defined by
 * hand may reach past it), the ones left with nothing to show dropped, the primary first (the
 * rest keep the server's order). At most one is primary.
 */
export function tidyMonitors(screen: { width: number; height: number }, reported: MonitorInfo[]): MonitorInfo[] {
  const out: MonitorInfo[] = [];
  let primarySeen = false;
  for (const m of reported) {
    const x = Math.max(0, m.x);
    const y = Math.max(0, m.y);
    const width = Math.min(screen.width, m.x + m.width) - x;
    const height = Math.min(screen.height, m.y + m.height) - y;
    if (width < MIN_SIDE || height < MIN_SIDE) continue;
    const primary: boolean = m.primary && !primarySeen;
    primarySeen ||= primary;
    out.push({ name: m.name, x, y, width, height, primary });
  }
  return [...out.filter((m) => m.primary), ...out.filter((m) => !m.primary)];
}

/** The whole screen as one monitor, for a server without RandR 1.5 (and non-X platforms). */
export function wholeScreenMonitor(screen: { width: number; height: number }): MonitorInfo {
  return { name: 'screen', x: 0, y: 0, width: screen.width, height: screen.height, primary: true };
}

/** "RIGHT 1920×1080 at 1920,0 (primary)": how a monitor is named to people. */
export function describeMonitor(m: MonitorInfo): string {
  return `${m.name} ${m.width}×${m.height} at ${m.x},${m.y}${m.primary ? ' (primary)' : ''}`;
}

export function describeMonitors(monitors: readonly MonitorInfo[]): string {
  return monitors.length ? monitors.map(describeMonitor).join('; ') : 'none';
}

/** BAD_MESSAGE naming the monitors there are, for a name that is none of them. */
export function unknownMonitor(name: string, monitors: readonly MonitorInfo[]): PairuxError {
  return new PairuxError(ErrorCode.BadMessage, `there is no monitor named “${name}” on this screen; its monitors are: ${describeMonitors(monitors)}`, {
    monitors: monitors.map((m) => m.name),
  });
}

/**
 * The screen rectangle to capture for `monitor`: the whole monitor, or `region` taken relative to
 * it. Throws BAD_MESSAGE when the region does not fit on the monitor.
 */
export function monitorRegion(monitor: MonitorInfo, region?: CaptureRegion): CaptureRegion {
  if (!region) return { x: monitor.x, y: monitor.y, width: monitor.width, height: monitor.height };
  if (region.x + region.width > monitor.width || region.y + region.height > monitor.height) {
    throw new PairuxError(
      ErrorCode.BadMessage,
      `region ${region.width}x${region.height}+${region.x}+${region.y} is outside the monitor ${describeMonitor(monitor)} (a region is relative to its monitor)`,
      { monitor: monitor.name },
    );
  }
  return { x: monitor.x + region.x, y: monitor.y + region.y, width: region.width, height: region.height };
}

/** Who takes over when the shared monitor is gone: the primary, else the first left. */
export function replacementMonitor(monitors: readonly MonitorInfo[]): MonitorInfo | undefined {
  return monitors.find((m) => m.primary) ?? monitors[0];
}

export function sameRect(a: { x: number; y: number; width: number; height: number }, b: { x: number; y: number; width: number; height: number }): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}
