/** getStats() digests shared by host and guest: what the status lines, tests and benches read. */
import { codecLabel } from './codecs';

export interface CandidatePairInfo {
  /** 'host' | 'srflx' | 'prflx' | 'relay', or null before ICE selected a pair. */
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  /** Transport protocol of the local candidate ('udp' | 'tcp'). */
  protocol: string | null;
  /** Current STUN round-trip time of the selected pair, ms. */
  candidateRttMs: number | null;
  /** The sender's bandwidth estimate on the selected pair, kbit/s (null on a receive-only link). */
  availableOutgoingKbps: number | null;
}

export interface InboundVideoStats extends CandidatePairInfo {
  framesDecoded: number;
  framesDropped: number;
  frameWidth: number;
  frameHeight: number;
  fps: number;
  /** 'VP9', 'VP8', 'AV1', 'H264' or '' while unknown. */
  codec: string;
  bytesReceived: number;
  packetsLost: number;
  jitterMs: number;
  /** Mean ms a frame spent in the jitter buffer (jitterBufferDelay / jitterBufferEmittedCount). */
  jitterBufferMs: number;
  /** The jitter buffer's current target, ms (mean over emitted frames). */
  jitterBufferTargetMs: number;
  /** Mean ms from a frame's first packet to decoded (totalProcessingDelay / framesDecoded). */
  processingMs: number;
  /** Video freezes the receiver counted (WebRTC's definition), and their total length in ms. */
  freezeCount: number;
  freezesMs: number;
  /** P2P: whether the picture comes as RTP video or as direct video (WebCodecs over a data channel). */
  path?: 'rtp' | 'direct';
}

export interface OutboundVideoStats extends CandidatePairInfo {
  framesEncoded: number;
  framesSent: number;
  /** Encoder output rate. */
  fps: number;
  frameWidth: number;
  frameHeight: number;
  qualityLimitationReason: string;
  codec: string;
  encoderImplementation: string;
  bytesSent: number;
  targetBitrate: number;
  /** Average ms spent encoding a frame (totalEncodeTime / framesEncoded). */
  encodeMsPerFrame: number;
  /**
   * Frames the track handed this sender (media-source `frames`): more than framesEncoded means
   * the encoder side dropped some (VP9's screen-share mode does after a still stretch).
   */
  framesGiven: number;
  /** Share of packets lost on the way to the receiver, as its last report said (remote-inbound-rtp fractionLost, 0..1). */
  lossFraction: number;
  /** When the report was made (its own clock, ms; 0 without one): rates are taken between reports, not between reads. */
  timestamp: number;
}

/** One simulcast layer as the sender reports it (diagnostics: which layer starves, and why). */
export interface LayerStats {
  rid: string;
  width: number;
  encoded: number;
  keyFrames: number;
  /** Key-frame requests from the SFU (a layer switch needs one). */
  plis: number;
  targetKbps: number;
  active: boolean;
  limited: string;
  /** The congestion controller's estimate for the whole connection. */
  availableKbps: number;
}

type StatsRecord = Record<string, unknown> & { id: string; type: string };

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** Seconds summed over `count` frames → ms per frame. */
function perFrame(total: unknown, count: unknown): number {
  const n = num(count);
  return n > 0 ? (num(total) * 1000) / n : 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function records(report: RTCStatsReport): StatsRecord[] {
  const out: StatsRecord[] = [];
  report.forEach((value: StatsRecord) => out.push(value));
  return out;
}

export function selectedCandidatePair(report: RTCStatsReport): CandidatePairInfo {
  const all = records(report);
  const byId = new Map(all.map((r) => [r.id, r]));
  const transport = all.find((r) => r.type === 'transport' && typeof r.selectedCandidatePairId === 'string');
  let pair = transport ? byId.get(str(transport.selectedCandidatePairId)) : undefined;
  // Older stacks only flag the pair itself.
  pair ??= all.find((r) => r.type === 'candidate-pair' && (r.selected === true || (r.nominated === true && r.state === 'succeeded')));
  if (!pair) return { localCandidateType: null, remoteCandidateType: null, protocol: null, candidateRttMs: null, availableOutgoingKbps: null };
  const local = byId.get(str(pair.localCandidateId));
  const remote = byId.get(str(pair.remoteCandidateId));
  const rtt = pair.currentRoundTripTime;
  const outgoing = pair.availableOutgoingBitrate;
  return {
    localCandidateType: local ? str(local.candidateType) || null : null,
    remoteCandidateType: remote ? str(remote.candidateType) || null : null,
    protocol: local ? str(local.protocol) || null : null,
    candidateRttMs: typeof rtt === 'number' ? rtt * 1000 : null,
    availableOutgoingKbps: typeof outgoing === 'number' ? Math.round(outgoing / 1000) : null,
  };
}

function codecOf(report: RTCStatsReport, rtp: StatsRecord): string {
  const codec = report.get(str(rtp.codecId)) as StatsRecord | undefined;
  return codecLabel(codec ? str(codec.mimeType) : undefined);
}

/** The video receiver's numbers; zeros before anything arrived. */
export async function inboundVideoStats(pc: RTCPeerConnection | undefined): Promise<InboundVideoStats> {
  const empty: InboundVideoStats = {
    localCandidateType: null,
    remoteCandidateType: null,
    protocol: null,
    candidateRttMs: null,
    availableOutgoingKbps: null,
    framesDecoded: 0,
    framesDropped: 0,
    frameWidth: 0,
    frameHeight: 0,
    fps: 0,
    codec: '',
    bytesReceived: 0,
    packetsLost: 0,
    jitterMs: 0,
    jitterBufferMs: 0,
    jitterBufferTargetMs: 0,
    processingMs: 0,
    freezeCount: 0,
    freezesMs: 0,
  };
  if (!pc || pc.connectionState === 'closed') return empty;
  const report = await pc.getStats();
  const rtp = records(report).find((r) => r.type === 'inbound-rtp' && r.kind === 'video');
  const pair = selectedCandidatePair(report);
  if (!rtp) return { ...empty, ...pair };
  return {
    ...pair,
    framesDecoded: num(rtp.framesDecoded),
    framesDropped: num(rtp.framesDropped),
    frameWidth: num(rtp.frameWidth),
    frameHeight: num(rtp.frameHeight),
    fps: num(rtp.framesPerSecond),
    codec: codecOf(report, rtp),
    bytesReceived: num(rtp.bytesReceived),
    packetsLost: num(rtp.packetsLost),
    jitterMs: num(rtp.jitter) * 1000,
    jitterBufferMs: perFrame(rtp.jitterBufferDelay, rtp.jitterBufferEmittedCount),
    jitterBufferTargetMs: perFrame(rtp.jitterBufferTargetDelay, rtp.jitterBufferEmittedCount),
    processingMs: perFrame(rtp.totalProcessingDelay, rtp.framesDecoded),
    freezeCount: num(rtp.freezeCount),
    freezesMs: num(rtp.totalFreezesDuration) * 1000,
  };
}

/** The last read of each connection's sender figures, shared by whoever reads within its maxAgeMs. */
const lastOutbound = new WeakMap<RTCPeerConnection, { at: number; stats: Promise<OutboundVideoStats> }>();

/**
 * The video sender's numbers (one encoding: P2P sends no simulcast). `maxAgeMs` lets a reader
 * take a read made that recently for the same connection: the host page's figures and the
 * bandwidth allocator each read every guest once a second, and a getStats per connection is
 * the costly part.
 */
export function outboundVideoStats(pc: RTCPeerConnection | undefined, maxAgeMs = 0): Promise<OutboundVideoStats> {
  if (!pc) return readOutboundVideoStats(undefined);
  const now = performance.now();
  const last = lastOutbound.get(pc);
  if (last && now - last.at < maxAgeMs) return last.stats;
  const stats = readOutboundVideoStats(pc);
  lastOutbound.set(pc, { at: now, stats });
  return stats;
}

async function readOutboundVideoStats(pc: RTCPeerConnection | undefined): Promise<OutboundVideoStats> {
  const empty: OutboundVideoStats = {
    localCandidateType: null,
    remoteCandidateType: null,
    protocol: null,
    candidateRttMs: null,
    availableOutgoingKbps: null,
    framesEncoded: 0,
    framesSent: 0,
    fps: 0,
    frameWidth: 0,
    frameHeight: 0,
    qualityLimitationReason: '',
    codec: '',
    encoderImplementation: '',
    bytesSent: 0,
    targetBitrate: 0,
    encodeMsPerFrame: 0,
    framesGiven: 0,
    lossFraction: 0,
    timestamp: 0,
  };
  if (!pc || pc.connectionState === 'closed') return empty;
  const report = await pc.getStats();
  const rtp = records(report).find((r) => r.type === 'outbound-rtp' && r.kind === 'video');
  const remote = rtp ? records(report).find((r) => r.type === 'remote-inbound-rtp' && r.localId === rtp.id) : undefined;
  const source = rtp ? (report.get(str(rtp.mediaSourceId)) as StatsRecord | undefined) : undefined;
  const pair = selectedCandidatePair(report);
  if (!rtp) return { ...empty, ...pair };
  const encoded = num(rtp.framesEncoded);
  return {
    ...pair,
    framesEncoded: encoded,
    framesSent: num(rtp.framesSent),
    fps: num(rtp.framesPerSecond),
    frameWidth: num(rtp.frameWidth),
    frameHeight: num(rtp.frameHeight),
    qualityLimitationReason: str(rtp.qualityLimitationReason),
    codec: codecOf(report, rtp),
    encoderImplementation: str(rtp.encoderImplementation),
    bytesSent: num(rtp.bytesSent),
    targetBitrate: num(rtp.targetBitrate),
    encodeMsPerFrame: encoded > 0 ? (num(rtp.totalEncodeTime) * 1000) / encoded : 0,
    framesGiven: source ? num(source.frames) : 0,
    lossFraction: remote ? Math.min(1, Math.max(0, num(remote.fractionLost))) : 0,
    timestamp: num(rtp.timestamp),
  };
}

/** Turns a growing counter into a per-second rate between two readings (bitrate from bytes). */
export class RateMeter {
  private last: { value: number; at: number } | undefined;

  private rate = 0;

  /**
   * Rate per second since the previous reading, or 0 on the first one / after a reset. The same
   * reading again (one report shown twice: `at` unchanged) keeps the rate it gave.
   */
  update(value: number, at = performance.now()): number {
    const last = this.last;
    if (last && at === last.at && value === last.value) return this.rate;
    this.last = { value, at };
    this.rate = !last || value < last.value || at <= last.at ? 0 : ((value - last.value) * 1000) / (at - last.at);
    return this.rate;
  }
}
