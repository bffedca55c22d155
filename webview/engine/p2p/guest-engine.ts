/**
 * The guest's side of P2P: asks the host for a connection (hello), answers its offer, renders
 * the track into a `<video>`, pings over the data channel, and heals itself — a watchdog says
 * hello again when the connection does not come up, fails, or stays disconnected.
 */
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import type { RpcEndpoint } from '../../../protocol/rpc-endpoint';
import { DIRECT_VIDEO_CHANNEL_LABEL } from '../../../protocol/direct-video';
import { DATA_CHANNEL_LABEL, PeerInput, PeerInputRefused, Ping, ScreenInfo } from '../../../protocol/peer';
import type { SignalPayload } from '../../../protocol/signaling';
import { GuestDirectVideo } from './direct-video/guest-direct-video';
import type { MediaEncryption } from '../e2ee/e2ee-transforms';
import type { ChunkCipher } from '../e2ee/chunk-cipher';
import { TypedEmitter } from '../../../common/typed-emitter';
import { consoleLogger, type Logger } from '../logger';
import { attachPeerEndpoint } from './peer-channel';
import { PeerLink } from './peer-link';
import type { SignalingClient } from '../signaling/signaling-client';
import { inboundVideoStats, type InboundVideoStats } from '../stats';
import type { GuestEngineEvents, GuestMediaEngine, GuestState, ScreenDescription } from '../engine-types';

type HelloReason = Extract<SignalPayload, { kind: 'hello' }>['reason'];

export interface GuestEngineOptions {
  signaling: SignalingClient;
  /** Where the host's screen is shown; the engine sets muted/playsInline/autoplay on it. */
  video: HTMLVideoElement;
  iceTransportPolicy?: RTCIceTransportPolicy;
  /**
   * The video receiver's jitter-buffer target in ms (`RTCRtpReceiver.jitterBufferTarget`): a
   * lower one shows frames sooner at the risk of stutter on a bad network. Default: Chromium's.
   */
  jitterBufferTargetMs?: number;
  /**
   * Ask the host for direct video (WebCodecs over a data channel: each frame shown as soon as it
   * is decoded, no jitter-buffer hold) where this page can decode it. Default true.
   */
  directVideo?: boolean;
  /** An end-to-end encrypted session (issue 15): the RTP receiver opens each frame; direct video opens each chunk with `e2eeChunks` (without it, direct video is off). */
  e2ee?: MediaEncryption;
  e2eeChunks?: ChunkCipher;
  /** Say hello again if not connected this long after the last hello (default 8 s). */
  connectTimeoutMs?: number;
  /** …or if ICE stays disconnected this long (default 5 s). */
  disconnectedTimeoutMs?: number;
  pingIntervalMs?: number;
  log?: Logger;
}

/** Least time between two hellos, so a flapping connection cannot flood the host. */
const MIN_HELLO_SPACING_MS = 2000;
/** Show a new track after this even if it never reported 'unmute'. */
const UNMUTE_FALLBACK_MS = 4000;
/** A fed track's picture is given again this often, this many times at most, until the <video> has it. */
const REFRESH_SPACING_MS = 50;
const REFRESH_TRIES = 40;
/** Longest a replaced connection is kept for its last picture. */
const RETIRE_MS = 10_000;
/** Candidates kept for an offer still in flight; a real one has a handful. */
const MAX_EARLY_CANDIDATES = 100;
/** A live connection answers a ping in milliseconds; this long means it is gone. */
const VERIFY_PING_TIMEOUT_MS = 1500;
/** A refused hello is said again this long after the server's `retryAfterMs` (its window has turned by then). */
const HELLO_RETRY_MARGIN_MS = 100;
/** The longest wait a refused hello's `retryAfterMs` may ask for (a server asking more is not believed). */
const MAX_HELLO_RETRY_MS = 60_000;

export class GuestEngine extends TypedEmitter<GuestEngineEvents> implements GuestMediaEngine {
  readonly mode = 'p2p' as const;
  private readonly log: Logger;
  private readonly signaling: SignalingClient;
  private readonly video: HTMLVideoElement;
  private _state: GuestState = 'connecting';
  private link: PeerLink | undefined;
  /** The connection being replaced, kept only so its last picture stays on screen. */
  private retired: PeerLink | undefined;
  private retiredTimer: ReturnType<typeof setTimeout> | undefined;
  private endpoint: RpcEndpoint | undefined;
  private channel: RTCDataChannel | undefined;
  /** This connection's `pairux-video` channel, when the host offered one. */
  private videoChannel: RTCDataChannel | undefined;
  private direct: GuestDirectVideo | undefined;
  /** The retired connection's direct video, kept (like its link) for its last picture. */
  private retiredDirect: GuestDirectVideo | undefined;
  /** The RTP track of this connection, shown unless direct video is. */
  private rtpTrack: MediaStreamTrack | undefined;
  private hasFrames = false;
  private everLive = false;
  private lastHelloAt = -Infinity;
  private disconnectedSince: number | undefined;
  /** Candidates that arrived for a pc id whose offer is still being processed. */
  private early: { pcId: string; candidates: Array<Extract<SignalPayload, { kind: 'ice' }>['candidate']> } | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  /** Set while a hello the server refused as too frequent waits for its turn. */
  private helloRetry: ReturnType<typeof setTimeout> | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;
  private readonly unsubscribe: Array<() => void> = [];
  private _rttMs: number | undefined;
  private _screen: ScreenDescription | undefined;

  constructor(private readonly options: GuestEngineOptions) {
    super();
    this.log = options.log ?? consoleLogger('pairux:guest');
    this.signaling = options.signaling;
    this.video = options.video;
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.autoplay = true;
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
  get peerConnection(): RTCPeerConnection | undefined {
    return this.link?.pc;
  }

  start(): void {
    const s = this.signaling;
    this.unsubscribe.push(
      s.on('joined', ({ identityChanged }) => {
        if (identityChanged) {
          // A new identity: the host cannot know the old connection is ours any more.
          this.closeLink();
          this.hello('join');
        } else {
          void this.verifyConnection();
        }
        this.updateState();
      }),
      s.on('signal', ({ from, payload }) => this.onSignal(from, payload)),
      s.on('participantJoined', ({ participant }) => {
        if (participant.role === 'host') void this.verifyConnection();
      }),
      s.on('participantUpdated', ({ participant, previous }) => {
        const hostBack = participant.role === 'host' && participant.connected && (previous?.connected === false || previous?.role !== 'host');
        if (hostBack) void this.verifyConnection();
      }),
      s.on('participantLeft', ({ participantId }) => {
        if (participantId === this.link?.remoteId) {
          this.log('info', 'the host left; waiting for the session to end or a new host');
          this.closeLink();
          this.updateState();
        }
      }),
      s.on('state', () => this.updateState()),
    );
    this.video.addEventListener('loadeddata', this.onVideoData);
    this.video.addEventListener('resize', this.onVideoData);
    this.watchdog = setInterval(() => this.checkConnection(), 1000);
    this.pinger = setInterval(() => void this.ping(), this.options.pingIntervalMs ?? 2000);
    // Started after the first join (the page learns the mode from it): that join's hello is ours to say.
    if (s.state === 'joined') this.hello('join', true);
    this.updateState();
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    if (this.pinger !== undefined) clearInterval(this.pinger);
    if (this.helloRetry !== undefined) clearTimeout(this.helloRetry);
    this.helloRetry = undefined;
    this.video.removeEventListener('loadeddata', this.onVideoData);
    this.video.removeEventListener('resize', this.onVideoData);
    const link = this.link;
    if (link && this.signaling.state === 'joined') {
      this.signaling.sendSignal(link.remoteId, { kind: 'bye', pc: link.pcId }).catch(() => undefined);
    }
    this.closeLink();
  }

  async stats(): Promise<InboundVideoStats> {
    const rtp = await inboundVideoStats(this.link?.pc);
    const direct = this.direct?.showing ? this.direct.stats() : undefined;
    if (!direct) return { ...rtp, path: 'rtp' };
    return {
      ...rtp,
      path: 'direct',
      codec: `${direct.codec.split('.')[0]!.toUpperCase()} (direct)`,
      framesDecoded: direct.framesDecoded,
      framesDropped: direct.framesDropped,
      frameWidth: direct.frameWidth,
      frameHeight: direct.frameHeight,
      bytesReceived: direct.bytesReceived,
      processingMs: direct.decodeMsPerFrame,
      jitterBufferMs: 0,
      jitterBufferTargetMs: 0,
    };
  }

  /** Whether input can be sent now (the data channel to the host is open). */
  get inputReady(): boolean {
    return this.endpoint !== undefined && !this.endpoint.closed && this.channel?.readyState === 'open';
  }

  /**
   * Sends one control event to the host over the data channel; false when there is no open
   * channel (the event is lost: input is only meaningful now). The host checks everything again.
   */
  sendInput(event: unknown): boolean {
    if (!this.inputReady || !this.endpoint) return false;
    try {
      this.endpoint.notify(PeerInput, { event });
      return true;
    } catch (err) {
      this.log('debug', `input not sent: ${String(err)}`);
      return false;
    }
  }

  private isConnected(): boolean {
    return this.link?.connectionState === 'connected';
  }

  private hello(reason: HelloReason, force = false): void {
    if (this.signaling.state !== 'joined') return;
    const now = performance.now();
    if (!force && now - this.lastHelloAt < MIN_HELLO_SPACING_MS) return;
    const hostId = this.signaling.hostId;
    if (!hostId) {
      this.log('warn', 'no host in the session yet; will say hello when one joins');
      return;
    }
    // A host transfer made this participant the host: its editor's host page shares now.
    if (hostId === this.signaling.self?.id) return;
    this.lastHelloAt = now;
    this.log('info', `hello (${reason}) → ${hostId}`);
    this.signaling.sendSignal(hostId, { kind: 'hello', reason }).catch((err: unknown) => {
      const error = PairuxError.from(err);
      const after = error.code === ErrorCode.RateLimited ? error.data?.retryAfterMs : undefined;
      if (typeof after === 'number' && Number.isFinite(after)) {
        this.retryHello(reason, after);
        return;
      }
      this.log('warn', `hello not delivered: ${String(err)}`);
    });
  }

  /**
   * The server refused a hello as one too many (its per-guest limit): without another, this guest
   * would wait for the watchdog, or forever with no picture. Said again once the server's window
   * has room, unless a connection came up meanwhile.
   */
  private retryHello(reason: HelloReason, retryAfterMs: number): void {
    if (this.helloRetry !== undefined) return;
    const delay = Math.min(MAX_HELLO_RETRY_MS, Math.max(0, retryAfterMs)) + HELLO_RETRY_MARGIN_MS;
    this.log('info', `hello refused as too frequent; saying it again in ${Math.round(delay)} ms`);
    this.helloRetry = setTimeout(() => {
      this.helloRetry = undefined;
      if (!this.isConnected()) this.hello(reason, true);
    }, delay);
  }

  private onSignal(from: string, payload: SignalPayload): void {
    if (from !== this.signaling.hostId) {
      this.log('warn', `${payload.kind} from ${from}, who is not the host, ignored`);
      return;
    }
    switch (payload.kind) {
      case 'offer':
        void this.acceptOffer(from, payload.pc, payload.sdp);
        return;
      case 'ice':
        if (this.link?.pcId === payload.pc) {
          this.link.addRemoteCandidate(payload.candidate);
        } else if (this.early?.pcId === payload.pc) {
          if (this.early.candidates.length < MAX_EARLY_CANDIDATES) this.early.candidates.push(payload.candidate);
        } else {
          // Either stale (an older pc) or ahead of its offer; kept only until the next offer.
          this.early = { pcId: payload.pc, candidates: [payload.candidate] };
        }
        return;
      case 'bye':
        if (this.link?.pcId === payload.pc) {
          this.log('info', `host closed ${payload.pc}`);
          this.closeLink();
          this.updateState();
        }
        return;
      case 'answer':
      case 'hello':
        return;
      case 'e2ee-public':
      case 'e2ee-rekey':
      case 'e2ee-ack':
        // The session's keys (e2ee/guest-keys.ts), not the connection's.
        return;
    }
  }

  /** The pc of the newest offer, so one that waited for ICE servers does not replace a newer one. */
  private latestOffer: string | undefined;

  private async acceptOffer(hostId: string, pcId: string, sdp: string): Promise<void> {
    if (this.link?.pcId === pcId) {
      await this.link.answerOffer(sdp).catch((err: unknown) => this.log('warn', `renegotiation failed: ${String(err)}`));
      return;
    }
    // TURN credentials from the join expire (an hour by default): a connection made later, after
    // a network change or a host's restart, gets fresh ones, or the relay refuses it.
    this.latestOffer = pcId;
    const iceServers = await this.signaling.freshIceServers();
    // A newer offer came while this one waited: that one is the host's current connection.
    if (this.latestOffer !== pcId) return;
    if (this.link?.pcId === pcId) {
      await this.link.answerOffer(sdp).catch((err: unknown) => this.log('warn', `renegotiation failed: ${String(err)}`));
      return;
    }
    this.retireLink();
    const link = new PeerLink({
      pcId,
      remoteId: hostId,
      iceServers,
      ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
      send: (payload) => this.signaling.sendSignal(hostId, payload),
      log: this.log,
    });
    this.link = link;
    this.hasFrames = false;
    this.disconnectedSince = undefined;
    this.emit('peer', { pcId });
    link.on('change', () => this.onLinkChange(link));
    link.pc.ontrack = (event) => {
      const target = this.options.jitterBufferTargetMs;
      const receiver = event.receiver as RTCRtpReceiver & { jitterBufferTarget?: number | null };
      if (target !== undefined && 'jitterBufferTarget' in receiver) receiver.jitterBufferTarget = target;
      if (event.track.kind === 'video') this.options.e2ee?.attachReceiver(event.receiver, 'video/VP9');
      this.showTrack(link, event.track);
    };
    link.pc.ondatachannel = (event) => {
      if (this.link !== link) return;
      if (event.channel.label === DATA_CHANNEL_LABEL) this.useChannel(event.channel);
      if (event.channel.label === DIRECT_VIDEO_CHANNEL_LABEL) {
        this.videoChannel = event.channel;
        event.channel.addEventListener('open', () => this.maybeStartDirect(link));
        this.maybeStartDirect(link);
      }
    };
    if (this.early?.pcId === pcId) for (const c of this.early.candidates) link.addRemoteCandidate(c);
    this.early = undefined;
    try {
      await link.answerOffer(sdp);
    } catch (err) {
      if (this.link !== link) return;
      this.log('warn', `could not answer ${pcId}: ${String(err)}`);
      this.closeLink();
      this.hello('failed', true);
    }
    this.updateState();
  }

  private showTrack(link: PeerLink, track: MediaStreamTrack): void {
    if (this.link !== link || track.kind !== 'video') return;
    this.rtpTrack = track;
    let attached = false;
    const attach = (): void => {
      if (this.link !== link || attached) return;
      attached = true;
      // Direct video got there first: the RTP track waits as its fallback.
      if (this.direct?.showing) return;
      this.video.srcObject = new MediaStream([track]);
      this.video.play().catch((err: unknown) => this.log('warn', `video.play() refused: ${String(err)}`));
      this.closeRetired();
      const markFrames = (): void => {
        if (this.link !== link) return;
        this.framesShown();
      };
      if ('requestVideoFrameCallback' in this.video) this.video.requestVideoFrameCallback(markFrames);
    };
    // A remote track is muted until media flows. Swapping the <video> over only then keeps the
    // previous picture up while a replacement connection is set up: no black gap on reconnect.
    if (track.muted) {
      track.addEventListener('unmute', attach, { once: true });
      // Insurance against a browser that never unmutes remote tracks.
      setTimeout(attach, UNMUTE_FALLBACK_MS);
    } else {
      attach();
    }
  }

  private readonly onVideoData = (): void => {
    if (this.link && this.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) this.framesShown();
  };

  /**
   * RTP frames are on screen. While direct video is being set up they are shown but the guest is
   * not 'live' yet: the switch to the direct track (moments later) empties the <video> for a frame,
   * and nothing should map input onto a picture about to be replaced. It is 'live' once direct
   * video shows, or once it is given up (a bounded wait: the request times out).
   */
  private framesShown(): void {
    if (this.direct && !this.direct.closed && !this.direct.showing) return;
    this.hasFrames = true;
    this.updateState();
  }

  /** Both channels open and direct video wanted: ask for it (once per connection). */
  private maybeStartDirect(link: PeerLink): void {
    const video = this.videoChannel;
    const endpoint = this.endpoint;
    if (this.options.directVideo === false || (this.options.e2ee && !this.options.e2eeChunks) || this.link !== link || this.direct || !video || !endpoint)
      return;
    if (video.readyState !== 'open' || this.channel?.readyState !== 'open') return;
    const direct = new GuestDirectVideo({
      endpoint,
      channel: video,
      ...(this.options.e2eeChunks ? { cipher: this.options.e2eeChunks } : {}),
      log: this.log,
      onTrack: (track) => {
        if (this.direct !== direct) return;
        this.showVideo(track, () => direct.refresh());
      },
      onFallback: () => {
        if (this.direct !== direct || this.link !== link) return;
        // Stays set (closed) so this connection does not ask again; RTP video shows instead.
        if (this.rtpTrack) this.showVideo(this.rtpTrack);
      },
    });
    this.direct = direct;
    void direct.start();
  }

  /**
   * Puts `track` on the <video>. A track fed by this page shows only what it is given after the
   * swap: `refresh` gives its picture again until the <video> has it (a still screen sends no
   * next frame). The guest is live once the <video> has data (`onVideoData`).
   */
  private showVideo(track: MediaStreamTrack, refresh?: () => void): void {
    this.video.srcObject = new MediaStream([track]);
    this.video.play().catch((err: unknown) => this.log('warn', `video.play() refused: ${String(err)}`));
    this.closeRetired();
    if (!refresh) return;
    const link = this.link;
    let tries = 0;
    const again = (): void => {
      if (this.link !== link || this.video.srcObject === null || this.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA || ++tries > REFRESH_TRIES) return;
      refresh();
      setTimeout(again, REFRESH_SPACING_MS);
    };
    again();
  }

  private useChannel(channel: RTCDataChannel): void {
    this.endpoint?.close();
    const endpoint = attachPeerEndpoint(channel, 'a', this.log);
    this.endpoint = endpoint;
    this.channel = channel;
    endpoint.onNotification(ScreenInfo, (screen) => {
      this._screen = screen;
      this.emit('screen', { screen });
    });
    endpoint.onNotification(PeerInputRefused, (refusal) => {
      if (this.endpoint === endpoint) this.emit('inputRefused', refusal);
    });
    channel.addEventListener('open', () => {
      void this.ping();
      if (this.link) this.maybeStartDirect(this.link);
    });
  }

  flushInput(timeoutMs: number): Promise<boolean> {
    return this.ping(timeoutMs);
  }

  /** One round trip over the data channel; false when it is closed or gets no answer in time. */
  private async ping(timeoutMs = 5000): Promise<boolean> {
    const endpoint = this.endpoint;
    if (!endpoint || endpoint.closed) return false;
    const sentAt = performance.now();
    try {
      await endpoint.request(Ping, { sentAt }, timeoutMs);
      this._rttMs = performance.now() - sentAt;
      this.emit('rtt', { rttMs: this._rttMs });
      return true;
    } catch {
      // Lost pings show up as a stale RTT; the watchdog handles a dead connection.
      return false;
    }
  }

  /**
   * The host came back to signaling (or we did). That is either a blip on its socket, with our
   * peer connection fine, or a reloaded host page whose old connection is dead although ICE
   * will take seconds to notice: a ping tells them apart, and only the dead case says hello.
   */
  private async verifyConnection(): Promise<void> {
    const link = this.link;
    if (!link || !this.isConnected()) {
      this.hello('reconnect', true);
      return;
    }
    if (await this.ping(VERIFY_PING_TIMEOUT_MS)) return;
    if (this.link !== link) return;
    this.log('info', `${link.pcId} does not answer after the host came back; asking the host again`);
    this.hello('reconnect', true);
  }

  private onLinkChange(link: PeerLink): void {
    if (this.link !== link) return;
    const ice = link.iceConnectionState;
    if (ice === 'disconnected' || link.connectionState === 'disconnected') this.disconnectedSince ??= performance.now();
    else this.disconnectedSince = undefined;
    if (link.connectionState === 'failed') {
      this.log('warn', `${link.pcId} failed; asking the host again`);
      this.hello('failed', true);
    }
    this.updateState();
  }

  private checkConnection(): void {
    if (this.signaling.state !== 'joined') return;
    const now = performance.now();
    const link = this.link;
    const connectTimeout = this.options.connectTimeoutMs ?? 8000;
    if (!link || link.isClosed || link.connectionState === 'failed' || link.connectionState === 'closed') {
      if (now - this.lastHelloAt > connectTimeout) this.hello(link ? 'failed' : 'reconnect');
      return;
    }
    if (link.connectionState !== 'connected') {
      const since = Math.max(this.lastHelloAt, link.createdAt);
      const disconnectedFor = this.disconnectedSince === undefined ? 0 : now - this.disconnectedSince;
      if (now - since > connectTimeout || disconnectedFor > (this.options.disconnectedTimeoutMs ?? 5000)) {
        this.log('warn', `${link.pcId} not connected (${link.connectionState}/${link.iceConnectionState}); asking the host again`);
        this.hello('failed', true);
        this.disconnectedSince = undefined;
      }
    }
  }

  private closeLink(): void {
    this.closeRetired();
    this.endpoint?.close();
    this.endpoint = undefined;
    this.channel = undefined;
    this.direct?.close();
    this.direct = undefined;
    this.videoChannel = undefined;
    this.rtpTrack = undefined;
    this.link?.close();
    this.link = undefined;
    this.hasFrames = false;
    this.disconnectedSince = undefined;
  }

  /**
   * Sets the current connection aside instead of closing it: closing would end its track and
   * blank the <video>. It is closed once the replacement shows (or after RETIRE_MS).
   */
  private retireLink(): void {
    const link = this.link;
    if (!link) return;
    this.closeRetired();
    this.endpoint?.close();
    this.endpoint = undefined;
    this.channel = undefined;
    this.retiredDirect = this.direct;
    this.direct = undefined;
    this.videoChannel = undefined;
    this.rtpTrack = undefined;
    this.link = undefined;
    this.hasFrames = false;
    this.disconnectedSince = undefined;
    this.retired = link;
    this.retiredTimer = setTimeout(() => this.closeRetired(), RETIRE_MS);
  }

  private closeRetired(): void {
    if (this.retiredTimer !== undefined) clearTimeout(this.retiredTimer);
    this.retiredTimer = undefined;
    this.retired?.close();
    this.retired = undefined;
    this.retiredDirect?.close();
    this.retiredDirect = undefined;
  }

  private updateState(): void {
    const signaling = this.signaling.state;
    let next: GuestState;
    if (signaling === 'ended') next = 'ended';
    else if (signaling === 'failed') next = 'error';
    else if (this.isConnected() && this.hasFrames) next = 'live';
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
