/** Video codec choice for the host's senders, applied with `setCodecPreferences`. */

export type VideoCodecName = 'vp9' | 'vp8' | 'av1' | 'h264';

export const VIDEO_CODECS: readonly VideoCodecName[] = ['vp9', 'vp8', 'av1', 'h264'];

const MIME: Record<VideoCodecName, string> = {
  vp9: 'video/vp9',
  vp8: 'video/vp8',
  av1: 'video/av1',
  h264: 'video/h264',
};

export function parseCodecName(value: string | null | undefined): VideoCodecName | undefined {
  const v = value?.trim().toLowerCase();
  return VIDEO_CODECS.find((c) => c === v);
}

/** 'video/VP9' → 'VP9' for display. */
export function codecLabel(mimeType: string | undefined): string {
  return mimeType ? mimeType.replace(/^video\//i, '').toUpperCase() : '';
}

/** Within a codec, which variant to put first: VP9 profile 0, H.264 packetization-mode 1 baseline. */
function variantRank(codec: RTCRtpCodec): number {
  const fmtp = codec.sdpFmtpLine ?? '';
  let rank = 0;
  if (/profile-id=2/.test(fmtp)) rank += 2;
  if (/packetization-mode=0/.test(fmtp)) rank += 2;
  if (/profile-level-id=4d|profile-level-id=64/.test(fmtp)) rank += 1;
  return rank;
}

/**
 * The capability list reordered so `preferred` comes first; everything else (other codecs, rtx,
 * red, ulpfec) keeps its order behind it, so negotiation still succeeds against any peer.
 */
export function orderCodecs(codecs: readonly RTCRtpCodec[], preferred: VideoCodecName): RTCRtpCodec[] {
  const mime = MIME[preferred];
  const first = codecs.filter((c) => c.mimeType.toLowerCase() === mime).sort((a, b) => variantRank(a) - variantRank(b));
  const rest = codecs.filter((c) => c.mimeType.toLowerCase() !== mime);
  return [...first, ...rest];
}

/**
 * Puts `preferred` first on a transceiver. Returns false when this browser cannot send it (the
 * default order then applies and the caller reports it).
 */
export function preferCodec(transceiver: RTCRtpTransceiver, preferred: VideoCodecName): boolean {
  const lists = [RTCRtpSender.getCapabilities('video')?.codecs, RTCRtpReceiver.getCapabilities('video')?.codecs];
  for (const codecs of lists) {
    if (!codecs?.some((c) => c.mimeType.toLowerCase() === MIME[preferred])) continue;
    try {
      transceiver.setCodecPreferences(orderCodecs(codecs, preferred));
      return true;
    } catch {
      // Some Chromium versions validate against the receive capabilities: try the other list.
    }
  }
  return false;
}
