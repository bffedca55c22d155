/**
 * Boundary: guest (side a) ⇄ host (side b) over the RTCDataChannel `pairux` of each P2P
 * connection (and LiveKit data in SFU mode, later). The host trusts nothing here: control events
 * (next issue) pass the grant check and the allowlist before anything reaches the helper.
 */
import { z } from 'zod';
import { MAX_PEER_MESSAGE_BYTES } from './limits';
import { MAX_KEY_GEN } from './share-link';
import { defineNotification, defineRequest, type Boundary } from './rpc';

export const DATA_CHANNEL_LABEL = 'pairux';

/** Guest → host round-trip probe; the guest shows the RTT in its status line. */
export const Ping = defineRequest('peer.ping', z.object({ sentAt: z.number() }), z.object({ sentAt: z.number(), hostTime: z.number() }));

/** Host → guest: the shared screen's size, so 1:1 view and (later) pointer mapping are exact. */
export const ScreenInfo = defineNotification(
  'peer.screen',
  z.object({ width: z.int().min(1).max(16384), height: z.int().min(1).max(16384), fps: z.number().min(1).max(120), source: z.string().max(64) }),
);

/**
 * Guest → host: one remote-control event. Typed loosely here on purpose: the host runs
 * `sanitizeInputEvent` (protocol/input.ts) on it, and checks that this guest holds the grant,
 * so a refusal can say exactly why.
 */
export const PeerInput = defineNotification('peer.input', z.object({ event: z.unknown() }));

/** Host → guest: input that was refused (coalesced; a few per second at most). */
export const PeerInputRefused = defineNotification(
  'peer.input.refused',
  z.object({ seq: z.int().optional(), code: z.string().max(32), reason: z.string().max(300), count: z.int().min(1) }),
);

/** WebCodecs codec strings a guest may list (`vp8`, `vp09.00.10.08`, `av01.0.08M.08`, `avc1.42E01F`…). */
const codecString = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9.]+$/);

/**
 * Guest → host: "send me direct video (protocol/direct-video.ts) in one of these codecs", best
 * first. The host answers with the codec it encodes, then sends frames on `pairux-video` and
 * stops its RTP video to this guest; it refuses (UNAVAILABLE) when it has no direct video or no
 * codec in common, and the guest keeps the RTP track.
 */
export const VideoDirect = defineRequest('peer.video.direct', z.object({ codecs: z.array(codecString).min(1).max(8) }), z.object({ codec: codecString }));

/** Guest → host: the decoder lost its place (a frame refused, a decode error); the next frame should be a key frame. */
export const VideoKeyframe = defineNotification('peer.video.keyframe', z.object({ reason: z.string().max(200) }));

/** Either way: direct video ends for this guest (the guest's decoder failed, the host's encoder did); RTP video resumes. */
export const VideoDirectStop = defineNotification('peer.video.stop', z.object({ reason: z.string().max(200) }));

/**
 * Host → guests, on the SFU path of an encrypted session: the key generation the host now sends
 * under (after each ratchet step). It travels encrypted, so only key holders read it, and lets a
 * guest move its window of keys ahead before frames outrun it; P2P frames name their key and need
 * no message.
 */
export const KeyGeneration = defineNotification('peer.keyGen', z.object({ gen: z.int().min(0).max(MAX_KEY_GEN) }));

export const peerBoundary: Boundary = {
  name: 'peer',
  maxMessageBytes: MAX_PEER_MESSAGE_BYTES,
  aToB: { requests: [Ping, VideoDirect], notifications: [PeerInput, VideoKeyframe, VideoDirectStop] },
  bToA: { requests: [], notifications: [ScreenInfo, PeerInputRefused, VideoDirectStop, KeyGeneration] },
};
