/** Prometheus metrics of one control-plane instance (its own registry, so tests can run several). */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { BridgeSnapshot } from './cascade/bridge-supervisor';

/** What the metrics need of an SFU deployment's snapshot (server/sfu/pool.ts). */
export interface SfuPoolFigures {
  id: string;
  region: string;
  healthy: boolean;
  load: { percent: number } | undefined;
  stats: { clients: number; rooms: number } | undefined;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly sessions = new Gauge({ name: 'pairux_sessions', help: 'Live sessions on this instance', registers: [this.registry] });
  /** Counted at scrape time from the room state, so it can never drift from it. */
  private participantSource: (() => Promise<Map<string, number>>) | undefined;
  readonly participants = (() => {
    // prom-client calls collect() with the gauge as `this`; the registry's owner is needed too.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    return new Gauge({
      name: 'pairux_participants',
      help: 'Participants in live sessions, by role and whether connected',
      labelNames: ['role', 'connected'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        if (!metrics.participantSource) return;
        for (const [key, n] of await metrics.participantSource()) {
          const [role = '', connected = ''] = key.split('|');
          this.set({ role, connected }, n);
        }
      },
    });
  })();
  readonly connections = new Gauge({ name: 'pairux_ws_connections', help: 'Open WebSocket connections', registers: [this.registry] });
  readonly sessionsCreated = new Counter({
    name: 'pairux_sessions_created_total',
    help: 'Sessions created',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  readonly sessionsEnded = new Counter({
    name: 'pairux_sessions_ended_total',
    help: 'Sessions ended, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly joins = new Counter({
    name: 'pairux_joins_total',
    help: 'Join attempts by role and outcome (ok, resumed, or the error code)',
    labelNames: ['role', 'result'] as const,
    registers: [this.registry],
  });
  readonly lobby = new Counter({
    name: 'pairux_lobby_total',
    help: 'Lobby events: knocks, and their outcomes (admitted, denied, timeout, left, full)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly hostActions = new Counter({
    name: 'pairux_host_actions_total',
    help: 'Host participant actions (promote, demote, remove, make-host, set-tier) by outcome (ok or the error code)',
    labelNames: ['action', 'result'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'pairux_errors_total',
    help: 'Errors answered to clients, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly droppedAfterClose = new Counter({
    name: 'pairux_ws_dropped_after_close_total',
    help: 'Messages from sockets the server had begun to close (removed, replaced, flooding, silent), dropped unread',
    registers: [this.registry],
  });
  readonly signals = new Counter({
    name: 'pairux_signals_relayed_total',
    help: 'Signaling messages relayed',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly sfuWebhooks = new Counter({
    name: 'pairux_sfu_webhooks_total',
    help: 'LiveKit webhooks by event and outcome (ok, evicted: someone the session does not know was removed from the SFU, rejected: bad signature)',
    labelNames: ['event', 'result'] as const,
    registers: [this.registry],
  });
  readonly topologyMoves = new Counter({
    name: 'pairux_topology_moves_total',
    help: "Moves of a session's media by the session focus (P2P → SFU, SFU → SFU), by reason and result",
    labelNames: ['reason', 'result'] as const,
    registers: [this.registry],
  });
  readonly sfuRefused = new Counter({
    name: 'pairux_sfu_sessions_refused_total',
    help: 'SFU sessions refused by the SFU limits',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** A gauge with no labels whose value is read at scrape time (left as it was when `read` has none). */
  private readonly sampledGauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const v = read();
        if (v !== undefined) this.set(v);
      },
    });
  private sfuPresenceSource: (() => number) | undefined;
  readonly sfuParticipants = this.sampledGauge(
    'pairux_sfu_participants',
    'Participants connected to the SFU (LiveKit), as its webhooks report them',
    () => this.sfuPresenceSource?.() ?? 0,
  );

  readonly sfuDeploymentDown = new Counter({
    name: 'pairux_sfu_deployment_down_total',
    help: 'SFU deployments reported down by the health checks (failuresToDown checks in a row failed)',
    labelNames: ['deployment', 'region'] as const,
    registers: [this.registry],
  });
  /** Read at scrape time from the cascade bridges this instance runs. */
  private cascadeSource: (() => BridgeSnapshot[]) | undefined;
  describeCascadeWith(source: () => BridgeSnapshot[]): void {
    this.cascadeSource = source;
  }
  private readonly cascadeGauge = (name: string, help: string, value: (b: BridgeSnapshot, layer: BridgeSnapshot['layers'][number]) => number) => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    return new Gauge({
      name,
      help,
      labelNames: ['session', 'region', 'layer'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const b of metrics.cascadeSource?.() ?? [])
          for (const l of b.layers) this.set({ session: b.sessionId, region: b.region, layer: l.rid }, value(b, l));
      },
    });
  };
  readonly cascadeBridges = (() => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    return new Gauge({
      name: 'pairux_cascade_bridges',
      help: 'Cascade bridges this instance runs, per far region (one per cascaded session there)',
      labelNames: ['region', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const counts = new Map<string, { region: string; state: string; n: number }>();
        for (const b of metrics.cascadeSource?.() ?? []) {
          const k = `${b.region}/${b.state}`;
          const c = counts.get(k) ?? { region: b.region, state: b.state, n: 0 };
          c.n++;
          counts.set(k, c);
        }
        for (const c of counts.values()) this.set({ region: c.region, state: c.state }, c.n);
      },
    });
  })();
  readonly cascadeBridgeFps = this.cascadeGauge(
    'pairux_cascade_bridge_fps',
    'Frames a cascade bridge carried per second, per session, far region and layer',
    (_b, l) => l.fps,
  );
  readonly cascadeBridgeKbps = this.cascadeGauge(
    'pairux_cascade_bridge_kbps',
    'Kilobits a cascade bridge carried per second (payload), per session, far region and layer',
    (_b, l) => l.kbps,
  );
  readonly cascadeBridgeDelay = this.cascadeGauge(
    'pairux_cascade_bridge_relay_ms',
    "A cascade bridge's own delay per packet (received from the origin → handed to the far SFU), ms",
    (_b, l) => l.relayMs,
  );
  readonly cascadeBridgeRestarts = this.cascadeGauge(
    'pairux_cascade_bridge_restarts',
    'Times a cascade bridge was started again after it stopped',
    (b) => b.restarts,
  );
  /** Read at scrape time from the SFU pool's last checks. */
  private sfuPoolSource: (() => SfuPoolFigures[]) | undefined;
  private readonly sfuPoolGauge = (name: string, help: string, value: (d: SfuPoolFigures) => number | undefined) => {
    // prom-client calls collect() with the gauge as `this`; the registry's owner is needed too.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    return new Gauge({
      name,
      help,
      labelNames: ['deployment', 'region'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const d of metrics.sfuPoolSource?.() ?? []) {
          const v = value(d);
          if (v !== undefined) this.set({ deployment: d.id, region: d.region }, v);
        }
      },
    });
  };
  readonly sfuDeploymentUp = this.sfuPoolGauge('pairux_sfu_deployment_up', 'Whether an SFU deployment answers its health checks (0 once it is down)', (d) =>
    d.healthy ? 1 : 0,
  );
  readonly sfuDeploymentLoad = this.sfuPoolGauge(
    'pairux_sfu_deployment_load_percent',
    'SFU deployment load: the highest of CPU, clients/maxParticipants, rooms/maxConcurrentRooms',
    (d) => d.load?.percent,
  );
  readonly sfuDeploymentClients = this.sfuPoolGauge(
    'pairux_sfu_deployment_clients',
    'Participants connected to an SFU deployment, from its statistics',
    (d) => d.stats?.clients,
  );
  readonly sfuDeploymentRooms = this.sfuPoolGauge('pairux_sfu_deployment_rooms', 'Rooms on an SFU deployment, from its statistics', (d) => d.stats?.rooms);

  /** Read at scrape time from the Redis scale-out, when there is one. */
  private redisSource: (() => { up: boolean; relaysDropped: number }) | undefined;
  readonly redisUp = this.sampledGauge(
    'pairux_redis_up',
    'Whether this instance reaches the shared Redis (0 while it serves its sessions from its own copy)',
    () => {
      const r = this.redisSource?.();
      return r && (r.up ? 1 : 0);
    },
  );
  readonly redisOutages = new Counter({
    name: 'pairux_redis_outages_total',
    help: 'Times this instance lost the shared Redis (its circuit breaker opened)',
    registers: [this.registry],
  });
  readonly relaysDropped = this.sampledGauge(
    'pairux_relays_dropped',
    'Messages from other instances dropped as malformed or oversized, since start',
    () => this.redisSource?.().relaysDropped,
  );

  constructor(defaultMetrics = false) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'pairux_process_' });
  }

  /** `role|connected` → count. */
  countParticipantsWith(source: () => Promise<Map<string, number>>): void {
    this.participantSource = source;
  }

  describeRedisWith(source: () => { up: boolean; relaysDropped: number }): void {
    this.redisSource = source;
  }

  countSfuPresenceWith(source: () => number): void {
    this.sfuPresenceSource = source;
  }

  describeSfuPoolWith(source: () => SfuPoolFigures[]): void {
    this.sfuPoolSource = source;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
