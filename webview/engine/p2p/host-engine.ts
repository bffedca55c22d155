/**
 * The host's P2P mesh: one RTCPeerConnection per guest, created when the guest says hello,
 * carrying the shared screen's track and the `pairux` data channel. Guests always initiate; the
 * host only answers hellos, so the two sides never race to offer. Hellos are paced per guest
 * (hello-pacer.ts): a guest flooding hellos gets a rebuild now and then, never one per hello.
 */
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import { DIRECT_VIDEO_CHANNEL_LABEL } from '../../../protocol/direct-video';
import { DATA_CHANNEL_LABEL, PeerInput, PeerInputRefused, Ping, ScreenInfo, VideoDirect, VideoDirectStop, VideoKeyframe } from '../../../protocol/peer';
import type { RpcEndpoint } from '../../../protocol/rpc-endpoint';
import type { Participant, SignalPayload } from '../../../protocol/signaling';
import { preferCodec } from '../codecs';
import type { MediaEncryption } from '../e2ee/e2ee-transforms';
import type { ChunkCipher } from '../e2ee/chunk-cipher';
import { canSendDirectVideo, DirectVideoSender } from './direct-video/direct-video-sender';
import { TypedEmitter } from '../../../common/typed-emitter';
import type { HostInputGate } from '../input/host-input';
import { HelloPacer } from './hello-pacer';
import { consoleLogger, type Logger } from '../logger';
import { attachPeerEndpoint } from './peer-channel';
import { newPcId, PeerLink } from './peer-link';
import type { SignalingClient } from '../signaling/signaling-client';
import { outboundVideoStats } from '../stats';
import type { GuestConnectionState, GuestInfo, GuestStats, HostEngineEvents, HostMediaEngine, ScreenDescription, ScreenEncoding } from '../engine-types';
import { tierFor, type TierName } from '../../../protocol/tiers';
import { PeerQuality, type QualityPeer } from './peer-quality';

/** `maxBitrateKbps` is per guest here; unset leaves it to bandwidth estimation. */
export interface HostEngineOptions extends ScreenEncoding {
  signaling: SignalingClient;
  /** The shared screen (from FrameTrack); one track feeds every guest's sender. */
  track: MediaStreamTrack;
  screen: ScreenDescription;
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Remote control: every guest's `peer.input` goes through this gate (refused without one). */
  input?: HostInputGate;
  /**
   * Offer direct video (protocol/direct-video.ts) to guests that can take it: no receiver-side
   * smoothing delay (Chromium's RTP receiver held frames 110-170 ms on a text screen), one encoder
   * for all of them. Default true; where the page cannot encode it, RTP video as before.
   */
  directVideo?: boolean;
  /** Cap each RTP guest's encoder by its tier and the uplink (peer-quality.ts); default true. False: WebRTC's own congestion control alone. */
  allocator?: boolean;
  /**
   * An end-to-end encrypted session (issue 15): every guest's RTP sender seals each frame (the
   * codec is VP9 then: AV1's and H.264's packetizers cannot carry sealed frames), and direct video
   * seals each chunk with `chunks` (without it, direct video is off).
   */
  e2ee?: MediaEncryption;
  e2eeChunks?: ChunkCipher;
  log?: Logger;
}

/** The codec of an encrypted session's RTP video: its packetizer needs nothing of the frame in clear. */
const E2EE_CODEC = 'vp9';

interface GuestPeer {
  link: PeerLink;
  state: GuestConnectionState;
  endpoint?: RpcEndpoint;
  transceiver?: RTCRtpTransceiver;
  /** The `pairux-video` channel, offered when direct video is on. */
  video?: RTCDataChannel;
}

function stateOf(link: PeerLink): GuestConnectionState {
  switch (link.connectionState) {
    case 'connected':
      return 'connected';
    case 'disconnected':
      return 'disconnected';
    case 'failed':
      return 'failed';
    case 'closed':
      return 'closed';
    default:
      return 'connecting';
  }
}

export class HostEngine extends TypedEmitter<HostEngineEvents> implements HostMediaEngine {
  readonly mode = 'p2p' as const;
  private readonly log: Logger;
  private readonly signaling: SignalingClient;
  private readonly stream: MediaStream;
  private readonly peers = new Map<string, GuestPeer>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly pacer = new HelloPacer((guestId) => void this.connectGuest(guestId));
  private started = false;
  private _screen: ScreenDescription;
  /** Made when the first guest asks for direct video. */
  private direct: DirectVideoSender | undefined;
  /** Each RTP guest's encoder caps by its tier and the uplink (peer-quality.ts); while started. */
  private quality: PeerQuality | undefined;

  constructor(private readonly options: HostEngineOptions) {
    super();
    this.log = options.log ?? consoleLogger('pairux:host');
    this.signaling = options.signaling;
    this._screen = { ...options.screen };
    if (options.contentHint !== undefined) options.track.contentHint = options.contentHint;
    this.stream = new MediaStream([options.track]);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const s = this.signaling;
    this.unsubscribe.push(
      s.on('signal', ({ from, payload }) => this.onSignal(from, payload)),
      s.on('participantLeft', ({ participantId }) => {
        this.pacer.forget(participantId);
        this.dropGuest(participantId, 'left the session');
        this.options.input?.forget(participantId);
      }),
      s.on('participants', () => {
        this.emitGuests();
        this.directForLowTiers();
      }),
      s.on('joined', ({ identityChanged, resumed }) => {
        // A new host identity means the guests' connections point at someone who left: they
        // will say hello to the new identity, so free the old connections now.
        if (identityChanged && !resumed && this.peers.size > 0) {
          for (const id of [...this.peers.keys()]) this.dropGuest(id, 'host identity changed');
        }
      }),
      s.on('state', ({ state }) => {
        if (state === 'ended' || state === 'failed') this.stop();
      }),
    );
    this.quality = new PeerQuality({
      tiers: () => this.signaling.tiers.table,
      screen: () => ({ width: this._screen.width, height: this._screen.height, fps: this._screen.fps }),
      peers: () => this.rtpPeers(),
      log: this.log,
    });
    if (this.options.allocator !== false) this.quality.start();
  }

  /** The allocator's last decision for the RTP guests (diagnostics). */
  get allocation() {
    return this.quality?.last;
  }

  /** A guest's tier now: the host's choice for it, else its role's in this session. */
  private tierOf(guestId: string): TierName {
    const p = this.signaling.participants.get(guestId);
    return p?.tier ?? tierFor(p?.role === 'controller' ? 'controller' : 'viewer', this.signaling.tiers.roles);
  }

  private rtpPeers(): QualityPeer[] {
    const out: QualityPeer[] = [];
    for (const [id, peer] of this.peers) {
      if (!peer.transceiver || peer.state !== 'connected' || this.direct?.hasPeer(id)) continue;
      const kbps = this.options.maxBitrateKbps;
      out.push({ id, tier: this.tierOf(id), pc: peer.link.pc, sender: peer.transceiver.sender, ...(kbps ? { override: { maxBitrateKbps: kbps } } : {}) });
    }
    return out;
  }

  /**
   * A guest put on the `low` tier leaves the shared direct-video encoder (which sends the top of
   * the tiers) for RTP video at the low tier's caps. It stays there if raised again (its page
   * does not ask twice on one connection); the caps follow its tier.
   */
  private directForLowTiers(): void {
    if (!this.direct) return;
    for (const [guestId, peer] of this.peers) {
      if (!this.direct.hasPeer(guestId) || this.tierOf(guestId) !== 'low') continue;
      try {
        peer.endpoint?.notify(VideoDirectStop, { reason: 'the host put you on the low tier: RTP video at its caps' });
      } catch {
        // A closing channel: that guest is going anyway.
      }
      this.stopDirect(guestId, peer, 'on the low tier');
    }
  }

  /**
   * Offers a connection to every connected guest without waiting for their hello: after the
   * session comes back from a dead SFU, guests' hellos may have reached the host before this
   * engine listened.
   */
  connectAll(): void {
    for (const p of this.signaling.participants.values()) {
      if (p.role !== 'host' && p.connected && !this.peers.has(p.id)) {
        this.pacer.built(p.id);
        void this.connectGuest(p.id);
      }
    }
  }

  /** Closes every guest connection (telling each guest) and stops listening. */
  stop(): void {
    this.pacer.stop();
    for (const id of [...this.peers.keys()]) this.dropGuest(id, 'host stopped', true);
    this.direct?.close();
    this.direct = undefined;
    this.quality?.close();
    this.quality = undefined;
    for (const off of this.unsubscribe.splice(0)) off();
    this.started = false;
  }

  get screen(): ScreenDescription {
    return { ...this._screen };
  }

  /** The shared screen changed (source chosen, resized): tell every connected guest. */
  setScreen(screen: ScreenDescription): void {
    const same =
      screen.width === this._screen.width && screen.height === this._screen.height && screen.fps === this._screen.fps && screen.source === this._screen.source;
    this._screen = { ...screen };
    if (same) return;
    for (const peer of this.peers.values()) {
      if (peer.endpoint && !peer.endpoint.closed) {
        try {
          peer.endpoint.notify(ScreenInfo, this._screen);
        } catch {
          // A channel that is not open yet sends the screen when it opens.
        }
      }
    }
  }

  guests(): GuestInfo[] {
    const out: GuestInfo[] = [];
    const seen = new Set<string>();
    for (const p of this.signaling.participants.values()) {
      if (p.role === 'host') continue;
      seen.add(p.id);
      out.push(this.describe(p.id, p));
    }
    // A peer whose participant already left the list (closing) still shows until it is gone.
    for (const id of this.peers.keys()) if (!seen.has(id)) out.push(this.describe(id, undefined));
    return out;
  }

  /** Outbound video stats per connected guest (a read under `maxAgeMs` old is taken as it is). */
  async stats(maxAgeMs = 0): Promise<GuestStats[]> {
    const entries = [...this.peers.entries()];
    return Promise.all(
      entries.map(async ([guestId, peer]) => {
        const direct = this.direct?.hasPeer(guestId) ? this.direct.stats() : undefined;
        return {
          guestId,
          name: this.signaling.participants.get(guestId)?.name ?? guestId,
          pcId: peer.link.pcId,
          ...(await outboundVideoStats(peer.link.pc, maxAgeMs)),
          path: direct ? ('direct' as const) : ('rtp' as const),
          ...(direct ? { direct } : {}),
        };
      }),
    );
  }

  private describe(id: string, p: Participant | undefined): GuestInfo {
    const peer = this.peers.get(id);
    return {
      id,
      name: p?.name ?? id,
      role: p?.role ?? 'viewer',
      present: p?.connected ?? false,
      pcId: peer?.link.pcId ?? null,
      pcState: peer?.link.connectionState ?? 'none',
      iceState: peer?.link.iceConnectionState ?? 'none',
      state: peer?.state ?? 'closed',
    };
  }

  private emitGuests(): void {
    this.emit('guests', { guests: this.guests() });
  }

  private onSignal(from: string, payload: SignalPayload): void {
    const peer = this.peers.get(from);
    switch (payload.kind) {
      case 'hello': {
        const outcome = this.pacer.hello(from);
        // A flood is logged once per rebuild, not once per hello.
        if (outcome !== 'merged')
          this.log('info', `hello from ${from} (${payload.reason}): ${outcome === 'now' ? 'connecting' : 'too soon after the last one, deferred'}`);
        return;
      }
      case 'answer':
        if (!peer || peer.link.pcId !== payload.pc) return this.stale(from, payload.kind, payload.pc);
        peer.link.acceptAnswer(payload.sdp).catch((err: unknown) => this.fail(from, `could not apply the answer: ${String(err)}`));
        return;
      case 'ice':
        if (!peer || peer.link.pcId !== payload.pc) return this.stale(from, payload.kind, payload.pc);
        peer.link.addRemoteCandidate(payload.candidate);
        return;
      case 'bye':
        if (peer?.link.pcId === payload.pc) this.dropGuest(from, 'guest said bye');
        return;
      case 'offer':
        // Guests never offer in this protocol; ignore rather than let a guest drive our state.
        this.log('warn', `unexpected offer from ${from} ignored`);
        return;
      case 'e2ee-public':
      case 'e2ee-rekey':
      case 'e2ee-ack':
        // The session's keys (e2ee/host-keys.ts), not the connection's.
        return;
    }
  }

  private stale(from: string, kind: string, pc: string): void {
    this.log('debug', `${kind} for stale pc ${pc} from ${from} ignored`);
  }

  /** A hello: replace whatever connection this guest had with a fresh one. */
  private async connectGuest(guestId: string): Promise<void> {
    const participant = this.signaling.participants.get(guestId);
    if (participant?.role === 'host') return;
    this.dropGuest(guestId, 'replaced by a new connection');
    const iceServers = await this.signaling.freshIceServers();
    const link = new PeerLink({
      pcId: newPcId(),
      remoteId: guestId,
      iceServers,
      ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
      send: (payload) => this.signaling.sendSignal(guestId, payload),
      log: this.log,
    });
    // A second hello may have arrived while we awaited the ICE servers: the newest wins.
    this.dropGuest(guestId, 'replaced by a new connection');
    const peer: GuestPeer = { link, state: 'connecting' };
    this.peers.set(guestId, peer);
    link.on('change', () => this.onLinkChange(guestId, peer));

    const transceiver = link.pc.addTransceiver(this.options.track, { direction: 'sendonly', streams: [this.stream] });
    const e2ee = this.options.e2ee;
    const codec = e2ee ? E2EE_CODEC : (this.options.codec ?? 'av1');
    if (!preferCodec(transceiver, codec)) {
      this.emit('error', { message: `this browser cannot send ${codec}; using its default codec`, guestId });
    }
    // Before the offer: not one frame leaves unsealed.
    e2ee?.attachSender(transceiver.sender, `video/${codec.toUpperCase()}`);
    peer.transceiver = transceiver;
    this.openDataChannel(link, peer);
    this.emitGuest(guestId, peer);
    try {
      await link.sendOffer();
      await this.applySenderParameters(transceiver.sender);
    } catch (err) {
      if (link.isClosed) return;
      const error = PairuxError.from(err);
      const why = error.code === ErrorCode.Internal ? String(err) : `${error.code}: ${error.message}`;
      this.fail(guestId, `could not offer to ${guestId}: ${why}`);
      if (this.peers.get(guestId) === peer) this.dropGuest(guestId, 'offer failed');
    }
  }

  private openDataChannel(link: PeerLink, peer: GuestPeer): void {
    const channel = link.pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true });
    const endpoint = attachPeerEndpoint(channel, 'b', this.log);
    peer.endpoint = endpoint;
    endpoint.onRequest(Ping, ({ sentAt }) => ({ sentAt, hostTime: Date.now() }));
    // Input is attributed to the guest this connection was made for, whatever the event claims.
    const guestId = link.remoteId;
    const gate = this.options.input;
    if (gate) {
      endpoint.onNotification(PeerInput, ({ event }) => gate.receive(guestId, event));
      const detach = gate.attach(guestId, (notice) => {
        if (channel.readyState === 'open') endpoint.notify(PeerInputRefused, notice);
      });
      channel.addEventListener('close', detach);
    }
    channel.addEventListener('open', () => {
      const { width, height, fps, source } = this._screen;
      endpoint.notify(ScreenInfo, { width, height, fps, source });
    });
    const sealable = !this.options.e2ee || this.options.e2eeChunks;
    if (this.options.directVideo !== false && sealable && canSendDirectVideo()) this.offerDirectVideo(link, peer, endpoint);
  }

  /** The `pairux-video` channel and the requests that switch this guest to it and back. */
  private offerDirectVideo(link: PeerLink, peer: GuestPeer, endpoint: RpcEndpoint): void {
    const guestId = link.remoteId;
    const video = link.pc.createDataChannel(DIRECT_VIDEO_CHANNEL_LABEL, { ordered: true });
    peer.video = video;
    video.addEventListener('close', () => this.stopDirect(guestId, peer, 'its channel closed'));
    endpoint.onRequest(VideoDirect, async ({ codecs }) => {
      if (this.peers.get(guestId) !== peer) throw new PairuxError(ErrorCode.Closed, 'this connection is being replaced');
      if (video.readyState !== 'open') throw new PairuxError(ErrorCode.Unavailable, `the video channel is ${video.readyState}`);
      if (this.tierOf(guestId) === 'low') throw new PairuxError(ErrorCode.Unavailable, "on the low tier: RTP video at the low tier's caps");
      const sender = this.directSender();
      const codec = await sender.codecFor(codecs);
      if (!codec) throw new PairuxError(ErrorCode.Unavailable, `the host encodes none of ${codecs.join(', ')} for direct video`);
      sender.addPeer(guestId, video, codec);
      // Direct video replaces RTP video for this guest: stop encoding one for it.
      if (peer.transceiver) await this.setRtpActive(peer.transceiver.sender, false);
      return { codec };
    });
    endpoint.onNotification(VideoKeyframe, ({ reason }) => {
      this.log('debug', `key frame for ${guestId}: ${reason}`);
      this.direct?.requestKeyframe(guestId);
    });
    endpoint.onNotification(VideoDirectStop, ({ reason }) => this.stopDirect(guestId, peer, `the guest stopped it: ${reason}`));
  }

  private directSender(): DirectVideoSender {
    if (this.direct && !this.direct.closed) return this.direct;
    const sender = new DirectVideoSender({
      track: this.options.track,
      ...(this.options.maxBitrateKbps ? { bitrateKbps: this.options.maxBitrateKbps } : {}),
      framerate: this._screen.fps,
      ...(this.options.e2eeChunks ? { cipher: this.options.e2eeChunks } : {}),
      log: this.log,
    });
    sender.on('failed', ({ reason }) => {
      for (const [guestId, peer] of this.peers) {
        if (!peer.endpoint?.closed && peer.video) {
          try {
            peer.endpoint?.notify(VideoDirectStop, { reason: reason.slice(0, 200) });
          } catch {
            // A closing channel: that guest is going anyway.
          }
        }
        if (peer.transceiver) void this.setRtpActive(peer.transceiver.sender, true);
        this.log('warn', `direct video to ${guestId} ended: ${reason}; RTP video again`);
      }
      sender.close();
      if (this.direct === sender) this.direct = undefined;
    });
    this.direct = sender;
    return sender;
  }

  /** This guest goes back to RTP video (or is leaving). */
  private stopDirect(guestId: string, peer: GuestPeer, why: string): void {
    if (!this.direct?.hasPeer(guestId) || this.peers.get(guestId) !== peer) return;
    this.direct.removePeer(guestId);
    this.log('info', `direct video to ${guestId} ended (${why}); RTP video again`);
    if (peer.transceiver && !peer.link.isClosed) void this.setRtpActive(peer.transceiver.sender, true);
  }

  private async setRtpActive(sender: RTCRtpSender, active: boolean): Promise<void> {
    const params = sender.getParameters();
    if (params.encodings.length === 0 || params.encodings.every((e) => e.active === active)) return;
    for (const e of params.encodings) e.active = active;
    try {
      await sender.setParameters(params);
    } catch (err) {
      this.log('warn', `could not turn RTP video ${active ? 'on' : 'off'}`, err);
    }
  }

  /** degradationPreference and maxBitrate live on the sender, which has encodings only after the offer. */
  private async applySenderParameters(sender: RTCRtpSender): Promise<void> {
    const params = sender.getParameters();
    const preference = this.options.degradationPreference ?? 'maintain-resolution';
    params.degradationPreference = preference;
    if (this.options.maxBitrateKbps && params.encodings.length > 0) {
      for (const e of params.encodings) e.maxBitrate = Math.round(this.options.maxBitrateKbps * 1000);
    }
    try {
      await sender.setParameters(params);
    } catch (err) {
      this.log('warn', `sender parameters not accepted (degradation ${preference}); continuing`, err);
    }
  }

  private onLinkChange(guestId: string, peer: GuestPeer): void {
    if (this.peers.get(guestId) !== peer) return;
    const state = stateOf(peer.link);
    if (state !== peer.state) {
      peer.state = state;
      this.log('info', `guest ${guestId} ${peer.link.pcId}: ${state}`);
      this.emitGuest(guestId, peer);
    }
  }

  private emitGuest(guestId: string, peer: GuestPeer | undefined): void {
    const guest = this.describe(guestId, this.signaling.participants.get(guestId));
    if (!peer) guest.state = 'closed';
    this.emit('guest', { guest });
    this.emitGuests();
  }

  private dropGuest(guestId: string, why: string, sayBye = false): void {
    const peer = this.peers.get(guestId);
    if (!peer) return;
    this.peers.delete(guestId);
    this.direct?.removePeer(guestId);
    this.log('info', `closing ${peer.link.pcId} to ${guestId}: ${why}`);
    if (sayBye && this.signaling.state === 'joined') {
      this.signaling.sendSignal(guestId, { kind: 'bye', pc: peer.link.pcId }).catch(() => undefined);
    }
    peer.link.close();
    this.emitGuest(guestId, undefined);
  }

  private fail(guestId: string, message: string): void {
    this.log('warn', message);
    this.emit('error', { message, guestId });
  }
}
