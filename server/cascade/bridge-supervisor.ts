/**
 * Keeps one cascade bridge running per (session, far region) while the session is cascaded to
 * that region: starts it, restarts it at once with fresh tokens when it dies (backing off if it
 * keeps dying), and stops it with the session. Its figures (frames, bytes, key frames) are kept
 * per bridge for /metrics and /healthz. The lifecycle is mediasoup's: an idempotent `close()`
 * that closes every bridge.
 *
 * With a `lease` (several instances on one store), a bridge runs only where its lease is held:
 * every instance that placed a viewer of the region asks for it, one gets it and renews it, the
 * others stand by and ask again, so when the holder dies (its lease not renewed) another takes
 * the bridge over; a holder that finds its lease taken stops its bridge.
 */
import type { BridgeConfig, BridgeLayerStats } from '../../protocol/cascade-bridge';
import { BridgeWorker } from './bridge-worker';

/** A restart waits this long after an early death, doubling up to MAX_RESTART_MS (a bridge that keeps dying must not spin). */
const FIRST_RESTART_MS = 50;
const MAX_RESTART_MS = 10_000;
/** A bridge that ran this long before dying is restarted at once again. */
const HEALTHY_RUN_MS = 30_000;

export interface BridgeKey {
  sessionId: string;
  region: string;
}

export interface BridgeSnapshot extends BridgeKey {
  state: 'starting' | 'ready' | 'restarting';
  restarts: number;
  /** The running worker's process, when one runs. */
  pid: number | undefined;
  /** The last reason it stopped, when it did. */
  lastExit: string | undefined;
  /** Per layer: totals, and over the last stats interval frames/s, kbit/s and the bridge's own delay per packet (ms). */
  layers: Array<BridgeLayerStats & { fps: number; kbps: number; relayMs: number }>;
  farParticipants: number;
}

export interface BridgeLease {
  /** Takes or renews the lease on running `key`'s bridge; false while another instance holds it. */
  claim(key: BridgeKey): Promise<boolean>;
  release(key: BridgeKey): Promise<void>;
  /** A lease not renewed within this long is free again. */
  ttlMs: number;
}

export interface BridgeSupervisorOptions {
  /** Present when several instances could run the same bridge. */
  lease?: BridgeLease;
  /** A fresh configuration (fresh tokens) for a bridge, at each start. */
  configFor(key: BridgeKey): Promise<BridgeConfig>;
  log?: (level: 'info' | 'warn', message: string) => void;
  /** The worker binary (tests); default BridgeWorker's. */
  binary?: string;
}

interface Running {
  key: BridgeKey;
  worker: BridgeWorker | undefined;
  snapshot: BridgeSnapshot;
  startedAt: number;
  backoffMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  stopped: boolean;
  last: { at: number; layers: BridgeLayerStats[] } | undefined;
  /** Another instance holds the lease: nothing runs here, the lease is asked for again now and then. */
  standby: boolean;
  renewal: ReturnType<typeof setInterval> | undefined;
}

export class BridgeSupervisor {
  private readonly bridges = new Map<string, Running>();
  private _closed = false;

  constructor(private readonly options: BridgeSupervisorOptions) {}

  get closed(): boolean {
    return this._closed;
  }

  /** Starts the bridge of `key` unless it runs. */
  ensure(key: BridgeKey): void {
    if (this._closed) return;
    const id = idOf(key);
    if (this.bridges.has(id)) return;
    const r: Running = {
      key,
      worker: undefined,
      snapshot: { ...key, state: 'starting', restarts: 0, pid: undefined, lastExit: undefined, layers: [], farParticipants: 0 },
      startedAt: 0,
      backoffMs: FIRST_RESTART_MS,
      timer: undefined,
      stopped: false,
      last: undefined,
      standby: false,
      renewal: undefined,
    };
    this.bridges.set(id, r);
    void this.start(r);
  }

  /** Replaces a running bridge (the origin moved: new rooms, new tokens). */
  restart(key: BridgeKey): void {
    const r = this.bridges.get(idOf(key));
    if (!r || r.stopped) return this.ensure(key);
    r.worker?.close();
  }

  /** Stops every bridge of a session (it ended, or is no longer cascaded). */
  stopSession(sessionId: string): void {
    for (const [id, r] of this.bridges) if (r.key.sessionId === sessionId) this.stop(id, r);
  }

  stopBridge(key: BridgeKey): void {
    const r = this.bridges.get(idOf(key));
    if (r) this.stop(idOf(key), r);
  }

  /** The bridges this instance runs (not those it stands by for). */
  snapshot(): BridgeSnapshot[] {
    return [...this.bridges.values()].filter((r) => !r.standby).map((r) => ({ ...r.snapshot, layers: [...r.snapshot.layers] }));
  }

  /** Bridges another instance runs while this one stands by to take them over. */
  standingBy(): BridgeKey[] {
    return [...this.bridges.values()].filter((r) => r.standby).map((r) => ({ ...r.key }));
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    for (const [id, r] of this.bridges) this.stop(id, r);
  }

  private stop(id: string, r: Running): void {
    r.stopped = true;
    if (r.timer) clearTimeout(r.timer);
    if (r.renewal) clearInterval(r.renewal);
    r.worker?.close();
    this.bridges.delete(id);
    if (this.options.lease && !r.standby) void this.options.lease.release(r.key).catch(() => undefined);
  }

  /** Whether this instance may run `r` now (no lease to hold, or it holds it); otherwise it stands by. */
  private async mayRun(r: Running): Promise<boolean> {
    const lease = this.options.lease;
    if (!lease) return true;
    let held = false;
    try {
      held = await lease.claim(r.key);
    } catch (err) {
      this.options.log?.(
        'warn',
        `cascade bridge ${idOf(r.key)}: its lease could not be asked for (${err instanceof Error ? err.message : String(err)}); asking again`,
      );
    }
    if (r.stopped) return false;
    if (!held) {
      if (!r.standby) this.options.log?.('info', `cascade bridge ${idOf(r.key)} runs on another instance: standing by`);
      r.standby = true;
      r.timer = setTimeout(() => void this.start(r), lease.ttlMs / 2);
      return false;
    }
    if (r.standby) this.options.log?.('info', `cascade bridge ${idOf(r.key)} taken over by this instance`);
    r.standby = false;
    r.renewal ??= setInterval(() => void this.renew(r), lease.ttlMs / 3);
    return true;
  }

  /** The holder renews its lease; one that finds it taken stops its bridge and stands by. */
  private async renew(r: Running): Promise<void> {
    const lease = this.options.lease!;
    let held = true;
    try {
      held = await lease.claim(r.key);
    } catch {
      // The store is away: keep running (the other instances cannot take it over meanwhile either).
    }
    if (held || r.stopped) return;
    this.options.log?.('warn', `cascade bridge ${idOf(r.key)}: another instance holds its lease now; stopping this one`);
    if (r.renewal) clearInterval(r.renewal);
    r.renewal = undefined;
    r.standby = true;
    if (r.timer) clearTimeout(r.timer);
    const worker = r.worker;
    r.worker = undefined;
    r.snapshot.pid = undefined;
    worker?.close();
    r.timer = setTimeout(() => void this.start(r), lease.ttlMs / 2);
  }

  private async start(r: Running): Promise<void> {
    r.timer = undefined;
    if (r.stopped) return;
    if (!(await this.mayRun(r))) return;
    let config: BridgeConfig;
    try {
      config = await this.options.configFor(r.key);
    } catch (err) {
      return this.died(r, `no configuration: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (r.stopped) return;
    let worker: BridgeWorker;
    try {
      worker = new BridgeWorker({ config, ...(this.options.binary ? { binary: this.options.binary } : {}) });
    } catch (err) {
      return this.died(r, err instanceof Error ? err.message : String(err));
    }
    r.worker = worker;
    r.snapshot.pid = worker.pid;
    r.startedAt = Date.now();
    r.last = undefined;
    worker.on('ready', () => {
      r.snapshot.state = 'ready';
      this.options.log?.('info', `cascade bridge ${idOf(r.key)} ready`);
    });
    worker.on('stats', (s) => this.record(r, s.layers, s.farParticipants, s.at));
    worker.on('log', (l) => {
      if (l.level === 'warn' || l.level === 'error') this.options.log?.('warn', `cascade bridge ${idOf(r.key)}: ${l.message}`);
    });
    worker.on('close', (c) => {
      if (r.worker !== worker) return;
      r.worker = undefined;
      r.snapshot.pid = undefined;
      if (r.stopped) return;
      this.died(r, c.reason);
    });
  }

  private died(r: Running, reason: string): void {
    if (r.stopped) return;
    r.snapshot.state = 'restarting';
    r.snapshot.lastExit = reason;
    r.snapshot.restarts++;
    const ranLong = r.startedAt > 0 && Date.now() - r.startedAt >= HEALTHY_RUN_MS;
    const wait = ranLong ? FIRST_RESTART_MS : r.backoffMs;
    r.backoffMs = ranLong ? FIRST_RESTART_MS * 2 : Math.min(MAX_RESTART_MS, r.backoffMs * 2);
    this.options.log?.('warn', `cascade bridge ${idOf(r.key)} stopped (${reason}); starting a new one in ${wait} ms`);
    r.timer = setTimeout(() => void this.start(r), wait);
  }

  private record(r: Running, layers: BridgeLayerStats[], farParticipants: number, at: number): void {
    const prev = r.last;
    const secs = prev ? Math.max(0.001, (at - prev.at) / 1000) : 0;
    r.snapshot.layers = layers.map((l) => {
      const p = prev?.layers.find((x) => x.rid === l.rid);
      return {
        ...l,
        fps: p && secs ? Math.max(0, (l.frames - p.frames) / secs) : 0,
        kbps: p && secs ? Math.max(0, ((l.bytes - p.bytes) * 8) / 1000 / secs) : 0,
        relayMs: p && l.packets > p.packets ? (l.relayMicros - p.relayMicros) / (l.packets - p.packets) / 1000 : 0,
      };
    });
    r.snapshot.farParticipants = farParticipants;
    r.last = { at, layers };
  }
}

function idOf(key: BridgeKey): string {
  return `${key.sessionId}/${key.region}`;
}
