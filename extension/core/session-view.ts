/**
 * What the editor shows about the current session, computed from the session's reports and free
 * of `vscode`: the status bar's words, the Participants view's rows, the context keys that
 * enable commands, and the lines announcing joins and leaves.
 */
import type { Participant } from '../../protocol/signaling';
import type { ShellStatusParams } from '../../protocol/webview-shell';
import type { SessionTiers } from '../../protocol/tiers';
import { literal } from '../ui/literal-text';
import { DEFAULT_SESSION_TIERS, tierNumbers, tierText } from './quality-tiers';

export type SessionView =
  | { kind: 'none' }
  | { kind: 'starting'; step: string }
  | {
      kind: 'host';
      phase: 'live' | 'ending';
      mode: 'p2p' | 'sfu';
      page: ShellStatusParams | undefined;
      screen: { width: number; height: number; fps: number };
      /** The embedded server on the local network: where guests connect. */
      reach?: { address: string; network: string; interface: string } | undefined;
      /** An end-to-end encrypted session: the current key's safety code (undefined until the page made it) and generation. */
      e2ee?: { safetyCode: string | undefined; gen: number } | undefined;
      /** The session's quality tiers, when its server said (the defaults otherwise). */
      tiers?: SessionTiers | undefined;
    }
  | {
      kind: 'guest';
      hostName: string;
      mode: 'p2p' | 'sfu';
      page: ShellStatusParams | undefined;
      /** The session is end-to-end encrypted (its server said so before the page joined; the page's `e2ee` says more). */
      e2ee?: boolean | undefined;
    };

/** An encrypted session as the editor shows it: whose side, how far the key is, its safety code. */
export type LockView =
  | { side: 'host'; safetyCode: string | undefined; gen: number }
  | { side: 'guest'; state: 'waiting' | 'decrypting' | 'key-rejected'; safetyCode: string | undefined; gen: number };

export interface StatusBarText {
  text: string;
  tooltip: string;
}

const MODE_LABEL = { p2p: 'P2P', sfu: 'SFU' } as const;

function nameOf(page: ShellStatusParams | undefined, id: string | null | undefined): string | undefined {
  return id ? page?.participants.find((p) => p.id === id)?.name : undefined;
}

/** Guests present now (connected or within their reconnect grace). */
export function guestsOf(page: ShellStatusParams | undefined): Participant[] {
  return (page?.participants ?? []).filter((p) => p.role !== 'host');
}

/** The encrypted session shown, or undefined in a plain one. */
export function lockOf(view: SessionView): LockView | undefined {
  if (view.kind === 'host') return view.e2ee ? { side: 'host', safetyCode: view.e2ee.safetyCode, gen: view.e2ee.gen } : undefined;
  if (view.kind !== 'guest') return undefined;
  const e = view.page?.e2ee;
  if (e) return { side: 'guest', state: e.state, safetyCode: e.safetyCode, gen: e.gen };
  return view.e2ee ? { side: 'guest', state: 'waiting', safetyCode: undefined, gen: 0 } : undefined;
}

/**
 * The lock line (status bar tooltip, notifications): "End-to-end encrypted · safety code 123 456
 * 789", the same words and code the pages show, so host and guests compare one with the other.
 */
export function lockLine(lock: LockView): string {
  const code = lock.safetyCode ? `safety code ${lock.safetyCode}${lock.gen ? ` (key ${lock.gen})` : ''}` : undefined;
  if (lock.side === 'host') return `End-to-end encrypted · ${code ?? 'making the key…'}`;
  if (lock.state === 'key-rejected') return "End-to-end encrypted · your link's key does not open this session: ask the host for the link again";
  if (!code) return 'End-to-end encrypted · waiting for the key';
  return `End-to-end encrypted · ${code}${lock.state === 'waiting' ? ' · waiting for the first picture' : ''}`;
}

/** The Participants view's description beside its title: the lock of an encrypted session. */
export function participantsDescription(view: SessionView): string | undefined {
  const lock = lockOf(view);
  if (!lock) return undefined;
  return lock.safetyCode ? `🔒 end-to-end encrypted · ${lock.safetyCode}` : '🔒 end-to-end encrypted';
}

export function statusBarText(view: SessionView): StatusBarText {
  switch (view.kind) {
    case 'none':
      return { text: '$(broadcast) PairUX', tooltip: 'PairUX: start a pairing session or join one' };
    case 'starting':
      return { text: '$(sync~spin) PairUX: starting…', tooltip: `PairUX is ${view.step}` };
    case 'host': {
      const guests = guestsOf(view.page);
      const driver = view.page?.driverId;
      const lock = lockOf(view);
      const parts = [`$(broadcast) PairUX`, `${lock ? '$(lock) ' : ''}${MODE_LABEL[view.mode]}`, `${guests.length} watching`];
      if (view.phase === 'ending') parts.push('ending…');
      else if (view.page?.state === 'reconnecting') parts.push('reconnecting');
      else if (driver) parts.push(`$(hand) ${literal(nameOf(view.page, driver) ?? 'a guest', 64)} drives`);
      if (view.reach) parts.push(`$(globe) ${view.reach.address}`);
      const where = view.reach ? ` Guests on your network ${view.reach.network} (${view.reach.interface}) connect at ${view.reach.address}.` : '';
      return {
        text: parts.join(' · '),
        tooltip: `Sharing your ${view.screen.width}×${view.screen.height} screen at ${view.screen.fps} fps (${MODE_LABEL[view.mode]}).${where}${lock ? ` ${lockLine(lock)}: your guests see the same code.` : ''} Click for the session's actions.`,
      };
    }
    case 'guest': {
      const page = view.page;
      const state = page?.state ?? 'connecting';
      const lock = lockOf(view);
      const parts = [`$(device-camera-video) PairUX`, `${lock ? '$(lock) ' : ''}${MODE_LABEL[view.mode]}`, `${literal(view.hostName, 64)}'s screen`];
      if (state === 'live') {
        if (page?.control === 'granted') parts.push('$(hand) you drive');
        else if (page?.driverId) parts.push(`${literal(nameOf(page, page.driverId) ?? 'someone', 64)} drives`);
        else if (page?.control === 'requested') parts.push('asked to drive');
      } else {
        parts.push(state === 'failed' ? 'could not join' : state);
      }
      const said = page?.message ? `PairUX: ${literal(page.message)}` : `PairUX: ${state}`;
      return { text: parts.join(' · '), tooltip: lock ? `${said}\n${lockLine(lock)}` : said };
    }
  }
}

export interface ContextKeys {
  'pairux.hosting': boolean;
  'pairux.joined': boolean;
  'pairux.driving': boolean;
  'pairux.canRequestControl': boolean;
  'pairux.someoneDriving': boolean;
}

export function contextKeys(view: SessionView): ContextKeys {
  const page = view.kind === 'host' || view.kind === 'guest' ? view.page : undefined;
  const joined = view.kind === 'guest' && page?.state !== 'ended' && page?.state !== 'failed';
  return {
    'pairux.hosting': view.kind === 'host',
    'pairux.joined': joined,
    'pairux.driving': joined && page?.control === 'granted',
    'pairux.canRequestControl': joined && page?.control === 'none' && page?.role === 'controller',
    'pairux.someoneDriving': Boolean(page?.driverId),
  };
}

export interface ParticipantRow {
  id: string;
  label: string;
  description: string;
  tooltip: string;
  icon: 'person' | 'hand' | 'eye' | 'broadcast' | 'debug-disconnect' | 'question';
  /** The view's `viewItem` context: which host actions apply to this row. */
  contextValue: string;
}

export function participantRows(view: SessionView): ParticipantRow[] {
  if (view.kind !== 'host' && view.kind !== 'guest') return [];
  const page = view.page;
  const amHost = view.kind === 'host';
  return (page?.participants ?? [])
    .slice()
    .sort((a, b) => rank(a) - rank(b) || a.joinedAt - b.joinedAt)
    .map((p) => {
      const driving = page?.driverId === p.id;
      const self = page?.selfId === p.id;
      // A guest's quality tier: what its picture gets when the host cannot carry everyone at full quality.
      const tier = p.role === 'host' ? '' : tierText(p, amHost);
      // Where a viewer watches from: its own region's SFU when the session is cascaded there.
      const where = p.region ? `in ${p.region}${p.cascaded ? ' (its SFU)' : ''}` : '';
      const states = [
        p.role === 'host' ? 'host' : p.role,
        tier,
        where,
        driving ? 'driving' : p.controlState === 'requested' ? 'asked to drive' : '',
        p.connected ? '' : 'reconnecting',
      ].filter(Boolean);
      const tierLine =
        view.kind === 'host' && tier && p.tier
          ? `\nQuality tier ${tier}: ${tierNumbers((view.tiers ?? DEFAULT_SESSION_TIERS).table[p.tier], view.screen)}`
          : '';
      const actions: string[] = [];
      if (amHost && p.role !== 'host') {
        actions.push('guest');
        if (p.role === 'controller') actions.push(driving ? 'driving' : 'grantable', 'demotable');
        // Host transfer goes to a controller who is there and in VS Code (the server refuses one
        // reconnecting, or in a browser, which cannot share a screen).
        if (p.role === 'controller' && p.connected && p.client === 'vscode') actions.push('hostable');
        if (p.role === 'viewer') actions.push('promotable');
      }
      // Which link they came through tells apart two people of similar names, and shows whom a personal link reached.
      const via = p.link ? `via “${literal(p.link.label, 64)}”` : '';
      return {
        id: p.id,
        label: `${literal(p.name, 64)}${self ? ' (you)' : ''}`,
        description: [...states, via].filter(Boolean).join(' · '),
        tooltip: `${literal(p.name, 64)}: ${states.join(', ')}; joined ${new Date(p.joinedAt).toLocaleTimeString()}${via ? ` ${via}` : ''}${tierLine}`,
        icon: !p.connected
          ? 'debug-disconnect'
          : p.role === 'host'
            ? 'broadcast'
            : driving
              ? 'hand'
              : p.role === 'viewer'
                ? 'eye'
                : p.controlState === 'requested'
                  ? 'question'
                  : 'person',
        contextValue: `participant ${actions.join(' ')}`.trim(),
      };
    });
}

function rank(p: Participant): number {
  return p.role === 'host' ? 0 : p.role === 'controller' ? 1 : 2;
}

/** "Ada joined (controller)" / "Ada left" lines between two reports, for a quiet announcement. */
export function presenceChanges(before: ShellStatusParams | undefined, after: ShellStatusParams): string[] {
  // The first report is who was already there, not news.
  if (!before) return [];
  const old = new Map((before?.participants ?? []).map((p) => [p.id, p]));
  const now = new Map(after.participants.map((p) => [p.id, p]));
  const lines: string[] = [];
  for (const [id, p] of now) {
    if (id === after.selfId) continue;
    if (!old.has(id)) lines.push(`${p.name} joined (${p.role})`);
    else if (old.get(id)!.connected && !p.connected) lines.push(`${p.name} dropped; keeping their place for a while`);
    else if (!old.get(id)!.connected && p.connected) lines.push(`${p.name} is back`);
  }
  for (const [id, p] of old) if (!now.has(id) && id !== after.selfId) lines.push(`${p.name} left`);
  return lines;
}
