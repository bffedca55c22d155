/**
 * A guest's quality ladder (webview/engine/quality/ladder.ts): the caps the bandwidth allocator
 * walks down, in the order it takes from a guest — frame rate, then resolution, then bitrate.
 */
import assert from 'node:assert/strict';
import { DEFAULT_TIERS } from '../../protocol/tiers';
import { buildLadder, clampOverride, DEFAULT_FLOORS, maxScaleFor, type Rung } from '../../webview/engine/quality/ladder';

const SCREEN_1080P = { width: 1920, height: 1080, fps: 30 };

/** The index of the first rung that is not `step` (or the length). */
function endOf(ladder: Rung[], from: number, step: Rung['step']): number {
  let i = from;
  while (i < ladder.length && ladder[i]!.step === step) i++;
  return i;
}

describe('Quality ladder: what a guest gives up, in order', () => {
  it('starts at the tier, then gives frame rate down to the floor, then size, then bitrate', () => {
    const ladder = buildLadder(DEFAULT_TIERS.standard, SCREEN_1080P);
    assert.deepEqual(ladder[0], { kbps: 2000, fps: 30, scale: 1, step: 'top' });
    const fpsEnd = endOf(ladder, 1, 'fps');
    const scaleEnd = endOf(ladder, fpsEnd, 'scale');
    assert.equal(endOf(ladder, scaleEnd, 'bitrate'), ladder.length, 'nothing after the bitrate rungs');
    assert.ok(fpsEnd > 1 && scaleEnd > fpsEnd && ladder.length > scaleEnd, 'each kind of step is there');
    for (let i = 1; i < fpsEnd; i++) {
      assert.ok(ladder[i]!.fps < ladder[i - 1]!.fps);
      assert.equal(ladder[i]!.scale, 1, 'full size while frame rate goes');
    }
    assert.equal(ladder[fpsEnd - 1]!.fps, DEFAULT_FLOORS.fps);
    for (let i = fpsEnd; i < ladder.length; i++) assert.equal(ladder[i]!.fps, DEFAULT_FLOORS.fps, 'frame rate stays at its floor after');
    for (let i = fpsEnd; i < scaleEnd; i++) assert.ok(ladder[i]!.scale > ladder[i - 1]!.scale);
    assert.equal(ladder[scaleEnd - 1]!.scale, DEFAULT_TIERS.standard.maxScaleDown);
    for (let i = 1; i < ladder.length; i++) assert.ok(ladder[i]!.kbps < ladder[i - 1]!.kbps, `rung ${i} costs less than the one above`);
    assert.equal(ladder[ladder.length - 1]!.kbps, DEFAULT_FLOORS.kbps);
  });

  it('never scales past the tier’s maxScaleDown: the driver’s picture keeps its full size', () => {
    for (const name of ['high', 'standard', 'low'] as const) {
      const ladder = buildLadder(DEFAULT_TIERS[name], SCREEN_1080P);
      assert.ok(Math.max(...ladder.map((r) => r.scale)) <= DEFAULT_TIERS[name].maxScaleDown, name);
    }
    assert.ok(buildLadder(DEFAULT_TIERS.high, SCREEN_1080P).every((r) => r.scale === 1));
  });

  it('scales a small shared window less: never below 540 lines', () => {
    assert.equal(maxScaleFor(DEFAULT_TIERS.standard, { width: 1280, height: 720, fps: 30 }), 1.33);
    assert.equal(maxScaleFor(DEFAULT_TIERS.low, { width: 800, height: 500, fps: 30 }), 1);
    assert.equal(maxScaleFor(DEFAULT_TIERS.low, { width: 3840, height: 2160, fps: 30 }), 2, 'a 4K screen: the tier is the limit');
  });

  it('sends no more frames than the screen has, and has no frame-rate rungs when the screen is already at the floor', () => {
    assert.equal(buildLadder(DEFAULT_TIERS.high, { ...SCREEN_1080P, fps: 60 })[0]!.fps, 60);
    assert.equal(buildLadder(DEFAULT_TIERS.standard, { ...SCREEN_1080P, fps: 60 })[0]!.fps, 30);
    const slow = buildLadder(DEFAULT_TIERS.standard, { ...SCREEN_1080P, fps: 5 });
    assert.equal(slow[0]!.fps, 5);
    assert.ok(slow.every((r) => r.step !== 'fps'));
  });

  it('starts a guest the host capped at the host’s caps', () => {
    const ladder = buildLadder(DEFAULT_TIERS.standard, SCREEN_1080P, { maxBitrateKbps: 800, maxFramerate: 15 });
    assert.deepEqual(ladder[0], { kbps: 800, fps: 15, scale: 1, step: 'top' });
    assert.ok(ladder.every((r) => r.kbps <= 800 && r.fps <= 15));
  });

  it('clamps a host override to the tier’s limits and the floors, and says so', () => {
    assert.deepEqual(clampOverride({ maxBitrateKbps: 8000, maxFramerate: 120, scaleResolutionDownBy: 4 }, DEFAULT_TIERS.standard), {
      applied: { maxBitrateKbps: 2000, maxFramerate: 30, scaleResolutionDownBy: 1.5 },
      clamped: true,
    });
    assert.deepEqual(clampOverride({ maxBitrateKbps: 20, maxFramerate: 1 }, DEFAULT_TIERS.standard), {
      applied: { maxBitrateKbps: 150, maxFramerate: 5 },
      clamped: true,
    });
    assert.deepEqual(clampOverride({ maxBitrateKbps: 1000 }, DEFAULT_TIERS.standard), { applied: { maxBitrateKbps: 1000 }, clamped: false });
  });
});
