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
