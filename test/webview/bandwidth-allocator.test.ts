/**
 * The P2P host's bandwidth allocator (webview/engine/quality/bandwidth-allocator.ts): who gives
 * way when the host's uplink or CPU cannot carry every guest at its tier.
 *
 * The allocator is driven here by a stand-in for the host's uplink and encoders, one tick a
 * second: each guest's encoder sends what its caps allow, up to what the screen needs; when that
 * adds up to more than the uplink carries, the connections' congestion controllers split it
 * evenly and the squeezed encoders say 'bandwidth'; the estimate is the uplink's capacity.
 */
import assert from 'node:assert/strict';
import { DEFAULT_TIERS, type TierName } from '../../protocol/tiers';
import {
  BandwidthAllocator,
  type AllocatorDecision,
  type AllocatorOptions,
  type PeerAllocation,
  type PeerReading,
} from '../../webview/engine/quality/bandwidth-allocator';
import { applyCaps, encodingParameters, withCaps, type EncoderCaps } from '../../webview/engine/quality/encoder-caps';
import type { CapsOverride } from '../../webview/engine/quality/ladder';

const SCREEN = { width: 1920, height: 1080, fps: 30 };
const MIN_INTERVAL_MS = 4000;
const HOLD_TICKS = 3;

interface Guest {
  id: string;
  tier: TierName;
  override?: CapsOverride;
}

const CONTROLLER_AND_FOUR_VIEWERS: Guest[] = [{ id: 'controller', tier: 'high' }, ...['v1', 'v2', 'v3', 'v4'].map((id) => ({ id, tier: 'standard' as const }))];

/** Splits `capacity` evenly between demands, a demand below its share leaving the rest to the others. */
function fairShare(wants: number[], capacity: number): number[] {
  const got = wants.map(() => 0);
  let left = capacity;
  const order = wants.map((w, i) => ({ w, i })).sort((a, b) => a.w - b.w);
  order.forEach(({ w, i }, n) => {
    got[i] = Math.min(w, left / (order.length - n));
    left -= got[i]!;
  });
  return got;
}

interface Change {
  atMs: number;
  caps: EncoderCaps;
  level: number;
}

class FakeUplink {
  nowMs = 0;
  uplinkKbps: number;
  /** The estimate the host reads; the uplink's capacity unless a test says otherwise. */
  estimateKbps: number | undefined;
  /**
   * As Chromium's estimate on capped encoders behaves (measured: 4446 kbit/s on caps adding up to
   * 4300): WebRTC probes no higher than the encoders may send, so the estimate is the uplink's
   * capacity or a little over the caps' sum, whichever is less.
   */
  estimateFollowsCaps = false;
  /** What the screen needs of one encoder at full quality. */
  screenKbps: number;
  /** A test's say in what the host measures (a guest's bad connection, a CPU-starved encoder). */
  tweak: (reading: PeerReading) => PeerReading = (r) => r;
  readonly caps = new Map<string, EncoderCaps>();
  readonly changes = new Map<string, Change[]>();
  last: AllocatorDecision | undefined;

  constructor(
    readonly allocator: BandwidthAllocator,
    public guests: Guest[],
    options: { uplinkKbps: number; screenKbps?: number },
  ) {
    this.uplinkKbps = options.uplinkKbps;
    this.screenKbps = options.screenKbps ?? 1500;
  }

  readings(): PeerReading[] {
    // Until the allocator's first word, an encoder runs at its guest's tier (as the engine starts it).
    const capOf = (g: Guest): number => this.caps.get(g.id)?.maxBitrateKbps ?? DEFAULT_TIERS[g.tier].maxKbps;
    const wants = this.guests.map((g) => Math.min(capOf(g), this.screenKbps));
    const got = fairShare(wants, this.uplinkKbps);
    return this.guests.map((g, i) =>
      this.tweak({
        id: g.id,
        tier: g.tier,
        sentKbps: Math.round(got[i]!),
        fps: this.caps.get(g.id)?.maxFramerate ?? SCREEN.fps,
        rttMs: 40,
        lossFraction: 0,
        qualityLimitationReason: got[i]! < wants[i]! - 1 ? 'bandwidth' : 'none',
        ...(g.override ? { override: g.override } : {}),
      }),
    );
  }

  tick(): AllocatorDecision {
    const peers = this.readings();
    const decision = this.allocator.next({
      nowMs: this.nowMs,
      availableKbps: this.estimateKbps ?? (this.estimateFollowsCaps ? Math.min(this.uplinkKbps, 1.03 * this.capsTotal()) : this.uplinkKbps),
      estimateFollowsCaps: this.estimateFollowsCaps,
      screen: SCREEN,
      peers,
    });
    for (const p of decision.peers) {
      if (!p.changed) continue;
      this.caps.set(p.id, p.caps);
      this.changes.set(p.id, [...(this.changes.get(p.id) ?? []), { atMs: this.nowMs, caps: p.caps, level: p.level }]);
    }
    this.last = decision;
    this.nowMs += 1000;
    return decision;
  }

  capsTotal(): number {
    return this.guests.reduce((total, g) => total + (this.caps.get(g.id)?.maxBitrateKbps ?? DEFAULT_TIERS[g.tier].maxKbps), 0);
  }

  run(ticks: number): AllocatorDecision {
    for (let i = 0; i < ticks; i++) this.tick();
    return this.last!;
  }

  peer(id: string): PeerAllocation {
    const p = this.last?.peers.find((x) => x.id === id);
    assert.ok(p, `no allocation for ${id}`);
    return p;
  }

  /** Changes after the guest's first caps (placing it is not a change of mind). */
  laterChanges(id: string): Change[] {
    return (this.changes.get(id) ?? []).slice(1);
  }
}

function allocator(options: AllocatorOptions = {}): BandwidthAllocator {
  return new BandwidthAllocator({ minIntervalMs: MIN_INTERVAL_MS, holdTicks: HOLD_TICKS, ...options });
}

function viewers(net: FakeUplink): PeerAllocation[] {
  return net.last!.peers.filter((p) => p.tier === 'standard');
}

function assertSpacedByMinInterval(net: FakeUplink, id: string): void {
  const times = net.laterChanges(id).map((c) => c.atMs);
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i]! - times[i - 1]! >= MIN_INTERVAL_MS, `${id} changed at ${times[i - 1]} and again at ${times[i]} ms`);
  }
}

/** When this guest's bitrate cap went up. */
function raiseTimes(net: FakeUplink, id: string): number[] {
  const all = net.changes.get(id) ?? [];
  return all.filter((c, i) => i > 0 && c.caps.maxBitrateKbps > all[i - 1]!.caps.maxBitrateKbps).map((c) => c.atMs);
}

describe('Bandwidth allocator: who gives way when the host cannot send every guest its tier', () => {
  it('sends every guest its tier when the uplink carries them all', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000 });
    const decision = net.run(10);
    assert.equal(decision.congested, false);
    assert.equal(decision.cpuLimited, false);
    assert.deepEqual(net.peer('controller').caps, { maxBitrateKbps: 4000, maxFramerate: 30, scaleResolutionDownBy: 1, priority: 'high' });
    for (const v of viewers(net)) {
      assert.deepEqual(v.caps, { maxBitrateKbps: 2000, maxFramerate: 30, scaleResolutionDownBy: 1, priority: 'medium' });
      assert.equal(v.level, 0);
      assert.equal(v.cause, null);
      assert.equal(v.linkClamp, undefined);
    }
    for (const g of CONTROLLER_AND_FOUR_VIEWERS) assert.equal(net.laterChanges(g.id).length, 0, `${g.id} was never touched`);
  });

  it('sends no more frames than the screen has, nor more than the tier allows', () => {
    const a = allocator();
    const peers: PeerReading[] = [
      { id: 'c', tier: 'high', sentKbps: 500, fps: 30, rttMs: 20, lossFraction: 0, qualityLimitationReason: 'none' },
      { id: 'v', tier: 'standard', sentKbps: 500, fps: 30, rttMs: 20, lossFraction: 0, qualityLimitationReason: 'none' },
    ];
    const at60 = a.next({ nowMs: 0, availableKbps: 20_000, screen: { ...SCREEN, fps: 60 }, peers });
    assert.deepEqual(
      at60.peers.map((p) => p.caps.maxFramerate),
      [60, 30],
    );
    const at15 = a.next({ nowMs: 1000, availableKbps: 20_000, screen: { ...SCREEN, fps: 15 }, peers });
    assert.deepEqual(
      at15.peers.map((p) => p.caps.maxFramerate),
      [15, 15],
    );
  });

  it('keeps the controller at its tier over a 3 Mbit/s uplink while four viewers share the rest', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 1500 });
    net.run(60);
    const controller = net.peer('controller');
    // Full frame rate and full size; its bitrate is what the link can carry for it, and says so.
    assert.equal(controller.caps.maxFramerate, 30);
    assert.equal(controller.caps.scaleResolutionDownBy, 1);
    assert.equal(controller.level, 0);
    assert.ok(controller.caps.maxBitrateKbps >= 1500, `the controller's cap ${controller.caps.maxBitrateKbps} covers what its screen needs`);
    assert.deepEqual(controller.linkClamp, { askedKbps: 4000, carriedKbps: controller.caps.maxBitrateKbps });
    // What the controller's encoder sends is what the screen needs: nothing squeezes it any more.
    const sent = net.readings();
    assert.equal(sent[0]!.qualityLimitationReason, 'none');
    assert.equal(sent[0]!.sentKbps, 1500);
    // The viewers share what is left, evenly, within the budget, none frozen.
    const budget = net.last!.budgetKbps!;
    const shared = viewers(net).reduce((total, v) => total + v.caps.maxBitrateKbps, 0);
    assert.ok(1500 + shared <= budget, `controller 1500 + viewers ${shared} within ${budget}`);
    const levels = viewers(net).map((v) => v.level);
    assert.ok(Math.max(...levels) - Math.min(...levels) <= 1, `viewers degrade evenly: levels ${levels.join(', ')}`);
    for (const v of viewers(net)) {
      assert.ok(v.caps.maxFramerate >= 5 && v.caps.maxBitrateKbps >= 150, `${v.id} keeps a picture: ${JSON.stringify(v.caps)}`);
      assert.ok(v.caps.scaleResolutionDownBy <= DEFAULT_TIERS.standard.maxScaleDown);
      assert.equal(v.cause, 'uplink');
      assert.equal(v.caps.priority, 'medium');
    }
    assert.equal(controller.caps.priority, 'high');
    // The viewers leave the controller room: its screen can get a quarter busier without anything squeezing it.
    net.screenKbps = 1500 * 1.25;
    const busier = net.readings()[0]!;
    assert.equal(busier.qualityLimitationReason, 'none');
    assert.equal(busier.sentKbps, 1875);
  });

  it('takes back from the viewers what a controller clamped by a dip of the estimate needs, once the estimate recovers', () => {
    // A busy screen (every encoder would take its whole cap) on a 3 Mbit/s uplink, whose estimate
    // first collapses (queues build when the cap comes on) and then comes back.
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 4000 });
    net.estimateKbps = 1500;
    net.run(10);
    const clamped = net.peer('controller').caps.maxBitrateKbps;
    assert.ok(clamped <= 1000, `the dip clamped the controller (${clamped} kbit/s)`);
    net.estimateKbps = undefined;
    net.run(30);
    const controller = net.peer('controller');
    const budget = net.last!.budgetKbps!;
    const floors = viewers(net).reduce((total, v) => total + v.caps.maxBitrateKbps, 0);
    assert.equal(controller.caps.maxFramerate, 30);
    assert.ok(
      controller.caps.maxBitrateKbps >= budget - floors - 50,
      `the controller has ${controller.caps.maxBitrateKbps} of ${budget}, the viewers ${floors}`,
    );
  });

  it('takes frame rate before resolution, and never scales past the tier’s maxScaleDown', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 1500 });
    net.run(60);
    for (const id of ['v1', 'v2', 'v3', 'v4']) {
      for (const { caps } of net.changes.get(id)!) {
        if (caps.scaleResolutionDownBy > 1) assert.equal(caps.maxFramerate, 5, `${id} was scaled down only at the lowest frame rate: ${JSON.stringify(caps)}`);
        assert.ok(caps.scaleResolutionDownBy <= 1.5, `${id} never past 1.5: ${JSON.stringify(caps)}`);
      }
    }
    // A milder squeeze: once the controller has what it needs, the viewers get back their full size at a lower frame rate.
    const mild = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 6000, screenKbps: 1500 });
    mild.run(120);
    for (const v of viewers(mild)) {
      assert.equal(v.caps.scaleResolutionDownBy, 1, `${v.id} at full size: ${JSON.stringify(v.caps)}`);
      assert.ok(v.caps.maxFramerate < 30, `${v.id} gave frame rate: ${JSON.stringify(v.caps)}`);
    }
    // The driver's picture is never scaled, however little the link carries.
    const starved = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 800, screenKbps: 1500 });
    starved.run(30);
    for (const { caps } of starved.changes.get('controller')!) assert.equal(caps.scaleResolutionDownBy, 1);
  });

  it('cuts a low-tier guest first, and gives it back last', () => {
    const guests: Guest[] = [
      { id: 'v1', tier: 'standard' },
      { id: 'v2', tier: 'standard' },
      { id: 'congested', tier: 'low' },
    ];
    // 1500 + 1500 + 600 sent of the 3900 × 0.9 = 3510 shared out: the low guest's one rung (600 → 502) is enough.
    const net = new FakeUplink(allocator(), guests, { uplinkKbps: 3900, screenKbps: 1500 });
    net.run(10);
    assert.equal(net.peer('congested').level, 1);
    assert.equal(net.peer('congested').cause, 'uplink');
    for (const id of ['v1', 'v2']) assert.equal(net.peer(id).level, 0, `${id} untouched while the low guest had enough to give`);
    // Less uplink: the low guest goes to its floor, then the viewers give what is still missing.
    net.uplinkKbps = 3000;
    net.run(20);
    assert.equal(net.peer('congested').caps.maxBitrateKbps, 150);
    for (const id of ['v1', 'v2']) assert.ok(net.peer(id).level > 0, `${id} gives way once the low guest has nothing left`);
    // The uplink recovers: the viewers are back at their tier before the low guest gets anything back.
    const recoveredAt = net.nowMs;
    net.uplinkKbps = 20_000;
    net.run(120);
    const lowBack = net.laterChanges('congested').find((c) => c.atMs >= recoveredAt)!.atMs;
    for (const id of ['v1', 'v2']) {
      const atTier = net.laterChanges(id).find((c) => c.atMs >= recoveredAt && c.level === 0)!.atMs;
      assert.ok(atTier < lowBack, `${id} back at its tier (${atTier} ms) before the low guest's first raise (${lowBack} ms)`);
    }
    assert.equal(net.peer('congested').level, 0);
  });

  it('gives back only after the headroom held for several ticks, one rung at a time', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 1500 });
    net.run(30);
    const cutLevels = new Map(viewers(net).map((v) => [v.id, v.level]));
    const recoveredAt = net.nowMs;
    net.uplinkKbps = 20_000;
    // Fewer than holdTicks readings of headroom: nothing yet.
    for (let i = 0; i < HOLD_TICKS - 1; i++) {
      net.tick();
      for (const v of viewers(net)) assert.equal(v.changed, false, `${v.id} waits for the headroom to hold`);
    }
    net.run(200);
    for (const [id, cutLevel] of cutLevels) {
      const raises = net.laterChanges(id).filter((c) => c.atMs >= recoveredAt);
      assert.equal(raises.length, cutLevel, `${id} came back from level ${cutLevel} one rung per change`);
      raises.forEach((r, i) => assert.equal(r.level, cutLevel - 1 - i));
      assertSpacedByMinInterval(net, id);
      assert.deepEqual(net.peer(id).caps, { maxBitrateKbps: 2000, maxFramerate: 30, scaleResolutionDownBy: 1, priority: 'medium' });
      assert.equal(net.peer(id).cause, null);
    }
    assert.equal(net.peer('controller').caps.maxBitrateKbps, 4000, 'the link clamp lifts with the link');
    assert.equal(net.peer('controller').linkClamp, undefined);
  });

  it('gives everything back when the link recovers though WebRTC estimates no more than the caps allow (its estimate follows them)', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 1000, screenKbps: 1500 });
    net.estimateFollowsCaps = true;
    net.run(30);
    assert.ok(
      viewers(net).every((v) => v.level > 0),
      'the narrow link cut the viewers',
    );
    net.uplinkKbps = 20_000;
    net.run(120);
    for (const v of viewers(net)) assert.equal(v.level, 0, `${v.id} is back at its tier: ${JSON.stringify(v.caps)}`);
    assert.equal(net.peer('controller').caps.maxBitrateKbps, 4000, 'the controller’s clamp lifts');
    // The narrow link's steady state is not left by probes that keep failing: over a minute at 1 Mbit/s, each guest is raised at most a few times.
    net.uplinkKbps = 1000;
    net.run(30);
    const settledAt = net.nowMs;
    net.run(60);
    for (const v of viewers(net))
      assert.ok(
        raiseTimes(net, v.id).filter((t) => t >= settledAt).length <= 2,
        `${v.id} raised ${raiseTimes(net, v.id).filter((t) => t >= settledAt).length} times in a minute`,
      );
  });

  it('after probes failed on a narrow link, a recovered link gives the rungs back at the pace of raises that hold, not of the backed-off wait', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 1000, screenKbps: 1500 });
    net.estimateFollowsCaps = true;
    // Long enough on the narrow link for probes to fail and each failure to double the next wait.
    net.run(180);
    const cutTo = Math.max(...viewers(net).map((v) => v.level));
    assert.ok(cutTo >= 2, `the viewers are several rungs down (${cutTo})`);
    net.uplinkKbps = 20_000;
    const recoveredAt = net.nowMs;
    let back: number | undefined;
    for (let i = 0; i < 120 && back === undefined; i++) {
      net.tick();
      if (viewers(net).every((v) => v.level === 0)) back = net.nowMs - recoveredAt;
    }
    console.log(
      `      ${cutTo} rungs down after 3 min at 1 Mbit/s: every viewer back at its tier ${back === undefined ? 'not within 2 min' : `${back / 1000} s`} after the link recovered`,
    );
    // The first probe may wait out the longest backoff (30 s); the rungs after it come back as fast as each holds.
    assert.ok(
      back !== undefined && back <= 60_000,
      `every viewer back at its tier within a minute (${back === undefined ? 'not within 2 min' : `${back} ms`})`,
    );
    for (const v of viewers(net)) {
      const raises = raiseTimes(net, v.id).filter((t) => t >= recoveredAt);
      for (let i = 1; i < raises.length; i++)
        assert.ok(raises[i]! - raises[i - 1]! <= 10_000, `${v.id}: raises at ${raises.map((t) => (t - recoveredAt) / 1000).join(', ')} s`);
    }
  });

  it('does not raise on headroom that breaks before it held', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 1500 });
    net.run(30);
    const before = new Map(viewers(net).map((v) => [v.id, v.level]));
    // Two ticks of room, one without, over and over: the count starts again each time.
    for (let i = 0; i < 30; i++) {
      net.uplinkKbps = i % HOLD_TICKS === HOLD_TICKS - 1 ? 3000 : 20_000;
      net.tick();
    }
    for (const v of viewers(net)) assert.ok(v.level >= before.get(v.id)!, `${v.id} was not raised`);
  });

  it('changes no guest’s caps more than once per minimum interval on a flapping estimate', () => {
    // High and low on alternate ticks.
    const fast = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000, screenKbps: 1500 });
    for (let i = 0; i < 60; i++) {
      fast.uplinkKbps = i % 2 === 0 ? 20_000 : 3000;
      fast.tick();
    }
    for (const g of CONTROLLER_AND_FOUR_VIEWERS) {
      assertSpacedByMinInterval(fast, g.id);
      // Cut once, on the first low reading; whatever comes after is what even the low estimate has room for.
      const cuts = fast.laterChanges(g.id).filter((c, i, all) => c.caps.maxBitrateKbps < (all[i - 1] ?? fast.changes.get(g.id)![0]!).caps.maxBitrateKbps);
      assert.ok(cuts.length <= 1, `${g.id} was cut ${cuts.length} times`);
    }
    // Five seconds high, five low: raises that the link takes back at once come ever more rarely.
    const slow = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000, screenKbps: 1500 });
    for (let i = 0; i < 180; i++) {
      slow.uplinkKbps = Math.floor(i / 5) % 2 === 0 ? 20_000 : 3000;
      slow.tick();
    }
    for (const g of CONTROLLER_AND_FOUR_VIEWERS) assertSpacedByMinInterval(slow, g.id);
    for (const v of ['v1', 'v2', 'v3', 'v4']) {
      const raises = raiseTimes(slow, v);
      const first = raises.filter((t) => t < 60_000).length;
      const third = raises.filter((t) => t >= 120_000).length;
      assert.ok(third > 0 && third <= first / 2, `${v} backs off: ${first} raises in the first minute, ${third} in the third`);
    }
  });

  it('never cuts a controller in place of a viewer whose caps changed too recently to change again', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 1500 });
    net.run(30);
    net.uplinkKbps = 20_000;
    while (!viewers(net).some((v) => v.changed)) net.tick();
    const raisedAt = net.nowMs - 1000;
    const controllerCaps = net.peer('controller').caps;
    // The link falls the second after the viewers were raised: they may not change for the next four.
    net.uplinkKbps = 2000;
    while (net.nowMs < raisedAt + MIN_INTERVAL_MS) {
      const decision = net.tick();
      assert.equal(decision.congested, true);
      assert.deepEqual(net.peer('controller').caps, controllerCaps, `the controller keeps its caps at ${net.nowMs - 1000} ms`);
    }
    net.tick();
    for (const v of viewers(net)) assert.ok(v.changed && v.cause === 'uplink', `${v.id} gives way as soon as it may`);
    net.run(10);
    assert.equal(net.peer('controller').caps.maxFramerate, 30);
    assert.equal(net.peer('controller').caps.scaleResolutionDownBy, 1);
  });

  it('flags a host whose encoders are CPU-limited, and lowers the viewers’ frame rate first', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000, screenKbps: 1500 });
    net.run(5);
    // The host's encoders manage 18 fps of the 30 asked.
    net.tweak = (r) => ({ ...r, fps: Math.min(r.fps, 18), qualityLimitationReason: 'cpu' });
    const decision = net.tick();
    assert.equal(decision.cpuLimited, true);
    assert.equal(decision.congested, false, 'the uplink is fine: the CPU is what limits');
    for (const v of viewers(net)) {
      assert.equal(v.caps.maxFramerate, 15, `${v.id} below what its encoder manages`);
      assert.equal(v.caps.scaleResolutionDownBy, 1, `${v.id} keeps its size`);
      assert.equal(v.cause, 'cpu');
    }
    assert.deepEqual(net.peer('controller').caps, { maxBitrateKbps: 4000, maxFramerate: 30, scaleResolutionDownBy: 1, priority: 'high' });
    // Still behind: the viewers go on down, one rung per interval, and nothing is raised meanwhile.
    net.run(40);
    for (const v of viewers(net)) assert.equal(v.caps.maxFramerate, 5);
    for (const v of ['v1', 'v2', 'v3', 'v4']) assertSpacedByMinInterval(net, v);
    // Only once no viewer has frame rate left does the controller's go.
    assert.ok(net.peer('controller').caps.maxFramerate < 30);
    assert.equal(net.peer('controller').caps.scaleResolutionDownBy, 1);
    // The CPU keeps up again: frame rates come back.
    net.tweak = (r) => r;
    net.run(120);
    for (const v of viewers(net)) assert.equal(v.caps.maxFramerate, 30);
    assert.equal(net.peer('controller').caps.maxFramerate, 30);
    assert.equal(net.last!.cpuLimited, false);
  });

  it('cuts only the guest whose own connection is in trouble: what one guest’s link does moves nobody else', () => {
    const honest = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000, screenKbps: 1500 });
    const troubled = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000, screenKbps: 1500 });
    // v3's connection, as the host measures it: heavy loss, a round trip twenty times what it was, its encoder squeezed.
    troubled.tweak = (r) =>
      r.id === 'v3' && troubled.nowMs >= 5000 ? { ...r, lossFraction: 0.3, rttMs: 800, sentKbps: 120, qualityLimitationReason: 'bandwidth' } : r;
    for (let i = 0; i < 60; i++) {
      honest.tick();
      troubled.tick();
      for (const id of ['controller', 'v1', 'v2', 'v4']) assert.deepEqual(troubled.peer(id).caps, honest.peer(id).caps, `${id} at ${troubled.nowMs} ms`);
    }
    assert.equal(troubled.peer('v3').cause, 'own-link');
    assert.ok(troubled.peer('v3').level > 0);
    assert.equal(troubled.last!.congested, false);
    assertSpacedByMinInterval(troubled, 'v3');
  });

  it('leaves alone a guest whose encoder only waits for its own estimate to ramp up: no loss, no queue, nothing to cut', () => {
    // Each guest has its own connection and estimate; after the uplink recovers they ramp back at
    // different speeds, and the slow one's encoder says 'bandwidth' meanwhile. Its path is clean.
    const honest = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000, screenKbps: 1500 });
    const ramping = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000, screenKbps: 1500 });
    ramping.tweak = (r) => (r.id === 'v3' && ramping.nowMs >= 5000 ? { ...r, sentKbps: 300, qualityLimitationReason: 'bandwidth' } : r);
    for (let i = 0; i < 60; i++) {
      honest.tick();
      ramping.tick();
      for (const id of ['controller', 'v1', 'v2', 'v3', 'v4']) assert.deepEqual(ramping.peer(id).caps, honest.peer(id).caps, `${id} at ${ramping.nowMs} ms`);
    }
    assert.equal(ramping.peer('v3').cause, null);
  });

  it('lets one spike of loss or round trip on a guest’s connection pass', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000, screenKbps: 1500 });
    net.run(5);
    net.tweak = (r) => (r.id === 'v2' ? { ...r, lossFraction: 0.4, rttMs: 600 } : r);
    net.tick();
    net.tweak = (r) => r;
    net.run(20);
    for (const g of CONTROLLER_AND_FOUR_VIEWERS) assert.equal(net.laterChanges(g.id).length, 0, `${g.id} untouched`);
  });

  it('cuts everyone from the lowest priority up when most connections lose packets, though the estimate says there is room', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 20_000, screenKbps: 1500 });
    net.run(5);
    net.tweak = (r) => ({ ...r, lossFraction: 0.15 });
    // One reading of loss is a spike, not congestion.
    assert.equal(net.tick().congested, false);
    const decision = net.tick();
    assert.equal(decision.congested, true);
    assert.ok(decision.budgetKbps! < 20_000 * 0.9, `the budget follows what is sent: ${decision.budgetKbps}`);
    for (const v of viewers(net)) assert.ok(v.level > 0);
    assert.equal(net.peer('controller').level, 0);
  });

  it('clamps a host override to the tier, and reports a tier the link cannot carry', () => {
    const guests: Guest[] = [
      { id: 'asks-too-much', tier: 'standard', override: { maxBitrateKbps: 8000, maxFramerate: 120, scaleResolutionDownBy: 0.5 } },
      { id: 'asks-less', tier: 'standard', override: { maxBitrateKbps: 800, maxFramerate: 15 } },
    ];
    const net = new FakeUplink(allocator(), guests, { uplinkKbps: 20_000, screenKbps: 1500 });
    net.run(3);
    const greedy = net.peer('asks-too-much');
    assert.deepEqual(greedy.caps, { maxBitrateKbps: 2000, maxFramerate: 30, scaleResolutionDownBy: 1, priority: 'medium' });
    assert.deepEqual(greedy.override, { asked: { maxBitrateKbps: 8000, maxFramerate: 120, scaleResolutionDownBy: 0.5 }, clamped: true });
    const modest = net.peer('asks-less');
    assert.deepEqual(modest.caps, { maxBitrateKbps: 800, maxFramerate: 15, scaleResolutionDownBy: 1, priority: 'medium' });
    assert.equal(modest.override?.clamped, false);
    // A controller alone on a 2 Mbit/s uplink: its 4 Mbit/s tier is clamped to what the link carries, and the clamp is reported.
    const small = new FakeUplink(allocator(), [{ id: 'controller', tier: 'high' }], { uplinkKbps: 2000, screenKbps: 3000 });
    small.run(3);
    assert.equal(small.peer('controller').caps.maxBitrateKbps, 1800);
    assert.deepEqual(small.peer('controller').linkClamp, { askedKbps: 4000, carriedKbps: 1800 });
    assert.equal(small.peer('controller').caps.maxFramerate, 30);
  });

  it('places a guest who joins a congested session at what the link has for it at once', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS.slice(0, 3), { uplinkKbps: 3000, screenKbps: 1500 });
    net.run(30);
    net.guests = [...net.guests, { id: 'late', tier: 'standard' }];
    net.tick();
    net.tick();
    const late = net.peer('late');
    assert.ok(late.level > 0, 'the newcomer gives way with the other viewers from its first seconds');
    assert.equal(net.peer('controller').level, 0);
    // One who leaves is forgotten: its share goes back to the others in time.
    net.guests = net.guests.filter((g) => g.id !== 'late');
    net.run(60);
    assert.equal(
      net.last!.peers.find((p) => p.id === 'late'),
      undefined,
    );
  });

  it('applies a tier the host changes at once', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 1500 });
    net.run(30);
    assert.ok(net.peer('v1').level > 0);
    net.guests = net.guests.map((g) => (g.id === 'v1' ? { ...g, tier: 'high' } : g));
    net.tick();
    const promoted = net.peer('v1');
    assert.equal(promoted.tier, 'high');
    assert.equal(promoted.changed, true);
    assert.equal(promoted.caps.priority, 'high');
    assert.equal(promoted.caps.maxFramerate, 30);
    assert.equal(promoted.caps.scaleResolutionDownBy, 1);
    // The session's tiers edited: the next decision follows them.
    net.uplinkKbps = 20_000;
    net.allocator.setTiers({ ...DEFAULT_TIERS, standard: { ...DEFAULT_TIERS.standard, maxKbps: 1000, maxFps: 15 } });
    net.tick();
    for (const v of viewers(net)) assert.ok(v.caps.maxBitrateKbps <= 1000 && v.caps.maxFramerate <= 15, `${v.id}: ${JSON.stringify(v.caps)}`);
  });

  it('keeps a guest lowered to a lesser tier on a congested link within what it had: the lower tier’s ceiling is no raise', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 1500 });
    net.run(30);
    const before = new Map(viewers(net).map((v) => [v.id, v.caps]));
    for (const caps of before.values())
      assert.ok(caps.maxBitrateKbps < DEFAULT_TIERS.low.maxKbps, `the viewers were cut below the low tier's ceiling: ${JSON.stringify(caps)}`);
    // The host cannot keep up and no SFU is there: the viewers go to the low tier.
    net.guests = net.guests.map((g) => (g.tier === 'standard' ? { ...g, tier: 'low' } : g));
    net.tick();
    const lowered = net.last!.peers.filter((p) => p.tier === 'low');
    assert.equal(lowered.length, 4);
    for (const v of lowered) {
      const was = before.get(v.id)!;
      assert.ok(
        v.caps.maxBitrateKbps <= was.maxBitrateKbps && v.caps.maxFramerate <= was.maxFramerate,
        `${v.id}: ${JSON.stringify(was)} → ${JSON.stringify(v.caps)}`,
      );
      assert.equal(v.caps.priority, 'low');
    }
  });

  it('keeps a cut controller’s frame rate when the screen changes: its clamp is kept, not its model bitrate', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 4000 });
    net.run(10);
    // The estimate drops: the viewers give way first, then the controller's clamp tightens.
    net.estimateKbps = 1500;
    net.run(10);
    const before = net.peer('controller');
    assert.equal(before.cause, 'uplink', `the controller was cut: ${JSON.stringify(before)}`);
    assert.equal(before.caps.maxFramerate, 30);
    // The screen changes (its rate, so the ladder is built again): the controller keeps 30 fps within its clamp.
    const allocation = net.allocator.next({
      nowMs: net.nowMs,
      availableKbps: 1500,
      screen: { ...SCREEN, fps: 60 },
      peers: net.readings(),
    });
    const after = allocation.peers.find((p) => p.id === 'controller')!;
    assert.ok(after.caps.maxFramerate >= 30, `${JSON.stringify(before.caps)} → ${JSON.stringify(after.caps)}`);
    assert.ok(after.caps.maxBitrateKbps <= before.caps.maxBitrateKbps);
  });

  it('places a guest promoted during one high reading of the estimate at what the link carried before it', () => {
    const net = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 4000 });
    net.run(30);
    const budget = net.last!.budgetKbps!;
    // Each connection's estimate ramps and probes on its own: their sum jumps for a second.
    net.estimateKbps = 20_000;
    net.guests = net.guests.map((g) => (g.id === 'v1' ? { ...g, tier: 'high' } : g));
    net.tick();
    // At most what the link carried before the jump, with the four others at their floor.
    const promoted = net.peer('v1');
    assert.ok(promoted.caps.maxBitrateKbps <= budget - 4 * 150, `placed at ${promoted.caps.maxBitrateKbps} kbit/s; the link carried ${budget}`);
    assert.equal(promoted.caps.maxFramerate, 30, 'the promoted guest gets its tier’s frame rate at once');
  });

  it('says when the uplink cannot carry every guest even at its floor', () => {
    const crowd: Guest[] = [{ id: 'controller', tier: 'high' }, ...Array.from({ length: 24 }, (_, i) => ({ id: `v${i}`, tier: 'standard' as const }))];
    const net = new FakeUplink(allocator(), crowd, { uplinkKbps: 3000, screenKbps: 1500 });
    const decision = net.run(10);
    assert.equal(decision.saturated, true, '25 guests × 150 kbit/s is more than 2.7 Mbit/s');
    assert.equal(decision.congested, true);
    for (const p of decision.peers) assert.ok(p.caps.maxBitrateKbps >= 150 && p.caps.maxFramerate >= 5, `${p.id} is never cut below its floor`);
    const few = new FakeUplink(allocator(), CONTROLLER_AND_FOUR_VIEWERS, { uplinkKbps: 3000, screenKbps: 1500 });
    assert.equal(few.run(10).saturated, false);
  });

  it('shares nothing out while there is no estimate: guests keep their tier', () => {
    const a = allocator();
    const decision = a.next({
      nowMs: 0,
      availableKbps: null,
      screen: SCREEN,
      peers: [{ id: 'v', tier: 'standard', sentKbps: 1900, fps: 30, rttMs: null, lossFraction: 0, qualityLimitationReason: 'none' }],
    });
    assert.equal(decision.budgetKbps, null);
    assert.equal(decision.congested, false);
    assert.deepEqual(decision.peers[0]!.caps, { maxBitrateKbps: 2000, maxFramerate: 30, scaleResolutionDownBy: 1, priority: 'medium' });
    assert.equal(decision.peers[0]!.changed, true, 'a new guest’s caps are always applied');
  });
});

describe('Encoder caps on a WebRTC sender', () => {
  const caps: EncoderCaps = { maxBitrateKbps: 816, maxFramerate: 5, scaleResolutionDownBy: 1.5, priority: 'medium' };

  it('maps caps to encoding parameters: bits per second, frame rate, downscale, and the tier’s priority for both the encoder and the network', () => {
    assert.deepEqual(encodingParameters(caps), {
      maxBitrate: 816_000,
      maxFramerate: 5,
      scaleResolutionDownBy: 1.5,
      priority: 'medium',
      networkPriority: 'medium',
    });
  });

  it('leaves the rest of each encoding as it was: a guest on direct video keeps its RTP encoding off', () => {
    const encodings: RTCRtpEncodingParameters[] = [{ rid: 'f', active: false, maxBitrate: 4_000_000 }];
    assert.deepEqual(withCaps(encodings, caps), [
      { rid: 'f', active: false, maxBitrate: 816_000, maxFramerate: 5, scaleResolutionDownBy: 1.5, priority: 'medium', networkPriority: 'medium' },
    ]);
    assert.equal(encodings[0]!.maxBitrate, 4_000_000, 'the encodings given are not changed in place');
  });

  it('sets them with one setParameters, and none when the sender already has them or has no encoding yet', async () => {
    let params = { transactionId: 't1', degradationPreference: 'maintain-resolution', encodings: [{ active: true }] as RTCRtpEncodingParameters[] };
    const set: unknown[] = [];
    const sender = {
      getParameters: () => structuredClone(params),
      setParameters: async (p: typeof params) => {
        set.push(p);
        params = structuredClone(p);
      },
    } as unknown as RTCRtpSender;
    assert.equal(await applyCaps(sender, caps), true);
    assert.deepEqual(set, [
      {
        transactionId: 't1',
        degradationPreference: 'maintain-resolution',
        encodings: [{ active: true, ...encodingParameters(caps) }],
      },
    ]);
    assert.equal(await applyCaps(sender, caps), false, 'already so');
    assert.equal(await applyCaps(sender, { ...caps, maxFramerate: 10 }), true);
    assert.equal(set.length, 2);
    params = { ...params, encodings: [] };
    assert.equal(await applyCaps(sender, caps), false, 'before the offer there is nothing to cap');
  });
});
