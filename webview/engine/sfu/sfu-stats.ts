/**
 * getStats() digests for LiveKit tracks, in the same shapes as the P2P engine's (stats.ts), so
 * the status lines, tests and benches read one format whatever the mode. LiveKit exposes a
 * track's sender/receiver report rather than its peer connection; the digests in stats.ts only
 * need `getStats()` and the connection state, so the report is handed to them in that shape.
 */
import { inboundVideoStats, outboundVideoStats, type InboundVideoStats, type LayerStats, type OutboundVideoStats } from '../stats';

/** LiveKit's simulcast rids, smallest layer first. */
const RID_RANK = ['q', 'h', 'f'];

interface HasReport {
  getRTCStatsReport(): Promise<RTCStatsReport | undefined>;
}

function asConnection(report: RTCStatsReport | Map<string, unknown>): RTCPeerConnection {
  return { connectionState: 'connected', getStats: () => Promise.resolve(report) } as unknown as RTCPeerConnection;
}

export async function trackInboundStats(track: HasReport | undefined): Promise<InboundVideoStats> {
  const report = await track?.getRTCStatsReport().catch(() => undefined);
  return inboundVideoStats(report ? asConnection(report) : undefined);
}

/**
 * The published screen: resolution, fps and codec of the top simulcast layer (what a guest
 * watching at full size gets), bytes summed over every layer (the host's real egress).
 */
export async function trackOutboundStats(track: HasReport | undefined): Promise<OutboundVideoStats & { layers: number; layerDetail: LayerStats[] }> {
  const report = await track?.getRTCStatsReport().catch(() => undefined);
  if (!report) return { ...(await outboundVideoStats(undefined)), layers: 0, layerDetail: [] };
  const all: Array<[string, Record<string, unknown>]> = [];
  report.forEach((value: Record<string, unknown>, key: string) => all.push([key, value]));
  const layers = all.filter(([, r]) => r.type === 'outbound-rtp' && r.kind === 'video');
  const width = (r: Record<string, unknown>): number => (typeof r.frameWidth === 'number' ? r.frameWidth : 0);
  const top = [...layers].sort((a, b) => width(b[1]) - width(a[1]))[0];
  const bytes = layers.reduce((sum, [, r]) => sum + (typeof r.bytesSent === 'number' ? r.bytesSent : 0), 0);
  const kept = new Map(all.filter(([, r]) => !(r.type === 'outbound-rtp' && r.kind === 'video') || r === top?.[1]));
  const stats = await outboundVideoStats(asConnection(kept));
  const layerDetail = layers
    .map(([, r]) => ({
      rid: typeof r.rid === 'string' ? r.rid : '',
      width: width(r),
      encoded: typeof r.framesEncoded === 'number' ? r.framesEncoded : 0,
      keyFrames: typeof r.keyFramesEncoded === 'number' ? r.keyFramesEncoded : 0,
      plis: typeof r.pliCount === 'number' ? r.pliCount : 0,
      targetKbps: typeof r.targetBitrate === 'number' ? Math.round(r.targetBitrate / 1000) : 0,
      active: r.active !== false,
      limited: typeof r.qualityLimitationReason === 'string' ? r.qualityLimitationReason : '',
      // The estimate of the pair the transport selected (stats.ts), not of any pair that once succeeded.
      availableKbps: stats.availableOutgoingKbps ?? 0,
    }))
    // By rid (a layer the allocator turned off reports no width), largest first.
    .sort((a, b) => RID_RANK.indexOf(b.rid) - RID_RANK.indexOf(a.rid) || b.width - a.width);
  return { ...stats, bytesSent: bytes, layers: layers.length, layerDetail };
}
