/**
 * Which monitor to share, asked when the host starts sharing on a display with more than one and
 * “pairux.capture.monitor” names none: a quick pick of the monitors with their sizes, the primary
 * first, and all of them (the whole screen) last. VS Code's quick pick is passed in, so this runs
 * in tests with a stand-in.
 */
import type { QuickPickItem, QuickPickOptions } from 'vscode';
import type { MonitorInfo } from '../../protocol/helper-link';
import { literal } from './literal-text';

export interface MonitorPick extends QuickPickItem {
  /** The monitor's name; undefined for the whole screen. */
  monitor: string | undefined;
}

export type ShowQuickPick = (items: MonitorPick[], options: QuickPickOptions) => Thenable<MonitorPick | undefined>;

/** The choice made, or undefined when the host dismissed the pick (sharing is then cancelled). */
export type MonitorChoice = { monitor: string | undefined } | undefined;

export function monitorPickItems(monitors: readonly MonitorInfo[]): MonitorPick[] {
  const ordered = [...monitors.filter((m) => m.primary), ...monitors.filter((m) => !m.primary)];
  const width = Math.max(...monitors.map((m) => m.x + m.width));
  const height = Math.max(...monitors.map((m) => m.y + m.height));
  return [
    // The name comes from the X server (a monitor's connector, or whatever a tool named it): shown as text.
    ...ordered.map((m) => ({
      label: literal(m.name, 64),
      description: `${m.width}×${m.height}${m.primary ? ' · primary' : ''}`,
      detail: `at ${m.x},${m.y} on the screen`,
      monitor: m.name,
    })),
    { label: 'All monitors', description: `${width}×${height}`, detail: 'the whole screen, every monitor in one picture', monitor: undefined },
  ];
}

export async function pickMonitor(monitors: readonly MonitorInfo[], show: ShowQuickPick): Promise<MonitorChoice> {
  const picked = await show(monitorPickItems(monitors), {
    title: 'PairUX: Which monitor do you share?',
    placeHolder: 'Guests see the monitor you pick (set “pairux.capture.monitor” to skip this question)',
    ignoreFocusOut: true,
  });
  return picked && { monitor: picked.monitor };
}
