/**
 * The host's choice of one guest's quality tier, in the editor's words (free of `vscode`): what each
 * tier means in numbers from the session's table (protocol/tiers.ts), the choices Set Quality Tier
 * offers, and how the Participants view names a guest's tier.
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { Participant } from '../../protocol/signaling';
import { DEFAULT_ROLE_TIERS, DEFAULT_TIERS, TierNameSchema, type SessionTiers, type Tier, type TierName } from '../../protocol/tiers';

/** What a session runs with when its server did not say (older server, a session taken over). */
export const DEFAULT_SESSION_TIERS: SessionTiers = { table: DEFAULT_TIERS, roles: DEFAULT_ROLE_TIERS };

export const TIER_LABEL: Record<TierName, string> = { high: 'High', standard: 'Standard', low: 'Low' };

/** The table is ordered (protocol/tiers.ts `tierOrderProblems`), so each tier's turn is its place. */
const TURN: Record<TierName, string> = {
  high: 'served first',
  standard: 'served after High',
  low: 'served last: the first to give way when your link or CPU is short',
};

function bitrate(kbps: number): string {
  return kbps >= 1000 ? `${Number((kbps / 1000).toFixed(1))} Mbit/s` : `${kbps} kbit/s`;
}

/**
 * One tier in numbers: "up to 2 Mbit/s · 30 fps · never below 1280×720" (with the shared screen's
 * size; without it, the share of full resolution it keeps).
 */
export function tierNumbers(tier: Tier, screen?: { width: number; height: number }): string {
  let resolution = 'full resolution';
  if (tier.maxScaleDown > 1) {
    resolution = screen
      ? `never below ${Math.round(screen.width / tier.maxScaleDown)}×${Math.round(screen.height / tier.maxScaleDown)}`
      : `never below ${Math.round(100 / tier.maxScaleDown)} % of full resolution`;
  }
  return `up to ${bitrate(tier.maxKbps)} · ${Number(tier.maxFps.toFixed(1))} fps · ${resolution}`;
}

export interface TierChoice {
  label: string;
  description: string;
  detail: string;
  /** The tier to ask for; null puts the guest back on its role's. */
  tier: TierName | null;
}

/**
 * Set Quality Tier's choices for `guest`: High, Standard, Low and Role default, each with what it
 * means in numbers, and the one it is on now marked.
 */
export function tierChoices(guest: Participant, tiers: SessionTiers = DEFAULT_SESSION_TIERS, screen?: { width: number; height: number }): TierChoice[] {
  const role = guest.role;
  const roleTier = tiers.roles[role];
  const chosen = guest.tierChosen === true ? guest.tier : undefined;
  const now = (yes: boolean) => (yes ? ' · now' : '');
  const named = (['high', 'standard', 'low'] as const).map((name) => ({
    label: TIER_LABEL[name],
    description: `${name === roleTier ? `every ${role}'s tier` : ''}${now(chosen === name)}`.replace(/^ · /, ''),
    detail: `${capitalise(tierNumbers(tiers.table[name], screen))}; ${TURN[name]}.`,
    tier: name,
  }));
  return [
    ...named,
    {
      label: 'Role default',
      description: `${role}: ${roleTier}${now(chosen === undefined)}`,
      detail: `Back to what every ${role} gets, ${TIER_LABEL[roleTier]} (${tierNumbers(tiers.table[roleTier], screen)}); it follows their role if you change it.`,
      tier: null,
    },
  ];
}

/**
 * The tier a script or test passes to `pairux.setTier` without the prompt: a tier name, or null /
 * 'default' for the role's. Anything else (VS Code passes the selected rows) is no answer: ask.
 */
export function tierArgument(given: unknown): TierName | null | undefined {
  if (given === null || given === 'default') return null;
  const parsed = TierNameSchema.safeParse(given);
  return parsed.success ? parsed.data : undefined;
}

/**
 * A row's tier words: "standard", "low (set by you)" when the host chose it, or "low (lowered:
 * you cannot keep up)" when the session focus lowered the viewers for a host that could not.
 */
export function tierText(p: Participant, amHost: boolean): string {
  if (!p.tier) return '';
  if (p.tierChosen) return `${p.tier} (set by ${amHost ? 'you' : 'the host'})`;
  if (p.tierLowered) return `${p.tier} (lowered: ${amHost ? 'you cannot' : 'the host cannot'} keep up)`;
  return p.tier;
}

/** The passing line once the server took the choice. */
export function tierDone(name: string, role: Participant['role'], tier: TierName | null, tiers: SessionTiers = DEFAULT_SESSION_TIERS): string {
  return tier ? `${name} gets the ${tier} tier now` : `${name} is back on the ${role}'s tier (${tiers.roles[role]})`;
}

/**
 * A refusal in words for the host: whose tier, and what to do. The server says FORBIDDEN when this
 * editor is no longer the host, PEER_NOT_FOUND when the guest has gone.
 */
export function tierFailure(name: string, err: unknown): PairuxError {
  const code = err instanceof PairuxError ? err.code : ErrorCode.Internal;
  const said = err instanceof Error ? err.message : String(err);
  const why =
    code === ErrorCode.PeerNotFound
      ? `${name} is no longer in the session.`
      : code === ErrorCode.Forbidden
        ? `the server says you are not the host of this session any more (${said}).`
        : `${said}. Try again; if it keeps failing, see “PairUX: Show Log”.`;
  return new PairuxError(code, `Could not set ${name}'s quality tier: ${why}`, undefined, { cause: err });
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
