/** A guest's connection in one word for the host (webview/engine/quality/network-quality.ts), from what the host measures. */
import assert from 'node:assert/strict';
import { networkQuality } from '../../webview/engine/quality/network-quality';

describe("webview: a guest's network quality as the host sees it", () => {
  it('good when the guest gets the frames on offer over a short, clean path', () => {
    const q = networkQuality({ fps: 29, expectedFps: 30, rttMs: 20, lossFraction: 0 });
    assert.deepEqual(q, { quality: 'good', why: '29 of 30 fps, 20 ms round trip, 0.0 % lost' });
  });

  it('fair, then poor, as its frame rate falls behind, its round trip grows or its loss rises', () => {
    const base = { fps: 30, expectedFps: 30, rttMs: 20, lossFraction: 0 };
    assert.equal(networkQuality({ ...base, fps: 20 }).quality, 'fair');
    assert.equal(networkQuality({ ...base, fps: 10 }).quality, 'poor');
    assert.equal(networkQuality({ ...base, rttMs: 200 }).quality, 'fair');
    assert.equal(networkQuality({ ...base, rttMs: 450 }).quality, 'poor');
    assert.equal(networkQuality({ ...base, lossFraction: 0.03 }).quality, 'fair');
    assert.equal(networkQuality({ ...base, lossFraction: 0.1 }).quality, 'poor');
  });

  it('a still screen offers too few frames to judge a guest by its rate', () => {
    assert.equal(networkQuality({ fps: 0, expectedFps: 1, rttMs: 30, lossFraction: 0 }).quality, 'good');
    assert.match(networkQuality({ fps: 0, expectedFps: 1, rttMs: null, lossFraction: 0 }).why, /round trip unknown/);
  });
});
