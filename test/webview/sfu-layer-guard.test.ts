/**
 * The SFU host's layer guard (webview/engine/sfu/sfu-layer-guard.ts): when the bandwidth estimate
 * turns the full-size simulcast layer off while the small one sends, the small one is paused so
 * the full one runs on what there is; it comes back once the estimate carries both, and a
 * restore the allocator undoes at once makes the next one wait longer.
 *
 * The readings are the shapes Chromium's getStats gives for the two layers (the still-screen
 * test through the real SFU showed them: `h target 0 avail 582 kbps (bandwidth)`).
 */
import assert from 'node:assert/strict';
import type { LayerStats } from '../../webview/engine/stats';
import { LayerGuardPolicy, restoreKbps, rtpSenderLayers, SfuLayerGuard, simulcastMinKbps } from '../../webview/engine/sfu/sfu-layer-guard';

function layer(rid: string, width: number, targetKbps: number, over: Partial<LayerStats> = {}): LayerStats {
  return {
    rid,
    width,
    encoded: 10,
    keyFrames: 1,
    plis: 0,
    targetKbps,
    active: true,
    limited: targetKbps === 0 ? 'bandwidth' : 'none',
    availableKbps: 0,
    ...over,
  };
}

/** The full-size layer turned off by the estimate, the half-size one sending. */
const starved = [layer('h', 0, 0), layer('q', 640, 250, { limited: 'bandwidth' })];
/** Both sending. */
const both = [layer('h', 1280, 1234), layer('q', 640, 250)];
/** The small one paused (by the guard), the full one on the whole estimate. */
const topOnly = [layer('h', 1280, 500), layer('q', 640, 0, { active: false, limited: 'none' })];

describe('SFU layer guard: the full-size layer stays on when the bandwidth estimate sinks', () => {
  it('knows the threshold libwebrtc holds the full-size layer to', () => {
    assert.equal(simulcastMinKbps(1920, 1080), 800);
    assert.equal(simulcastMinKbps(1280, 720), 600);
    assert.equal(simulcastMinKbps(640, 360), 150);
    // 720p with a 300 kbps half layer: (300 + 1.35 × 600) × 1.15
    assert.equal(restoreKbps({ width: 1280, height: 720 }, 300), 1277);
  });

  it('does nothing while every layer sends, or when the estimate alone is low but the top layer runs', () => {
    const policy = new LayerGuardPolicy({ restoreKbps: 1277 });
    assert.equal(policy.next({ layers: both, availableKbps: 3400, nowMs: 0 }), 'none');
    assert.equal(policy.next({ layers: [layer('h', 1280, 900), layer('q', 640, 250)], availableKbps: 1200, nowMs: 500 }), 'none');
    // The top layer paused by LiveKit's dynacast (nobody watches it) is not starvation.
    assert.equal(
      policy.next({ layers: [layer('h', 1280, 0, { active: false, limited: 'none' }), layer('q', 640, 250)], availableKbps: 300, nowMs: 1000 }),
      'none',
    );
    assert.equal(policy.state, 'all-layers');
  });

  it('pauses the small layer when the estimate turns the full one off, and brings it back once the estimate carries both', () => {
    const policy = new LayerGuardPolicy({ restoreKbps: 1277 });
    assert.equal(policy.next({ layers: starved, availableKbps: 582, nowMs: 1000 }), 'pause-lower');
    assert.equal(policy.state, 'top-only');
    assert.equal(policy.next({ layers: topOnly, availableKbps: 900, nowMs: 1500 }), 'none');
    // One good reading is not enough: two in a row.
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1400, nowMs: 2000 }), 'none');
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1000, nowMs: 2500 }), 'none');
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1400, nowMs: 3000 }), 'none');
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1500, nowMs: 3500 }), 'resume-lower');
    assert.equal(policy.state, 'all-layers');
  });

  it('pauses again when LiveKit turns the small layer back on while the estimate is still low', () => {
    const policy = new LayerGuardPolicy({ restoreKbps: 1277 });
    policy.next({ layers: starved, availableKbps: 582, nowMs: 0 });
    assert.equal(policy.next({ layers: starved, availableKbps: 582, nowMs: 500 }), 'pause-lower');
    assert.equal(policy.state, 'top-only');
  });

  it('brings the small layer back at once when nobody watches the full one any more', () => {
    const policy = new LayerGuardPolicy({ restoreKbps: 1277 });
    policy.next({ layers: starved, availableKbps: 582, nowMs: 0 });
    const fullPaused = [layer('h', 1280, 0, { active: false, limited: 'none' }), layer('q', 640, 0, { active: false, limited: 'none' })];
    assert.equal(policy.next({ layers: fullPaused, availableKbps: 582, nowMs: 500 }), 'resume-lower');
    assert.equal(policy.state, 'all-layers');
  });

  it('waits longer after a restore the allocator undid at once, so the layers do not flap', () => {
    const policy = new LayerGuardPolicy({ restoreKbps: 1277, restoreReadings: 1 });
    policy.next({ layers: starved, availableKbps: 582, nowMs: 0 });
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1300, nowMs: 500 }), 'resume-lower');
    // Starved again 1 s later: the next restore waits 2 s, then 4 s.
    assert.equal(policy.next({ layers: starved, availableKbps: 1100, nowMs: 1500 }), 'pause-lower');
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1300, nowMs: 2000 }), 'none');
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1300, nowMs: 3600 }), 'resume-lower');
    assert.equal(policy.next({ layers: starved, availableKbps: 1100, nowMs: 4000 }), 'pause-lower');
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1300, nowMs: 7000 }), 'none');
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1300, nowMs: 8100 }), 'resume-lower');
    // A restore that held for long resets the wait.
    assert.equal(policy.next({ layers: starved, availableKbps: 500, nowMs: 60_000 }), 'pause-lower');
    assert.equal(policy.next({ layers: topOnly, availableKbps: 1300, nowMs: 60_500 }), 'resume-lower');
  });

  it('turns the small encodings of the real sender off and on, leaving the largest alone', async () => {
    const encodings: RTCRtpEncodingParameters[] = [
      { rid: 'q', scaleResolutionDownBy: 2, active: true },
      { rid: 'h', scaleResolutionDownBy: 1, active: true },
    ];
    const set: boolean[][] = [];
    const sender = {
      getParameters: () => ({ encodings: encodings.map((e) => ({ ...e })) }),
      setParameters: async (p: { encodings: RTCRtpEncodingParameters[] }) => {
        set.push(p.encodings.map((e) => e.active !== false));
        p.encodings.forEach((e, i) => Object.assign(encodings[i]!, e));
      },
    } as unknown as RTCRtpSender;
    const guarded = rtpSenderLayers(sender, () => Promise.resolve({ layers: [], availableKbps: 0 }));
    await guarded.setLowerLayersActive(false);
    await guarded.setLowerLayersActive(false); // already so: no second call
    await guarded.setLowerLayersActive(true);
    assert.deepEqual(set, [
      [false, true],
      [true, true],
    ]);
  });

  it('acts on its readings through the sender, logs why, and stops reading once closed', async () => {
    let readings = [
      { layers: starved, availableKbps: 582 },
      { layers: topOnly, availableKbps: 1400 },
      { layers: topOnly, availableKbps: 1400 },
    ];
    const calls: boolean[] = [];
    const logs: string[] = [];
    let now = 0;
    const guard = new SfuLayerGuard(
      {
        readLayers: async () => readings.shift() ?? { layers: both, availableKbps: 3000 },
        setLowerLayersActive: async (active) => void calls.push(active),
      },
      { restoreKbps: 1277, intervalMs: 60_000 },
      (_level, message) => logs.push(message),
      () => (now += 500),
    );
    assert.equal(await guard.check(), 'pause-lower');
    assert.equal(await guard.check(), 'none');
    assert.equal(await guard.check(), 'resume-lower');
    assert.deepEqual(calls, [false, true]);
    assert.deepEqual(guard.counts, { paused: 1, resumed: 1 });
    assert.match(logs[0]!, /582 kbps is too low for every layer/);
    guard.close();
    guard.close();
    assert.equal(guard.closed, true);
    readings = [{ layers: starved, availableKbps: 100 }];
    assert.equal(await guard.check(), 'none');
    assert.equal(readings.length, 1, 'a closed guard reads nothing');
  });
});
