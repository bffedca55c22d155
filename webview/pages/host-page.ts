/**
 * The host page's logic: a screen → track → HostEngine, joined as the session's host. Used by
 * the headless host of the demo, tests and benches (`host.ts`, settings in its URL) and by the
 * VS Code host panel (`webview/vscode/host-panel.ts`, settings from the extension). Without a
 * bridge it shares a generated screen on its own; with one, the runner behind the bridge (the
 * demo process or the extension) supplies the frames and decides about remote control (see
 * host-bridge-link.ts). It doubles as a small status page.
 *
 * An embedder hears the page's events through window.pairuxHostEvent(event) when it defines it
 * (the demo does, with Playwright's exposeFunction). Test hooks (stable): window.pairuxHost, in
 * the test-page bundles only (test-hooks.ts).
 */
import './host.css';
import { GeneratedScreenSource } from '../engine/frames/generated-screen';
import { FrameTrack } from '../engine/frames/track-from-frames';
import { HostControl } from '../engine/input/host-control';
import { HostLobby } from '../engine/signaling/host-lobby';
import { HostEngine } from '../engine/p2p/host-engine';
import { HostMediaSwitch, mediaModeLabel } from '../engine/media-engine';
import { SfuHostEngine, type SfuHostSnapshot } from '../engine/sfu/sfu-host';
import { HostInputGate, type InputGateStats } from '../engine/input/host-input';
import { SourceSwitch } from '../engine/frames/source-switch';
import type { FrameSource } from '../engine/frames/frame-source';
import { SignalingClient, type SignalingState } from '../engine/signaling/signaling-client';
import { WebSocketTransport, type SignalingTransport } from '../engine/signaling/transport';
import type { HostBridgeClient } from '../engine/frames/host-bridge-client';
import type {
  ControlAuditEntry,
  LinksChanged,
  HostOfferEnded,
  LinkSummary,
  Participant,
  ResumeTicket,
  RotateLinks,
  ShareLinkInfo,
} from '../../protocol/signaling';
import type { ParamsOf, ResultOf } from '../../protocol/rpc';
import { consoleLogger } from '../engine/logger';
import { RateMeter } from '../engine/stats';
import { HostLoadWatch, type HostLoadSample } from '../engine/quality/host-load';
import type { AllocatorDecision } from '../engine/quality/bandwidth-allocator';
import { HostRoom, roomRows } from './host-room';
import { readHostParams, type HostParams } from './host-params';
import { BridgeLink, type BridgeStatus } from './host-bridge-link';
import { TEST_HOOKS } from './test-hooks';
import { canEncryptP2p, E2eeTransforms, sumE2eeStats, type E2eeStats } from '../engine/e2ee/e2ee-transforms';
import { ChunkCipher } from '../engine/e2ee/chunk-cipher';
import { chainFrom, HostKeys, type KeyAt, type KeyView } from '../engine/e2ee/host-keys';
import { SfuKeyRing } from '../engine/e2ee/sfu-key-ring';
import type { SfuEncryption } from '../engine/sfu/sfu-e2ee';
import { withMediaKey } from '../../protocol/share-link';
import type { SessionTiers, TierName } from '../../protocol/tiers';
import type { HostLoadReport } from '../../protocol/signaling';
import { CANNOT_START_WORKER_MESSAGE, e2eeWorkerUrl, livekitE2eeWorkerUrl, lockText } from './e2ee-text';
import type { GuestConnectionState, GuestInfo, GuestStats, MediaMode, ScreenDescription } from '../engine/engine-types';

export type HostPageState = 'loading' | SignalingState;

export type HostEvent =
  | { type: 'state'; state: HostPageState }
  | { type: 'guest'; id: string; name: string; role: string; state: GuestConnectionState }
  | { type: 'error'; message: string }
  | { type: 'control'; driverId: string | null; driverName: string | null; reason: string }
  | { type: 'bridge'; state: BridgeStatus['state']; message: string }
  | { type: 'topology'; media: MediaMode; phase: 'moving' | 'done' | 'failed'; reason: string; message: string }
  /** A removal revoked the link the guest came through; `controller` / `viewer`: the new shared link's URL, when one was replaced. */
  | { type: 'links'; reason: string; message: string; revoked: string[]; controller?: string; viewer?: string }
  /** The host's offer of its seat ended without a transfer. */
  | { type: 'offerEnded'; participantId: string; reason: 'declined' | 'expired'; message: string }
  /** Peer-to-peer: the host began (or stopped) failing to keep up with its guests, as told to the control plane. */
  | ({ type: 'hostLoad' } & HostLoadReport)
  /**
   * An encrypted session's media key changed (started, ratcheted, re-keyed): what the embedder's
   * links carry from now on (`key`, `gen`) and the safety code to compare. For the embedder on
   * this machine only; the page never sends it to the server.
   */
  | { type: 'e2ee'; gen: number; key: string; safetyCode: string; why: KeyView['why'] };

export interface FrameLogEntry {
  /** The marker's frame number (seq mod 2^16). */
  frame: number;
  seq: number;
  /** Epoch ms, as painted (low 32 bits) into the marker. */
  captureTime: number;
}

export interface HostControlSnapshot extends InputGateStats {
  driverId: string | null;
  /** Stop-all ran and no new grant has come since: every input is refused. */
  stopped: boolean;
  asked: number;
  granted: number;
  denied: number;
}

export interface HostBridgeSnapshot extends BridgeStatus {
  framesDelivered: number;
  framesBad: number;
  lastBadReason: string | undefined;
  inputsSent: number;
}

export interface HostHook {
  readonly state: HostPageState;
  readonly selfId: string | undefined;
  guests(): Array<Pick<GuestInfo, 'id' | 'name' | 'role' | 'pcState' | 'iceState' | 'state' | 'pcId' | 'present'>>;
  /** Frames the generated screen produced / handed to the track / dropped under back-pressure. */
  readonly framesProduced: number;
  readonly framesWritten: number;
  readonly framesDropped: number;
  stats(): Promise<GuestStats[]>;
  /** Peer-to-peer: whether the host counts as not keeping up, and the last second's verdict (quality/host-load.ts). */
  load(): { overloaded: boolean; sample: HostLoadSample | undefined };
  /** The most recent frames that reached the track (up to FRAME_LOG_SIZE), oldest first. */
  frameLog(): FrameLogEntry[];
  /** Ends the session for everyone. */
  end(reason?: string): Promise<void>;
  /** The shared screen as guests are told it (`peer.screen`). */
  readonly screen: ScreenDescription | undefined;
  /** Remote control as this page enforces it. */
  control(): HostControlSnapshot;
  /** The runner's bridge, or null without `bridge=`. */
  bridge(): HostBridgeSnapshot | null;
  /** Which media path the session uses (known after the first join), and the SFU side's state. */
  media(): { mode: MediaMode | undefined; sfu: SfuHostSnapshot | undefined; retiringP2p: boolean; epoch: number };
  /** An encrypted session's keys and the worker's counts (undefined in a plain session). */
  e2ee?(): HostE2eeSnapshot | undefined;
  /** Peer-to-peer: the bandwidth allocator's last decision for the RTP guests (undefined before its first, or in SFU mode). */
  allocation?(): AllocatorDecision | undefined;
}

export interface HostE2eeSnapshot {
  gen: number;
  safetyCode: string | undefined;
  rekeys: number;
  refused: number;
  worker: E2eeStats;
}

declare global {
  interface Window {
    pairuxHost?: HostHook;
    pairuxHostEvent?: (event: HostEvent) => unknown;
    /** The headless host page's actions, for the demo that embeds it (webview/pages/host.ts). */
    pairuxHostActions?: HostPageActions;
  }
}

const FRAME_LOG_SIZE = 3600;
/** The P2P bandwidth allocator reads every guest's sender each second (peer-quality.ts): the page's figures take a read this recent. */
const STATS_SHARE_MS = 1100;

function el(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`host.html is missing #${id}`);
  return found;
}

function report(event: HostEvent): void {
  try {
    // Playwright's exposeFunction returns a promise; a closed page rejects it, which is harmless.
    const result = window.pairuxHostEvent?.(event);
    if (result instanceof Promise) result.catch(() => undefined);
  } catch {
    // A broken observer must not break the host.
  }
}

let pageState: HostPageState = 'loading';
/** Why this encrypted session's page can send nothing (an encryption worker that would not start): the page's last word. */
let encryptionFailure: string | undefined;

let onStateChange: (() => void) | undefined;

function setState(state: HostPageState, message?: string): void {
  pageState = state;
  onStateChange?.();
  document.body.dataset.state = state;
  el('state').textContent = state;
  // A later "Sharing…" must not paint over why nothing is sent.
  if (message !== undefined) el('message').textContent = encryptionFailure ?? message;
  report({ type: 'state', state });
}

/** What the host page runs on besides its parameters. */
export interface HostPageEnv {
  /** ws(s):// URL of the control plane's `/ws`. */
  signalingUrl: string;
  /** How the signaling socket is opened (default: a WebSocket to `signalingUrl`; in VS Code, the extension's). */
  transport?: SignalingTransport;
  /** Opens the runner's bridge; without it the page shares its generated screen. */
  connectBridge?: () => Promise<HostBridgeClient>;
  /** Called whenever the session's state, participants or driver change (the extension mirrors them). */
  onSession?(view: HostSessionView): void;
  /** Join as this participant (a guest taking over the host's seat). */
  resume?: ResumeTicket;
  /** The server changed links without the host asking (a removal revoked one); the extension updates its links. */
  onLinksChanged?(change: ParamsOf<typeof LinksChanged>): void;
  /** An offer of the host's seat was declined or expired; the extension tells its user. */
  onHostOfferEnded?(ended: ParamsOf<typeof HostOfferEnded>): void;
  /** The host clicked Copy beside a link: the editor copies its own (without it, the page uses the clipboard itself). */
  onCopyLink?(role: 'controller' | 'viewer'): void;
  /** An encrypted session's key changed: the links the embedder hands out carry this one from now on. */
  onKey?(key: KeyView): void;
  /** Where the E2EE worker's script is (default: /dist/webview/e2ee-worker.js beside the page). */
  e2eeWorkerUrl?: string;
  /** Where LiveKit's E2EE worker's script is, for the SFU path (default: /dist/webview/livekit-e2ee-worker.js beside the page). */
  livekitE2eeWorkerUrl?: string;
  /** How often the ratchet moves an encrypted session's key on (default 10 minutes; tests shorten it). */
  ratchetMs?: number;
  /**
   * Host transfer in an encrypted session: the key schedule the session is at (the key the guest
   * page that took the seat held), continued instead of a new key, which no guest's link would hold.
   */
  initialKey?: KeyAt;
}

/** The host's session as the editor shows it. */
export interface HostSessionView {
  state: HostPageState;
  message: string;
  selfId: string | undefined;
  participants: Participant[];
  driverId: string | null;
  /** Where the media flows now (an auto session moves to the SFU as it grows). */
  media: MediaMode | undefined;
  /** What the session focus last said about the media (a move, or why there was none); '' once old news. */
  notice: string;
  /** This page's role: 'controller' once it handed the host's seat over (it shares nothing then). */
  role: Participant['role'] | undefined;
  /** The current resume ticket, so the extension can carry this identity into a guest page. */
  resume: ResumeTicket | undefined;
  /** The role the current connection joined with (the ticket's). */
  joinedAs: Participant['role'] | undefined;
  /** The session's quality tiers as the server said at join; undefined from a server older than the tiers. */
  tiers: SessionTiers | undefined;
}

/** What the extension can do through the page: the host's actions go to the server from here. */
export interface HostPageActions {
  grant(participantId: string): Promise<void>;
  revoke(participantId: string): Promise<void>;
  stopAll(): void;
  setRole(participantId: string, role: 'controller' | 'viewer'): Promise<void>;
  remove(participantId: string): Promise<void>;
  /** One guest's quality tier (protocol/tiers.ts), or null for its role's. */
  setTier(participantId: string, tier: TierName | null): Promise<void>;
  /** The shared links as the editor hands them out: shown in the control room with copy buttons. */
  showLinks(links: { viewer: string; controller: string }): void;
  /** Host transfer: the controller takes over the host's seat (this page then stops sharing). */
  makeHost(participantId: string): Promise<void>;
  /** A share link; with a label or single use, a personal link for one person. */
  createLink(role: 'controller' | 'viewer', options?: { label?: string; singleUse?: boolean; ttlSeconds?: number }): Promise<ShareLinkInfo>;
  /** Every guest link stops working; new shared links for both roles. */
  rotateLinks(): Promise<ResultOf<typeof RotateLinks>>;
  listLinks(): Promise<Array<ReturnType<typeof LinkSummary.parse>>>;
  controlAudit(): Promise<ControlAuditEntry[]>;
  revokeLink(id: string): Promise<boolean>;
  end(reason?: string): Promise<void>;
}

export function startHostPage(params: HostParams, env: HostPageEnv): HostPageActions {
  const log = consoleLogger('pairux:host');
  // A schedule that cannot be continued stops the page before it joins: a fresh key instead would show every guest nothing.
  if (env.initialKey) chainFrom(env.initialKey);
  // Without a bridge: exactly the stand-alone generated screen. With one: a switch the runner's
  // answer fills in, so the track and engine exist before the runner has been asked.
  const generated = env.connectBridge
    ? undefined
    : new GeneratedScreenSource({ width: params.width, height: params.height, fps: params.fps, scroll: params.scroll });
  const sources = env.connectBridge ? new SourceSwitch({ width: params.width, height: params.height, fps: params.fps, name: 'bridge' }) : undefined;
  const source: FrameSource = generated ?? (sources as SourceSwitch);
  const frameLog: FrameLogEntry[] = [];
  const frames = new FrameTrack(source, {
    contentHint: params.contentHint,
    onFrame: (frame, written) => {
      if (!written) return;
      frameLog.push({ frame: frame.seq & 0xffff, seq: frame.seq, captureTime: frame.captureTime });
      if (frameLog.length > FRAME_LOG_SIZE) frameLog.splice(0, frameLog.length - FRAME_LOG_SIZE);
    },
  });
  const signaling = new SignalingClient({
    transport: env.transport ?? new WebSocketTransport(env.signalingUrl),
    sessionId: params.sessionId,
    token: params.token,
    name: params.name,
    client: { kind: 'host-page', e2ee: canEncryptP2p() },
    ...(params.region ? { region: params.region } : {}),
    ...(env.resume ? { initialResume: env.resume } : {}),
    log,
  });
  const control = new HostControl({ signaling, log });
  // Knocks go to the runner: held until its bridge opens, turned away at once without one (or once it fails).
  const lobby = new HostLobby({ signaling, log, runner: env.connectBridge !== undefined });
  const gate = new HostInputGate({ refusalFor: (guestId) => control.refusalFor(guestId) });
  const screen: ScreenDescription = { width: params.width, height: params.height, fps: params.fps, source: source.info.name };
  const tuning = {
    codec: params.codec,
    contentHint: params.contentHint,
    degradationPreference: params.degradationPreference,
    ...(params.maxBitrateKbps ? { maxBitrateKbps: params.maxBitrateKbps } : {}),
    simulcastLayers: params.simulcastLayers,
  };
  // An encrypted session (the join says so): this page makes the key and seals every frame it
  // sends, through the P2P worker or LiveKit's E2EE, both fed by one key schedule.
  let keys: { host: HostKeys; transforms?: E2eeTransforms; chunks?: ChunkCipher } | undefined;
  const hostKeys = (): HostKeys | undefined => {
    if (!signaling.lastJoin?.session.e2ee) return undefined;
    if (keys) return keys.host;
    const ratchetMs = env.ratchetMs ?? params.ratchetMs;
    const host = new HostKeys({ signaling, log, ...(ratchetMs ? { ratchetMs } : {}), ...(env.initialKey ? { initial: env.initialKey } : {}) });
    keys = { host };
    host.on('key', (view) => {
      el('e2ee').textContent = lockText(view.safetyCode, view.gen);
      report({ type: 'e2ee', gen: view.gen, key: view.text, safetyCode: view.safetyCode, why: view.why });
      env.onKey?.(view);
    });
    host.on('refused', ({ from, why }) => log('warn', `E2EE: refused ${why} (${from})`));
    return host;
  };
  /** An encryption worker would not start: the page says so, and keeps saying so. */
  const cannotEncrypt = (reason: string): void => {
    const message = `${CANNOT_START_WORKER_MESSAGE} (${reason})`;
    encryptionFailure = message;
    el('message').textContent = message;
    report({ type: 'error', message });
    publish();
  };
  const p2pEncryption = (): E2eeTransforms | undefined => {
    const host = hostKeys();
    if (!host || !keys) return undefined;
    if (!keys.transforms) {
      try {
        keys.transforms = new E2eeTransforms(env.e2eeWorkerUrl ?? e2eeWorkerUrl());
      } catch (err) {
        // Nothing is sent rather than anything in clear: no engine is made, and the host is told why.
        cannotEncrypt(String(err));
        throw err;
      }
      host.attach(keys.transforms);
      keys.chunks = new ChunkCipher();
      host.attach(keys.chunks);
    }
    return keys.transforms;
  };
  const sfuEncryption = (): SfuEncryption | undefined => {
    const host = hostKeys();
    if (!host) return undefined;
    const ring = new SfuKeyRing();
    host.attach(ring);
    // LiveKit without its worker sends nothing at all (never anything in clear); the host is told why.
    return { keys: ring, workerUrl: env.livekitE2eeWorkerUrl ?? livekitE2eeWorkerUrl(), onWorkerFailed: cannotEncrypt };
  };
  /** A link as this host hands it out: an encrypted session's carries the current key in its fragment. */
  const keyed = <L extends { url: string }>(link: L): L => {
    const view = keys?.host.view;
    return view ? { ...link, url: withMediaKey(link.url, view.text, view.gen) } : link;
  };
  // The join result says the mode: with SFU access the screen goes to LiveKit, else to each guest.
  // A move by the session focus starts the SFU engine beside the P2P one (make before break).
  const p2p = (): HostEngine => {
    const e2ee = p2pEncryption();
    return new HostEngine({
      signaling,
      track: frames.track,
      input: gate,
      screen,
      ...tuning,
      iceTransportPolicy: params.iceTransportPolicy,
      directVideo: params.directVideo,
      allocator: params.allocator,
      ...(e2ee ? { e2ee, ...(keys?.chunks ? { e2eeChunks: keys.chunks } : {}) } : {}),
      log,
    });
  };
  const engine = new HostMediaSwitch(
    signaling,
    screen,
    (sfu) => {
      if (!sfu) return p2p();
      const e2ee = sfuEncryption();
      return new SfuHostEngine({ signaling, access: sfu, track: frames.track, input: gate, screen, ...tuning, ...(e2ee ? { e2ee } : {}), log });
    },
    log,
  );
  const modeNow = (): MediaMode | undefined => (signaling.lastJoin ? engine.mode : undefined);
  let notice = '';
  signaling.on('linksChanged', (change) => {
    log('info', change.message);
    report({
      type: 'links',
      reason: change.reason,
      message: change.message,
      revoked: change.revoked,
      ...(change.controller ? { controller: keyed(change.controller).url } : {}),
      ...(change.viewer ? { viewer: keyed(change.viewer).url } : {}),
    });
    env.onLinksChanged?.({
      ...change,
      ...(change.controller ? { controller: keyed(change.controller) } : {}),
      ...(change.viewer ? { viewer: keyed(change.viewer) } : {}),
    });
  });
  signaling.on('hostOfferEnded', (ended) => {
    log('info', ended.message);
    el('message').textContent = ended.message;
    report({ type: 'offerEnded', participantId: ended.participantId, reason: ended.reason, message: ended.message });
    env.onHostOfferEnded?.(ended);
  });
  signaling.on('topology', ({ topology }) => {
    notice = topology.message;
    el('media').textContent = topology.message;
    report({ type: 'topology', media: topology.media, phase: topology.phase, reason: topology.reason, message: topology.message });
    publish();
  });

  const framesProduced = (): number => {
    if (generated) return generated.framesProduced;
    const inner = sources?.source;
    return inner instanceof GeneratedScreenSource ? inner.framesProduced : (link?.frames?.framesDelivered ?? 0);
  };
  if (TEST_HOOKS)
    window.pairuxHost = {
      get state() {
        return pageState;
      },
      get selfId() {
        return signaling.self?.id;
      },
      guests: () =>
        engine.guests().map(({ id, name, role, pcState, iceState, state, pcId, present }) => ({ id, name, role, pcState, iceState, state, pcId, present })),
      get framesProduced() {
        return framesProduced();
      },
      get framesWritten() {
        return frames.framesWritten;
      },
      get framesDropped() {
        return frames.framesDropped;
      },
      stats: () => engine.stats(),
      load: () => ({ overloaded: load.isOverloaded, sample: load.sample }),
      frameLog: () => frameLog.slice(),
      end: (reason) => signaling.end(reason),
      get screen() {
        return engine.screen;
      },
      control: () => ({
        driverId: control.driverId,
        stopped: control.stopped,
        asked: control.asked,
        granted: control.granted,
        denied: control.denied,
        ...gate.stats(),
      }),
      bridge: () =>
        link
          ? {
              ...link.status,
              framesDelivered: link.frames?.framesDelivered ?? 0,
              framesBad: link.frames?.framesBad ?? 0,
              lastBadReason: link.frames?.lastBadReason,
              inputsSent: link.inputsSent,
            }
          : null,
      e2ee: () =>
        keys
          ? {
              gen: keys.host.gen,
              safetyCode: keys.host.view?.safetyCode,
              rekeys: keys.host.rekeys,
              refused: keys.host.refusedCount,
              worker: sumE2eeStats(keys.transforms?.stats(), keys.chunks?.stats()),
            }
          : undefined,
      allocation: () => (engine.chosen instanceof HostEngine ? engine.chosen.allocation : undefined),
      media: () => {
        const chosen = engine.chosen;
        return {
          mode: modeNow(),
          sfu: chosen instanceof SfuHostEngine ? chosen.snapshot() : undefined,
          retiringP2p: engine.retiring !== undefined,
          epoch: signaling.epoch,
        };
      },
    };

  const link = env.connectBridge
    ? new BridgeLink({
        connect: env.connectBridge,
        params,
        signaling,
        engine,
        control,
        lobby,
        gate,
        sources: sources as SourceSwitch,
        log,
        onStatus: (status) => {
          el('bridge').textContent = `Runner: ${status.message}`;
          report({ type: 'bridge', state: status.state, message: status.message });
        },
      })
    : undefined;
  if (link) signaling.once('joined', () => void link.start());
  control.on('changed', ({ driverId, driverName, reason, approved }) => {
    el('control').textContent = !driverId
      ? `Nobody is driving (${reason})`
      : approved
        ? `${driverName ?? driverId} is driving (${reason})`
        : `The server named ${driverName ?? driverId} as driver, but you never allowed it: ignored.`;
    report({ type: 'control', driverId, driverName, reason });
  });
  control.on('stopped', () => {
    el('control').textContent = 'All control stopped by the host; input is refused.';
  });
  control.on('error', ({ message }) => report({ type: 'error', message }));

  const sharingMessage = (): string =>
    `Sharing ${env.connectBridge ? "the runner's" : 'a generated'} ${params.width}×${params.height}@${params.fps} screen ${mediaModeLabel(modeNow())} in session ${params.sessionId} (${modeNow() === 'sfu' ? 'simulcast' : params.codec}, hint '${params.contentHint}', ${params.degradationPreference}${params.maxBitrateKbps ? `, ≤ ${params.maxBitrateKbps} kbps` : ''}${params.iceTransportPolicy === 'relay' ? ', relay only' : ''}).`;
  signaling.on('state', ({ state }) => {
    if (state === 'joined') shownMode = modeNow();
    const message =
      state === 'joined' ? sharingMessage() : state === 'reconnecting' ? 'Lost the server; reconnecting (guests keep their picture meanwhile).' : undefined;
    setState(state, message);
  });
  // After a move the media path changes under the same 'joined' state (the switch says so with 'guests').
  let shownMode = modeNow();
  engine.on('guests', () => {
    if (signaling.state !== 'joined' || modeNow() === shownMode) return;
    shownMode = modeNow();
    setState('joined', sharingMessage());
  });
  signaling.on('failed', ({ error }) => {
    el('message').textContent = `Could not join as host: ${error.code}: ${error.message}`;
    report({ type: 'error', message: `${error.code}: ${error.message}` });
  });
  signaling.on('ended', ({ message }) => {
    el('message').textContent = `Session ended: ${message}`;
    frames.stop();
    keys?.host.close();
    keys?.transforms?.close();
  });
  engine.on('guest', ({ guest }) => report({ type: 'guest', id: guest.id, name: guest.name, role: guest.role, state: guest.state }));
  engine.on('guests', () => renderGuests());
  engine.on('error', ({ message }) => report({ type: 'error', message }));

  const rates = new Map<string, RateMeter>();
  const kbpsById = new Map<string, number>();
  const statsById = new Map<string, GuestStats>();
  function renderGuests(): void {
    const rows = engine.guests().map((g) => {
      const s = statsById.get(g.id);
      const tr = document.createElement('tr');
      const kbps = kbpsById.get(g.id) ?? 0;
      const cells = [
        g.name,
        g.role,
        g.state,
        g.iceState,
        s ? `${s.frameWidth}×${s.frameHeight}` : '',
        s ? String(Math.round(s.fps)) : '',
        s?.codec ?? '',
        String(kbps),
        s?.qualityLimitationReason ?? '',
      ];
      for (const text of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    });
    el('guests').replaceChildren(...rows);
  }
  // Peer-to-peer, the host encodes for every guest: when it cannot keep up for a few seconds it
  // says so, and the control plane moves the session to an SFU (or lowers its viewers).
  const load = new HostLoadWatch();
  const judgeLoad = (guests: GuestStats[]): void => {
    if (modeNow() !== 'p2p' || signaling.state !== 'joined') return load.reset();
    const said = load.add({ at: performance.now(), framesOffered: framesProduced() + (generated?.framesSkipped ?? 0), targetFps: params.fps, guests });
    if (!said) return;
    log(said.overloaded ? 'warn' : 'info', `host load: ${JSON.stringify(said)}`);
    report({ type: 'hostLoad', ...said });
    signaling.reportHostLoad(said).then(
      (answer) => {
        if (answer.action === 'none') return;
        notice = answer.message;
        el('media').textContent = answer.message;
        publish();
      },
      (err: unknown) => log('warn', `could not report the host's load: ${String(err)}`),
    );
  };
  const room = new HostRoom({
    track: frames.track,
    what: `${env.connectBridge ? "The runner's" : 'A generated'} ${params.width}×${params.height} screen at ${params.fps} fps`,
    stopAll: () => control.stopAll(),
    stopSharing: () => signaling.end(),
    ...(env.onCopyLink ? { copyLink: env.onCopyLink } : {}),
  });
  const roomRates = new Map<string, RateMeter>();
  const renderRoom = (): void =>
    room.render(
      roomRows(
        {
          guests: engine.guests(),
          participants: signaling.participants,
          driverId: signaling.driverId,
          stats: statsById,
          expectedFps: load.sample?.expectedFps ?? params.fps,
          p2p: modeNow() === 'p2p',
        },
        roomRates,
      ),
    );
  engine.on('guests', () => renderRoom());
  signaling.on('participants', () => renderRoom());
  const refreshStats = async () => {
    // The figures the bandwidth allocator read this last second will do (one getStats a second per guest, not two).
    const guests = await engine.stats(STATS_SHARE_MS).catch(() => []);
    judgeLoad(guests);
    for (const s of guests) {
      statsById.set(s.guestId, s);
      const meter = rates.get(s.guestId) ?? new RateMeter();
      rates.set(s.guestId, meter);
      kbpsById.set(s.guestId, Math.round((meter.update(s.bytesSent, s.timestamp || undefined) * 8) / 1000));
    }
    renderGuests();
    renderRoom();
    const produced = framesProduced();
    const skipped = generated ? `, skipped by the timer ${generated.framesSkipped}` : '';
    const bad = link?.frames ? `, bad frames dropped ${link.frames.framesBad}` : '';
    el('source').textContent = `frames produced ${produced}, to the track ${frames.framesWritten}, dropped ${frames.framesDropped}${skipped}${bad}`;
  };
  setInterval(() => void refreshStats().catch((err: unknown) => log('warn', `could not refresh the guests' figures: ${String(err)}`)), 1000);

  // The editor's mirror of this session: coalesced, since a join can bring several updates at once.
  let sessionTimer: ReturnType<typeof setTimeout> | undefined;
  const publish = (): void => {
    if (!env.onSession || sessionTimer) return;
    sessionTimer = setTimeout(() => {
      sessionTimer = undefined;
      env.onSession?.({
        state: pageState,
        message: el('message').textContent ?? '',
        selfId: signaling.self?.id,
        participants: [...signaling.participants.values()],
        driverId: signaling.driverId,
        media: modeNow(),
        notice,
        role: signaling.self?.role,
        resume: signaling.lastJoin?.resume,
        joinedAs: signaling.lastJoin?.self.role,
        tiers: signaling.lastJoin?.tiers,
      });
    }, 0);
  };
  engine.on('guests', publish);
  onStateChange = publish;
  signaling.on('participants', publish);
  control.on('changed', publish);

  // Host transfer: rejoined as a controller, this page has nothing left to share.
  signaling.on('joined', ({ result }) => {
    if (result.self.role === 'host') return;
    engine.stop();
    frames.stop();
    // The new host continues the key schedule from here: this page neither ratchets it nor re-keys any more.
    keys?.host.close();
    el('message').textContent =
      `You handed the host's seat over; ${signaling.participants.get(result.session.hostId)?.name ?? 'the new host'} shares their screen now.`;
    publish();
  });

  frames.start();
  control.start();
  engine.start();
  signaling.start();
  setState('connecting', `Joining session ${params.sessionId} as ${params.name}…`);

  return {
    // The host's own decision: the gate and the runner let this participant drive once the server agrees.
    grant: (id) => control.grant(id),
    revoke: (id) => signaling.revokeControl({ participantId: id }),
    stopAll: () => control.stopAll(),
    setRole: async (id, role) => {
      await signaling.setRole(id, role);
    },
    remove: (id) => signaling.removeParticipant(id),
    setTier: async (id, tier) => void (await signaling.setTier(id, tier)),
    showLinks: (links) => room.showLinks(links),
    makeHost: async (id) => {
      await signaling.makeHost(id);
    },
    createLink: async (role, options) => keyed(await signaling.createLink(role, options)),
    rotateLinks: async () => {
      const rotated = await signaling.rotateLinks();
      return { ...rotated, controller: keyed(rotated.controller), viewer: keyed(rotated.viewer) };
    },
    listLinks: () => signaling.listLinks(),
    controlAudit: () => signaling.controlAudit(),
    revokeLink: (id) => signaling.revokeLink(id),
    end: (reason) => signaling.end(reason),
  };
}

/**
 * Starts the page from its (unchecked) parameters: a bad parameter shows 'failed' with the reason
 * instead of a dead page. The test hook answers from the first moment.
 */
export function bootHostPage(fragment: string, env: HostPageEnv): HostPageActions | undefined {
  // Until startHostPage() replaces it, the hook still answers, so a test sees 'failed' instead of undefined.
  if (TEST_HOOKS)
    window.pairuxHost = {
      get state() {
        return pageState;
      },
      selfId: undefined,
      guests: () => [],
      framesProduced: 0,
      framesWritten: 0,
      framesDropped: 0,
      stats: () => Promise.resolve([]),
      load: () => ({ overloaded: false, sample: undefined }),
      frameLog: () => [],
      end: () => Promise.reject(new Error('the host page is not running')),
      screen: undefined,
      control: () => ({ driverId: null, stopped: false, asked: 0, granted: 0, denied: 0, forwarded: 0, refused: {}, notices: 0 }),
      bridge: () => null,
      media: () => ({ mode: undefined, sfu: undefined, retiringP2p: false, epoch: 0 }),
    };
  const result = readHostParams(fragment);
  if (!result.ok) {
    setState('failed', result.message);
    report({ type: 'error', message: result.message });
    return undefined;
  }
  try {
    return startHostPage(result.params, env);
  } catch (err) {
    const message = `The host page could not start: ${err instanceof Error ? err.message : String(err)}`;
    setState('failed', message);
    report({ type: 'error', message });
    return undefined;
  }
}
