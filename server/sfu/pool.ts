/**
 * The regional SFU pools as the control plane sees them: each deployment's health (its LiveKit
 * answering) and load (its real statistics), checked every `checkIntervalMs` while the control
 * plane runs, and the strategy's `SFUManager.selectSFU` over them. Inside one deployment a
 * LiveKit cluster places rooms on its nodes itself (its node selector); what OSS LiveKit does not
 * do, and this does, is choose between deployments and regions, and notice one that died so the
 * session focus can move its sessions.
 *
 * Load (%) of a deployment is the highest of, over the signals it counts (`loadSignals`):
 *   cpu      mean `cpu_load` of its live nodes, weighted by their CPUs, × 100 (a cluster's Redis),
 *            or the LiveKit process's CPU share (a lone server's `metricsUrl`); none from the API
 *   clients  participants in its rooms / `maxParticipants` × 100
 *   rooms    its rooms / `maxConcurrentRooms` × 100
 * The highest, not a mean: a deployment out of CPU cannot take a session however few rooms it has.
 */
import { EventEmitter } from 'node:events';
import type { SfuDeploymentConfig, SfuPoolsConfig } from '../config';
import { HealthTracker, probeLiveKit, type HealthState } from './health';
import { NODE_STALE_SECONDS, statsReaderFor, type DeploymentStats, type StatsReader } from './node-stats';

export interface DeploymentDown {
  deploymentId: string;
  region: string;
  /** The last failed check: "LiveKit at ws://… did not answer (ECONNREFUSED)". */
  reason: string;
  failures: number;
  at: number;
}

export interface DeploymentUp {
  deploymentId: string;
  region: string;
  downForMs: number;
  at: number;
}

/** A node of a multi-node deployment stopped reporting: the deployment still answers, but these rooms are gone. */
export interface NodeDown {
  deploymentId: string;
  region: string;
  nodeId: string;
  /** LiveKit rooms (see `roomName`) its room store still put on that node. */
  rooms: string[];
  at: number;
}

export interface SfuPoolEvents {
  /** Once per outage, after `failuresToDown` failed checks in a row: move the sessions on it elsewhere. */
  'deployment-down': [DeploymentDown];
  /** The first answer after an outage. */
  'deployment-up': [DeploymentUp];
  /**
   * A cluster node's statistics went stale (5 s without a report, LiveKit's own cut-off) while
   * the deployment answers: the sessions whose rooms were on it need moving, the others do not.
   */
  'node-down': [NodeDown];
  /** After every check of one deployment (health and statistics), with its state then. */
  checked: [DeploymentSnapshot];
}

/** Each signal's share of capacity, and the load (their highest among the counted ones), in %. */
export interface LoadBreakdown {
  percent: number;
  cpu: number | undefined;
  clients: number;
  rooms: number;
}

export type RefusalKind = 'excluded' | 'down' | 'no-nodes' | 'load' | 'max_rooms' | 'error';

export interface Refusal {
  deploymentId: string;
  region: string;
  kind: RefusalKind;
  /** A sentence part naming the deployment and why: "a1 (region a) is at 91 % load (clients 11/12), …". */
  reason: string;
}

export interface DeploymentSnapshot {
  id: string;
  region: string;
  url: string;
  health: HealthState;
  /** Not down: up, or not (yet) failed `failuresToDown` checks in a row. */
  healthy: boolean;
  failures: number;
  lastError: string | undefined;
  checkedAt: number | undefined;
  healthLatencyMs: number | undefined;
  /** Undefined until its statistics were first read. */
  load: LoadBreakdown | undefined;
  stats:
    | {
        source: DeploymentStats['source'];
        rooms: number;
        clients: number;
        cpuLoad: number | undefined;
        /**
         * Live nodes as LiveKit reports them: `rooms` and `clients` are its NodeStats (`clients`
         * counts a participant on its signal node too), `participants` those in the rooms it hosts.
         */
        nodes: Array<{
          id: string;
          region: string;
          rooms: number;
          clients: number;
          participants: number;
          cpuLoad: number;
          loadAvg1m: number;
          numCpus: number;
          updatedAt: number;
        }>;
        staleNodes: string[];
        measuredAt: number;
        readLatencyMs: number;
      }
    | undefined;
  statsError: string | undefined;
  limits: { maxParticipants: number; maxConcurrentRooms: number; loadLimitPercent: number };
  /** Whether a new session could be placed here now, and if not, why. */
  accepting: boolean;
  refusal: Refusal | undefined;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Without statistics to settle them, this instance's own room changes are forgotten after this. */
const ROOM_CHANGES_KEPT_MS = 60_000;

export function deploymentLoad(d: SfuDeploymentConfig, figures: { cpuLoad: number | undefined; clients: number; rooms: number }): LoadBreakdown {
  const cpu = figures.cpuLoad === undefined ? undefined : round1(figures.cpuLoad * 100);
  const clients = round1((figures.clients / d.maxParticipants) * 100);
  const rooms = round1((figures.rooms / d.maxConcurrentRooms) * 100);
  const counted = d.loadSignals.map((s) => (s === 'cpu' ? cpu : s === 'clients' ? clients : rooms)).filter((v): v is number => v !== undefined);
  return { percent: counted.length ? Math.max(...counted) : 0, cpu, clients, rooms };
}

interface Member {
  config: SfuDeploymentConfig;
  health: HealthTracker;
  reader: StatsReader;
  stats: DeploymentStats | undefined;
  statsError: string | undefined;
  /** Rooms this instance opened (+1) and closed (-1) here that the statistics may not show yet. */
  roomChanges: Array<{ at: number; n: 1 | -1 }>;
  running: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
  checks: number;
  /** Nodes live at the last read, to tell when one stops. */
  liveNodes: Set<string>;
}

export interface SelectionPlan {
  /** Deployment ids to try, in order: hinted region, default region, then any other. */
  candidates: string[];
  refused: Refusal[];
  /** Set when the hint named a region no deployment is in. */
  unknownRegion: string | undefined;
}

export class SfuPool extends EventEmitter<SfuPoolEvents> {
  private readonly members = new Map<string, Member>();
  private started = false;
  private stopped = false;
  private firstRound: Promise<void> | undefined;

  constructor(
    readonly config: SfuPoolsConfig,
    private readonly now: () => number = Date.now,
  ) {
    super();
    for (const d of config.deployments) {
      this.members.set(d.id, {
        config: d,
        health: new HealthTracker(config.failuresToDown),
        reader: statsReaderFor(d, this.timeoutFor(d)),
        stats: undefined,
        statsError: undefined,
        roomChanges: [],
        running: undefined,
        timer: undefined,
        checks: 0,
        liveNodes: new Set(),
      });
    }
  }

  get ids(): string[] {
    return [...this.members.keys()];
  }

  deployment(id: string): SfuDeploymentConfig | undefined {
    return this.members.get(id)?.config;
  }

  /** Starts the periodic checks (each deployment on its own clock, so a hung one delays only itself). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.firstRound = Promise.all([...this.members.values()].map((m) => this.check(m))).then(() => undefined);
  }

  /** Settles when every deployment has been checked once, so the first selection is not blind. */
  async ready(): Promise<void> {
    this.start();
    await this.firstRound;
  }

  /** Checks now, without waiting for the next tick (a failed call to LiveKit, a test). */
  async checkNow(id?: string): Promise<void> {
    const ms = id ? [this.members.get(id)].filter((m): m is Member => m !== undefined) : [...this.members.values()];
    await Promise.all(ms.map((m) => this.check(m)));
  }

  /** A room was just created on `id`: counted at once, not only when its statistics catch up. */
  opened(id: string): void {
    this.members.get(id)?.roomChanges.push({ at: this.now(), n: 1 });
  }

  /** A room on `id` was just deleted. */
  closed(id: string): void {
    this.members.get(id)?.roomChanges.push({ at: this.now(), n: -1 });
  }

  snapshot(): DeploymentSnapshot[] {
    return [...this.members.values()].map((m) => this.snapshotOf(m));
  }

  /**
   * The strategy's selectSFU: in the hinted region, else the default one, else any; there the
   * deployments that are not down and under the load limit, least loaded first. What the
   * statistics cannot know (rooms just created elsewhere, an exact `maxConcurrentRooms`) the
   * caller checks against LiveKit itself before using a candidate.
   */
  plan(opts: { region?: string | undefined; exclude?: string[] | undefined }): SelectionPlan {
    const all = [...this.members.values()];
    const regions = new Set(all.map((m) => m.config.region));
    const hinted = opts.region && regions.has(opts.region) ? opts.region : undefined;
    const order = [hinted, this.config.defaultRegion].filter((r, i, a): r is string => r !== undefined && a.indexOf(r) === i);
    const groups = [...order.map((r) => all.filter((m) => m.config.region === r)), all.filter((m) => !order.includes(m.config.region))];
    const candidates: string[] = [];
    const refused: Refusal[] = [];
    for (const group of groups) {
      const usable: Array<{ m: Member; rank: number }> = [];
      for (const m of group) {
        const refusal = opts.exclude?.includes(m.config.id) ? this.refusal(m, 'excluded', 'is the one the session is moving away from') : this.refusalOf(m);
        if (refusal) refused.push(refusal);
        // Unknown load goes last, and one failed check (not yet down) after that.
        else usable.push({ m, rank: (m.health.failures > 0 ? 10_000 : 0) + (this.loadOf(m)?.percent ?? 1000) });
      }
      usable.sort((a, b) => a.rank - b.rank || a.m.config.id.localeCompare(b.m.config.id));
      candidates.push(...usable.map((u) => u.m.config.id));
    }
    return { candidates, refused, unknownRegion: opts.region && !hinted ? opts.region : undefined };
  }

  /** The refusal a deployment gets for a reason its caller found (LiveKit's own answer). */
  refusalFor(id: string, kind: RefusalKind, why: string): Refusal {
    const m = this.members.get(id);
    return m ? this.refusal(m, kind, why) : { deploymentId: id, region: '', kind, reason: `${id} ${why}` };
  }

  close(): void {
    this.stopped = true;
    for (const m of this.members.values()) {
      if (m.timer) clearTimeout(m.timer);
      m.timer = undefined;
      m.reader.close();
    }
  }

  private timeoutFor(d: SfuDeploymentConfig): number {
    return Math.min(this.config.checkTimeoutMs, d.requestTimeoutMs);
  }

  private refusal(m: Member, kind: RefusalKind, why: string): Refusal {
    return { deploymentId: m.config.id, region: m.config.region, kind, reason: `${m.config.id} (region ${m.config.region}) ${why}` };
  }

  /** Rooms as of the last statistics, with this instance's changes since. */
  private roomsOf(m: Member): number {
    const since = Math.max(m.stats?.measuredAt ?? 0, this.now() - ROOM_CHANGES_KEPT_MS);
    m.roomChanges = m.roomChanges.filter((c) => c.at >= since);
    return Math.max(0, (m.stats?.rooms ?? 0) + m.roomChanges.reduce((n, c) => n + c.n, 0));
  }

  private loadOf(m: Member): LoadBreakdown | undefined {
    if (!m.stats) return undefined;
    return deploymentLoad(m.config, { cpuLoad: m.stats.cpuLoad, clients: m.stats.clients, rooms: this.roomsOf(m) });
  }

  private refusalOf(m: Member): Refusal | undefined {
    if (m.health.state === 'down') return this.refusal(m, 'down', `is down: ${m.health.lastError ?? 'no answer'} (${m.health.failures} checks in a row)`);
    if (m.stats?.source === 'redis' && m.stats.nodes.length === 0) {
      return this.refusal(m, 'no-nodes', `has no LiveKit node that reported its statistics to its Redis in the last ${NODE_STALE_SECONDS} s`);
    }
    const load = this.loadOf(m);
    if (!load) return undefined;
    if (this.roomsOf(m) >= m.config.maxConcurrentRooms)
      return this.refusal(m, 'max_rooms', `is at its limit of ${m.config.maxConcurrentRooms} concurrent sessions (maxConcurrentRooms)`);
    if (load.percent >= this.config.loadLimitPercent)
      return this.refusal(
        m,
        'load',
        `is at ${load.percent} % load (${describeLoad(m, load, this.roomsOf(m))}), at or over the ${this.config.loadLimitPercent} % limit`,
      );
    return undefined;
  }

  private check(m: Member): Promise<void> {
    m.running ??= this.runCheck(m).finally(() => {
      m.running = undefined;
      this.schedule(m);
    });
    return m.running;
  }

  private schedule(m: Member): void {
    if (this.stopped || !this.started) return;
    if (m.timer) clearTimeout(m.timer);
    m.timer = setTimeout(() => void this.check(m), this.config.checkIntervalMs);
    // Checks never keep a process alive that has nothing else to do.
    m.timer.unref();
  }

  private async runCheck(m: Member): Promise<void> {
    const timeout = this.timeoutFor(m.config);
    const [probe, stats] = await Promise.all([
      probeLiveKit(m.config.url, timeout),
      m.reader.read().then(
        (s) => ({ ok: true as const, s }),
        (err: unknown) => ({ ok: false as const, why: err instanceof Error ? err.message : String(err) }),
      ),
    ]);
    if (this.stopped) return;
    m.checks++;
    if (stats.ok) {
      m.stats = stats.s;
      m.statsError = undefined;
      this.nodesGone(m, stats.s);
    } else {
      // Figures that can no longer be read are not figures: the load is unknown until they can.
      m.stats = undefined;
      m.statsError = stats.why;
    }
    const change = m.health.record(probe, this.now());
    const { id, region } = m.config;
    if (change?.to === 'down') {
      console.warn(`[pairux-server] SFU deployment ${id} (region ${region}) is down: ${change.reason}`);
      this.emit('deployment-down', { deploymentId: id, region, reason: change.reason, failures: change.failures, at: this.now() });
    } else if (change?.to === 'up') {
      console.warn(`[pairux-server] SFU deployment ${id} (region ${region}) answers again after ${Math.round(change.downForMs / 100) / 10} s`);
      this.emit('deployment-up', { deploymentId: id, region, downForMs: change.downForMs, at: this.now() });
    }
    this.emit('checked', this.snapshotOf(m));
  }

  private nodesGone(m: Member, s: DeploymentStats): void {
    const live = new Set(s.nodes.map((n) => n.id));
    for (const id of m.liveNodes) {
      // A node that left the hash said goodbye (LiveKit drains and unregisters on shutdown); a stale one did not.
      if (live.has(id) || !s.staleNodes.includes(id)) continue;
      const rooms = s.lostRooms.get(id) ?? [];
      console.warn(
        `[pairux-server] LiveKit node ${id} of SFU deployment ${m.config.id} stopped reporting; ${rooms.length} room${rooms.length === 1 ? '' : 's'} on it`,
      );
      this.emit('node-down', { deploymentId: m.config.id, region: m.config.region, nodeId: id, rooms, at: this.now() });
    }
    m.liveNodes = live;
  }

  private snapshotOf(m: Member): DeploymentSnapshot {
    const refusal = this.refusalOf(m);
    const s = m.stats;
    return {
      id: m.config.id,
      region: m.config.region,
      url: m.config.url,
      health: m.health.state,
      healthy: m.health.state !== 'down',
      failures: m.health.failures,
      lastError: m.health.lastError,
      checkedAt: m.health.checkedAt,
      healthLatencyMs: m.health.lastProbeMs,
      load: this.loadOf(m),
      stats: s && {
        source: s.source,
        rooms: s.rooms,
        clients: s.clients,
        cpuLoad: s.cpuLoad,
        nodes: s.nodes.map((n) => ({
          id: n.id,
          region: n.region,
          rooms: n.stats.numRooms,
          clients: n.stats.numClients,
          participants: s.participantsOn.get(n.id) ?? 0,
          cpuLoad: n.stats.cpuLoad,
          loadAvg1m: n.stats.loadAvgLast1Min,
          numCpus: n.stats.numCpus || n.numCpus,
          updatedAt: n.stats.updatedAt * 1000,
        })),
        staleNodes: s.staleNodes,
        measuredAt: s.measuredAt,
        readLatencyMs: s.latencyMs,
      },
      statsError: m.statsError,
      limits: { maxParticipants: m.config.maxParticipants, maxConcurrentRooms: m.config.maxConcurrentRooms, loadLimitPercent: this.config.loadLimitPercent },
      accepting: refusal === undefined,
      refusal,
    };
  }
}

function describeLoad(m: Member, load: LoadBreakdown, rooms: number): string {
  const parts: string[] = [];
  const counts = (s: 'cpu' | 'clients' | 'rooms') => m.config.loadSignals.includes(s);
  if (counts('cpu') && load.cpu !== undefined) parts.push(`CPU ${load.cpu} %`);
  if (counts('clients')) parts.push(`clients ${m.stats?.clients ?? 0}/${m.config.maxParticipants}`);
  if (counts('rooms')) parts.push(`rooms ${rooms}/${m.config.maxConcurrentRooms}`);
  return parts.join(', ');
}
