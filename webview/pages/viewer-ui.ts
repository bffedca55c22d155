/**
 * The viewer's DOM: toolbar status line, overlay screens, participants list, view mode and
 * fullscreen. Knows nothing about connections; viewer.ts feeds it.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import type { Participant } from '../../protocol/signaling';
import { tierTitle } from './tier-text';

export type ViewerPageState = 'loading' | 'connecting' | 'live' | 'reconnecting' | 'ended' | 'error';
export type ViewMode = 'fit' | 'actual';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`viewer.html is missing #${id}`);
  return el as T;
}

export class ViewerUi {
  readonly video = byId<HTMLVideoElement>('screen');
  private readonly stage = byId('stage');
  private readonly status = byId('status');
  private readonly title = byId('title');
  private readonly message = byId('message');
  private readonly list = byId<HTMLUListElement>('participants');
  private readonly count = byId('count');
  private readonly viewToggle = byId('view-toggle');
  private readonly fullscreenButton = byId('fullscreen');
  private view: ViewMode = 'fit';

  constructor() {
    this.viewToggle.addEventListener('click', () => this.setView(this.view === 'fit' ? 'actual' : 'fit'));
    this.fullscreenButton.addEventListener('click', () => void this.toggleFullscreen());
    byId('side-toggle').addEventListener('click', () => {
      document.body.dataset.side = document.body.dataset.side === 'hidden' ? 'shown' : 'hidden';
    });
    document.addEventListener('fullscreenchange', () => {
      this.fullscreenButton.textContent = document.fullscreenElement ? 'Exit full screen' : 'Full screen';
    });
    this.video.addEventListener('resize', () => this.applyView());
    window.addEventListener('resize', () => this.applyView());
    // Double-click on the picture is the usual shortcut for fullscreen in video players.
    this.stage.addEventListener('dblclick', () => void this.toggleFullscreen());
  }

  setState(state: ViewerPageState, title: string, message = ''): void {
    document.body.dataset.state = state;
    if (state !== 'error') delete document.body.dataset.errorCode;
    this.title.textContent = title;
    this.message.textContent = message;
  }

  showError(code: string, title: string, message: string): void {
    this.setState('error', title, message);
    document.body.dataset.errorCode = code;
    this.status.textContent = title;
    document.title = `PairUX — ${title}`;
  }

  /** The lock mark and safety code of an encrypted session. */
  setLock(text: string): void {
    const lock = byId('lock');
    lock.textContent = text;
    lock.hidden = false;
  }

  setStatus(text: string): void {
    this.status.textContent = text;
  }

  setParticipants(list: readonly Participant[], selfId: string | undefined): void {
    const sorted = [...list].sort((a, b) => (a.role === 'host' ? -1 : b.role === 'host' ? 1 : a.joinedAt - b.joinedAt));
    const items = sorted.map((p) => {
      const li = document.createElement('li');
      li.dataset.id = p.id;
      li.dataset.connected = String(p.connected);
      const dot = document.createElement('span');
      dot.className = 'presence';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = p.id === selfId ? `${p.name} (you)` : p.name;
      name.title = p.connected ? p.name : `${p.name} — reconnecting`;
      const role = document.createElement('span');
      role.className = 'role';
      role.textContent = p.role;
      if (p.tier && p.role !== 'host') {
        // The quality each guest gets, as the host sees it: the same facts in every participant list.
        li.dataset.tier = p.tier;
        role.textContent = `${p.role} · ${p.tier}`;
        role.title = tierTitle(p);
      }
      li.dataset.control = p.controlState;
      if (p.controlState !== 'none') {
        // Everyone sees who drives (and who is asking to).
        const tag = document.createElement('span');
        tag.className = 'control';
        tag.textContent = p.controlState === 'granted' ? 'driving' : 'asking';
        li.append(dot, name, tag, role);
      } else {
        li.append(dot, name, role);
      }
      return li;
    });
    this.list.replaceChildren(...items);
    this.count.textContent = String(list.length);
  }

  setView(view: ViewMode): void {
    this.view = view;
    document.body.dataset.view = view;
    this.viewToggle.textContent = view === 'fit' ? '1:1' : 'Fit';
    this.applyView();
  }

  private applyView(): void {
    if (this.view === 'actual' && this.video.videoWidth > 0) {
      // One video pixel per device pixel, so text is as sharp as the encoder left it.
      const dpr = window.devicePixelRatio || 1;
      this.video.style.width = `${this.video.videoWidth / dpr}px`;
      this.video.style.height = `${this.video.videoHeight / dpr}px`;
    } else {
      this.video.style.width = '';
      this.video.style.height = '';
    }
  }

  private async toggleFullscreen(): Promise<void> {
    try {
      if (document.fullscreenElement) await document.exitFullscreen();
      else await document.documentElement.requestFullscreen();
    } catch (err) {
      this.setStatus(`Full screen is not available here (${String(err)})`);
    }
  }
}
