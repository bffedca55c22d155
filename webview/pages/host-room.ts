/**
 * The host panel as a control room (issue 16): what is being shared (a small live preview of the
 * shared track), who watches and who drives, each guest's quality tier and network quality (good /
 * fair / poor from what the host measures), Stop All Control and Stop Sharing. The raw figures
 * stay in host.html's "Details" fold. The same page serves the VS Code host panel and the demo's
 * host; the theme is the workbench's (theme.css) and the controls are @vscode-elements.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import type { Participant } from '../../protocol/signaling';
import type { TierName } from '../../protocol/tiers';
import type { GuestInfo, GuestStats } from '../engine/engine-types';
import { networkQuality, type NetworkQuality } from '../engine/quality/network-quality';
import { RateMeter } from '../engine/stats';
import { tierTitle } from './tier-text';

export interface RoomRow {
  id: string;
  name: string;
  role: 'host' | 'controller' | 'viewer';
  /** Driving now, or asking to. */
  control: 'driving' | 'asking' | 'none';
  /** Its connection as the host sees it ('connecting', 'connected', …). */
  state: string;
  tier?: TierName;
  /** Why it has that tier, for the tooltip. */
  tierWhy?: string;
  /** Peer-to-peer only: the host measures each guest's link; through the SFU it does not. */
  quality?: NetworkQuality;
  qualityWhy?: string;
  /** Viewers: the region it watches from, and whether on that region's SFU (cascaded) or on the host's. */
  region?: string;
  cascaded?: boolean;
}

export interface HostRoomOptions {
  track: MediaStreamTrack;
  /** What is shared, in words ("the runner's 1920×1080 screen at 30 fps"). */
  what: string;
  stopAll(): void;
  /** Ends the session for everyone (the editor stops sharing with it). */
  stopSharing(): Promise<void>;
  /** Copies a link through the editor (VS Code); without it the page's own clipboard. */
  copyLink?(role: 'controller' | 'viewer'): void;
}

/** A second click within this long confirms Stop Sharing: it ends the session for everyone. */
const CONFIRM_MS = 4000;

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`host.html is missing #${id}`);
  return el as T;
}

export class HostRoom {
  private readonly list = byId<HTMLUListElement>('people');
  private readonly count = byId('people-count');
  private readonly stopSharingButton = byId('stop-sharing');
  private confirmUntil = 0;

  constructor(private readonly options: HostRoomOptions) {
    const preview = byId<HTMLVideoElement>('preview');
    preview.muted = true;
    preview.srcObject = new MediaStream([options.track]);
    void preview.play().catch(() => undefined);
    byId('what').textContent = options.what;
    byId('stop-control').addEventListener('click', () => options.stopAll());
    this.stopSharingButton.addEventListener('click', () => this.onStopSharing());
  }

  /** The shared links, each with a copy button (the editor hands them out; the demo's host prints them instead). */
  showLinks(links: { viewer: string; controller: string }): void {
    const box = byId('links');
    box.hidden = false;
    for (const role of ['controller', 'viewer'] as const) {
      const url = links[role];
      byId(`${role}-link`).textContent = url;
      const button = byId(`copy-${role}`);
      button.onclick = () => {
        const copy = this.options.copyLink;
        const done = copy ? Promise.resolve(copy(role)) : copyText(url);
        void done.then(
          () => (button.textContent = 'Copied'),
          () => (button.textContent = 'Copy failed: select the link'),
        );
        setTimeout(() => (button.textContent = 'Copy'), 2500);
      };
    }
  }

  render(rows: readonly RoomRow[]): void {
    const guests = rows.filter((r) => r.role !== 'host');
    this.count.textContent = String(guests.length);
    byId('stop-control').toggleAttribute('disabled', !guests.some((r) => r.control === 'driving'));
    if (guests.length === 0) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'Nobody has joined yet: send a link from the Participants view.';
      this.list.replaceChildren(li);
      return;
    }
    this.list.replaceChildren(...guests.map((r) => this.row(r)));
  }

  private row(r: RoomRow): HTMLLIElement {
    const li = document.createElement('li');
    li.dataset.id = r.id;
    li.dataset.role = r.role;
    li.dataset.control = r.control;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = r.name;
    name.title = `${r.name}: ${r.state}`;
    const doing = document.createElement('span');
    doing.className = 'doing';
    doing.textContent = r.control === 'driving' ? 'drives' : r.control === 'asking' ? 'asks to drive' : r.role === 'controller' ? 'may drive' : 'watches';
    li.append(name, doing);
    if (r.tier) {
      const tier = document.createElement('vscode-badge');
      tier.className = 'tier';
      tier.textContent = r.tier;
      if (r.tierWhy) tier.title = r.tierWhy;
      li.dataset.tier = r.tier;
      li.append(tier);
    }
    if (r.region) {
      const where = document.createElement('span');
      where.className = 'region';
      where.textContent = `in ${r.region}`;
      where.title = regionTitle(r.region, r.cascaded === true);
      li.dataset.region = r.region;
      li.append(where);
    }
    const net = document.createElement('span');
    net.className = 'quality';
    if (r.quality) {
      li.dataset.quality = r.quality;
      net.textContent = r.quality;
      if (r.qualityWhy) net.title = r.qualityWhy;
    } else {
      net.textContent = r.state === 'connected' ? '' : r.state;
    }
    li.append(net);
    return li;
  }

  private onStopSharing(): void {
    const now = performance.now();
    if (now > this.confirmUntil) {
      // One click is easy to make by mistake, and this ends the session for everyone.
      this.confirmUntil = now + CONFIRM_MS;
      this.stopSharingButton.textContent = 'End for everyone?';
      setTimeout(() => {
        if (performance.now() >= this.confirmUntil) this.stopSharingButton.textContent = 'Stop Sharing';
      }, CONFIRM_MS);
      return;
    }
    this.confirmUntil = 0;
    this.stopSharingButton.textContent = 'Stopping…';
    this.stopSharingButton.toggleAttribute('disabled', true);
    void this.options.stopSharing().catch(() => {
      this.stopSharingButton.textContent = 'Stop Sharing';
      this.stopSharingButton.toggleAttribute('disabled', false);
    });
  }
}

/** The clipboard API where the page may use it; a selection copy where it may not. */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    try {
      return await navigator.clipboard.writeText(text);
    } catch {
      // Not allowed here (no focus, or no permission): the older way below.
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

export interface RoomFacts {
  guests: readonly GuestInfo[];
  participants: ReadonlyMap<string, Participant>;
  driverId: string | null;
  stats: ReadonlyMap<string, GuestStats>;
  /** Frames a second the screen offers now (the host-load watch's figure), or the target. */
  expectedFps: number;
  /** Peer-to-peer: the host measures each guest's link (through the SFU it does not). */
  p2p: boolean;
}

/** The rows of the control room from what the page knows; `rates` keeps each guest's frame counter between calls. */
export function roomRows(f: RoomFacts, rates: Map<string, RateMeter>): RoomRow[] {
  for (const id of [...rates.keys()]) if (!f.guests.some((g) => g.id === id)) rates.delete(id);
  return f.guests.map((g) => {
    const p = f.participants.get(g.id);
    const s = f.stats.get(g.id);
    const row: RoomRow = {
      id: g.id,
      name: g.name,
      role: g.role,
      control: f.driverId === g.id ? 'driving' : p?.controlState === 'requested' ? 'asking' : 'none',
      state: g.state,
    };
    if (p?.tier) {
      row.tier = p.tier;
      row.tierWhy = tierTitle(p);
    }
    if (p?.region) row.region = p.region;
    if (p?.cascaded) row.cascaded = true;
    if (f.p2p && s) {
      const meter = rates.get(g.id);
      if (!meter) {
        // A rate needs two readings: nothing to say about this guest's link until the next.
        rates.set(g.id, new RateMeter());
        rates.get(g.id)!.update(s.direct ? s.direct.framesEncoded : s.framesEncoded, s.timestamp || undefined);
        return row;
      }
      // The same figures again (the room redrawn for a join between two reads) keep the rate they gave.
      const fps = meter.update(s.direct ? s.direct.framesEncoded : s.framesEncoded, s.timestamp || undefined);
      const q = networkQuality({ fps, expectedFps: f.expectedFps, rttMs: s.candidateRttMs, lossFraction: s.lossFraction });
      row.quality = q.quality;
      row.qualityWhy = q.why;
    }
    return row;
  });
}

/** Where a viewer watches, in words, for its row's tooltip (the same words in the editor's Participants view). */
export function regionTitle(region: string, cascaded: boolean): string {
  return cascaded
    ? `Watches from region ${region}, on that region's SFU: a cascade bridge carries your screen there once for all its viewers`
    : `Says it is in region ${region}, and watches on your SFU (no SFU of that region could take it, or the session is peer-to-peer)`;
}
