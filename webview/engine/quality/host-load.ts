/**
 * Whether a peer-to-peer host keeps up with its guests (issue 16, "a host that never drowns"),
 * judged once a second from what its page measures, and said to the control plane
 * (`media.hostLoad`) only when that changes for a sustained few seconds.
 *
 * A second is bad when the host's encoders are short of CPU (an RTP encoder's
 * `qualityLimitationReason` is `cpu`, or the shared direct-video encoder skips a quarter of its
 * frames for being behind), when its uplink is saturated (most RTP encoders limited by bandwidth,
 * or direct video waiting on every guest's backed-up channel for a quarter of its frames), or when
 * even its best-served guest gets under 2/3 of the frames the screen offers (capped at the
 * target). A still screen offers too few frames to judge: those seconds count for nothing.
 * Overloaded after 8 bad seconds of the last 10 (a machine busy for a moment, or a test suite's
 * neighbours, is no reason to move a session); itself again after 10 good seconds in a row, so a
 * flapping link does not make the session flap.
 */
import type { HostLoadReport } from '../../../protocol/signaling';
import type { GuestStats } from '../engine-types';

/** Seconds looked at, and how many of them must be bad. */
const WINDOW = 10;
const BAD_IN_WINDOW = 8;
/** Good seconds in a row before an overloaded host counts as keeping up. */
const GOOD_TO_RECOVER = 10;
/**
 * Once it has said anything, the host says its state again this often (ms): overloaded, so the
 * focus may try a move again after its back-off; keeping up, so viewers lowered for its sake come
 * back once they have been low long enough.
 */
export const REPEAT_MS = 30_000;
/** Fewer frames than this a second on offer: a still screen, nothing to judge. */
const MIN_OFFERED_FPS = 3;
/** A share of frames skipped or waited that counts as the encoder (or the uplink) not keeping up. */
const SHARE_LIMITED = 0.25;
/** Under this share of the frames on offer, the host is not keeping up. */
const FPS_SHARE = 2 / 3;

/** What the page counts, cumulative, at one moment. */
export interface HostLoadReading {
  /** performance.now() ms. */
  at: number;
  /**
   * Frames the screen meant to show so far: what its source made, and what it skipped for want of
   * CPU (a starved page's generator falls behind too, so frames made alone would hide it).
   */
  framesOffered: number;
  /** The screen's frame rate: what the host aims to send. */
  targetFps: number;
  guests: readonly GuestStats[];
}

export type HostLoadSample = Omit<HostLoadReport, 'overloaded'> & { bad: boolean; judged: boolean };

/** One second's verdict from two readings a second or so apart. */
export function sampleHostLoad(before: HostLoadReading, now: HostLoadReading): HostLoadSample {
  const seconds = Math.max(0.001, (now.at - before.at) / 1000);
  const offered = Math.max(0, now.framesOffered - before.framesOffered) / seconds;
  const expectedFps = Math.min(now.targetFps, offered);
  const previous = new Map(before.guests.map((g) => [g.guestId, g]));
  let sentFps = 0;
  let rtp = 0;
  let rtpCpu = 0;
  let rtpBandwidth = 0;
  let directCpu = false;
  let directUplink = false;
  let directSeen = false;
  for (const g of now.guests) {
    if (g.path === 'direct' && g.direct) {
      const was = previous.get(g.guestId)?.direct;
      if (!was || directSeen) continue;
      directSeen = true;
      const read = g.direct.framesRead - was.framesRead;
      if (read <= 0) continue;
      sentFps = Math.max(sentFps, (g.direct.framesEncoded - was.framesEncoded) / seconds);
      directCpu = (g.direct.framesSkipped - was.framesSkipped) / read >= SHARE_LIMITED;
      directUplink = (g.direct.framesWaited - was.framesWaited) / read >= SHARE_LIMITED;
    } else {
      rtp++;
      sentFps = Math.max(sentFps, g.fps);
      if (g.qualityLimitationReason === 'cpu') rtpCpu++;
      else if (g.qualityLimitationReason === 'bandwidth') rtpBandwidth++;
    }
  }
  const judged = expectedFps >= MIN_OFFERED_FPS && now.guests.length > 0;
  const reason: HostLoadReport['reason'] =
    rtpCpu > 0 || directCpu
      ? 'encoder-cpu'
      : (rtp > 0 && rtpBandwidth * 2 > rtp) || directUplink
        ? 'uplink'
        : sentFps < FPS_SHARE * expectedFps
          ? 'low-fps'
          : undefined;
  const round = (n: number) => Math.round(n * 10) / 10;
  return { judged, bad: judged && reason !== undefined, ...(reason ? { reason } : {}), sentFps: round(sentFps), expectedFps: round(expectedFps) };
}

/**
 * Feeds on readings (about one a second) and says when the host's state changes: the report to
 * send, or undefined when there is nothing new to say.
 */
export class HostLoadWatch {
  private last: HostLoadReading | undefined;
  private readonly recent: boolean[] = [];
  private goodRun = 0;
  private overloaded = false;
  private saidAt = -Infinity;
  /** The last second's verdict, for the page's figures. */
  sample: HostLoadSample | undefined;

  get isOverloaded(): boolean {
    return this.overloaded;
  }

  /** Forget the past (the media moved, or the guests changed engine): judge afresh. */
  reset(): void {
    this.last = undefined;
    this.recent.length = 0;
    this.goodRun = 0;
    this.overloaded = false;
    this.saidAt = -Infinity;
  }

  add(reading: HostLoadReading): HostLoadReport | undefined {
    const before = this.last;
    this.last = reading;
    if (!before) return undefined;
    const s = sampleHostLoad(before, reading);
    this.sample = s;
    if (!s.judged) return this.repeat(reading.at, s);
    this.recent.push(s.bad);
    if (this.recent.length > WINDOW) this.recent.shift();
    this.goodRun = s.bad ? 0 : this.goodRun + 1;
    if (!this.overloaded && this.recent.filter(Boolean).length >= BAD_IN_WINDOW) {
      this.overloaded = true;
      this.saidAt = reading.at;
      // The second that tipped it was bad, so it has a reason.
      return { overloaded: true, reason: s.reason ?? 'low-fps', sentFps: s.sentFps, expectedFps: s.expectedFps };
    }
    if (this.overloaded && this.goodRun >= GOOD_TO_RECOVER) {
      this.overloaded = false;
      this.saidAt = reading.at;
      return { overloaded: false, sentFps: s.sentFps, expectedFps: s.expectedFps };
    }
    return this.repeat(reading.at, s);
  }

  private repeat(at: number, s: HostLoadSample): HostLoadReport | undefined {
    // Nothing said yet: a host that has always kept up has nothing to repeat.
    if (this.saidAt === -Infinity || at - this.saidAt < REPEAT_MS) return undefined;
    this.saidAt = at;
    return this.overloaded
      ? { overloaded: true, reason: s.reason ?? 'low-fps', sentFps: s.sentFps, expectedFps: s.expectedFps }
      : { overloaded: false, sentFps: s.sentFps, expectedFps: s.expectedFps };
  }
}
