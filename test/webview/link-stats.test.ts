/**
 * The link figures the status lines and benches read (webview/engine/stats.ts, sfu-stats.ts):
 * they come from the candidate pair the transport selected, not from whichever pair once
 * succeeded. A connection that moved to TURN (or back) keeps its old pair in the report, with
 * that path's bandwidth estimate.
 */
import assert from 'node:assert/strict';
import { outboundVideoStats, RateMeter, selectedCandidatePair } from '../../webview/engine/stats';
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

describe('webview: sender figures read once a second per connection, whoever reads them', () => {
  /** A connection whose getStats is counted, its sender's byte count rising by 1000 and its report's clock by 1000 ms a read. */
  function counted(): { pc: RTCPeerConnection; reads: () => number } {
    let reads = 0;
    const pc = {
      connectionState: 'connected',
      getStats: async () => {
        reads++;
        return new Map([['o', { id: 'o', type: 'outbound-rtp', kind: 'video', bytesSent: reads * 1000, timestamp: reads * 1000 }]]);
      },
    };
    return { pc: pc as unknown as RTCPeerConnection, reads: () => reads };
  }

  it('a reader that accepts a recent read shares the last one; the default reads afresh', async () => {
    const { pc, reads } = counted();
    const fresh = await outboundVideoStats(pc);
    assert.equal(reads(), 1);
    const shared = await outboundVideoStats(pc, 60_000);
    assert.equal(reads(), 1, 'the host page took the allocator’s read');
    assert.deepEqual(shared, fresh);
    await outboundVideoStats(pc);
    assert.equal(reads(), 2, 'the allocator reads afresh');
    await outboundVideoStats(pc, 0);
    assert.equal(reads(), 3);
  });

  it('a rate taken between reports: the same report read twice keeps the rate, not 0', () => {
    const meter = new RateMeter();
    assert.equal(meter.update(1000, 1000), 0, 'one reading: no rate yet');
    assert.equal(meter.update(3000, 2000), 2000);
    assert.equal(meter.update(3000, 2000), 2000, 'the same report again');
    assert.equal(meter.update(3000, 3000), 0, 'a later report with nothing sent');
  });
});
