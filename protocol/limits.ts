/** Size caps and role limits shared by every part; the server enforces, clients pre-check. */

/** Largest WebSocket message the control plane accepts; bigger closes the socket with 1009. */
export const MAX_SIGNALING_MESSAGE_BYTES = 64 * 1024;
/**
 * Largest message the control plane sends a client. A join's result lists every participant
 * (about 240 bytes each; a session holds up to `maxParticipants`, 1000 by default): at the 64 KiB
 * of the other direction, nobody could join or rejoin a session past ~270 people, its host
 * included.
 */
export const MAX_SIGNALING_DOWN_BYTES = 1024 * 1024;
/** Largest SDP blob relayed (a 1080p offer with simulcast is ≈ 6–10 KB). */
export const MAX_SDP_CHARS = 32 * 1024;
export const MAX_ICE_CANDIDATE_CHARS = 1024;
export const MAX_NAME_CHARS = 64;
export const MAX_TOKEN_CHARS = 2048;
export const MAX_ID_CHARS = 64;
/** Largest message on a host⇄guest data channel. */
export const MAX_PEER_MESSAGE_BYTES = 16 * 1024;

export type ParticipantRole = 'host' | 'controller' | 'viewer';
export type SessionMode = 'auto' | 'p2p' | 'sfu';
export type MediaMode = 'p2p' | 'sfu';

/** Per-role caps from the scaling strategy: host 1, controllers 3, viewers ~25 in P2P. */
/** Keyed by where the media flows (an `auto` session has P2P's limits until it moves to the SFU). */
export const ROLE_LIMITS: Record<MediaMode, Record<ParticipantRole, number>> = {
  p2p: { host: 1, controller: 3, viewer: 25 },
  sfu: { host: 1, controller: 3, viewer: 100 },
};

/** How long a dropped participant keeps its identity and role. */
export const DEFAULT_RECONNECT_GRACE_MS = 30_000;
/** Default lifetime of a share link. */
export const DEFAULT_LINK_TTL_SECONDS = 24 * 60 * 60;
/** Longest a share link may live. */
export const MAX_LINK_TTL_SECONDS = 30 * 24 * 60 * 60;

/** An `auto` session moves to the SFU when it reaches this many participants, host included. */
export const DEFAULT_AUTO_SFU_AT = 10;
