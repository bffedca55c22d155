/**
 * What the pages hold instead of a concrete engine: the host's P2P mesh (HostEngine) or its
 * LiveKit publisher (SfuHostEngine), and the guest's P2P link (GuestEngine) or LiveKit
 * subscriber (SfuGuestEngine). The session's mode is known only from the join result, while the
 * pages wire their UI, control and bridge before joining; so each side gets a switch that stands
 * in from the start and hands over to the engine the first join chooses (`sfu` access present ⇒
 * SFU). Nothing else in the pages branches on the mode.
 */
import type { SfuAccess } from '../../protocol/signaling';
import type { VideoCodecName } from './codecs';
import { TypedEmitter } from './emitter';
import type { GuestEngineEvents, GuestState } from './guest-engine';
import type { GuestInfo, GuestStats, HostEngineEvents, ScreenDescription } from './host-engine';
import type { SignalingClient } from './signaling-client';
import { inboundVideoStats, type InboundVideoStats } from './stats';

export type MediaMode = 'p2p' | 'sfu';

/** How the host encodes its screen, whichever engine sends it. */
export interface ScreenEncoding {
  codec?: VideoCodecName;
  /** Bitrate cap, kbit/s (P2P: per guest; SFU: the top simulcast layer). Unset: the engine's default. */
  maxBitrateKbps?: number;
  /** Overrides the track's contentHint when set. */
  contentHint?: '' | 'detail' | 'text' | 'motion';
  degradationPreference?: RTCDegradationPreference;
}

/** How the status lines name the media path. */
export function mediaModeLabel(mode: MediaMode | undefined): string {
  return mode === 'sfu' ? 'via SFU' : mode === 'p2p' ? 'peer-to-peer' : '';
}

export interface HostMediaEngine {
  readonly mode: MediaMode;
  start(): void;
  stop(): void;
  readonly screen: ScreenDescription;
  setScreen(screen: ScreenDescription): void;
  guests(): GuestInfo[];
  stats(): Promise<GuestStats[]>;
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
  on<K extends keyof GuestEngineEvents>(type: K, listener: (event: GuestEngineEvents[K]) => void): () => void;
}

type Chooser<E> = (sfu: SfuAccess | undefined) => E;

/** Re-emits every event of `inner` from `outer` (the switch's listeners were added before the choice). */
function forward<M extends object>(inner: { on<K extends keyof M>(type: K, l: (e: M[K]) => void): () => void }, types: Array<keyof M>, emit: <K extends keyof M>(type: K, e: M[K]) => void): void {
  for (const type of types) inner.on(type, (e) => emit(type, e));
}

const HOST_EVENTS: Array<keyof HostEngineEvents> = ['guest', 'guests', 'error'];
const GUEST_EVENTS: Array<keyof GuestEngineEvents> = ['state', 'screen', 'rtt', 'peer', 'inputRefused'];

/**
 * The host page's engine before and after the first join. The screen set before the choice
 * (the runner's answer can come first) is handed to the chosen engine.
 */
export class HostMediaSwitch extends TypedEmitter<HostEngineEvents> implements HostMediaEngine {
  private inner: HostMediaEngine | undefined;
  private _screen: ScreenDescription;
  private started = false;
  private stopped = false;

  constructor(
    private readonly signaling: SignalingClient,
    screen: ScreenDescription,
    private readonly choose: Chooser<HostMediaEngine>,
  ) {
    super();
    this._screen = { ...screen };
    // Before the page's other 'joined' listeners (the bridge greets the runner on it).
    signaling.once('joined', ({ result }) => this.pick(result.sfu));
  }

  get mode(): MediaMode {
    return this.inner?.mode ?? 'p2p';
  }
  /** Undefined until the first join said which. */
  get chosen(): HostMediaEngine | undefined {
    return this.inner;
  }
  get screen(): ScreenDescription {
    return this.inner ? this.inner.screen : { ...this._screen };
  }

  start(): void {
    this.started = true;
    this.inner?.start();
  }

  stop(): void {
    this.stopped = true;
    this.inner?.stop();
  }

  setScreen(screen: ScreenDescription): void {
    this._screen = { ...screen };
    this.inner?.setScreen(screen);
  }

  guests(): GuestInfo[] {
    return this.inner?.guests() ?? [];
  }

  stats(): Promise<GuestStats[]> {
    return this.inner?.stats() ?? Promise.resolve([]);
  }

  private pick(sfu: SfuAccess | undefined): void {
    if (this.inner || this.stopped) return;
    const inner = this.choose(sfu);
    inner.setScreen(this._screen);
    this.inner = inner;
    forward<HostEngineEvents>(inner, HOST_EVENTS, (type, e) => this.emit(type, e));
    if (this.started) inner.start();
    this.emit('guests', { guests: inner.guests() });
  }
}

/** The guest page's engine before and after the first join. */
export class GuestMediaSwitch extends TypedEmitter<GuestEngineEvents> implements GuestMediaEngine {
  private inner: GuestMediaEngine | undefined;
  private started = false;
  private stopped = false;

  constructor(
    signaling: SignalingClient,
    private readonly choose: Chooser<GuestMediaEngine>,
  ) {
    super();
    signaling.once('joined', ({ result }) => this.pick(result.sfu));
  }

  get mode(): MediaMode {
    return this.inner?.mode ?? 'p2p';
  }
  get chosen(): GuestMediaEngine | undefined {
    return this.inner;
  }
  get state(): GuestState {
    return this.inner?.state ?? 'connecting';
  }
  get rttMs(): number | undefined {
    return this.inner?.rttMs;
  }
  get screen(): ScreenDescription | undefined {
    return this.inner?.screen;
  }
  get inputReady(): boolean {
    return this.inner?.inputReady ?? false;
  }

  start(): void {
    this.started = true;
    this.inner?.start();
  }

  stop(): void {
    this.stopped = true;
    this.inner?.stop();
  }

  stats(): Promise<InboundVideoStats> {
    return this.inner ? this.inner.stats() : inboundVideoStats(undefined);
  }

  sendInput(event: unknown): boolean {
    return this.inner?.sendInput(event) ?? false;
  }

  private pick(sfu: SfuAccess | undefined): void {
    if (this.inner || this.stopped) return;
    const inner = this.choose(sfu);
    this.inner = inner;
    forward<GuestEngineEvents>(inner, GUEST_EVENTS, (type, e) => this.emit(type, e));
    if (this.started) inner.start();
  }
}
