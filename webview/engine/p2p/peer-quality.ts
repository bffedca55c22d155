/**
 * The P2P host's quality by tier (issue 16), wired: once a second it reads what WebRTC measured
 * on every guest's RTP sender (what was sent, at what frame rate, why it was limited, the round
 * trip and the loss the guest's own reports give) and the uplink's estimate (the connections'
 * estimates added up: each one's congestion control takes its share of the one uplink), asks the
 * bandwidth allocator (quality/bandwidth-allocator.ts) for each guest's caps, and sets those that
 * changed with setParameters. Only what the host measures enters: nothing a guest says about
 * itself.
 *
 * Guests on direct video share one encoder at the top of their tiers and are not allocated here;
 * a guest on the `low` tier is not offered direct video (the host engine sends it RTP video at
 * the low tier's caps instead, an encoder of a tenth of the cost).
 */
import type { TierName, TierTable } from '../../../protocol/tiers';
import { BandwidthAllocator, type AllocatorDecision, type PeerReading, type QualityLimitation } from '../quality/bandwidth-allocator';
import { applyCaps, sameCaps, type EncoderCaps } from '../quality/encoder-caps';
import type { CapsOverride, ScreenShape } from '../quality/ladder';
import type { Logger } from '../logger';
import { outboundVideoStats, RateMeter } from '../stats';

/** One guest whose RTP encoder the host caps. */
export interface QualityPeer {
  id: string;
  tier: TierName;
  pc: RTCPeerConnection;
  sender: RTCRtpSender;
  /** The host's own caps on top of the tier (the page's bitrate setting), clamped to it. */
  override?: CapsOverride;
}

export interface PeerQualityOptions {
  /** The session's tier table (the join result's, or the defaults). */
  tiers: () => TierTable;
  screen: () => ScreenShape;
  /** The guests on RTP video now. */
  peers: () => QualityPeer[];
  log: Logger;
  intervalMs?: number;
}

const LIMITATIONS: readonly QualityLimitation[] = ['bandwidth', 'cpu', 'none', 'other'];

export class PeerQuality {
  private readonly allocator: BandwidthAllocator;
  private readonly rates = new Map<string, RateMeter>();
  /** The caps each guest's sender carries, as last set: set again whenever the decision differs (a sender gets encodings only after its offer). */
  private readonly applied = new Map<string, EncoderCaps>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private running = false;
  private _last: AllocatorDecision | undefined;
  private _closed = false;

  constructor(private readonly options: PeerQualityOptions) {
    this.allocator = new BandwidthAllocator({ tiers: options.tiers() });
  }

  get closed(): boolean {
    return this._closed;
  }

  /** The allocator's last decision (diagnostics: the host panel's figures, tests). */
  get last(): AllocatorDecision | undefined {
    return this._last;
  }

  start(): void {
    if (this._closed || this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 1000);
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round: read, decide, apply. Skipped while the last one is still reading its stats. */
  async tick(): Promise<AllocatorDecision | undefined> {
    if (this.running || this._closed) return undefined;
    this.running = true;
    try {
      const peers = this.options.peers();
      const stats = await Promise.all(peers.map((p) => outboundVideoStats(p.pc).catch(() => undefined)));
      const now = performance.now();
      const readings: PeerReading[] = [];
      let available = 0;
      let estimated = false;
      const seen = new Set<string>();
      peers.forEach((p, i) => {
        const s = stats[i];
        if (!s) return;
        seen.add(p.id);
        const meter = this.rates.get(p.id) ?? new RateMeter();
        this.rates.set(p.id, meter);
        const limitation = LIMITATIONS.includes(s.qualityLimitationReason as QualityLimitation) ? (s.qualityLimitationReason as QualityLimitation) : 'none';
        readings.push({
          id: p.id,
          tier: p.tier,
          sentKbps: (meter.update(s.bytesSent, s.timestamp || now) * 8) / 1000,
          fps: s.fps,
          rttMs: s.candidateRttMs,
          lossFraction: s.lossFraction,
          qualityLimitationReason: limitation,
          ...(p.override ? { override: p.override } : {}),
        });
        if (s.availableOutgoingKbps) {
          available += s.availableOutgoingKbps;
          estimated = true;
        }
      });
      for (const id of [...this.rates.keys()]) if (!seen.has(id)) this.rates.delete(id);
      for (const id of [...this.applied.keys()]) if (!seen.has(id)) this.applied.delete(id);
      this.allocator.setTiers(this.options.tiers());
      const decision = this.allocator.next({
        nowMs: now,
        availableKbps: estimated ? available : null,
        // Each connection's own congestion control: its estimate is bounded by the caps it may send.
        estimateFollowsCaps: true,
        screen: this.options.screen(),
        peers: readings,
      });
      this._last = decision;
      const senders = new Map(peers.map((p) => [p.id, p.sender]));
      await Promise.all(
        decision.peers
          .filter((a) => {
            const was = this.applied.get(a.id);
            return !was || !sameCaps(was, a.caps);
          })
          .map(async (a) => {
            const sender = senders.get(a.id);
            if (!sender) return;
            try {
              if (await applyCaps(sender, a.caps))
                this.options.log('debug', `caps for ${a.id} (${a.tier}${a.cause ? `, cut for ${a.cause}` : ''}): ${JSON.stringify(a.caps)}`);
              if (sender.getParameters().encodings.length > 0) this.applied.set(a.id, a.caps);
            } catch (err) {
              this.options.log('warn', `could not set ${a.id}'s encoder caps`, err);
            }
          }),
      );
      return decision;
    } finally {
      this.running = false;
    }
  }
}
