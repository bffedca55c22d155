/**
 * The viewer's page logic, shared by the browser viewer (`viewer.ts`, the link is its own URL)
 * and the VS Code guest panel (`webview/vscode/guest-panel.ts`, the link was pasted): joins the
 * session, asks the host for the screen, shows it, and explains every failure in words that say
 * what to do next. `onStatus` lets an embedder (the extension) mirror the page's state.
 *
 * Test hooks (stable): body[data-state], body[data-error-code], body[data-control],
 * body[data-can-request], #message, #control-status, #control-request, #control-stop, the single
 * <video>, and window.pairuxViewer (in the test-page bundles only: test-hooks.ts).
 */
import './viewer.css';
import { peekClaims } from '../../protocol/share-link';
import type { Participant, ResumeTicket } from '../../protocol/signaling';
import { GuestEngine } from '../engine/p2p/guest-engine';
import { GuestMediaSwitch, mediaModeLabel } from '../engine/media-engine';
import { createVideoStage } from '../engine/video-stage';
import { SfuGuestEngine, type SfuGuestConnection } from '../engine/sfu/sfu-guest';
import { SignalingClient, UNASKED_HOST_REASON, type EndReason, type HostOffer } from '../engine/signaling/signaling-client';
import { WebSocketTransport, type SignalingTransport } from '../engine/signaling/transport';
import { consoleLogger } from '../engine/logger';
import { inboundVideoStats, type InboundVideoStats } from '../engine/stats';
import { e2eeScreen, errorScreen, expiredScreen, linkInvalidScreen, wrongSessionScreen, type ErrorScreen } from './error-text';
import { defaultGuestName, readViewerLink, type ViewerParams } from './viewer-link';
import { ViewerUi, type ViewerPageState } from './viewer-ui';
import { startViewerControl, type ViewerControl, type ViewerControlSnapshot } from './viewer-control';
import { TEST_HOOKS } from './test-hooks';
import { canEncryptP2p, E2eeTransforms, sumE2eeStats, type E2eeStats } from '../engine/e2ee/e2ee-transforms';
import { ChunkCipher } from '../engine/e2ee/chunk-cipher';
import { GuestKeys, type GuestKeyState } from '../engine/e2ee/guest-keys';
import type { ChainKey } from '../engine/e2ee/key-chain';
import { encodeMediaKey } from '../engine/e2ee/media-keys';
import { SfuKeyRing, SFU_KEY_RING } from '../engine/e2ee/sfu-key-ring';
import type { SfuEncryption } from '../engine/sfu/sfu-e2ee';
import { ErrorCode } from '../../protocol/errors';
import {
  CANNOT_ENCRYPT_MESSAGE,
  CANNOT_START_WORKER_MESSAGE,
  e2eeWorkerUrl,
  KEY_MISSING_MESSAGE,
  KEY_REJECTED_MESSAGE,
  livekitE2eeWorkerUrl,
  lockText,
} from './e2ee-text';
import type { GuestState, MediaMode, ScreenDescription } from '../engine/engine-types';

export interface ViewerHook {
  readonly state: ViewerPageState;
  readonly selfId: string | undefined;
  stats(): Promise<InboundVideoStats>;
  /** The host's screen as it reported it (`peer.screen`). */
  readonly screen: ScreenDescription | undefined;
  /** Remote control as this page sees it (undefined before the page has started). */
  control(): ViewerControlSnapshot | undefined;
  /** Test hook: sends any payload as `peer.input`, bypassing the page's own checks (the host's are what is tested). */
  sendRawInput(raw: unknown): boolean;
  /** The media path (known after the first join) and, in SFU mode, LiveKit's own connection state. */
  media(): { mode: MediaMode | undefined; sfu: SfuGuestConnection | undefined; moves: number; moving: boolean; epoch: number };
  /** An encrypted session's keys as this page holds them, and the worker's counts (undefined in a plain session). */
  e2ee(): GuestE2eeSnapshot | undefined;
}

export interface GuestE2eeSnapshot {
  state: GuestKeyState;
  gen: number;
  safetyCode: string | undefined;
  rekeys: number;
  refused: number;
  worker: E2eeStats;
}

declare global {
  interface Window {
    pairuxViewer?: ViewerHook;
  }
}

/** Local clocks drift: only call a link expired before asking the server when it clearly is. */
const EXPIRY_SLACK_MS = 30_000;

/** What an embedder hears whenever the page's state, participants or control change. */
export interface ViewerStatus {
  state: ViewerPageState;
  message: string;
  selfId: string | undefined;
  role: Participant['role'] | undefined;
  participants: Participant[];
  driverId: string | null;
  control: 'none' | 'requested' | 'granted' | 'unavailable';
  /** Where this guest's picture comes from now. */
  media: MediaMode | undefined;
  /** What the session focus last said about the media; '' once old news. */
  notice: string;
  /** An encrypted session: the lock line with its safety code (undefined in a plain session). */
  e2ee?: { state: GuestKeyState; safetyCode: string | undefined; gen: number };
  /** The current resume ticket, so the extension can carry this identity into a host page (host transfer). */
  resume: ResumeTicket | undefined;
  /** The role the current connection joined with (the ticket's). */
  joinedAs: Participant['role'] | undefined;
  ended?: { reason: string; message: string };
  errorCode?: string;
}

export interface ViewerPageOptions {
  /** The share link (`…/s/<id>#t=…`): the page's own URL in a browser, the pasted one in VS Code. */
  link: string;
  /** ws(s):// URL of the control plane's `/ws`. */
  signalingUrl: string;
  /** How the signaling socket is opened (default: a WebSocket to `signalingUrl`; in VS Code, the extension's). */
  transport?: SignalingTransport;
  client: 'browser' | 'vscode';
  /** Display name; default: from the link, else a remembered "Guest 1234". */
  name?: string;
  /** Join as this participant (a host that handed its seat over watches as itself). */
  resume?: ResumeTicket;
  onStatus?(status: ViewerStatus): void;
  /**
   * The host offers this participant its seat; the embedder asks its user and answers with
   * `answerHostOffer`. Without it (a browser, which cannot share a screen) offers are declined.
   */
  onHostOffer?(offer: HostOffer): void;
  /**
   * Host transfer in an encrypted session: this page's participant joined as the host, and this is
   * the key schedule the page held (current key as a link carries it, and its generation), for the
   * embedder's host page to continue. Called before the status that says so; for the embedder on
   * this machine only.
   */
  onTakeOverKey?(key: { key: string; gen: number }): void;
  /** Where the E2EE worker's script is (default: /dist/webview/e2ee-worker.js beside the page). */
  e2eeWorkerUrl?: string;
  /** Where LiveKit's E2EE worker's script is, for the SFU path (default: /dist/webview/livekit-e2ee-worker.js beside the page). */
  livekitE2eeWorkerUrl?: string;
}

/** What an embedder can do with a running page. */
export interface ViewerPageHandle {
  requestControl(): Promise<void>;
  releaseControl(): Promise<void>;
  leave(): Promise<void>;
  /** The user's answer to an offer of the host's seat (only a yes from the user accepts one). */
  answerHostOffer(offerId: string, accept: boolean): Promise<void>;
}

let ui: ViewerUi;
let options: ViewerPageOptions;
let lastStatus: Pick<ViewerStatus, 'state' | 'message' | 'ended' | 'errorCode'> = { state: 'loading', message: '' };
let engine: GuestMediaSwitch | undefined;
/** The session focus's last word about the media, for the embedder. */
let currentNotice = '';
let signaling: SignalingClient | undefined;
let control: ViewerControl | undefined;
/** An encrypted session's transforms and keys (undefined in a plain one). */
let keys: { guest: GuestKeys; transforms?: E2eeTransforms; chunks?: ChunkCipher } | undefined;

// Never in the served viewer: sendRawInput puts anything on the input channel.
if (TEST_HOOKS)
  window.pairuxViewer = {
    get state() {
      return (document.body.dataset.state ?? 'loading') as ViewerPageState;
    },
    get selfId() {
      return signaling?.self?.id;
    },
    // Zeros (not a rejection) before there is a connection, so pollers need no special case.
    stats: () => (engine ? engine.stats() : inboundVideoStats(undefined)),
    get screen() {
      return engine?.screen;
    },
    control: () => control?.snapshot(),
    sendRawInput: (raw) => control?.sendRaw(raw) ?? false,
    e2ee: () =>
      keys
        ? {
            state: keys.guest.state,
            gen: keys.guest.gen,
            safetyCode: keys.guest.safetyCode,
            rekeys: keys.guest.rekeys,
            refused: keys.guest.refusedCount,
            worker: sumE2eeStats(keys.transforms?.stats(), keys.chunks?.stats()),
          }
        : undefined,
    media: () => {
      const chosen = engine?.chosen;
      return {
        mode: chosen?.mode,
        sfu: chosen instanceof SfuGuestEngine ? chosen.sfuConnection : undefined,
        moves: engine?.moves ?? 0,
        moving: engine?.moving ?? false,
        epoch: signaling?.epoch ?? 0,
      };
    },
  };

function fail(screen: ErrorScreen): void {
  ui.showError(screen.code, screen.title, screen.message);
  lastStatus = { state: 'error', message: `${screen.title}: ${screen.message}`, errorCode: screen.code };
  emitStatus();
}

function emitStatus(): void {
  if (!options.onStatus) return;
  const view = control?.snapshot();
  const participants = signaling ? [...signaling.participants.values()] : [];
  const self = signaling?.self?.id;
  options.onStatus({
    ...lastStatus,
    selfId: self,
    role: self ? signaling?.participants.get(self)?.role : undefined,
    participants,
    driverId: signaling?.driverId ?? null,
    control: controlOf(view),
    media: engine?.chosen?.mode,
    notice: currentNotice,
    resume: signaling?.lastJoin?.resume,
    joinedAs: signaling?.lastJoin?.self.role,
    ...(keys ? { e2ee: { state: keys.guest.state, safetyCode: keys.guest.safetyCode, gen: keys.guest.gen } } : {}),
  });
}

function controlOf(view: ViewerControlSnapshot | undefined): ViewerStatus['control'] {
  if (!view) return 'none';
  if (view.phase === 'driving') return 'granted';
  if (view.phase === 'asking' || view.phase === 'waiting') return 'requested';
  return view.canRequest ? 'none' : 'unavailable';
}

/** The overlay's state, mirrored to the embedder. */
function setPage(state: ViewerPageState, title: string, message = '', ended?: ViewerStatus['ended']): void {
  // An error screen is the page's last word (a refused join, a key that cannot open the session):
  // late events (the participant list, the leave that follows) must not paint over it.
  if (lastStatus.state === 'error') return;
  ui.setState(state, title, message);
  lastStatus = { state, message: message || title, ...(ended ? { ended } : {}) };
  emitStatus();
}

function describeEnd(reason: EndReason, message: string): { title: string; message: string } {
  if (reason === 'replaced') return { title: 'Opened somewhere else', message: `${message} Reload this page to watch here instead.` };
  if (reason === 'left') return { title: 'You left the session', message: 'Reload the page to join again while the session is running.' };
  if (reason === 'removed') return { title: 'Removed from the session', message: message || 'The host removed you from the session.' };
  return { title: 'The session has ended', message: message || 'The host ended the session.' };
}

function start(params: ViewerParams, expiresAtMs: number | undefined): ViewerPageHandle {
  const log = consoleLogger('pairux:viewer');
  const client = new SignalingClient({
    transport: options.transport ?? new WebSocketTransport(options.signalingUrl),
    sessionId: params.sessionId,
    token: params.token,
    name: options.name ?? params.name ?? defaultGuestName(sessionStorageOrUndefined()),
    client: { kind: options.client, e2ee: canEncryptP2p() },
    ...(params.region ? { region: params.region } : {}),
    ...(options.resume ? { initialResume: options.resume } : {}),
    // A guest page never takes the host's seat unless its user accepted an offer of it.
    asGuest: true,
    log,
  });
  signaling = client;
  /** The key the guest's frames open with now (GuestKeys' current generation), for a host transfer. */
  let heldKey: ChainKey | undefined;
  // Registered before every other 'joined' listener: the embedder has the key before any status says this page is the host.
  client.on('joined', ({ result }) => {
    if (result.self.role !== 'host' || !heldKey || !result.session.e2ee) return;
    options.onTakeOverKey?.({ key: encodeMediaKey(heldKey.key), gen: heldKey.gen });
  });
  // The join result says the mode: SFU access present ⇒ LiveKit, else a peer connection to the host.
  // A move of the media by the session focus plays the new picture on a stage over this one first.
  // An encrypted session (the join says so): frames open with the link's key, or not at all,
  // through the P2P worker or LiveKit's E2EE, both fed by one key schedule.
  const encrypted = (): boolean => client.lastJoin?.session.e2ee === true;
  const guestKeys = (): GuestKeys | undefined => {
    // No key in the link: engines that open nothing (the page says why and leaves at once).
    if (!encrypted() || !params.key) return undefined;
    if (keys) return keys.guest;
    const made = new GuestKeys({ signaling: client, linkKey: params.key.text, linkGen: params.key.gen, log });
    keys = { guest: made };
    made.attach({ setKeys: (sending) => (heldKey = sending), forget: () => (heldKey = undefined) });
    made.on('state', ({ state, safetyCode, gen }) => {
      ui.setLock(lockText(safetyCode, gen));
      if (state === 'key-rejected') {
        guest.stop();
        fail(e2eeScreen('E2EE_KEY_REJECTED', KEY_REJECTED_MESSAGE));
      }
      emitStatus();
    });
    return made;
  };
  const p2pEncryption = (): { e2ee: E2eeTransforms; e2eeChunks: ChunkCipher } | undefined => {
    if (!encrypted()) return undefined;
    const transforms = startWorker(() => new E2eeTransforms(options.e2eeWorkerUrl ?? e2eeWorkerUrl()));
    const chunks = new ChunkCipher();
    const holder = guestKeys();
    if (holder && keys) {
      for (const target of [transforms, chunks]) {
        holder.attach(target);
        holder.watchTransforms(target);
      }
      keys.transforms = transforms;
      keys.chunks = chunks;
    }
    return { e2ee: transforms, e2eeChunks: chunks };
  };
  /** A decryption worker this page cannot start leaves nothing to show: the page says why (and no engine is made). */
  const startWorker = <T>(make: () => T): T => {
    try {
      return make();
    } catch (err) {
      fail(e2eeScreen(ErrorCode.E2eeRequired, `${CANNOT_START_WORKER_MESSAGE} (${String(err)})`));
      throw err;
    }
  };
  const sfuEncryption = (): SfuEncryption | undefined => {
    if (!encrypted()) return undefined;
    const ring = new SfuKeyRing();
    const holder = guestKeys();
    holder?.attach(ring);
    return {
      keys: ring,
      workerUrl: options.livekitE2eeWorkerUrl ?? livekitE2eeWorkerUrl(),
      onError: (reason, index) => (reason === 'missing' && index !== undefined ? holder?.sawMissingKey(index, SFU_KEY_RING) : holder?.sawUndecryptable()),
      // Nothing could ever open here: the page says why and leaves LiveKit, as the P2P worker's failure does.
      onWorkerFailed: (reason) => {
        guest.stop();
        fail(e2eeScreen(ErrorCode.E2eeRequired, `${CANNOT_START_WORKER_MESSAGE} (${reason})`));
      },
    };
  };
  const guest = new GuestMediaSwitch(
    client,
    (sfu, video) => {
      if (sfu) {
        const e2ee = sfuEncryption();
        return new SfuGuestEngine({ signaling: client, access: sfu, video: video ?? ui.video, paced: params.paced, ...(e2ee ? { e2ee } : {}), log });
      }
      const encryption = p2pEncryption();
      return new GuestEngine({
        signaling: client,
        video: ui.video,
        iceTransportPolicy: params.iceTransportPolicy,
        ...(params.jitterBufferMs === undefined ? {} : { jitterBufferTargetMs: params.jitterBufferMs }),
        directVideo: params.directVideo,
        ...encryption,
        log,
      });
    },
    { stage: () => createVideoStage(ui.video), log },
  );
  // On the SFU path the decoder's progress is what says frames open (LiveKit reports only failures).
  let decodedBefore = 0;
  setInterval(() => {
    if (!keys || guest.mode !== 'sfu') return;
    void guest.stats().then((s) => {
      if (s.framesDecoded > decodedBefore) keys?.guest.sawDecoded();
      decodedBefore = s.framesDecoded;
    });
  }, 500);
  engine = guest;
  const remote = startViewerControl({ client, guest, video: ui.video, log, onChange: emitStatus });
  control = remote;

  // What the session focus last said about the media (a move under way, or why there was none).
  let topologyNote = '';
  let topologyNoteTimer: ReturnType<typeof setTimeout> | undefined;
  client.on('topology', ({ topology }) => {
    topologyNote = topology.message;
    currentNotice = topology.message;
    emitStatus();
    if (topologyNoteTimer !== undefined) clearTimeout(topologyNoteTimer);
    // A finished move is news for a moment; a move under way or a failure stays until the next word.
    if (topology.phase === 'done') topologyNoteTimer = setTimeout(() => ((topologyNote = ''), (currentNotice = ''), void refreshStatus(), emitStatus()), 8000);
    log('info', `media: ${topology.message}`);
    void refreshStatus();
  });

  let lastRetry = '';
  client.on('retry', ({ delayMs, serverSaid }) => {
    const again = `trying again in ${(delayMs / 1000).toFixed(1)} s`;
    // The server answering "not now" (its state store unreachable, say) is not the same as no server.
    lastRetry = serverSaid ? `The server cannot take you back in right now (${serverSaid.replace(/\.$/, '')}); ${again}` : `Cannot reach the server; ${again}`;
    render(guest.state);
  });
  let becameHost = false;
  client.on('joined', ({ result }) => {
    lastRetry = '';
    lobbyNote = '';
    // An encrypted session and a link without its key: nothing here could ever be shown.
    if (result.session.e2ee && !params.key) {
      guest.stop();
      fail(e2eeScreen('E2EE_KEY_MISSING', KEY_MISSING_MESSAGE));
      void client.leave().catch(() => undefined);
      return;
    }
    // Host transfer made this participant the host: its editor shares from a host panel now, and
    // this page, whose guest engine would look for a host that is itself, stands aside.
    if (result.self.role === 'host' && !becameHost) {
      becameHost = true;
      guest.stop();
      setPage('connecting', 'You are the host now', 'Your screen is being shared from this editor; this view closes.');
      return;
    }
    if (becameHost) return;
    render(guest.state);
  });
  client.on('participants', ({ participants }) => {
    ui.setParticipants(participants, client.self?.id);
    render(guest.state);
    emitStatus();
  });
  client.on('ended', ({ reason, message }) => {
    keys?.guest.close();
    const text = describeEnd(reason, message);
    setPage('ended', text.title, text.message, { reason, message: text.message });
    ui.setStatus(text.title);
  });
  // The host decides who comes in: until then no seat, no picture, just who we are waiting for.
  let lobbyNote = '';
  client.on('lobbyWaiting', ({ message }) => {
    lobbyNote = message;
    render(guest.state);
  });
  client.on('failed', ({ error }) => {
    if (error.data?.reason === 'lobby-denied' || error.data?.reason === 'lobby-timeout') {
      guest.stop();
      fail({
        code: String(error.data.reason),
        title: error.data.reason === 'lobby-denied' ? 'The host did not let you in' : 'Nobody let you in',
        message: error.message,
      });
      return;
    }
    if (error.data?.reason === UNASKED_HOST_REASON) {
      guest.stop();
      fail({ code: UNASKED_HOST_REASON, title: 'Left the session: the server tried to share your screen', message: error.message });
      return;
    }
    if (error.code === ErrorCode.E2eeRequired) {
      fail(e2eeScreen(ErrorCode.E2eeRequired, CANNOT_ENCRYPT_MESSAGE));
      return;
    }
    fail(errorScreen(error, expiresAtMs));
  });
  client.on('hostOffered', ({ offer }) => {
    if (options.onHostOffer) {
      options.onHostOffer(offer);
      return;
    }
    // Nobody here can say yes (a browser cannot share a screen): the host hears no at once.
    client.declineHostOffer(offer.offerId).catch((err: unknown) => log('warn', 'could not decline an offer of the host seat', err));
  });
  guest.on('state', ({ state }) => {
    if (!becameHost) render(state);
  });
  guest.on('rtt', () => void refreshStatus());

  function render(state: GuestState): void {
    switch (state) {
      case 'connecting': {
        const joined = client.state === 'joined';
        const host = client.hostId ? client.participants.get(client.hostId) : undefined;
        if (!joined && lobbyNote && !lastRetry) {
          setPage('connecting', 'Waiting to be let in', lobbyNote);
          ui.setStatus(lobbyNote);
          return;
        }
        const message = !joined
          ? lastRetry || `Joining session ${params.sessionId}…`
          : !host
            ? 'The host is not in the session yet; the picture appears as soon as they are.'
            : !host.connected
              ? `${host.name} (the host) is reconnecting; the picture appears when they are back.`
              : `Waiting for ${host.name}'s screen…`;
        setPage('connecting', 'Connecting…', message);
        ui.setStatus(message);
        return;
      }
      case 'live':
        setPage('live', 'Live');
        // Say at once what is known without stats: reading them can take a while on a busy
        // machine, and the line must not go on saying "Waiting for … screen" under a live picture.
        ui.setStatus(statusText('live', undefined));
        void refreshStatus();
        return;
      case 'reconnecting':
        setPage(
          'reconnecting',
          'Reconnecting…',
          client.state !== 'joined'
            ? lastRetry || 'Reconnecting to the server…'
            : guest.mode === 'sfu'
              ? "The media server's connection dropped; the last picture is not live until it is back."
              : 'The connection to the host dropped; the last picture stays until it is back.',
        );
        ui.setStatus(statusText('reconnecting', undefined));
        void refreshStatus();
        return;
      case 'ended':
      case 'error':
        // The signaling client's 'ended' / 'failed' listeners above draw these screens.
        return;
    }
  }

  async function refreshStatus(): Promise<void> {
    const state = guest.state;
    if (state !== 'live' && state !== 'reconnecting') return;
    let stats: InboundVideoStats | undefined;
    try {
      stats = await guest.stats();
    } catch {
      stats = undefined;
    }
    if (guest.state !== state) return;
    ui.setStatus(statusText(state, stats));
  }

  function statusText(state: 'live' | 'reconnecting', stats: InboundVideoStats | undefined): string {
    const parts: string[] = [state === 'live' ? 'Live' : 'Reconnecting'];
    if (stats && stats.frameWidth > 0) {
      const screen = guest.screen;
      // Say so when the encoder is sending less than the host's real screen size.
      const scaled = screen && (screen.width !== stats.frameWidth || screen.height !== stats.frameHeight);
      parts.push(`${stats.frameWidth}×${stats.frameHeight}${scaled ? ` (screen ${screen.width}×${screen.height})` : ''}`);
    }
    // The helper sends about one frame a second while nothing on the screen changes: under 2 fps
    // that is a still screen, not a broken stream, and "0 fps" would alarm people.
    if (stats) parts.push(stats.fps < 2 ? 'screen still' : `${Math.round(stats.fps)} fps`);
    if (guest.rttMs !== undefined) parts.push(`RTT ${Math.round(guest.rttMs)} ms`);
    if (stats?.codec) parts.push(stats.codec);
    parts.push(mediaModeLabel(guest.mode));
    if (stats?.localCandidateType) parts.push(stats.localCandidateType === 'relay' || stats.remoteCandidateType === 'relay' ? 'via TURN relay' : 'direct');
    const driving = remote.driverText();
    if (driving) parts.push(driving);
    parts.push(`${client.participants.size} in session`);
    if (client.state === 'reconnecting') parts.push('server connection lost, retrying');
    if (guest.moving) parts.push('moving to the SFU…');
    return topologyNote ? `${parts.join(' · ')} — ${topologyNote}` : parts.join(' · ');
  }

  setInterval(() => void refreshStatus(), 1000);
  // Leaving the page (reload or close) tells the host at once, so it stops encoding for us; the
  // seat itself stays ours for the grace period, and a reload says hello again.
  window.addEventListener('pagehide', () => guest.stop());
  // Restored from the back/forward cache with a stopped engine: start over as a fresh load.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) location.reload();
  });
  guest.start();
  client.start();
  setPage('connecting', 'Connecting…', `Joining session ${params.sessionId}…`);
  return {
    requestControl: () => remote.request(),
    releaseControl: () => remote.release(),
    leave: async () => {
      guest.stop();
      await client.leave();
    },
    answerHostOffer: (offerId, accept) => (accept ? client.acceptHostOffer(offerId) : client.declineHostOffer(offerId)),
  };
}

function sessionStorageOrUndefined(): Storage | undefined {
  try {
    return sessionStorage;
  } catch {
    return undefined;
  }
}

/** Starts the page for one share link; undefined when the link cannot be used (the page says why). */
export function startViewerPage(opts: ViewerPageOptions): ViewerPageHandle | undefined {
  options = opts;
  ui = new ViewerUi();
  const link = readViewerLink(opts.link);
  if (!link.ok) {
    fail(linkInvalidScreen(link.message));
    return undefined;
  }
  const { params } = link;
  const claims = peekClaims(params.token);
  const expiresAtMs = claims ? claims.exp * 1000 : undefined;
  // The server is the authority; these checks only spare a round trip and say it sooner.
  if (expiresAtMs !== undefined && expiresAtMs < Date.now() - EXPIRY_SLACK_MS) {
    fail(expiredScreen(expiresAtMs));
    return undefined;
  }
  if (claims && claims.sid !== params.sessionId) {
    fail(wrongSessionScreen());
    return undefined;
  }
  return start(params, expiresAtMs);
}
