/**
 * What the bandwidth allocator decides for one guest's encoder, and how that lands on a WebRTC
 * sender (RTCRtpEncodingParameters through setParameters). Kept apart from the policy so the
 * engines can apply caps without knowing how they were chosen.
 */
import type { Tier } from '../../../protocol/tiers';

export type SendPriority = Tier['rtcPriority'];

export interface EncoderCaps {
  maxBitrateKbps: number;
  maxFramerate: number;
  /** 1 sends the screen's full size; 1.5 a 1080p screen as 720p. */
  scaleResolutionDownBy: number;
  priority: SendPriority;
}

export type CappedEncoding = Required<Pick<RTCRtpEncodingParameters, 'maxBitrate' | 'maxFramerate' | 'scaleResolutionDownBy' | 'priority' | 'networkPriority'>>;

/**
 * The caps as encoding parameters. `priority` weighs this sender's share of the connection's
 * bandwidth estimate, `networkPriority` marks its packets (DSCP) where the network honours it:
 * both follow the guest's tier.
 */
export function encodingParameters(caps: EncoderCaps): CappedEncoding {
  return {
    maxBitrate: Math.round(caps.maxBitrateKbps * 1000),
    maxFramerate: caps.maxFramerate,
    scaleResolutionDownBy: caps.scaleResolutionDownBy,
    priority: caps.priority,
    networkPriority: caps.priority,
  };
}

/**
 * The sender's encodings with the caps applied, everything else (rid, active) as it was: a P2P
 * sender has one encoding, and turning direct video on turns RTP off through `active`, which the
 * caps must not undo.
 */
export function withCaps(encodings: readonly RTCRtpEncodingParameters[], caps: EncoderCaps): RTCRtpEncodingParameters[] {
  const capped = encodingParameters(caps);
  return encodings.map((e) => ({ ...e, ...capped }));
}

export function sameCaps(a: EncoderCaps, b: EncoderCaps): boolean {
  return (
    a.maxBitrateKbps === b.maxBitrateKbps &&
    a.maxFramerate === b.maxFramerate &&
    a.scaleResolutionDownBy === b.scaleResolutionDownBy &&
    a.priority === b.priority
  );
}

/**
 * Sets the caps on a sender: one setParameters, none when its encodings already carry them, and
 * none before the offer gave it encodings (the caps are applied on the next decision then).
 * Whatever else the parameters hold (degradationPreference, active) goes back as it came.
 */
export async function applyCaps(sender: Pick<RTCRtpSender, 'getParameters' | 'setParameters'>, caps: EncoderCaps): Promise<boolean> {
  const params = sender.getParameters();
  if (params.encodings.length === 0) return false;
  const capped = encodingParameters(caps);
  const already = params.encodings.every((e) => (Object.keys(capped) as (keyof CappedEncoding)[]).every((k) => e[k] === capped[k]));
  if (already) return false;
  params.encodings = withCaps(params.encodings, caps);
  await sender.setParameters(params);
  return true;
}
