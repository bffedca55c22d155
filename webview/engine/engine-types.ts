/**
 * The types the media engines share (P2P and SFU, host and guest) and the pages hold them by:
 * a leaf, so the engines and the switch between them (media-engine.ts) import it instead of each
 * other.
 */
import type { Participant, SfuAccess } from '../../protocol/signaling';
import type { VideoCodecName } from './codecs';
import type { InboundVideoStats, LayerStats, OutboundVideoStats } from './stats';

export type GuestConnectionState = 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface GuestInfo {
  id: string;
  name: string;
  role: Participant['role'];
  /** The guest's signaling presence (false while inside its reconnect grace period). */
  present: boolean;
  pcId: string | null;
  pcState: RTCPeerConnectionState | 'none';
  iceState: RTCIceConnectionState | 'none';
  state: GuestConnectionState;
}

export interface GuestStats extends OutboundVideoStats {
  guestId: string;
  name: string;
  pcId: string;
  /** How this guest gets the picture: RTP video, or direct video (WebCodecs over a data channel). */
  path: 'rtp' | 'direct';
  /** The shared direct-video encoder's figures, when this guest is on it. */
  direct?: DirectVideoSenderStats;
  /** SFU: each simulcast layer, largest first. */
  layers?: LayerStats[];
}

export interface ScreenDescription {
  width: number;
  height: number;
  fps: number;
  source: string;
}

export interface HostEngineEvents {
  /** A guest's connection state changed (also fires 'closed' when its PC is dropped). */
  guest: { guest: GuestInfo };
  /** The guest table changed in any way. */
  guests: { guests: GuestInfo[] };
  error: { message: string; guestId?: string };
}

export type GuestState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'error';

export interface GuestEngineEvents {
  state: { state: GuestState; previous: GuestState };
  screen: { screen: ScreenDescription };
  rtt: { rttMs: number };
  /** A new peer connection (pc id) is being set up. */
  peer: { pcId: string };
  /** The host refused control input (coalesced by the host: a few per second at most). */
  inputRefused: { seq?: number; code: string; reason: string; count: number };
}

export type MediaMode = 'p2p' | 'sfu';

/** How the host encodes its screen, whichever engine sends it. */
export interface ScreenEncoding {
  codec?: VideoCodecName;
  /** Bitrate cap, kbit/s (P2P: per guest; SFU: the top simulcast layer). Unset: the engine's default. */
  maxBitrateKbps?: number;
  /** Overrides the track's contentHint when set. */
  contentHint?: '' | 'detail' | 'text' | 'motion';
  degradationPreference?: RTCDegradationPreference;
  /** SFU: simulcast layers of the screen (2: full and half size; 3: the standard tier's ÷1.5 too). Default 2. */
  simulcastLayers?: 2 | 3;
}

export interface HostMediaEngine {
  readonly mode: MediaMode;
  start(): void;
  stop(): void;
  readonly screen: ScreenDescription;
  setScreen(screen: ScreenDescription): void;
  guests(): GuestInfo[];
  /** Per guest; `maxAgeMs`: a read of the sender's figures that recent may be taken (P2P: the bandwidth allocator reads each second), else a fresh one. */
  stats(maxAgeMs?: number): Promise<GuestStats[]>;
  /** SFU engines: leave the current room for this one (the focus moved the session). */
  moveTo?(access: SfuAccess): void;
  /** P2P engines: offer to every connected guest now (back from a dead SFU). */
  connectAll?(): void;
  on<K extends keyof HostEngineEvents>(type: K, listener: (event: HostEngineEvents[K]) => void): () => void;
}

export interface GuestMediaEngine {
  readonly mode: MediaMode;
  readonly state: GuestState;
  readonly rttMs: number | undefined;
  readonly screen: ScreenDescription | undefined;
  readonly inputReady: boolean;
  start(): void;
  stop(): void;
  stats(): Promise<InboundVideoStats>;
  sendInput(event: unknown): boolean;
  /**
   * Resolves once the host has had everything sent so far (one round trip on the same ordered
   * channel as input), or false after `timeoutMs`: what must land before control is given back.
   */
  flushInput(timeoutMs: number): Promise<boolean>;
  /** SFU engines: leave the current room for this one (the focus moved the session). */
  moveTo?(access: SfuAccess): void;
  /** SFU engines: play into this element from now on (the end of a staged move). */
  showIn?(video: HTMLVideoElement): void;
  on<K extends keyof GuestEngineEvents>(type: K, listener: (event: GuestEngineEvents[K]) => void): () => void;
}

export interface DirectVideoSenderStats {
  codec: string;
  peers: number;
  framesRead: number;
  framesEncoded: number;
  keyFrames: number;
  /** Frames not encoded because the encoder was behind. */
  framesSkipped: number;
  /** Frames not encoded because every guest's channel still had a queue. */
  framesWaited: number;
  /** Encoded frames held back from a guest whose channel was backed up. */
  framesHeldBack: number;
  bytesSent: number;
  /** Mean ms from a frame handed to the encoder to its output. */
  encodeMsPerFrame: number;
  width: number;
  height: number;
}
