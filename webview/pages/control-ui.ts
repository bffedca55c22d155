/**
 * The viewer's remote-control DOM: the Request control / Stop driving buttons, the control line,
 * a short-lived note over the picture (refused input), and the hidden textarea an IME composes
 * into. Which buttons show is CSS on body[data-control] and body[data-can-request].
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { ControlPhase } from '../engine/input/guest-control';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`viewer.html is missing #${id}`);
  return el as T;
}

export class ControlUi {
  readonly imeSink = byId<HTMLTextAreaElement>('ime-sink');
  private readonly requestButton = byId('control-request');
  private readonly stopButton = byId('control-stop');
  private readonly line = byId('control-status');
  private readonly note = byId('control-note');
  private noteTimer: ReturnType<typeof setTimeout> | undefined;

  onRequest(handler: () => void): void {
    this.requestButton.addEventListener('click', () => {
      // A focused button would take Space/Enter meant for the host once driving starts.
      this.requestButton.blur();
      handler();
    });
  }

  onStop(handler: () => void): void {
    this.stopButton.addEventListener('click', () => {
      this.stopButton.blur();
      handler();
    });
  }

  render(phase: ControlPhase, canRequest: boolean, text: string): void {
    document.body.dataset.control = phase;
    document.body.dataset.canRequest = String(canRequest);
    this.stopButton.textContent = phase === 'driving' ? 'Stop driving' : 'Cancel request';
    this.line.textContent = text;
    this.line.title = text;
  }

  /** Shows `text` over the picture for a moment. */
  flash(text: string, ms = 3000): void {
    this.note.textContent = text;
    this.note.hidden = false;
    if (this.noteTimer !== undefined) clearTimeout(this.noteTimer);
    this.noteTimer = setTimeout(() => {
      this.note.hidden = true;
      this.noteTimer = undefined;
    }, ms);
  }
}
