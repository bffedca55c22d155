/**
 * Quality tiers by role (issue 16; the strategy's `roleConfigs`): what each participant's picture
 * is worth when the host's uplink or CPU cannot carry everyone at full quality. Shared by the
 * control plane (deployment defaults, the session's own, the host's choice per guest) and the
 * pages (the P2P host's bandwidth allocator, the SFU's layer choice), so both ends read one table.
 */
import { z } from 'zod';

export const TIER_NAMES = ['high', 'standard', 'low'] as const;
export type TierName = (typeof TIER_NAMES)[number];
export const TierNameSchema = z.enum(TIER_NAMES);

export interface Tier {
  /** The most the encoder for this participant may send (kbit/s). */
  maxKbps: number;
  /** The frame rate it may send at most (frames/s); the screen's own rate when lower. */
  maxFps: number;
  /**
   * The most the picture may be scaled down (scaleResolutionDownBy): 1 keeps full resolution.
   * The allocator never goes past it, which is how text stays legible for this tier.
   */
  maxScaleDown: number;
  /** Who is served first when there is not enough for everyone: higher first. */
  priority: number;
  /** WebRTC's sender priority for this tier's encodings (RTCRtpEncodingParameters.priority / networkPriority). */
  rtcPriority: 'very-low' | 'low' | 'medium' | 'high';
}

export const TierSchema = z.object({
  maxKbps: z.int().min(100).max(50_000),
  maxFps: z.number().min(1).max(120),
  maxScaleDown: z.number().min(1).max(8),
  priority: z.int().min(0).max(100),
  rtcPriority: z.enum(['very-low', 'low', 'medium', 'high']),
});

export type TierTable = Record<TierName, Tier>;
export const TierTableSchema = z.object({ high: TierSchema, standard: TierSchema, low: TierSchema });

/**
 * The defaults: whoever drives gets the sharpest, fastest picture; viewers standard; `low` is
 * where the congested go. A 1080p screen scaled down by 1.5 is 720p, the floor kept for text
 * until bench:tuning measures a better one.
 */
export const DEFAULT_TIERS: TierTable = {
  high: { maxKbps: 4000, maxFps: 60, maxScaleDown: 1, priority: 100, rtcPriority: 'high' },
  standard: { maxKbps: 2000, maxFps: 30, maxScaleDown: 1.5, priority: 50, rtcPriority: 'medium' },
  low: { maxKbps: 600, maxFps: 10, maxScaleDown: 2, priority: 10, rtcPriority: 'low' },
};

export type TieredRole = 'host' | 'controller' | 'viewer';

/** Which tier each role gets unless the session or the host says otherwise. */
export type RoleTiers = Record<TieredRole, TierName>;
export const RoleTiersSchema = z.object({ host: TierNameSchema, controller: TierNameSchema, viewer: TierNameSchema });

export const DEFAULT_ROLE_TIERS: RoleTiers = { host: 'high', controller: 'high', viewer: 'standard' };

/** A participant's tier: the host's choice for that guest when there is one, else its role's. */
export function tierFor(role: TieredRole, roleTiers: RoleTiers, chosen?: TierName): TierName {
  return chosen ?? roleTiers[role];
}

/** The tiers a session runs with: its table and which tier each role gets. */
export interface SessionTiers {
  table: TierTable;
  roles: RoleTiers;
}
export const SessionTiersSchema = z.object({ table: TierTableSchema, roles: RoleTiersSchema });

/**
 * What a deployment or a session may say about the table: any tier, any of its fields; what is
 * left out keeps the value it is laid over. Strict, so a misspelt tier or field is refused rather
 * than quietly ignored.
 */
export const TierOverrideSchema = z.strictObject({
  maxKbps: TierSchema.shape.maxKbps.optional(),
  maxFps: TierSchema.shape.maxFps.optional(),
  maxScaleDown: TierSchema.shape.maxScaleDown.optional(),
  priority: TierSchema.shape.priority.optional(),
  rtcPriority: TierSchema.shape.rtcPriority.optional(),
});
export const TierTableOverrideSchema = z.strictObject({
  high: TierOverrideSchema.optional(),
  standard: TierOverrideSchema.optional(),
  low: TierOverrideSchema.optional(),
});
export type TierTableOverride = z.infer<typeof TierTableOverrideSchema>;
export const RoleTiersOverrideSchema = z.strictObject({
  host: TierNameSchema.optional(),
  controller: TierNameSchema.optional(),
  viewer: TierNameSchema.optional(),
});
export type RoleTiersOverride = z.infer<typeof RoleTiersOverrideSchema>;

/** `override` laid over `base`, tier by tier and field by field. */
export function mergeTiers(base: TierTable, override: TierTableOverride = {}): TierTable {
  const out = {} as TierTable;
  for (const name of TIER_NAMES) {
    const given = Object.fromEntries(Object.entries(override[name] ?? {}).filter(([, v]) => v !== undefined));
    out[name] = { ...base[name], ...given };
  }
  return out;
}

export function mergeRoleTiers(base: RoleTiers, override: RoleTiersOverride = {}): RoleTiers {
  return {
    host: override.host ?? base.host,
    controller: override.controller ?? base.controller,
    viewer: override.viewer ?? base.viewer,
  };
}

export type TierField = keyof Tier;
const RTC_PRIORITIES = ['very-low', 'low', 'medium', 'high'] as const;

/**
 * How each field ranks a tier: `better(a, b)` when `a` asks for more than `b` (more bits, more
 * frames, less scaling down, served earlier). The one ordering both the deployment's check and the
 * session's clamping read.
 */
const FIELD_ORDER: { [F in TierField]: (a: Tier[F], b: Tier[F]) => boolean } = {
  maxKbps: (a, b) => a > b,
  maxFps: (a, b) => a > b,
  maxScaleDown: (a, b) => a < b,
  priority: (a, b) => a > b,
  rtcPriority: (a, b) => RTC_PRIORITIES.indexOf(a) > RTC_PRIORITIES.indexOf(b),
};
const TIER_FIELDS = Object.keys(FIELD_ORDER) as TierField[];

/**
 * Where a table is out of order: a tier that gets more of something than the tier above it
 * (`standard` faster than `high`, `low` served before `standard`). The names mean "less as you go
 * down", and the allocator moves the congested down a tier expecting to take from them.
 */
export function tierOrderProblems(table: TierTable): string[] {
  const problems: string[] = [];
  for (let i = 1; i < TIER_NAMES.length; i++) {
    const [above, below] = [TIER_NAMES[i - 1]!, TIER_NAMES[i]!];
    for (const field of TIER_FIELDS) {
      const better = FIELD_ORDER[field] as (a: unknown, b: unknown) => boolean;
      if (better(table[below][field], table[above][field])) {
        problems.push(
          `${below}.${field} (${String(table[below][field])}) asks for more than ${above}.${field} (${String(table[above][field])}); a tier gets at most what the one above it gets`,
        );
      }
    }
  }
  return problems;
}

/** One value a session asked for and did not get, and what it got instead. */
export interface TierClamp {
  tier: TierName;
  field: TierField;
  asked: number | string;
  applied: number | string;
}
export const TierClampSchema = z.object({
  tier: TierNameSchema,
  field: z.enum(['maxKbps', 'maxFps', 'maxScaleDown', 'priority', 'rtcPriority']),
  asked: z.union([z.number(), z.string().max(16)]),
  applied: z.union([z.number(), z.string().max(16)]),
});

/**
 * A session's table held within its deployment's: no tier asks for more than `ceiling` (the
 * deployment's high tier), and each tier for no more than the one above it, so a session can lower
 * anything and raise nothing past what the deployment allows. Says what it changed.
 */
export function clampTiers(asked: TierTable, ceiling: Tier): { table: TierTable; clamped: TierClamp[] } {
  const table = {} as TierTable;
  const clamped: TierClamp[] = [];
  let limit = ceiling;
  for (const name of TIER_NAMES) {
    const tier = { ...asked[name] };
    for (const field of TIER_FIELDS) {
      const better = FIELD_ORDER[field] as (a: unknown, b: unknown) => boolean;
      if (better(tier[field], limit[field])) {
        clamped.push({ tier: name, field, asked: tier[field], applied: limit[field] });
        (tier as Record<TierField, unknown>)[field] = limit[field];
      }
    }
    table[name] = tier;
    limit = tier;
  }
  return { table, clamped };
}
