/**
 * What the pages hold instead of a concrete engine: the host's P2P mesh (HostEngine) or its
 * LiveKit publisher (SfuHostEngine), and the guest's P2P link (GuestEngine) or LiveKit
 * subscriber (SfuGuestEngine). The session's media is known only from the join result, while the
 * pages wire their UI, control and bridge before joining; so each side gets a switch that stands
 * in from the start and hands over to the engine the first join chooses (`sfu` access present ⇒
 * SFU). Nothing else in the pages branches on the mode.
 *
 * The switches also carry out the session focus's moves (`session.topology`), make before break:
 * - P2P → SFU: the host starts publishing to the SFU and keeps its P2P links; each guest plays the
 *   SFU's picture on a stage over its P2P picture, and once it shows frames drops its P2P link
 *   (the host hears `bye` and closes that link), hands the SFU engine its page's video, and
 *   reports `media.report`. The host stops its P2P engine when the focus says everyone arrived.
 * - SFU → SFU (failover): the SFU engines leave the dead room for the new one at once.
 */
import type { SessionTopology, SfuAccess } from '../../protocol/signaling';
import { TypedEmitter } from '../../common/typed-emitter';
import type { SignalingClient } from './signaling/signaling-client';
import { consoleLogger, type Logger } from './logger';
import type { VideoStage } from './video-stage';
import { inboundVideoStats, type InboundVideoStats } from './stats';
import type {
  GuestEngineEvents,
  GuestInfo,
  GuestMediaEngine,
  GuestState,
  GuestStats,
  HostEngineEvents,
  HostMediaEngine,
  MediaMode,
  ScreenDescription,
} from './engine-types';

/** How the status lines name the media path. */
export function mediaModeLabel(mode: MediaMode | undefined): string {
  return mode === 'sfu' ? 'via SFU' : mode === 'p2p' ? 'peer-to-peer' : '';
}

/** Makes the engine for `sfu` access (or P2P without); a guest's may be told to play into a stage's video. */
type Chooser<E> = (sfu: SfuAccess | undefined, video?: HTMLVideoElement) => E;

/** Re-emits every event of `inner` from `outer` (the switch's listeners were added before the choice); returns the unsubscribe. */
function forward<M extends object>(
  inner: { on<K extends keyof M>(type: K, l: (e: M[K]) => void): () => void },
  types: Array<keyof M>,
  emit: <K extends keyof M>(type: K, e: M[K]) => void,
): () => void {
  const offs = types.map((type) => inner.on(type, (e) => emit(type, e)));
  return () => offs.forEach((off) => off());
}

const HOST_EVENTS: Array<keyof HostEngineEvents> = ['guest', 'error'];
const GUEST_EVENTS: Array<keyof GuestEngineEvents> = ['state', 'screen', 'rtt', 'peer', 'inputRefused'];

/** How long a guest's SFU picture may take to show before the move is given up (it stays on P2P). */
const STAGE_TIMEOUT_MS = 20_000;

/** Where a move goes: an SFU room (with this participant's access to it), or back to peer-to-peer. */
export type MoveTarget = { media: 'sfu'; access: SfuAccess } | { media: 'p2p' };

/** Follows the focus's moves: calls `move` for each new epoch (from a notice or a rejoin), with fresh SFU access when it goes to one. */
function followMoves(
  signaling: SignalingClient,
  log: Logger,
  epochNow: () => number,
  move: (target: MoveTarget, epoch: number) => void,
  done?: (t: SessionTopology) => void,
): void {
  const go = (epoch: number, media: 'p2p' | 'sfu', access: SfuAccess | undefined): void => {
    if (media === 'p2p') return move({ media }, epoch);
    if (access) return move({ media, access }, epoch);
    signaling.refreshSfuAccess().then(
      (fresh) => move({ media: 'sfu', access: fresh }, epoch),
      (err: unknown) => log('warn', `could not get the SFU access for the move: ${String(err)}`),
    );
  };
  signaling.on('topology', ({ topology }) => {
    if (topology.phase === 'done') done?.(topology);
    if (topology.phase !== 'moving' || topology.epoch <= epochNow()) return;
    go(topology.epoch, topology.media, undefined);
  });
  // A move announced while this client was away arrives as a rejoin's newer epoch.
  signaling.on('joined', ({ result }) => {
    if (result.epoch > epochNow()) go(result.epoch, result.session.media, result.sfu);
  });
}

/**
 * The host page's engine before and after the first join, and across the focus's moves. The
 * screen set before the choice (the runner's answer can come first) is handed to the chosen engine.
 */
export class HostMediaSwitch extends TypedEmitter<HostEngineEvents> implements HostMediaEngine {
  private inner: HostMediaEngine | undefined;
  /** The P2P engine still serving guests that have not moved to the SFU yet. */
  private previous: { engine: HostMediaEngine; off: () => void } | undefined;
  private offInner: (() => void) | undefined;
  private _screen: ScreenDescription;
  private epoch = -1;
  private started = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(
    private readonly signaling: SignalingClient,
    screen: ScreenDescription,
    private readonly choose: Chooser<HostMediaEngine>,
    log?: Logger,
  ) {
    super();
    this.log = log ?? consoleLogger('pairux:host');
    this._screen = { ...screen };
    // Before the page's other 'joined' listeners (the bridge greets the runner on it).
    signaling.once('joined', ({ result }) => {
      this.epoch = result.epoch;
      this.pick(result.sfu);
    });
    followMoves(
      signaling,
      this.log,
      () => this.epoch,
      (target, epoch) => this.move(target, epoch),
      () => this.retirePrevious('everyone moved'),
    );
  }

  get mode(): MediaMode {
    return this.inner?.mode ?? 'p2p';
  }
  /** Undefined until the first join said which. */
  get chosen(): HostMediaEngine | undefined {
    return this.inner;
  }
  /** The P2P engine kept during a move to the SFU, until every guest has moved. */
  get retiring(): HostMediaEngine | undefined {
    return this.previous?.engine;
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
    this.retirePrevious('stopped');
  }

  setScreen(screen: ScreenDescription): void {
    this._screen = { ...screen };
    this.inner?.setScreen(screen);
    this.previous?.engine.setScreen(screen);
  }

  /** Each guest once: on the P2P link while it still has one, else on the SFU. */
  guests(): GuestInfo[] {
    const now = this.inner?.guests() ?? [];
    const old = this.previous?.engine.guests().filter((g) => g.state !== 'closed' && g.pcId !== null);
    if (!old?.length) return now;
    const byId = new Map(now.map((g) => [g.id, g]));
    for (const g of old) byId.set(g.id, g);
    return [...byId.values()];
  }

  async stats(maxAgeMs?: number): Promise<GuestStats[]> {
    const [now, old] = await Promise.all([this.inner?.stats(maxAgeMs) ?? [], this.previous?.engine.stats(maxAgeMs) ?? []]);
    return [...now, ...old];
  }

  private pick(sfu: SfuAccess | undefined): void {
    if (this.inner || this.stopped) return;
    this.use(this.choose(sfu));
  }

  private use(inner: HostMediaEngine): void {
    inner.setScreen(this._screen);
    this.inner = inner;
    const offEvents = forward<HostEngineEvents>(inner, HOST_EVENTS, (type, e) => this.emit(type, e));
    const offGuests = inner.on('guests', () => this.emit('guests', { guests: this.guests() }));
    this.offInner = () => (offEvents(), offGuests());
    if (this.started) inner.start();
    this.emit('guests', { guests: this.guests() });
  }

  private move(target: MoveTarget, epoch: number): void {
    if (this.stopped || epoch <= this.epoch || !this.inner) return;
    this.epoch = epoch;
    const current = this.inner;
    if (target.media === 'p2p') {
      if (current.mode === 'p2p') return;
      // Back from a dead SFU: nothing there to keep; guests say hello and get a P2P link each.
      this.log('info', `back to peer-to-peer (epoch ${epoch})`);
      this.offInner?.();
      current.stop();
      this.retirePrevious('back to peer-to-peer');
      const p2p = this.choose(undefined);
      this.use(p2p);
      p2p.connectAll?.();
      return;
    }
    const access = target.access;
    if (current.mode === 'sfu' && current.moveTo) {
      current.moveTo(access);
      return;
    }
    // P2P → SFU: publish to the SFU and keep serving the P2P guests until they have moved.
    this.log('info', `moving to the SFU (epoch ${epoch}); P2P links stay until each guest has the SFU's picture`);
    this.offInner?.();
    const offGuests = current.on('guests', () => this.emit('guests', { guests: this.guests() }));
    const offError = current.on('error', (e) => this.emit('error', e));
    this.previous = { engine: current, off: () => (offGuests(), offError()) };
    this.use(this.choose(access));
  }

  private retirePrevious(why: string): void {
    const previous = this.previous;
    if (!previous) return;
    this.previous = undefined;
    this.log('info', `P2P engine retired (${why})`);
    previous.off();
    previous.engine.stop();
    this.emit('guests', { guests: this.guests() });
  }
}

export interface GuestMediaSwitchOptions {
  /** A stage over the page's video for make-before-break moves; without it, a move swaps straight over. */
  stage?: () => VideoStage;
  log?: Logger;
}

/** The guest page's engine before and after the first join, and across the focus's moves. */
export class GuestMediaSwitch extends TypedEmitter<GuestEngineEvents> implements GuestMediaEngine {
  private inner: GuestMediaEngine | undefined;
  private offInner: (() => void) | undefined;
  /** The SFU engine playing on a stage until its picture shows. */
  private pending: { engine: GuestMediaEngine; stage: VideoStage | undefined; epoch: number } | undefined;
  private epoch = -1;
  private started = false;
  private stopped = false;
  private readonly log: Logger;
  /** Moves carried out (P2P → SFU or between SFUs), for tests. */
  moves = 0;

  constructor(
    private readonly signaling: SignalingClient,
    private readonly choose: Chooser<GuestMediaEngine>,
    private readonly options: GuestMediaSwitchOptions = {},
  ) {
    super();
    this.log = options.log ?? consoleLogger('pairux:guest');
    signaling.once('joined', ({ result }) => {
      this.epoch = result.epoch;
      this.pick(result.sfu);
      // A guest that came back (resumed) into an auto session already on the SFU says so, as a
      // moving guest would, so the focus can tell when everyone has arrived.
      if (result.sfu && result.resumed && result.session.mode === 'auto') this.report('sfu', result.epoch);
    });
    followMoves(
      signaling,
      this.log,
      () => this.epoch,
      (target, epoch) => this.move(target, epoch),
    );
    // Same media, another SFU for this viewer (its cascaded region's died): over there at once.
    signaling.on('placementChanged', () => {
      const current = this.inner;
      if (current?.mode !== 'sfu' || !current.moveTo) return;
      signaling.refreshSfuAccess().then(
        (access) => current.moveTo?.(access),
        (err: unknown) => this.log('warn', `could not get the SFU access after the placement changed: ${String(err)}`),
      );
    });
  }

  get mode(): MediaMode {
    return this.inner?.mode ?? 'p2p';
  }
  get chosen(): GuestMediaEngine | undefined {
    return this.inner;
  }
  /** True while a move's new picture is being staged. */
  get moving(): boolean {
    return this.pending !== undefined;
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
    this.dropPending();
  }

  stats(): Promise<InboundVideoStats> {
    return this.inner ? this.inner.stats() : inboundVideoStats(undefined);
  }

  sendInput(event: unknown): boolean {
    return this.inner?.sendInput(event) ?? false;
  }

  flushInput(timeoutMs: number): Promise<boolean> {
    return this.inner ? this.inner.flushInput(timeoutMs) : Promise.resolve(false);
  }

  private pick(sfu: SfuAccess | undefined): void {
    if (this.inner || this.stopped) return;
    this.use(this.choose(sfu));
  }

  private use(inner: GuestMediaEngine): void {
    this.inner = inner;
    this.offInner = forward<GuestEngineEvents>(inner, GUEST_EVENTS, (type, e) => this.emit(type, e));
    if (this.started) inner.start();
  }

  private move(target: MoveTarget, epoch: number): void {
    if (this.stopped || epoch <= this.epoch || !this.inner) return;
    this.epoch = epoch;
    const current = this.inner;
    if (target.media === 'p2p') {
      if (current.mode === 'p2p') return;
      // Back from a dead SFU (its picture is frozen anyway): straight over to a P2P link.
      this.dropPending();
      this.offInner?.();
      current.stop();
      const engine = this.choose(undefined);
      this.use(engine);
      this.emit('state', { state: engine.state, previous: current.state });
      this.moves++;
      const off = engine.on('state', ({ state }) => {
        if (state !== 'live') return;
        off();
        this.report('p2p', epoch);
      });
      return;
    }
    const access = target.access;
    if (current.mode === 'sfu' && current.moveTo) {
      current.moveTo(access);
      this.moves++;
      this.report('sfu', epoch);
      return;
    }
    this.dropPending();
    const stage = this.options.stage?.();
    const engine = this.choose(access, stage?.video);
    this.pending = { engine, stage, epoch };
    this.log('info', `moving to the SFU (epoch ${epoch}); the P2P picture stays until the SFU's shows`);
    const timer = setTimeout(() => {
      if (this.pending?.engine !== engine) return;
      this.log('warn', `the SFU's picture did not show within ${STAGE_TIMEOUT_MS / 1000} s; staying peer-to-peer`);
      this.dropPending();
    }, STAGE_TIMEOUT_MS);
    const off = engine.on('state', ({ state }) => {
      if (state !== 'live' || this.pending?.engine !== engine) return;
      off();
      clearTimeout(timer);
      void this.complete(engine, stage, epoch);
    });
    engine.start();
  }

  /** The SFU's picture shows on the stage: drop P2P, take over the page's video, report. */
  private async complete(engine: GuestMediaEngine, stage: VideoStage | undefined, epoch: number): Promise<void> {
    const old = this.inner;
    this.pending = undefined;
    this.offInner?.();
    old?.stop(); // says bye: the host closes that P2P link
    this.use(engine);
    this.emit('state', { state: engine.state, previous: old?.state ?? 'connecting' });
    if (engine.screen) this.emit('screen', { screen: engine.screen });
    if (stage) await stage.handOver((main) => engine.showIn?.(main));
    this.moves++;
    this.report('sfu', epoch);
  }

  private report(media: MediaMode, epoch: number): void {
    this.signaling.reportMedia(media, epoch).catch((err: unknown) => this.log('warn', `could not report the move: ${String(err)}`));
  }

  private dropPending(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    pending.engine.stop();
    pending.stage?.remove();
  }
}
