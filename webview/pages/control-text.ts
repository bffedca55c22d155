/**
 * The words a guest sees about remote control: what is happening to its own request or drive,
 * and who drives. Pure, so every case is tested without a page (test/webview/control-text.test.ts).
 */
import type { GuestControlView } from '../engine/input/guest-control';
import type { KeyboardLockState } from '../engine/input/keyboard-lock';

export interface ControlTextInput {
  view: GuestControlView;
  selfId: string | undefined;
  hostName: string;
  /** Name of whoever drives now (undefined when nobody, or not known yet). */
  driverName: string | undefined;
  fullscreen: boolean;
  keyboard: KeyboardLockState;
  keyboardLockSupported: boolean;
}

/** "Ada is driving", "You are driving", or '' when nobody drives. */
export function driverText(driverId: string | null, selfId: string | undefined, driverName: string | undefined): string {
  if (!driverId) return '';
  if (driverId === selfId) return 'You are driving';
  return `${driverName ?? 'Someone'} is driving`;
}

function keyboardNote(i: ControlTextInput): string {
  if (i.fullscreen) {
    if (i.keyboard === 'locked') return 'every key goes to the host';
    // The lock is asked for as full screen starts; 'off' here only lasts until it answers.
    if (i.keyboard === 'off') return 'locking the keyboard…';
    return 'Keyboard Lock is not available: Ctrl+W, Ctrl+T… stay with this browser';
  }
  return i.keyboardLockSupported ? 'full screen sends Ctrl+W, Ctrl+T… too' : 'Ctrl+W, Ctrl+T… stay with this browser';
}

/** The control line: this guest's own situation first, else who drives. */
export function controlStatusText(i: ControlTextInput): string {
  const { view, hostName } = i;
  switch (view.phase) {
    case 'asking':
      return 'Asking to drive…';
    case 'waiting':
      return `Waiting for ${hostName} to answer your request to drive…`;
    case 'driving':
      return `You are driving ${hostName}'s screen · ${keyboardNote(i)}`;
    case 'none':
      break;
  }
  const who = driverText(view.driverId, i.selfId, i.driverName);
  const suffix = who ? ` ${who}.` : '';
  switch (view.outcome) {
    case 'denied':
      return `${hostName} declined your request to drive.${suffix}`;
    case 'timeout':
      return `${hostName} did not answer your request to drive.${suffix}`;
    case 'taken-over':
      return `${i.driverName && view.driverId && view.driverId !== i.selfId ? i.driverName : 'Another controller'} took over control.`;
    case 'revoked':
      return `${hostName} took control back.${suffix}`;
    case 'panic':
      return `${hostName} stopped all remote control.${suffix}`;
    case 'released':
      return `You stopped driving.${suffix}`;
    case 'left':
      return `You lost control when your connection dropped.${suffix}`;
    case 'refused':
      return view.error ?? 'The server refused the request.';
    case undefined:
      return who;
  }
}
