/**
 * The guest's SFU engine: joins the session's LiveKit room, subscribes to the host's screen
 * share only, shows it in the page's `<video>`, and sends control input to the host alone over
 * LiveKit data (lossy for pointer moves, reliable for the rest). It has the P2P GuestEngine's
 * states, events and stats, so the viewer page and its control overlay do not know which one
 * they hold.
 *
 * 'live' means LiveKit is connected AND the host's track is subscribed AND frames were decoded;
 * while LiveKit reconnects (or is down, or the host's track is gone) the state is
 * 'reconnecting', so the last picture is never presented as live. After LiveKit's own
 * reconnects give up, a new room with a fresh token is tried every few seconds.
 *
 * Adaptive stream picks the simulcast layer from the `<video>`'s size on the page; pixel density
 * 2 asks for twice that, so a fitted 1080p screen in a smaller window still gets the full-size
 * layer (text), while a hidden or tiny view drops to the small layer or pauses.
 */
import {
  ConnectionState,
  Room,
  RoomEvent,
  Track,
  VideoQuality,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type RemoteVideoTrack,
} from 'livekit-client';
import type { TierName } from '../../../protocol/tiers';
import { KeyGeneration, PeerInput, PeerInputRefused, Ping, ScreenInfo } from '../../../protocol/peer';
import type { RpcEndpoint } from '../../../protocol/rpc-endpoint';
import type { SfuAccess } from '../../../protocol/signaling';
import { TypedEmitter } from '../../../common/typed-emitter';
import { RetryTimer, SFU_ROOM_RETRY } from '../retry-timer';
import { consoleLogger, type Logger } from '../logger';
import { SfuAccessKeeper } from './sfu-access';
import { leaveRoom, SfuE2ee, type SfuEncryption } from './sfu-e2ee';
import { dataEndpoint, isLossyInput, packetText, TOPIC_TO_GUEST, TOPIC_TO_HOST } from './sfu-data';
import { routedPublisher } from './routed-data';
import { trackInboundStats } from './sfu-stats';
import { showTrack, type TrackView } from './track-view';
import type { SignalingClient } from '../signaling/signaling-client';
import type { InboundVideoStats } from '../stats';
import type { GuestEngineEvents, GuestMediaEngine, GuestState, ScreenDescription } from '../engine-types';

export interface SfuGuestEngineOptions {
  signaling: SignalingClient;
  access: SfuAccess;
  video: HTMLVideoElement;
  /** An end-to-end encrypted session: LiveKit's E2EE opens the screen track and the data packets with PairUX's keys. */
  e2ee?: SfuEncryption;
  /**
   * Show each decoded frame at once (the default) or at WebRTC's render times (`true`: the
   * `<video>` paces frames itself, smoother on a jittery link and up to a frame later).
   */
  paced?: boolean;
  log?: Logger;
}

export type SfuGuestConnection = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'closed';

/** How often the RTT is read from the subscriber's candidate pair (the SFU's round trip). */
const RTT_INTERVAL_MS = 2000;
/**
 * No frame presented for this long while LiveKit still says connected means the picture is
 * frozen (an SFU that hangs, or a link that died without closing, takes LiveKit ~15 s to notice
 * by its pings): the state turns 'reconnecting'. The host sends a frame about every second even
 * when its screen is still, so this is several missed frames, not a quiet screen.
 */
const STALL_MS = 5000;

export class SfuGuestEngine extends TypedEmitter<GuestEngineEvents> implements GuestMediaEngine {
  readonly mode = 'sfu' as const;
  private readonly log: Logger;
  private readonly signaling: SignalingClient;
  private video: HTMLVideoElement;
  private readonly keeper: SfuAccessKeeper;
  private room: Room | undefined;
  private connection: SfuGuestConnection = 'connecting';
  private track: RemoteVideoTrack | undefined;
  /** The current track in the current element. */
  private view: TrackView | undefined;
  private endpoint: { to: string; rpc: RpcEndpoint } | undefined;
  private hasFrames = false;
  /** performance.now() of the last frame presented from the current track. */
  private lastFrameAt = 0;
  private stalled = false;
  private everLive = false;
  private _state: GuestState = 'connecting';
  private _screen: ScreenDescription | undefined;
  private _rttMs: number | undefined;
  private lossyNext = false;
  private readonly retry = new RetryTimer(SFU_ROOM_RETRY.minMs, SFU_ROOM_RETRY.maxMs);
  private rttTimer: ReturnType<typeof setInterval> | undefined;
  private started = false;
  private stopped = false;
  private readonly unsubscribe: Array<() => void> = [];

  private readonly e2ee: SfuE2ee | undefined;

  constructor(private readonly options: SfuGuestEngineOptions) {
    super();
    this.log = options.log ?? consoleLogger('pairux:guest');
    this.signaling = options.signaling;
    this.video = options.video;
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.autoplay = true;
    this.keeper = new SfuAccessKeeper(options.signaling, options.access, this.log);
    this.e2ee = options.e2ee ? new SfuE2ee(options.e2ee) : undefined;
  }

  get state(): GuestState {
    return this._state;
  }
  get rttMs(): number | undefined {
    return this._rttMs;
  }
  get screen(): ScreenDescription | undefined {
    return this._screen;
  }
  /** LiveKit's side, for tests: distinct from `state`, which also needs the host's frames. */
  get sfuConnection(): SfuGuestConnection {
    return this.connection;
  }

  /** In the room with the host. Whether this guest may drive is the host's decision, checked there. */
  get inputReady(): boolean {
    return this.room?.state === ConnectionState.Connected && this.hostInRoom() !== undefined;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const s = this.signaling;
    this.unsubscribe.push(
      s.on('state', () => this.updateState()),
      // A new host (host transfer, or the host page came back as someone else): follow it.
      s.on('participants', () => this.subscribeToHost()),
      s.on('joined', ({ result, identityChanged }) => {
        // A join that could not resume made us someone new; the host knows input by that id.
        if (identityChanged && result.sfu) this.rejoin(result.sfu);
      }),
    );
    this.rttTimer = setInterval(() => {
      void this.readRtt();
      this.checkStall();
    }, RTT_INTERVAL_MS / 2);
    this.updateState();
    void this.connect(false);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    this.retry.cancel();
    if (this.rttTimer !== undefined) clearInterval(this.rttTimer);
    this.keeper.stop();
    this.endpoint?.rpc.close();
    this.endpoint = undefined;
    this.setConnection('closed');
    this.view?.close();
    this.view = undefined;
    const room = this.room;
    this.room = undefined;
    void leaveRoom(room, this.e2ee);
  }

  stats(): Promise<InboundVideoStats> {
    return trackInboundStats(this.track);
  }

  /**
   * One control event to the host only. False when it cannot leave now (not in the room, no
   * host, or this token may not publish data). The host checks everything again.
   */
  sendInput(event: unknown): boolean {
    const rpc = this.hostEndpoint();
    if (!rpc || !this.inputReady) return false;
    this.lossyNext = isLossyInput(event);
    try {
      rpc.notify(PeerInput, { event });
      return true;
    } catch (err) {
      this.log('debug', `input not sent: ${String(err)}`);
      return false;
    } finally {
      this.lossyNext = false;
    }
  }

  /** A ping on the reliable topic input's keys and buttons take: LiveKit keeps it in order. */
  async flushInput(timeoutMs: number): Promise<boolean> {
    const rpc = this.hostEndpoint();
    if (!rpc || !this.inputReady) return false;
    try {
      await rpc.request(Ping, { sentAt: performance.now() }, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  private hostInRoom(): RemoteParticipant | undefined {
    const hostId = this.signaling.hostId;
    return hostId ? this.room?.remoteParticipants.get(hostId) : undefined;
  }

  /** The endpoint to the current host, made afresh when the host changes. */
  private hostEndpoint(): RpcEndpoint | undefined {
    const hostId = this.signaling.hostId;
    if (!hostId) return undefined;
    if (this.endpoint?.to === hostId) return this.endpoint.rpc;
    this.endpoint?.rpc.close();
    const rpc = dataEndpoint({
      side: 'a',
      to: hostId,
      topic: TOPIC_TO_HOST,
      publish: routedPublisher(() => this.room),
      log: this.log,
      lossy: () => this.lossyNext,
    });
    rpc.onNotification(ScreenInfo, (screen) => {
      this._screen = screen;
      this.emit('screen', { screen });
    });
    rpc.onNotification(PeerInputRefused, (refusal) => this.emit('inputRefused', refusal));
    rpc.onNotification(KeyGeneration, ({ gen }) => this.options.e2ee?.keys.hostAt(gen));
    this.endpoint = { to: hostId, rpc };
    return rpc;
  }

  /**
   * The session focus moved the media to another SFU (failover): leave this room for the one in
   * `access` at once, rather than wait for LiveKit's own reconnects to give up on a dead server.
   */
  moveTo(access: SfuAccess): void {
    if (this.stopped || (access.room === this.keeper.current.room && access.url === this.keeper.current.url)) return;
    this.log('info', `moving to the SFU at ${access.url} (room ${access.room})`);
    this.retry.reset();
    this.rejoin(access);
  }

  /** Shows the picture in another element from now on (the end of a make-before-break move). */
  showIn(video: HTMLVideoElement): void {
    if (video === this.video) return;
    video.muted = true;
    video.playsInline = true;
    video.autoplay = true;
    this.video = video;
    const track = this.track;
    if (!track) return;
    this.view?.close();
    this.present(track, video);
    video.play().catch((err: unknown) => this.log('warn', `video.play() refused: ${String(err)}`));
    this.watchFrames(track, video);
  }

  private rejoin(access: SfuAccess): void {
    this.log('info', 'joining the LiveKit room with new access');
    this.keeper.use(access);
    const old = this.room;
    this.room = undefined;
    this.forgetTrack();
    this.retry.cancel();
    void old?.disconnect(true);
    this.setConnection('connecting');
    this.updateState();
    void this.connect(false);
  }

  private async connect(forceToken: boolean): Promise<void> {
    if (this.stopped) return;
    const access = await this.keeper.fresh(forceToken);
    if (this.stopped) return;
    const room = new Room({ adaptiveStream: { pixelDensity: 2 }, dynacast: true, disconnectOnPageLeave: true, ...this.e2ee?.options() });
    this.room = room;
    this.wire(room);
    try {
      await this.e2ee?.enable(room);
      await room.connect(access.url, access.token, { autoSubscribe: false });
      await this.e2ee?.confirmed(room);
    } catch (err) {
      if (this.room !== room) return;
      this.room = undefined;
      void room.disconnect(true);
      this.setConnection('disconnected');
      // No worker, no decryption: retrying cannot help, and the page has said why.
      if (this.e2ee?.workerFailure !== undefined) return;
      this.log('warn', `could not reach LiveKit at ${access.url}: ${String(err)}`);
      this.scheduleReconnect();
      return;
    }
    if (this.room !== room || this.stopped) return;
    this.retry.reset();
    this.setConnection('connected');
    this.subscribeToHost();
  }

  private wire(room: Room): void {
    const mine = (): boolean => this.room === room && !this.stopped;
    room
      .on(RoomEvent.TrackPublished, () => {
        if (mine()) this.subscribeToHost();
      })
      .on(RoomEvent.ParticipantConnected, () => {
        if (mine()) this.subscribeToHost();
      })
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, participant: RemoteParticipant) => {
        if (mine()) this.show(track, pub, participant);
      })
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => {
        if (!mine() || track !== this.track) return;
        this.log('info', "the host's screen is gone from the SFU");
        this.forgetTrack();
        this.updateState();
      })
      .on(RoomEvent.DataReceived, (payload, participant, _kind, topic, _encryption, senderIdentity) => {
        // Only the host speaks on this topic; the SFU's stamp, not the payload, says who sent it.
        const from = participant?.identity ?? senderIdentity;
        if (!mine() || topic !== TOPIC_TO_GUEST || !from || from !== this.signaling.hostId) return;
        const text = packetText(payload);
        if (text !== undefined) this.hostEndpoint()?.receive(text);
      })
      .on(RoomEvent.Reconnecting, () => {
        if (mine()) this.setConnection('reconnecting');
      })
      .on(RoomEvent.SignalReconnecting, () => {
        if (mine()) this.setConnection('reconnecting');
      })
      .on(RoomEvent.Reconnected, () => {
        if (!mine()) return;
        this.setConnection('connected');
        this.subscribeToHost();
      })
      .on(RoomEvent.Disconnected, () => {
        if (!mine()) return;
        this.log('warn', 'left the LiveKit room; joining again');
        this.room = undefined;
        this.forgetTrack();
        this.setConnection('disconnected');
        this.scheduleReconnect();
      });
  }

  /**
   * Subscribes to the host's screen share, and only to it, at this guest's tier: `low` takes the
   * small simulcast layer whatever its window; `high` (whoever drives, by default) is pinned to
   * the full one whatever its window, as sharp as the screen; `standard` the full one unless
   * adaptive stream (the window's size) asks for less. LiveKit still lowers any of them when its
   * own downlink cannot carry the layer.
   */
  private subscribeToHost(): void {
    const host = this.hostInRoom();
    if (!host) return;
    const tier = this.tier;
    for (const pub of host.trackPublications.values()) {
      if (pub.kind !== Track.Kind.Video || pub.source !== Track.Source.ScreenShare) continue;
      if (!pub.isSubscribed) pub.setSubscribed(true);
      if (tier === 'low') {
        pub.setVideoQuality(VideoQuality.LOW);
        this.capped.set(pub.trackSid, 'low');
      } else if (tier === 'high') {
        // The layers are q and h (LOW and MEDIUM to livekit-client): asking for HIGH, which no
        // layer names, sends the server a quality instead of the window's size, so the top layer
        // is chosen whatever the window (with an f layer, HIGH would follow the window again).
        pub.setVideoQuality(VideoQuality.HIGH);
        this.capped.set(pub.trackSid, 'high');
      } else if (this.capped.delete(pub.trackSid)) {
        // livekit-client cannot forget a quality cap; asking for the track's full size replaces
        // it, and adaptive stream's smaller size still wins (a quality cap of HIGH would not:
        // it ignores the window's size when the layers name no HIGH).
        const { width, height } = pub.dimensions ?? { width: 16_384, height: 16_384 };
        pub.setVideoDimensions({ width, height });
      }
    }
  }

  /** Screen publications this guest has capped at the small layer (`low`) or pinned to the full one (`high`). */
  private readonly capped = new Map<string, 'low' | 'high'>();

  /** This guest's quality tier as the control plane last said (its role's, or the host's choice). */
  get tier(): TierName | undefined {
    return this.signaling.self?.id ? this.signaling.participants.get(this.signaling.self.id)?.tier : undefined;
  }

  private show(track: RemoteTrack, pub: RemoteTrackPublication, participant: RemoteParticipant): void {
    if (participant.identity !== this.signaling.hostId || pub.source !== Track.Source.ScreenShare || track.kind !== Track.Kind.Video) return;
    this.track = track as RemoteVideoTrack;
    this.hasFrames = false;
    this.e2ee?.requireEncrypted(participant.identity);
    this.view?.close();
    this.present(this.track, this.video);
    this.video.play().catch((err: unknown) => this.log('warn', `video.play() refused: ${String(err)}`));
    this.watchFrames(this.track, this.video);
    this.updateState();
  }

  /** No track to show (gone, or its room left): the element keeps the last picture meanwhile. */
  private forgetTrack(): void {
    this.track = undefined;
    this.view?.close();
    this.view = undefined;
    this.hasFrames = false;
  }

  private present(track: RemoteVideoTrack, video: HTMLVideoElement): void {
    this.view = showTrack(track, video, !this.options.paced, this.log);
    this.log('info', `showing the host's screen ${this.view.presentation === 'instant' ? 'at once (each frame as decoded)' : "at WebRTC's pace"}`);
  }

  /** Every presented frame, for as long as this track in this element is the one shown: the stall check reads it. */
  private watchFrames(track: RemoteTrack, video: HTMLVideoElement): void {
    const mark = (): void => {
      if (this.track !== track || this.video !== video || this.stopped) return;
      this.lastFrameAt = performance.now();
      const changed = !this.hasFrames || this.stalled;
      this.hasFrames = true;
      this.stalled = false;
      if (changed) this.updateState();
      video.requestVideoFrameCallback(mark);
    };
    video.requestVideoFrameCallback(mark);
  }

  private checkStall(): void {
    // A hidden page presents nothing (and adaptive stream pauses it): no way to tell a stall.
    const judge = this.hasFrames && this.connection === 'connected' && document.visibilityState === 'visible';
    const stalled = judge && performance.now() - this.lastFrameAt > STALL_MS;
    if (stalled === this.stalled) return;
    this.stalled = stalled;
    if (stalled) this.log('warn', `no frame from the host for ${STALL_MS / 1000} s although LiveKit says connected`);
    this.updateState();
  }

  private async readRtt(): Promise<void> {
    if (!this.track || this.connection !== 'connected' || this.stalled) return;
    const stats = await this.stats().catch(() => undefined);
    if (stats?.candidateRttMs === null || stats?.candidateRttMs === undefined) return;
    this._rttMs = stats.candidateRttMs;
    this.emit('rtt', { rttMs: this._rttMs });
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.retry.schedule(() => {
      void this.connect(true);
    });
  }

  private setConnection(next: SfuGuestConnection): void {
    if (next === this.connection) return;
    this.log('info', `LiveKit ${this.connection} → ${next}`);
    this.connection = next;
    this.updateState();
  }

  private updateState(): void {
    const signaling = this.signaling.state;
    let next: GuestState;
    if (signaling === 'ended') next = 'ended';
    else if (signaling === 'failed') next = 'error';
    else if (this.connection === 'connected' && this.track && this.hasFrames && !this.stalled) next = 'live';
    else next = this.everLive ? 'reconnecting' : 'connecting';
    if (next === 'live') this.everLive = true;
    if (next === this._state) return;
    const previous = this._state;
    this._state = next;
    this.log('info', `state ${previous} → ${next}`);
    this.emit('state', { state: next, previous });
    if (next === 'ended' || next === 'error') this.stop();
  }
}
