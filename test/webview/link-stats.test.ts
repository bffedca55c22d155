/**
 * The link figures the status lines and benches read (webview/engine/stats.ts, sfu-stats.ts):
 * they come from the candidate pair the transport selected, not from whichever pair once
 * succeeded. A connection that moved to TURN (or back) keeps its old pair in the report, with
 * that path's bandwidth estimate.
 */
import assert from 'node:assert/strict';
import { selectedCandidatePair } from '../../webview/engine/stats';
import { trackOutboundStats } from '../../webview/engine/sfu/sfu-stats';

/** A report as Chromium gives it: the old, once-succeeded pair listed before the selected one. */
function report(): Map<string, Record<string, unknown>> {
  const entries: Array<Record<string, unknown>> = [
    {
      id: 'old',
      type: 'candidate-pair',
      state: 'succeeded',
      localCandidateId: 'l-host',
      remoteCandidateId: 'r-host',
      availableOutgoingBitrate: 300_000,
      currentRoundTripTime: 0.2,
    },
    {
      id: 'now',
      type: 'candidate-pair',
      state: 'succeeded',
      localCandidateId: 'l-relay',
      remoteCandidateId: 'r-host',
      availableOutgoingBitrate: 2_500_000,
      currentRoundTripTime: 0.03,
    },
    { id: 't', type: 'transport', selectedCandidatePairId: 'now' },
    { id: 'l-host', type: 'local-candidate', candidateType: 'host', protocol: 'udp' },
    { id: 'l-relay', type: 'local-candidate', candidateType: 'relay', protocol: 'udp' },
    { id: 'r-host', type: 'remote-candidate', candidateType: 'host' },
    { id: 'h', type: 'outbound-rtp', kind: 'video', rid: 'h', frameWidth: 1920, framesEncoded: 10, bytesSent: 1000 },
    { id: 'q', type: 'outbound-rtp', kind: 'video', rid: 'q', frameWidth: 960, framesEncoded: 10, bytesSent: 300 },
  ];
  return new Map(entries.map((e) => [e.id as string, e]));
}

describe('webview: link stats come from the selected candidate pair', () => {
  it("the selected pair's type, round trip and bandwidth estimate, not the first pair that succeeded", () => {
    const pair = selectedCandidatePair(report() as unknown as RTCStatsReport);
    assert.deepEqual(pair, { localCandidateType: 'relay', remoteCandidateType: 'host', protocol: 'udp', candidateRttMs: 30, availableOutgoingKbps: 2500 });
  });

  it("each simulcast layer of an SFU host reports the selected pair's estimate", async () => {
    const stats = await trackOutboundStats({ getRTCStatsReport: () => Promise.resolve(report() as unknown as RTCStatsReport) });
    assert.deepEqual(
      stats.layerDetail.map((l) => [l.rid, l.availableKbps]),
      [
        ['h', 2500],
        ['q', 2500],
      ],
    );
    assert.equal(stats.bytesSent, 1300);
  });
});
