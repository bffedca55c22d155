/**
 * Several control-plane instances on one Redis: the store, the transport, durable deadlines and
 * instance liveness put together for `startControlPlane` when `config.redis` is set.
 *
 * What holds, exactly:
 * - Any instance serves any participant: state is in Redis, deliveries are routed to the
 *   instance holding the socket, in the order each instance made them.
 * - An instance that dies (no goodbye): within the heartbeat TTL (5 s) plus a sweep (1 s) a
 *   survivor marks its participants disconnected and their grace period starts; those who
 *   reconnect through the load balancer within it come back as themselves, with their roles
 *   (control they had ends with the drop, as for any drop). Its deadlines (grace periods,
 *   host-join deadlines, purges) run on a survivor once overdue by a second.
 * - A graceful close stops listening, closes its sockets with 4005 (Moving: reconnect now) and
 *   ends no session.
 * - Redis not answering (paused, cut off): after at most one call that waits ~500 ms, this
 *   instance stops waiting for it. Sockets stay open and heartbeats are answered (they never
 *   touch Redis); signals between participants on this instance still flow (the target is read
 *   from the local copy of sessions held here, delivery is local); calls that must write, and
 *   joins, fail with UNAVAILABLE "the state store is unreachable; retrying"; deliveries to other
 *   instances are dropped. When Redis answers again, before the instance counts as up: its
 *   heartbeat and routes are rewritten (a socket whose participant another live instance took
 *   meanwhile is closed as replaced), drops that happened meanwhile get their grace period, a
 *   participant marked disconnected meanwhile (swept by another instance) while still connected
 *   here is marked connected again, a join insert that may have landed after its join failed is
 *   undone, and each session held here is re-read: its local sockets get what changed (joined,
 *   updated, left, ended) that they missed.
 * - Not guaranteed: host actions answered UNAVAILABLE may still take effect when Redis answers
 *   (Redis runs what it had received); the re-read above then tells this instance's sockets.
 */
import { ParticipantJoined, ParticipantLeft, ParticipantUpdated, SessionEnded, CloseCode } from '../../protocol/signaling';
import type { ServerConfig } from '../config';
import { publicView } from '../participant-admin';
import type { ParticipantRecord } from '../room-state-store';
import type { SessionService } from '../session-service';
import { InstanceLiveness } from './instance-liveness';
import { RedisLink } from './redis-link';
import { RedisRoomStateStore } from './redis-room-state-store';
import { RedisSignalingTransport } from './redis-signaling-transport';
import { RedisSessionTimers } from './redis-timers';

export interface ScaleOutOptions {
  /** Heartbeat TTL: how long a dead instance goes unnoticed (default 5 s, beat every 1 s). */
  instanceTtlMs?: number;
  /** How long Redis may take to answer before it counts as unreachable (default 500 ms). */
  timeoutMs?: number;
}

export interface ScaleOut {
  readonly link: RedisLink;
  readonly store: RedisRoomStateStore;
  readonly transport: RedisSignalingTransport;
  readonly timers: RedisSessionTimers;
  readonly liveness: InstanceLiveness;
  /** Hooks the sweeper and the resync up to the service (once it exists), and resyncs once. */
  bind(service: SessionService): void;
  /** After the sockets are closed: stops beating (dropping the heartbeat, so others take over now) and disconnects. */
  close(): Promise<void>;
}

export async function startScaleOut(config: ServerConfig, options: ScaleOutOptions = {}): Promise<ScaleOut> {
  if (!config.redis) throw new Error('startScaleOut needs config.redis');
  const { url, keyPrefix, sentinels, sentinelName } = config.redis;
  const link = new RedisLink({
    url,
    keyPrefix,
    ...(sentinels ? { sentinels, sentinelName } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  await link.connect();
  const store = new RedisRoomStateStore(link);
  const transport = new RedisSignalingTransport(link, config.instanceId);
  store.holds = (sessionId) => transport.holdsLocally(sessionId);
  const timers = new RedisSessionTimers(link);
  let service: SessionService | undefined;
  let resyncing: Promise<void> | undefined;
  const ttlMs = options.instanceTtlMs ?? 5000;
  const liveness = new InstanceLiveness(link, config.instanceId, {
    ttlMs,
    beatMs: Math.max(100, Math.floor(ttlMs / 5)),
    sweepMs: Math.max(100, Math.floor(ttlMs / 5)),
    orphaned: async (sessionId, participantId) => service?.presenceLost(sessionId, participantId),
    lapsed: () => void resync().catch((err: unknown) => link.log('error', 'resync after a lapsed heartbeat failed', err)),
  });

  const resync = () => (resyncing ??= runResync().finally(() => (resyncing = undefined)));
  async function runResync(): Promise<void> {
    liveness.holdSweeps();
    await liveness.beat();
    for (const gone of await transport.resync()) await service?.presenceLost(gone.sessionId, gone.participantId);
    await timers.resync();
    for (const { sessionId, participantId } of store.takeUncertainAdds()) {
      if (transport.localMembers().some((m) => m.sessionId === sessionId && m.participantId === participantId)) continue;
      if (await store.removeParticipant(sessionId, participantId)) transport.broadcast(sessionId, ParticipantLeft, { participantId, reason: 'left' });
    }
    for (const sessionId of store.cachedSessions()) {
      if (transport.holdsLocally(sessionId)) await catchUp(sessionId);
    }
    store.prune();
  }

  /** Tells this instance's sockets of a session what they may have missed while Redis was away. */
  async function catchUp(sessionId: string): Promise<void> {
    const before = new Map(store.cachedParticipants(sessionId).map((p) => [p.id, p]));
    const session = await store.getSession(sessionId);
    const members = transport.localMembers().filter((m) => m.sessionId === sessionId);
    if (!session || session.ended) {
      const ended = session?.ended ?? { reason: 'host-left' as const, message: 'The session is gone.' };
      for (const m of members) m.sink.notify(SessionEnded, { reason: ended.reason, message: ended.message });
      transport.disconnectAll(sessionId, CloseCode.SessionEnded, 'session ended');
      return;
    }
    for (const m of members) {
      const p = await store.getParticipant(sessionId, m.participantId);
      // Its seat went while Redis was away (swept and timed out elsewhere): it rejoins, as itself if its ticket still counts.
      if (!p) transport.disconnect(sessionId, m.participantId, CloseCode.Moving, 'your seat was lost while the server was cut off; reconnect');
      else if (!p.connected) {
        const back = await store.updateParticipant(sessionId, m.participantId, { connected: true, disconnectedAt: undefined });
        if (back) transport.broadcast(sessionId, ParticipantUpdated, { participant: publicView(back, session) });
      }
    }
    const now = new Map((await store.listParticipants(sessionId)).map((p) => [p.id, p]));
    const tell = (fn: (sink: (typeof members)[number]['sink']) => void) => {
      for (const m of transport.localMembers()) if (m.sessionId === sessionId) fn(m.sink);
    };
    for (const [id, p] of now) {
      const old = before.get(id);
      if (!old) tell((s) => s.notify(ParticipantJoined, { participant: publicView(p, session), resumed: false }));
      else if (changed(old, p)) tell((s) => s.notify(ParticipantUpdated, { participant: publicView(p, session) }));
    }
    for (const id of before.keys()) if (!now.has(id)) tell((s) => s.notify(ParticipantLeft, { participantId: id, reason: 'left' }));
  }

  link.onRecovered(resync);
  await transport.start();
  await liveness.start();
  timers.start();
  const pruner = setInterval(() => store.prune(), 30_000);
  pruner.unref();

  return {
    link,
    store,
    transport,
    timers,
    liveness,
    bind(s) {
      service = s;
      // An instance restarted under the same id finds the routes of its previous life: their
      // sockets are gone, so their drops are recorded now (as after an outage).
      void resync().catch((err: unknown) => link.log('error', 'resync at start failed', err));
    },
    async close() {
      clearInterval(pruner);
      await resyncing?.catch(() => undefined);
      timers.close();
      await liveness.stop(true);
      await link.close();
    },
  };
}

/** Whether what others see of it changed (the session's tiers are the same on both sides, so they are left out). */
function changed(a: ParticipantRecord, b: ParticipantRecord): boolean {
  return JSON.stringify(publicView(a, undefined)) !== JSON.stringify(publicView(b, undefined));
}
