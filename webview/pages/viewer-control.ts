/**
 * Remote control on the viewer page: wires the guest's control state (GuestControl) to the
 * buttons and words (ControlUi, control-text.ts), turns input capture on exactly while this
 * guest drives, keeps the keyboard locked in full screen while driving, and shows the host's
 * refusals for a moment.
 */
import { GuestControl, type GuestControlView } from '../engine/input/guest-control';
import { InputCapture } from '../engine/input/input-capture';
import { applyKeyboardLock, keyboardLockSupported, type KeyboardLockState } from '../engine/input/keyboard-lock';
import type { Logger } from '../engine/logger';
import type { SignalingClient } from '../engine/signaling/signaling-client';
import { ControlUi } from './control-ui';
import { controlStatusText, driverText } from './control-text';
import type { GuestMediaEngine } from '../engine/engine-types';

/** How long Stop driving waits for the host to confirm the key-ups before giving control back anyway. */
const RELEASE_FLUSH_MS = 1000;

export interface ViewerControlSnapshot extends GuestControlView {
  text: string;
  keyboard: KeyboardLockState;
  /** Input events sent / lost for want of a data channel / refused by the host (summed counts). */
  sent: number;
  dropped: number;
  refused: number;
  lastRefusal: { seq?: number; code: string; reason: string; count: number } | undefined;
}

export interface ViewerControl {
  /** "Ada is driving" for the status line ('' when nobody drives). */
  driverText(): string;
  snapshot(): ViewerControlSnapshot;
  /** Test hook: puts any payload on the data channel as `peer.input`, bypassing every local check. */
  sendRaw(raw: unknown): boolean;
  /** The Request control button's action, for an embedder's own command. */
  request(): Promise<void>;
  /** The Stop driving button's action. */
  release(): Promise<void>;
}

export interface ViewerControlDeps {
  client: SignalingClient;
  guest: GuestMediaEngine;
  video: HTMLVideoElement;
  log: Logger;
  /** Called after every control state change (the VS Code panel mirrors it in the editor). */
  onChange?(): void;
}

export function startViewerControl({ client, guest, video, log, onChange }: ViewerControlDeps): ViewerControl {
  const ui = new ControlUi();
  const control = new GuestControl(client, log);
  const capture = new InputCapture({ video, imeSink: ui.imeSink, send: (event) => guest.sendInput(event) });
  let keyboard: KeyboardLockState = 'off';
  let refused = 0;
  let lastRefusal: ViewerControlSnapshot['lastRefusal'];
  let lockRun = 0;

  const nameOf = (id: string | null | undefined): string | undefined => (id ? client.participants.get(id)?.name : undefined);

  function text(view: GuestControlView): string {
    return controlStatusText({
      view,
      selfId: client.self?.id,
      hostName: nameOf(client.hostId) ?? 'the host',
      driverName: nameOf(view.driverId),
      fullscreen: Boolean(document.fullscreenElement),
      keyboard,
      keyboardLockSupported: keyboardLockSupported(),
    });
  }

  function render(): void {
    const view = control.view;
    ui.render(view.phase, view.canRequest, text(view));
  }

  /** Lock the keyboard exactly while driving in full screen; the newest call wins. */
  async function updateLock(): Promise<void> {
    const run = ++lockRun;
    const state = await applyKeyboardLock(control.driving && Boolean(document.fullscreenElement));
    if (run !== lockRun) return;
    keyboard = state;
    render();
  }

  control.on('change', ({ view, previous }) => {
    if (view.phase === 'driving' && !capture.active) capture.enable();
    // Control taken away: the host's side lets go of whatever was held; sending now would be refused.
    if (view.phase !== 'driving' && capture.active) capture.disable(false);
    if ((view.phase === 'driving') !== (previous.phase === 'driving')) void updateLock();
    render();
    onChange?.();
  });
  const release = async (): Promise<void> => {
    // Let go of held keys and buttons while the host still takes our input, then give control
    // back — only once the host has them: the release travels through the server, a quicker or
    // slower path than the data channel, and input arriving after it would be refused.
    capture.disable(true);
    await guest.flushInput(RELEASE_FLUSH_MS);
    await control.release();
  };
  ui.onRequest(() => void control.request());
  ui.onStop(() => {
    release().catch((err: unknown) => ui.flash(`Could not stop driving: ${String(err)}`));
  });
  guest.on('inputRefused', (refusal) => {
    refused += refusal.count;
    lastRefusal = refusal;
    ui.flash(`The host refused input: ${refusal.reason}${refusal.count > 1 ? ` (${refusal.count} events)` : ''}`);
  });
  client.on('participants', render);
  document.addEventListener('fullscreenchange', () => void updateLock());
  control.start();
  render();

  return {
    driverText: () => driverText(client.driverId, client.self?.id, nameOf(client.driverId)),
    snapshot: () => ({ ...control.view, text: text(control.view), keyboard, sent: capture.sent, dropped: capture.dropped, refused, lastRefusal }),
    sendRaw: (raw) => guest.sendInput(raw),
    request: () => control.request(),
    release,
  };
}
