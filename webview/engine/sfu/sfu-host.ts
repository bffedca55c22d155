/**
 * The host's SFU engine: joins the session's LiveKit room with the access from the join result,
 * publishes the shared screen ONCE as a screen-share track with simulcast (the SFU fans it out,
 * so the host's cost does not grow with the guests), and takes guests' control input from
 * LiveKit data through SfuHostData (sender identity from LiveKit, role from the control plane)
 * into the same HostInputGate the P2P engine uses.
 *
 * Publish settings (why): H.264 with two simulcast layers, VP8 where the host cannot send H.264
 * or VP8 is asked for. LiveKit 1.13.5 cannot take VP9/AV1 as rid simulcast (livekit-client needs
 * a server newer than 1.13.6 for that) and publishes a VP9 screen share as one spatial layer
 * (L1T3) with the track's hint forced to 'motion', which lets the encoder trade resolution away:
 * no layers and blurrier text. H.264 (OpenH264) encodes a 1080p frame in 10-15 ms here where
 * VP8 took 35-75 (libvpx's threads wait on each other when the cores are shared): bench:latency
 * SFU 1080p30, VP8 → H.264: still 49/197 → 26/34 ms, typing 44/88 → 32/77, busy 65/99 → 32/48,
 * scroll 307/766 → 215/332. Every browser PairUX supports and VS Code (since 1.72) decode H.264.
 * The top layer is the screen's own size at its frame rate (≤ 5 Mbps at 1080p30, see
 * defaultMaxBitrate); the second is half size, for guests on a small window or a poor link, at
 * the SAME frame rate: Chromium's VP8 simulcast encoder drops a
 * frame from every layer when a lower layer's rate cap drops it, and at 15 fps the half layer
 * dropped most of a still screen's frames (one change after a still second, then quick repeats):
 * the top layer encoded 26-31 of 97 frames given, a change showed up to 1-2 s late, and LiveKit,
 * seeing the top layer go quiet, switched viewers down and up again with key frames (issue 13:
 * SFU still row 1004/1995 ms → 50-80/75-250 ms). Dynacast pauses the half layer when nobody
 * watches it, so its frame rate costs nothing then. maintain-resolution, so congestion costs
 * frames, not legibility. A third layer at the standard tier's size (÷1.5, `simulcastLayers: 3`)
 * is there to measure, not on by default: bench:tiers at 1080p30 on a busy screen measured the
 * host at 0.73 cores with it against 0.60 without, and no guest of the run took it.
 *
 * Survives LiveKit going away: the client's own reconnects first; after it gives up, a new room
 * with a fresh token every few seconds, republishing the screen. The MediaStreamTrack given to
 * LiveKit is a clone of the page's track: LiveKit stops the tracks of a room that disconnects,
 * and the page's generator track must outlive any one room.
 */
import {
  ConnectionState,
  DisconnectReason,
  Room,
  RoomEvent,
  Track,
  VideoPreset,
  type LocalTrackPublication,
  type RemoteParticipant,
  type TrackPublishOptions,
  type VideoCodec,
} from 'livekit-client';
import type { SfuAccess } from '../../../protocol/signaling';
import { TypedEmitter } from '../../../common/typed-emitter';
import { RetryTimer, SFU_ROOM_RETRY } from '../retry-timer';
import type { HostInputGate } from '../input/host-input';
import type { LayerStats } from '../stats';
import { consoleLogger, type Logger } from '../logger';
import { SfuAccessKeeper } from './sfu-access';
import { SfuHostData } from './sfu-data';
import { routedPublisher } from './routed-data';
import { leaveRoom, SfuE2ee, type SfuEncryption } from './sfu-e2ee';
import { restoreKbps, rtpSenderLayers, SfuLayerGuard } from './sfu-layer-guard';
import { trackOutboundStats } from './sfu-stats';
import type { SignalingClient } from '../signaling/signaling-client';
import type { GuestConnectionState, GuestInfo, GuestStats, HostEngineEvents, HostMediaEngine, ScreenDescription, ScreenEncoding } from '../engine-types';

/**
 * `codec`: vp8 is published as asked, anything else as h264 (see the header);
 * `maxBitrateKbps` caps the top layer, by default from the screen's size and rate.
 */
export interface SfuHostEngineOptions extends ScreenEncoding {
  signaling: SignalingClient;
  access: SfuAccess;
  track: MediaStreamTrack;
  screen: ScreenDescription;
  input?: HostInputGate;
  /** An end-to-end encrypted session: LiveKit's E2EE on the screen track and the data packets, with PairUX's keys. */
  e2ee?: SfuEncryption;
  log?: Logger;
}

export type SfuHostConnection = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'closed';

/** What the host page's test hook shows about the SFU side. */
export interface SfuHostSnapshot {
  connection: SfuHostConnection;
  room: string;
  /** Video tracks this host has published in the current room (1 while sharing, whatever the guest count). */
  publishedTracks: number;
  codec: string;
  /** Encodings of the published track (simulcast layers). */
  layers: number;
  /** Rooms joined so far (a full reconnect adds one). */
  connects: number;
  /** Times the layer guard sent the full-size layer alone, and brought the others back. */
  layerGuard: { paused: number; resumed: number; state: string } | null;
  /** Fresh LiveKit tokens asked of the control plane (`sfu.access`). */
  tokenRefreshes: number;
  data: SfuHostData['counts'];
  /** LiveKit's E2EE is on in the current room (an encrypted session). */
  e2ee: boolean;
}

/**
 * Cap of the full-size layer: LiveKit's own 1080p30 screen-share preset (5 Mbps), scaled by area
 * and frame rate. A still code screen needs a fraction of it (≈ 0.5 Mbps measured for VP8
 * 'detail'); the headroom is for scrolling and page changes, where a tight cap blurs text.
 */
export function defaultMaxBitrate(screen: ScreenDescription): number {
  const area = (screen.width * screen.height) / (1920 * 1080);
  const rate = Math.max(0.5, Math.min(2, screen.fps / 30));
  return Math.round(Math.min(10_000_000, Math.max(1_000_000, 5_000_000 * area * rate)));
}

/** Publish options for the shared screen (exported for the tests that pin them). */
export function screenPublishOptions(
  screen: ScreenDescription,
  o: Pick<SfuHostEngineOptions, 'codec' | 'maxBitrateKbps' | 'degradationPreference' | 'simulcastLayers'>,
  canSendH264 = true,
): TrackPublishOptions {
  const codec: VideoCodec = o.codec === 'vp8' || !canSendH264 ? 'vp8' : 'h264';
  const maxBitrate = o.maxBitrateKbps ? o.maxBitrateKbps * 1000 : defaultMaxBitrate(screen);
  // A quarter of the pixels: a sixth of the bits (text at half size needs fewer per pixel).
  const half = new VideoPreset(
    Math.floor(screen.width / 2),
    Math.floor(screen.height / 2),
    Math.max(300_000, Math.round(maxBitrate / 6)),
    screen.fps,
    'medium',
  );
  // The standard tier's own size (÷1.5, its maxScaleDown: 720p of a 1080p screen), for a viewer
  // whose window or link is short of the full size; bits with the pixels to the 0.75 (ladder.ts).
  const standard = new VideoPreset(
    evenDown(screen.width / 1.5),
    evenDown(screen.height / 1.5),
    Math.round(maxBitrate * (1 / 1.5) ** 1.5),
    screen.fps,
    'medium',
  );
  return {
    name: 'pairux-screen',
    source: Track.Source.ScreenShare,
    videoCodec: codec,
    backupCodec: false,
    simulcast: true,
    screenShareEncoding: { maxBitrate, maxFramerate: screen.fps, priority: 'high' },
    screenShareSimulcastLayers: o.simulcastLayers === 3 ? [half, standard] : [half],
    degradationPreference: o.degradationPreference ?? 'maintain-resolution',
  };
}

/** The largest even integer not above `n` (4:2:0 encoders crop or pad an odd edge). */
function evenDown(n: number): number {
  return Math.floor(n / 2) * 2;
}

/** Whether this browser's WebRTC can send H.264 (an Electron or Chromium build without OpenH264 cannot). */
function canSendH264(): boolean {
  const codecs = typeof RTCRtpSender.getCapabilities === 'function' ? RTCRtpSender.getCapabilities('video')?.codecs : undefined;
  return codecs?.some((c) => c.mimeType.toLowerCase() === 'video/h264') ?? false;
}

export class SfuHostEngine extends TypedEmitter<HostEngineEvents> implements HostMediaEngine {
  readonly mode = 'sfu' as const;
  private readonly log: Logger;
  private readonly signaling: SignalingClient;
  private readonly keeper: SfuAccessKeeper;
  private readonly data: SfuHostData;
  private room: Room | undefined;
  private published: MediaStreamTrack | undefined;
  private publication: LocalTrackPublication | undefined;
  /** Keeps the full-size layer on when the bandwidth estimate sinks (sfu-layer-guard.ts). */
  private guard: SfuLayerGuard | undefined;
  private connection: SfuHostConnection = 'connecting';
  private connects = 0;
  private readonly retry = new RetryTimer(SFU_ROOM_RETRY.minMs, SFU_ROOM_RETRY.maxMs);
  /** The page hears once per outage that the SFU is unreachable, not on every retry. */
  private outageReported = false;
  private started = false;
  private stopped = false;
  private _screen: ScreenDescription;
  private readonly unsubscribe: Array<() => void> = [];

  private readonly e2ee: SfuE2ee | undefined;

  constructor(private readonly options: SfuHostEngineOptions) {
    super();
    this.log = options.log ?? consoleLogger('pairux:host');
    this.signaling = options.signaling;
    this._screen = { ...options.screen };
    this.keeper = new SfuAccessKeeper(options.signaling, options.access, this.log);
    this.e2ee = options.e2ee ? new SfuE2ee(options.e2ee) : undefined;
    this.data = new SfuHostData({
      participants: () => this.signaling.participants,
      publish: routedPublisher(() => this.room),
      screen: () => this._screen,
      ...(options.input ? { gate: options.input } : {}),
      log: this.log,
    });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const s = this.signaling;
    this.unsubscribe.push(
      s.on('participants', () => this.emitGuests()),
      s.on('participantLeft', ({ participantId }) => {
        this.data.forget(participantId);
        this.options.input?.forget(participantId);
      }),
      s.on('state', ({ state }) => {
        if (state === 'ended' || state === 'failed') this.stop();
      }),
      s.on('joined', ({ result, identityChanged }) => {
        // A join that could not resume made us someone new: guests look for the host by its
        // id, so the room must be rejoined under the new identity, with the new join's token.
        if (identityChanged && result.sfu) this.rejoin(result.sfu);
      }),
    );
    // Each ratchet step (or re-key) is announced, so guests move their keys before frames outrun them.
    const keys = this.options.e2ee?.keys;
    if (keys) this.unsubscribe.push(keys.onSending(() => this.room && this.announceKeys()));
    void this.connect(false);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    this.retry.cancel();
    this.keeper.stop();
    this.data.close();
    this.guard?.close();
    this.setConnection('closed');
    const room = this.room;
    this.room = undefined;
    void leaveRoom(room, this.e2ee);
  }

  get screen(): ScreenDescription {
    return { ...this._screen };
  }

  setScreen(screen: ScreenDescription): void {
    const same =
      screen.width === this._screen.width && screen.height === this._screen.height && screen.fps === this._screen.fps && screen.source === this._screen.source;
    this._screen = { ...screen };
    if (!same && this.room?.state === ConnectionState.Connected) this.data.sendScreen();
  }

  snapshot(): SfuHostSnapshot {
    const videos = this.room ? [...this.room.localParticipant.videoTrackPublications.values()] : [];
    const sender = this.publication?.track?.sender;
    return {
      connection: this.connection,
      room: this.keeper.current.room,
      publishedTracks: videos.length,
      codec: this.publication?.track?.codec ?? '',
      layers: sender ? sender.getParameters().encodings.length : 0,
      connects: this.connects,
      layerGuard: this.guard ? { ...this.guard.counts, state: this.guard.policy.state } : null,
      tokenRefreshes: this.keeper.refreshes,
      data: { ...this.data.counts },
      e2ee: this.room?.isE2EEEnabled ?? false,
    };
  }

  guests(): GuestInfo[] {
    const inRoom = this.room?.remoteParticipants;
    const out: GuestInfo[] = [];
    for (const p of this.signaling.participants.values()) {
      if (p.role === 'host') continue;
      // A viewer the session cascaded to its own region's SFU is never in this room: it watches there.
      const there = (inRoom?.has(p.id) ?? false) || (p.cascaded === true && p.connected);
      const state: GuestConnectionState =
        this.connection === 'connected' ? (there ? 'connected' : 'connecting') : this.connection === 'closed' ? 'closed' : 'disconnected';
      out.push({ id: p.id, name: p.name, role: p.role, present: p.connected, pcId: null, pcState: 'none', iceState: 'none', state });
    }
    return out;
  }

  /** One row: the single published stream (to the SFU), not one per guest. */
  async stats(): Promise<GuestStats[]> {
    const track = this.publication?.track;
    if (!track) return [];
    const { layers: _layers, layerDetail, ...stats } = await trackOutboundStats(track);
    return [{ guestId: 'sfu', name: 'LiveKit SFU', pcId: 'publisher', ...stats, path: 'rtp', layers: layerDetail }];
  }

  /**
   * The session focus moved the media to another SFU (failover): leave this room for the one in
   * `access` at once and publish there, rather than wait for LiveKit's reconnects to give up.
   */
  moveTo(access: SfuAccess): void {
    if (this.stopped || (access.room === this.keeper.current.room && access.url === this.keeper.current.url)) return;
    this.log('info', `moving to the SFU at ${access.url} (room ${access.room})`);
    this.retry.reset();
    this.outageReported = false;
    this.rejoin(access);
  }

  private rejoin(access: SfuAccess): void {
    this.log('info', 'joining the LiveKit room with new access');
    this.keeper.use(access);
    const old = this.room;
    this.room = undefined;
    this.publication = undefined;
    this.guard?.close();
    this.guard = undefined;
    this.published = undefined;
    this.retry.cancel();
    void old?.disconnect(true);
    void this.connect(false);
  }

  private async connect(forceToken: boolean): Promise<void> {
    if (this.stopped) return;
    this.setConnection(this.connects === 0 ? 'connecting' : 'reconnecting');
    const access = await this.keeper.fresh(forceToken);
    if (this.stopped) return;
    const room = new Room({
      // The host subscribes to nothing; adaptive stream is a subscriber's feature.
      adaptiveStream: false,
      dynacast: true,
      disconnectOnPageLeave: true,
      stopLocalTrackOnUnpublish: true,
      ...this.e2ee?.options(),
    });
    this.room = room;
    this.wire(room);
    try {
      // Before connecting: not one frame or packet goes out in clear.
      await this.e2ee?.enable(room);
      await room.connect(access.url, access.token, { autoSubscribe: false });
      await this.e2ee?.confirmed(room);
    } catch (err) {
      if (this.room !== room) return;
      if (this.e2ee?.workerFailure !== undefined) {
        // No worker, no encryption: retrying cannot help, and the page has said why.
        this.room = undefined;
        void room.disconnect(true);
        this.setConnection('disconnected');
        return;
      }
      this.log('warn', `could not reach LiveKit at ${access.url}: ${String(err)}`);
      if (!this.outageReported) this.emit('error', { message: `could not reach the SFU (${access.url}); retrying until it is back` });
      this.outageReported = true;
      this.room = undefined;
      void room.disconnect(true);
      this.scheduleReconnect();
      return;
    }
    if (this.room !== room || this.stopped) return;
    this.connects++;
    this.retry.reset();
    this.outageReported = false;
    this.setConnection('connected');
    this.log('info', `in LiveKit room ${access.room} as ${room.localParticipant.identity}`);
    await this.publish(room);
    this.data.sendScreen();
    this.announceKeys();
    this.emitGuests();
  }

  /** The generation this host sends under, to everyone in the room (encrypted sessions). */
  private announceKeys(): void {
    const gen = this.options.e2ee?.keys.sending;
    if (gen !== undefined) this.data.sendKeyGeneration(gen);
  }

  private wire(room: Room): void {
    const mine = (): boolean => this.room === room && !this.stopped;
    room
      .on(RoomEvent.DataReceived, (payload, participant, _kind, topic, _encryption, senderIdentity) => {
        // The SFU stamps every user packet with its sender's authenticated identity (whatever
        // the sender wrote there); livekit-client looks the participant up by it, but a guest
        // who just (re)joined may not be in the room's list yet, so the stamp itself is used.
        if (mine()) this.data.receive(payload, participant?.identity ?? senderIdentity, topic);
      })
      .on(RoomEvent.ParticipantConnected, (p: RemoteParticipant) => {
        if (!mine()) return;
        this.data.sendScreen(p.identity);
        const gen = this.options.e2ee?.keys.sending;
        if (gen !== undefined) this.data.sendKeyGeneration(gen, p.identity);
        this.emitGuest(p.identity);
      })
      .on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) => {
        if (!mine()) return;
        this.data.forget(p.identity);
        this.emitGuest(p.identity);
      })
      .on(RoomEvent.Reconnecting, () => {
        if (mine()) this.setConnection('reconnecting');
      })
      .on(RoomEvent.Reconnected, () => {
        if (!mine()) return;
        this.setConnection('connected');
        // A full reconnect republishes by itself; a resumed one keeps the track. Either way, make sure.
        void this.publish(room);
        this.data.sendScreen();
      })
      .on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
        if (!mine()) return;
        this.log('warn', `left the LiveKit room (${reason === undefined ? 'unknown' : DisconnectReason[reason]}); joining again`);
        this.room = undefined;
        this.publication = undefined;
        this.guard?.close();
        this.guard = undefined;
        this.setConnection('disconnected');
        this.scheduleReconnect();
      });
  }

  /** Publishes the screen unless this room already carries it: never a second copy. */
  private async publish(room: Room): Promise<void> {
    const existing = [...room.localParticipant.videoTrackPublications.values()].find((p) => p.source === Track.Source.ScreenShare);
    if (existing) {
      this.publication = existing;
      return;
    }
    // A clone per room: LiveKit stops what it published when the room goes away.
    if (!this.published || this.published.readyState === 'ended') {
      this.published = this.options.track.clone();
    }
    const track = this.published;
    track.contentHint = this.options.contentHint || 'detail';
    const opts = screenPublishOptions(this._screen, this.options, canSendH264());
    try {
      this.publication = await room.localParticipant.publishTrack(track, opts);
      this.guardLayers(this.publication, opts);
      // LiveKit may adjust the hint for some codecs; text wants 'detail' whatever it chose.
      if (this.options.contentHint !== 'motion') track.contentHint = this.options.contentHint || 'detail';
      this.log(
        'info',
        `published the screen ${this._screen.width}×${this._screen.height}@${this._screen.fps} (${opts.videoCodec}, simulcast, ${opts.degradationPreference})`,
      );
    } catch (err) {
      if (this.room !== room) return;
      this.log('error', `could not publish the screen: ${String(err)}`);
      this.emit('error', { message: `could not publish the screen to the SFU: ${String(err)}` });
    }
  }

  private guardLayers(publication: LocalTrackPublication, opts: TrackPublishOptions): void {
    this.guard?.close();
    this.guard = undefined;
    const track = publication.track;
    const sender = track?.sender;
    const lower = opts.screenShareSimulcastLayers?.[0];
    if (!track || !sender || !lower) return;
    const read = async (): Promise<{ layers: LayerStats[]; availableKbps: number }> => {
      const { layerDetail } = await trackOutboundStats(track);
      return { layers: layerDetail, availableKbps: layerDetail[0]?.availableKbps ?? 0 };
    };
    this.guard = new SfuLayerGuard(
      rtpSenderLayers(sender, read),
      { restoreKbps: restoreKbps(this._screen, (lower.encoding.maxBitrate ?? 0) / 1000) },
      (level, message) => this.log(level, message),
    );
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.retry.schedule(() => {
      this.published = undefined;
      void this.connect(true);
    });
  }

  private setConnection(next: SfuHostConnection): void {
    if (next === this.connection) return;
    this.connection = next;
    this.emitGuests();
  }

  private emitGuest(id: string): void {
    const guest = this.guests().find((g) => g.id === id);
    if (guest) this.emit('guest', { guest });
    this.emitGuests();
  }

  private emitGuests(): void {
    this.emit('guests', { guests: this.guests() });
  }
}
