/**
 * One guest's quality ladder: the encoder caps it can be given, best first, in the order the
 * bandwidth allocator takes from it (issue 16): frame rate first, down to a floor; then
 * resolution, never past the tier's maxScaleDown (which is how text stays legible); then bitrate,
 * down to a floor. The top rung is the guest's tier, or less where the host asked for less.
 *
 * Each rung carries the bitrate it is allotted. How many bits a screen needs at a frame rate and
 * size depends on what is on it, which the allocator cannot know ahead, so the rungs follow a
 * model that only has to order the steps and size them plausibly; bench:tiers is where it gets
 * calibrated. A text screen sent at half the frame rate carries about twice the change in each
 * frame, so bits fall with the square root of the rate, not in proportion; at a smaller size they
 * fall with the pixels to the 0.75 (the usual rule for video coding).
 */
import type { Tier } from '../../../protocol/tiers';

export interface ScreenShape {
  width: number;
  height: number;
  fps: number;
}

/** What the host asked for one guest on top of its tier (a session-wide cap, or a choice for that guest). */
export interface CapsOverride {
  maxBitrateKbps?: number;
  maxFramerate?: number;
  scaleResolutionDownBy?: number;
}

export type RungStep = 'top' | 'fps' | 'scale' | 'bitrate';

export interface Rung {
  kbps: number;
  fps: number;
  scale: number;
  /** How this rung differs from the one above: what was taken. */
  step: RungStep;
}

/** The least the allocator leaves any guest: below these the picture freezes rather than degrades. */
export interface Floors {
  fps: number;
  kbps: number;
}

export const DEFAULT_FLOORS: Floors = { fps: 5, kbps: 150 };

const FPS_STEPS = [45, 30, 20, 15, 10, 7, 5];
const SCALE_STEPS = [1.25, 1.5, 2, 2.5, 3, 4, 6, 8];
const FPS_COST_EXPONENT = 0.5;
const PIXEL_COST_EXPONENT = 0.75;
/**
 * Each bitrate rung keeps this share of the one above, and none sits within BITRATE_NEAR_FLOOR
 * of the floor: every rung costs a few seconds on the way back up, so each must be worth one.
 */
const BITRATE_STEP = 2 / 3;
const BITRATE_NEAR_FLOOR = 1.1;
/**
 * A small screen (a shared window) is never scaled below this height, whatever its tier allows:
 * the tiers' maxScaleDown was chosen for a 1080p screen (1.5 keeps 720p), and the same factor on
 * a 720p window would leave 480 lines of text.
 */
export const MIN_SCALED_HEIGHT = 540;

/** The host's override within the tier's limits and the allocator's floors; `clamped` when it asked for more (or less) than that. */
export function clampOverride(asked: CapsOverride, tier: Tier, floors: Floors = DEFAULT_FLOORS): { applied: CapsOverride; clamped: boolean } {
  const applied: CapsOverride = {};
  if (asked.maxBitrateKbps !== undefined) applied.maxBitrateKbps = clamp(asked.maxBitrateKbps, Math.min(floors.kbps, tier.maxKbps), tier.maxKbps);
  if (asked.maxFramerate !== undefined) applied.maxFramerate = clamp(asked.maxFramerate, Math.min(floors.fps, tier.maxFps), tier.maxFps);
  if (asked.scaleResolutionDownBy !== undefined) applied.scaleResolutionDownBy = clamp(asked.scaleResolutionDownBy, 1, tier.maxScaleDown);
  const clamped =
    applied.maxBitrateKbps !== asked.maxBitrateKbps ||
    applied.maxFramerate !== asked.maxFramerate ||
    applied.scaleResolutionDownBy !== asked.scaleResolutionDownBy;
  return { applied, clamped };
}

/** The most this screen may be scaled down for this tier (see MIN_SCALED_HEIGHT). */
export function maxScaleFor(tier: Tier, screen: ScreenShape): number {
  // Rounded down: a factor of 1.3333… would read badly in the host panel and gains nothing.
  return Math.max(1, Math.min(tier.maxScaleDown, Math.floor((screen.height / MIN_SCALED_HEIGHT) * 100) / 100));
}

/** The rungs, best first; the last one is the floor. `override` is already clamped (clampOverride). */
export function buildLadder(tier: Tier, screen: ScreenShape, override: CapsOverride = {}, floors: Floors = DEFAULT_FLOORS): Rung[] {
  const maxScale = maxScaleFor(tier, screen);
  const topFps = Math.min(tier.maxFps, screen.fps > 0 ? screen.fps : tier.maxFps, override.maxFramerate ?? Infinity);
  const topScale = Math.min(maxScale, override.scaleResolutionDownBy ?? 1);
  const topKbps = Math.min(tier.maxKbps, override.maxBitrateKbps ?? Infinity);
  const floorKbps = Math.min(floors.kbps, topKbps);
  const floorFps = Math.min(floors.fps, topFps);
  const cost = (fps: number, scale: number): number =>
    Math.max(floorKbps, Math.round(topKbps * (fps / topFps) ** FPS_COST_EXPONENT * (topScale / scale) ** (2 * PIXEL_COST_EXPONENT)));

  const rungs: Rung[] = [{ kbps: topKbps, fps: topFps, scale: topScale, step: 'top' }];
  for (const fps of fpsSteps(topFps, floorFps)) rungs.push({ kbps: cost(fps, topScale), fps, scale: topScale, step: 'fps' });
  for (const scale of scaleSteps(topScale, maxScale)) rungs.push({ kbps: cost(floorFps, scale), fps: floorFps, scale, step: 'scale' });
  let last = rungs[rungs.length - 1]!;
  while (last.kbps > floorKbps) {
    const kbps = Math.round(last.kbps * BITRATE_STEP);
    last = { ...last, kbps: kbps < floorKbps * BITRATE_NEAR_FLOOR ? floorKbps : kbps, step: 'bitrate' };
    rungs.push(last);
  }
  return rungs;
}

/** Frame rates below `top`, ending on `floor`. */
function fpsSteps(top: number, floor: number): number[] {
  return floor >= top ? [] : [...FPS_STEPS.filter((f) => f < top && f > floor), floor];
}

/** Scales past `from`, ending on `to`. */
function scaleSteps(from: number, to: number): number[] {
  return to <= from ? [] : [...SCALE_STEPS.filter((s) => s > from && s < to), to];
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
