/**
 * The P2P host's bandwidth allocator (issue 16; the strategy's BandwidthAllocator): who gives way
 * when the host's uplink or CPU cannot carry every guest at its tier.
 *
 * A pure policy: fed one reading a tick (about once a second) of what the HOST measures — its
 * outgoing bandwidth estimate and, per guest, what its encoder sent, at what frame rate, why it
 * was limited, and the round trip and loss on that guest's connection — it returns each guest's
 * encoder caps. Nothing a guest says about itself enters: a guest that forges its figures in a
 * message has nothing here to forge, and trouble on one guest's own connection moves only that
 * guest's caps.
 *
 * - Under congestion the highest-priority tier keeps its tier; the others give way from the
 *   lowest priority up (a `low` guest first), each down its ladder (ladder.ts): frame rate, then
 *   resolution, then bitrate. Guests of one priority give way evenly.
 * - A guest asking for more than the link can carry for it is clamped to what it carries, and
 *   the clamp is reported; a host override is clamped to the guest's tier.
 * - When the link recovers, caps come back one rung at a time, each only after the headroom for
 *   it held for several guests, higher tiers first.
 * - No guest's caps change more often than once every few seconds, cut or raise: each change of
 *   size restarts the encoder's picture, and a link that flaps every second must not make the
 *   pictures pump with it. Meanwhile the connection's own congestion control still lowers the
 *   encoders' rates within a round trip; the caps decide only who gives way. A raise undone soon
 *   after doubles the wait before the next one, until a raise to that rung holds.
 * - Only loss or a growing round trip on one guest's connection cut that guest alone: an encoder
 *   held back by its own connection's estimate on a clean path (one that ramps up again after the
 *   link recovered slower than the others) is left to WebRTC.
 * - An encoder held back by the CPU sets a flag (the host cannot keep up) and lowers the frame
 *   rate of the lowest-priority guests first.
 */
import { DEFAULT_TIERS, type Tier, type TierName, type TierTable } from '../../../protocol/tiers';
import { sameCaps, type EncoderCaps } from './encoder-caps';
import { buildLadder, clampOverride, DEFAULT_FLOORS, type CapsOverride, type Floors, type Rung, type ScreenShape } from './ladder';

export type QualityLimitation = 'bandwidth' | 'cpu' | 'none' | 'other';

/** One guest as the host measured it over the last tick. */
export interface PeerReading {
  id: string;
  tier: TierName;
  /** What the host sent this guest, kbit/s (outbound-rtp bytesSent as a rate). */
  sentKbps: number;
  /** Frames a second the host's encoder for this guest put out. */
  fps: number;
  /** Round trip on this guest's connection, ms; null while unknown. */
  rttMs: number | null;
  /** Share of the packets to this guest lost over the last tick (0..1). */
  lossFraction: number;
  /** The host encoder's qualityLimitationReason for this guest. */
  qualityLimitationReason: QualityLimitation;
  /** The host's own cap for this guest, if any; clamped to its tier. */
  override?: CapsOverride;
}

export interface AllocatorReading {
  nowMs: number;
  /** The host's total outgoing bandwidth estimate, kbit/s; null (or 0) while WebRTC has none. */
  availableKbps: number | null;
  /**
   * While no encoder is limited by bandwidth, the estimate says what the caps let through, not
   * what the link carries: WebRTC probes no higher than an encoder may send, so it sits just over
   * the caps (measured: 4446 kbit/s on caps adding up to 4300). Shared out as it is, less the
   * utilisation margin, it would keep the caps where they are after the link recovered, or walk
   * them down; so while every connection is calm the allocator cuts nobody below the caps for it,
   * and raises probe past it. True for WebRTC's own estimate; false for one that knows the link.
   */
  estimateFollowsCaps?: boolean;
  screen: ScreenShape;
  peers: readonly PeerReading[];
}

/** Why a guest is below its ceiling: the shared uplink, its own connection, or the host's CPU. */
export type CutCause = 'uplink' | 'own-link' | 'cpu';

export interface PeerAllocation {
  id: string;
  tier: TierName;
  caps: EncoderCaps;
  /** The caps differ from the last decision's (or this guest is new): apply them. */
  changed: boolean;
  /** Rungs below the guest's ceiling (its tier or the host's override); 0 at the ceiling. */
  level: number;
  cause: CutCause | null;
  /** The host's override as asked, and whether the tier's limits clamped it. */
  override?: { asked: CapsOverride; clamped: boolean };
  /** The ceiling asks for more than the link can carry for this guest (the others at their floor). */
  linkClamp?: { askedKbps: number; carriedKbps: number };
}

export interface AllocatorDecision {
  nowMs: number;
  /** What the allocator shares out, kbit/s; null while there is no estimate. */
  budgetKbps: number | null;
  /** The uplink cannot carry what the guests ask for. */
  congested: boolean;
  /** Not even every guest at its floor fits the budget: more guests than this uplink can serve (time to leave P2P). */
  saturated: boolean;
  /** An encoder is held back by the host's CPU: the host cannot keep up. */
  cpuLimited: boolean;
  peers: PeerAllocation[];
}

export interface AllocatorOptions {
  tiers?: TierTable;
  floors?: Floors;
  /** No guest's caps change more often than this. */
  minIntervalMs?: number;
  /** Ticks in a row the headroom for a raise must hold before it is made. */
  holdTicks?: number;
  /** Share of the estimate handed out: the rest absorbs the estimate's own error, RTCP and data. */
  utilisation?: number;
  /** A raise undone within this long counts as failed and doubles the next wait. */
  failedRaiseMs?: number;
  maxRaiseWaitMs?: number;
}

const DEFAULTS: Required<Omit<AllocatorOptions, 'tiers' | 'floors'>> = {
  minIntervalMs: 4000,
  holdTicks: 3,
  utilisation: 0.9,
  failedRaiseMs: 10_000,
  maxRaiseWaitMs: 30_000,
};

/**
 * Before a raise, a guest below its cap is counted at what it sends plus this margin: a screen
 * that starts moving needs more at once. Cuts count what is sent, without it: the gap between
 * the two is what keeps a guest from being cut and raised on the same traffic.
 */
const USE_MARGIN = 1.25;
/** Sending this share of its cap or more: the guest would take more if given it. */
const AT_CAP = 0.9;
/** Everything sent adds up to this share of the estimate or more: the uplink is what limits. */
const LINK_FULL = 0.85;
/** Loss at or above this on a connection is congestion; at or above LOSS_HOLD it holds raises back (as in WebRTC's own loss controller). */
const LOSS_CUT = 0.1;
const LOSS_HOLD = 0.02;
/** A round trip this far over the lowest of the last RTT_WINDOW readings (or twice it) means queues are building. */
const RTT_CUT_MS = 100;
const RTT_HOLD_MS = 50;
const RTT_WINDOW = 30;
/** Readings in a row that loss or round trip must stay bad to count as congestion: one Wi-Fi spike is not. */
const TROUBLE_READINGS = 2;
/** Link clamps move in steps of this, and rise only by RAISE_CLAMP or to the ceiling, so estimate noise does not move caps. */
const CLAMP_GRAIN_KBPS = 50;
const RAISE_CLAMP = 1.1;
/**
 * Calm readings in a row, with no cut among them, before raises are probes (the estimate only
 * following the caps, AllocatorReading.estimateFollowsCaps): held to no budget, since WebRTC's
 * congestion control sends no faster than each connection carries and probes up to a raised cap
 * by itself. A probe that congests the link is cut again and doubles that guest's next wait; the
 * calm run keeps a narrow link from being probed every few seconds.
 */
const PROBE_CALM_TICKS = 10;
/**
 * The budget is the lowest estimate of this many readings: a drop counts at once, a rise only once
 * it held. The host's estimate is the sum of one per connection, each ramping and probing on its
 * own, and it jumps (measured on a 3 Mbit/s uplink: 2186, 5456, 2351 kbit/s a second apart); one
 * high reading placed every viewer whose tier changed at its ceiling, and the link overflowed.
 */
const ESTIMATE_READINGS = 3;

interface PeerState {
  id: string;
  tier: TierName;
  /** What the ladder was built from: a change rebuilds it. */
  key: string;
  ladder: Rung[];
  override: { asked: CapsOverride; clamped: boolean } | undefined;
  level: number;
  caps: EncoderCaps;
  cause: CutCause | null;
  /** The last cut or raise (placing a new guest is neither). */
  lastChangeMs: number;
  lastRaiseMs: number;
  raiseWaitMs: number;
  /** The rung a raise reached before the link undid it (the probe that doubled raiseWaitMs). */
  failedLevel: number | undefined;
  goodTicks: number;
  rtts: number[];
  /** Readings in a row with loss or round trip past the congestion line. */
  troubledRun: number;
}

/** One tick's view of a guest: its state and reading, and what this tick makes of them. */
interface Guest {
  state: PeerState;
  reading: PeerReading;
  tier: Tier;
  /** Its caps before this tick; undefined for a guest seen for the first time. */
  before: EncoderCaps | undefined;
  /** New, or its ladder was rebuilt: placed at its ceiling, free to be cut at once. */
  fresh: boolean;
  /** The most the link can carry for this guest with every other at its floor. */
  carry: number;
  /** Loss or round trip say this guest's path is congested. */
  troubled: boolean;
  /** Not congested, but not clear enough to raise. */
  unsettled: boolean;
  /** Held back by the encoder's bandwidth limit while sending well under its cap. */
  squeezed: boolean;
  /** The trouble is this guest's own connection, not the shared uplink. */
  ownPath: boolean;
  /** It would send more if given more. */
  wantsMore: boolean;
  /** What it is counted at when deciding cuts, kbit/s: its cap if it wants more, else what it sends. */
  demand: number;
  /** What it is counted at when deciding raises: as demand, with USE_MARGIN on what it sends. */
  use: number;
  level: number;
  kbps: number;
  move: 'cut' | 'raise' | undefined;
  cause: CutCause | undefined;
  /** A raise was counted this tick (its headroom held). */
  held: boolean;
}

interface LinkView {
  budget: number;
  /** The estimate only follows the caps and the link has been calm for PROBE_CALM_TICKS: raises are probes, held to no budget. */
  probing: boolean;
  /** The estimate only follows the caps, and every connection is calm. */
  follows: boolean;
  /** No connection limited by bandwidth, none with loss or a growing round trip. */
  calm: boolean;
  /** Several guests in trouble at once, or the uplink full: what limits them is shared. */
  shared: boolean;
  /** Most guests lose packets or queue: the estimate is above what the uplink carries. */
  lossy: boolean;
}

type Step = { level: number; kbps: number };

export class BandwidthAllocator {
  private readonly states = new Map<string, PeerState>();
  private calmTicks = 0;
  private readonly estimates: number[] = [];
  private tiers: TierTable;
  private readonly floors: Floors;
  private readonly options: Required<Omit<AllocatorOptions, 'tiers' | 'floors'>>;

  constructor(options: AllocatorOptions = {}) {
    this.tiers = options.tiers ?? DEFAULT_TIERS;
    this.floors = options.floors ?? DEFAULT_FLOORS;
    this.options = { ...DEFAULTS, ...definedOnly(options) };
  }

  /** The session's tiers changed (the host edited them): ladders are rebuilt on the next tick. */
  setTiers(tiers: TierTable): void {
    this.tiers = tiers;
  }

  next(reading: AllocatorReading): AllocatorDecision {
    const now = reading.nowMs;
    const guests = this.sync(reading);
    const link = assessLink({ ...reading, availableKbps: this.filtered(reading.availableKbps) }, guests, this.options.utilisation);
    for (const t of guests) this.prepare(t, guests, link);
    this.cutOwnLinks(guests, now);
    const over = this.cutForUplink(guests, link.budget, now);
    const cpuLimited = guests.some((t) => t.reading.qualityLimitationReason === 'cpu');
    if (cpuLimited) this.cutForCpu(guests, now);
    this.calmTicks = link.calm && !guests.some((t) => t.move === 'cut') ? this.calmTicks + 1 : 0;
    link.probing = link.follows && this.calmTicks >= PROBE_CALM_TICKS;
    if (!over && !cpuLimited && !link.lossy) this.raise(guests, link, now);
    for (const t of guests) if (!t.held) t.state.goodTicks = 0;
    return {
      nowMs: now,
      budgetKbps: Number.isFinite(link.budget) ? Math.round(link.budget) : null,
      congested: over || link.lossy,
      saturated: sum(guests, floorKbps) > link.budget,
      cpuLimited,
      peers: guests.map((t) => this.commit(t, now)),
    };
  }

  /** The lowest of the last ESTIMATE_READINGS estimates; none while there is none. */
  private filtered(estimate: number | null): number | null {
    if (estimate === null || !(estimate > 0)) {
      this.estimates.length = 0;
      return estimate;
    }
    this.estimates.push(estimate);
    if (this.estimates.length > ESTIMATE_READINGS) this.estimates.shift();
    return Math.min(...this.estimates);
  }

  /** States for this reading's guests (new ones placed, gone ones forgotten), and their signals. */
  private sync(reading: AllocatorReading): Guest[] {
    const seen = new Set<string>();
    const guests: Guest[] = [];
    for (const r of reading.peers) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      guests.push(this.guestFor(r, reading.screen));
    }
    for (const id of [...this.states.keys()]) if (!seen.has(id)) this.states.delete(id);
    return guests;
  }

  private guestFor(reading: PeerReading, screen: ScreenShape): Guest {
    const tier = this.tiers[reading.tier];
    const key = JSON.stringify([tier, reading.override ?? null, screen.width, screen.height, screen.fps]);
    let state = this.states.get(reading.id);
    const before = state?.caps;
    const fresh = !state || state.key !== key;
    if (!state || fresh) {
      state = this.place(reading, tier, screen, key, state);
      this.states.set(reading.id, state);
    }
    const { troubled, unsettled } = observePath(state, reading);
    const squeezed = reading.qualityLimitationReason === 'bandwidth' && reading.sentKbps < AT_CAP * state.caps.maxBitrateKbps;
    return {
      state,
      reading,
      tier,
      before,
      fresh,
      carry: Infinity,
      troubled,
      unsettled,
      squeezed,
      ownPath: false,
      wantsMore: false,
      demand: 0,
      use: 0,
      level: state.level,
      kbps: state.caps.maxBitrateKbps,
      move: undefined,
      cause: undefined,
      held: false,
    };
  }

  /**
   * A guest seen first, or whose tier, override or screen changed: at its ceiling, free to be cut
   * at once (a host's choice applies now). One that was below its ceiling and is not promoted to a
   * higher priority keeps no more than it had (the best rung within its caps), and climbs back the
   * way every raise does: a viewer lowered to the `low` tier on a congested link was placed at the
   * low tier's ceiling, above what it sent, and the link overflowed.
   */
  private place(reading: PeerReading, tier: Tier, screen: ScreenShape, key: string, previous: PeerState | undefined): PeerState {
    const override = reading.override ? { asked: reading.override, ...clampOverride(reading.override, tier, this.floors) } : undefined;
    const ladder = buildLadder(tier, screen, override?.applied, this.floors);
    const promoted = previous !== undefined && tier.priority > (this.tiers[previous.tier]?.priority ?? -Infinity);
    const keep = previous !== undefined && !promoted && previous.cause !== null ? previous.caps : undefined;
    const level = keep ? Math.max(0, bestWithin(ladder, keep)) : 0;
    const kbps = keep ? Math.min(ladder[level]!.kbps, keep.maxBitrateKbps) : ladder[0]!.kbps;
    return {
      id: reading.id,
      tier: reading.tier,
      key,
      ladder,
      override: override ? { asked: override.asked, clamped: override.clamped } : undefined,
      level,
      caps: capsOf(ladder[level]!, kbps, tier),
      cause: keep ? previous!.cause : null,
      lastChangeMs: keep ? previous!.lastChangeMs : -Infinity,
      lastRaiseMs: keep ? previous!.lastRaiseMs : -Infinity,
      raiseWaitMs: keep ? previous!.raiseWaitMs : this.options.minIntervalMs,
      failedLevel: undefined,
      goodTicks: 0,
      rtts: previous?.rtts ?? [],
      troubledRun: previous?.troubledRun ?? 0,
    };
  }

  /** What the link carries for this guest, where its trouble lies, and what it counts for. */
  private prepare(t: Guest, all: Guest[], link: LinkView): void {
    t.carry = carryFor(t, all, link.budget);
    if (t.fresh) t.kbps = Math.min(t.state.caps.maxBitrateKbps, t.carry);
    const cap = t.kbps;
    const bandwidth = t.reading.qualityLimitationReason === 'bandwidth';
    const atCap = t.reading.sentKbps >= AT_CAP * cap;
    t.ownPath = !link.shared && t.troubled;
    t.wantsMore = !t.ownPath && (bandwidth || atCap);
    t.demand = t.wantsMore ? cap : Math.min(cap, t.reading.sentKbps);
    t.use = t.wantsMore ? cap : Math.min(cap, t.reading.sentKbps * USE_MARGIN);
  }

  /** Trouble on a guest's own connection: that guest alone goes one rung down. */
  private cutOwnLinks(guests: Guest[], now: number): void {
    for (const t of guests) {
      if (!t.ownPath || !this.canChange(t, now) || t.level + 1 >= t.state.ladder.length) continue;
      this.cutTo(t, { level: t.level + 1, kbps: kbpsAt(t, t.level + 1) }, 'own-link');
    }
  }

  /**
   * While the guests ask for more than the budget: the lowest priority gives way first, evenly
   * within a priority. A guest whose caps changed too recently is left alone, and then nobody of
   * a higher priority gives way in its stead. Returns whether they asked for too much.
   */
  private cutForUplink(guests: Guest[], budget: number, now: number): boolean {
    let total = sum(guests, (t) => t.demand);
    if (total <= budget) return false;
    for (const group of byPriority(guests, 'ascending')) {
      for (;;) {
        if (total <= budget) return true;
        const victim = pickVictim(group, (t) => this.canChange(t, now));
        if (!victim) break;
        const step = nextCut(victim)!;
        total -= victim.demand - step.kbps;
        this.cutTo(victim, step, 'uplink');
      }
      if (group.some((t) => !this.canChange(t, now) && nextCut(t))) return true;
    }
    return true;
  }

  /** The host's CPU cannot keep up: the lowest priority with frame rate to give lowers it by a rung. */
  private cutForCpu(guests: Guest[], now: number): void {
    for (const group of byPriority(guests, 'ascending')) {
      const withRoom = group.filter((t) => fpsCut(t) !== undefined);
      if (withRoom.length === 0) continue;
      for (const t of withRoom) {
        const level = fpsCut(t)!;
        if (this.canChange(t, now)) this.cutTo(t, { level, kbps: kbpsAt(t, level) }, 'cpu');
      }
      return;
    }
  }

  /**
   * Headroom: one rung back per guest, higher priorities first and the most cut first within
   * one, each once its headroom held for holdTicks and its last change is old enough. Nobody of a
   * lower priority gets anything back while a guest above it is still below its ceiling (a `low`
   * guest, first to go, is the last to come back), and a raise that does not fit holds back every
   * raise after it.
   */
  private raise(guests: Guest[], link: LinkView, now: number): void {
    const budget = link.probing ? Infinity : link.budget;
    let total = sum(guests, (t) => t.use);
    for (const group of byPriority(guests, 'descending')) {
      let below = false;
      for (const t of [...group].sort((a, b) => b.level - a.level || a.state.id.localeCompare(b.state.id))) {
        const step = t.move ? undefined : raiseStep(t, link.probing ? Infinity : t.carry);
        if (!step || t.unsettled || t.ownPath) continue;
        const use = t.wantsMore ? step.kbps : Math.min(step.kbps, t.reading.sentKbps * USE_MARGIN);
        if (total - t.use + use > budget) return;
        t.held = true;
        t.state.goodTicks++;
        if (this.raiseHeld(t.state, now)) this.endBackoff(t.state);
        if (t.state.goodTicks >= this.options.holdTicks && now - t.state.lastChangeMs >= t.state.raiseWaitMs) {
          total += use - t.use;
          this.raiseTo(t, step, use);
        }
        below ||= raiseStep(t, t.carry) !== undefined;
      }
      if (below) return;
    }
  }

  /**
   * The guest's last change was a raise and it held past failedRaiseMs, at the rung whose raise
   * last failed or above it: the link now carries what it did not, so the waits the failed
   * probes doubled are over (else each rung of a recovered link waits as long as the last failed
   * probe did: measured 10 rungs not back within 2 minutes). Rungs below the one that failed
   * prove nothing: on a flapping link they hold, and the one above does not.
   */
  private raiseHeld(s: PeerState, now: number): boolean {
    return s.failedLevel !== undefined && s.level <= s.failedLevel && s.lastRaiseMs === s.lastChangeMs && now - s.lastRaiseMs >= this.options.failedRaiseMs;
  }

  private endBackoff(s: PeerState): void {
    s.raiseWaitMs = this.options.minIntervalMs;
    s.failedLevel = undefined;
  }

  private canChange(t: Guest, now: number): boolean {
    return t.move === 'cut' || now - t.state.lastChangeMs >= this.options.minIntervalMs;
  }

  private raiseTo(t: Guest, step: Step, use: number): void {
    t.level = step.level;
    t.kbps = step.kbps;
    t.use = use;
    t.demand = Math.min(t.demand, step.kbps);
    t.move = 'raise';
    t.state.goodTicks = 0;
  }

  private cutTo(t: Guest, step: Step, cause: CutCause): void {
    t.level = step.level;
    t.kbps = step.kbps;
    t.demand = Math.min(t.demand, step.kbps);
    t.use = Math.min(t.use, step.kbps);
    t.move = 'cut';
    t.cause ??= cause;
  }

  /** The tick's plan becomes the guest's caps; a cut or raise is remembered for the next ones. */
  private commit(t: Guest, now: number): PeerAllocation {
    const s = t.state;
    const rung = s.ladder[t.level]!;
    const caps = capsOf(rung, t.kbps, t.tier);
    const changed = !t.before || !sameCaps(caps, t.before);
    if (t.move && !sameCaps(caps, s.caps)) {
      if (t.move === 'cut') {
        const failed = now - s.lastRaiseMs < this.options.failedRaiseMs;
        s.raiseWaitMs = failed ? Math.min(this.options.maxRaiseWaitMs, s.raiseWaitMs * 2) : this.options.minIntervalMs;
        s.failedLevel = failed ? s.level : undefined;
        s.cause = t.cause ?? 'uplink';
      } else {
        s.lastRaiseMs = now;
        if (t.level === 0) s.cause = null;
      }
      s.lastChangeMs = now;
    }
    s.level = t.level;
    s.caps = caps;
    const ceiling = s.ladder[0]!.kbps;
    return {
      id: s.id,
      tier: s.tier,
      caps,
      changed,
      level: s.level,
      cause: s.cause,
      ...(s.override ? { override: s.override } : {}),
      ...(ceiling > t.carry ? { linkClamp: { askedKbps: ceiling, carriedKbps: t.carry } } : {}),
    };
  }
}

/** This reading's loss and round trip, against the guest's recent ones. */
function observePath(state: PeerState, reading: PeerReading): { troubled: boolean; unsettled: boolean } {
  if (reading.rttMs !== null && Number.isFinite(reading.rttMs)) {
    state.rtts.push(reading.rttMs);
    if (state.rtts.length > RTT_WINDOW) state.rtts.shift();
  }
  const signals = pathSignals(reading, state.rtts);
  state.troubledRun = signals.troubled ? state.troubledRun + 1 : 0;
  return { troubled: state.troubledRun >= TROUBLE_READINGS, unsettled: signals.unsettled };
}

/** What loss and round trip say about one guest's path, this reading alone. */
function pathSignals(reading: PeerReading, rtts: readonly number[]): { troubled: boolean; unsettled: boolean } {
  const loss = Number.isFinite(reading.lossFraction) ? reading.lossFraction : 0;
  const baseline = rtts.length > 0 ? Math.min(...rtts) : 0;
  const rise = reading.rttMs !== null && rtts.length > 0 ? reading.rttMs - baseline : 0;
  const troubled = loss >= LOSS_CUT || rise >= Math.max(RTT_CUT_MS, baseline);
  const unsettled = troubled || loss >= LOSS_HOLD || rise >= Math.max(RTT_HOLD_MS, baseline / 2);
  return { troubled, unsettled };
}

/**
 * The budget, and whether what limits the guests is shared. Several guests in trouble at once
 * point at the host's side of the path; one alone at its own (which is also why one guest cannot
 * move the others: it never makes a majority).
 */
function assessLink(reading: AllocatorReading, guests: Guest[], utilisation: number): LinkView {
  const estimate = reading.availableKbps;
  const sent = sum(guests, (t) => t.reading.sentKbps);
  const majority = (n: number): boolean => n >= 2 && n > guests.length / 2;
  const full = estimate !== null && estimate > 0 && sent >= LINK_FULL * estimate;
  const lossy = majority(guests.filter((t) => t.troubled).length);
  let budget = estimate !== null && estimate > 0 ? estimate * utilisation : Infinity;
  // Losses everywhere while the estimate says there is room: what is sent is what the uplink carries.
  if (lossy && !full && sent > 0) budget = Math.min(budget, sent * utilisation);
  const capped = sum(guests, (t) => t.state.caps.maxBitrateKbps);
  const calm = guests.every((t) => !t.unsettled && t.reading.qualityLimitationReason !== 'bandwidth');
  // The link carries all that the caps let through and the estimate says no more than that: a
  // forecast below the caps cuts nobody, and raises may probe past it.
  const follows = calm && Number.isFinite(budget) && reading.estimateFollowsCaps === true;
  if (follows) budget = Math.max(budget, capped);
  return { budget, probing: false, follows, calm, lossy, shared: full || lossy || majority(guests.filter((t) => t.troubled || t.squeezed).length) };
}

function carryFor(t: Guest, all: Guest[], budget: number): number {
  if (!Number.isFinite(budget)) return Infinity;
  const others = sum(all, (o) => (o === t ? 0 : floorKbps(o)));
  const carried = Math.floor((budget - others) / CLAMP_GRAIN_KBPS) * CLAMP_GRAIN_KBPS;
  return Math.max(floorKbps(t), carried);
}

function floorKbps(t: Guest): number {
  return t.state.ladder[t.state.ladder.length - 1]!.kbps;
}

function kbpsAt(t: Guest, level: number): number {
  return Math.min(t.state.ladder[level]!.kbps, t.carry);
}

/** The next rung down that frees some of what this guest uses (its own rung, if the clamp tightened). */
function nextCut(t: Guest): Step | undefined {
  for (let level = t.level; level < t.state.ladder.length; level++) {
    const kbps = kbpsAt(t, level);
    if (kbps < t.demand && (level > t.level || kbps < t.kbps)) return { level, kbps };
  }
  return undefined;
}

/** Within one priority, the least cut gives way first, so they degrade evenly. */
function pickVictim(group: Guest[], free: (t: Guest) => boolean): Guest | undefined {
  const candidates = group.filter((t) => free(t) && nextCut(t));
  candidates.sort((a, b) => a.level - b.level || b.demand - a.demand || a.state.id.localeCompare(b.state.id));
  return candidates[0];
}

/** The frame-rate rung below both the current cap and what the encoder manages, if the ladder has one. */
function fpsCut(t: Guest): number | undefined {
  const ladder = t.state.ladder;
  const measured = t.reading.fps > 0 ? t.reading.fps : Infinity;
  const ceiling = Math.min(ladder[t.level]!.fps, measured);
  for (let level = t.level + 1; level < ladder.length && ladder[level]!.step === 'fps'; level++) {
    if (ladder[level]!.fps < ceiling) return level;
  }
  return undefined;
}

/**
 * The first (best) rung that sends no more frames or pixels than `caps`; the floor when none does.
 * Its bits are clamped to the caps' by the caller: a guest clamped at its top rung keeps its
 * frame rate, rather than dropping to the first rung whose model bitrate fits under the clamp.
 */
function bestWithin(ladder: readonly Rung[], caps: EncoderCaps): number {
  const i = ladder.findIndex((r) => r.fps <= caps.maxFramerate && r.scale >= caps.scaleResolutionDownBy);
  return i < 0 ? ladder.length - 1 : i;
}

/** One rung up; at the top rung, a link clamp that loosened enough (what the link carries for it: `carry`). */
function raiseStep(t: Guest, carry: number): Step | undefined {
  if (t.level > 0) return { level: t.level - 1, kbps: Math.min(t.state.ladder[t.level - 1]!.kbps, carry) };
  const top = Math.min(t.state.ladder[0]!.kbps, carry);
  if (top > t.kbps && (top >= t.kbps * RAISE_CLAMP || top === t.state.ladder[0]!.kbps)) return { level: 0, kbps: top };
  return undefined;
}

function byPriority(guests: Guest[], order: 'ascending' | 'descending'): Guest[][] {
  const groups = new Map<number, Guest[]>();
  for (const t of guests) groups.set(t.tier.priority, [...(groups.get(t.tier.priority) ?? []), t]);
  const sign = order === 'ascending' ? 1 : -1;
  return [...groups.entries()].sort((a, b) => sign * (a[0] - b[0])).map(([, group]) => group);
}

function capsOf(rung: Rung, kbps: number, tier: Tier): EncoderCaps {
  return { maxBitrateKbps: kbps, maxFramerate: rung.fps, scaleResolutionDownBy: rung.scale, priority: tier.rtcPriority };
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
