/**
 * The session focus's cascading (issue 17, the strategy's `setupCascade`): a viewer whose region
 * has an SFU deployment of its own watches there instead of on the origin (the host's), and a
 * cascade bridge per (session, far region) feeds that room from the origin. The session record's
 * `cascade` says which regions are fed and where, so every instance hands out the same access.
 * Every instance that places a viewer of a region asks for the bridge's lease in the store; the
 * one holding it runs the bridge, the others stand by and take it over when its holder dies.
 */
import type { RoomStateStore, SessionRecord, SfuAssignment } from '../room-state-store';
import type { SfuSessions } from '../sfu/sfu-sessions';
import type { SignalingTransport } from '../signaling-transport';
import { SfuPlacementChanged } from '../../protocol/signaling';
import { BridgeSupervisor, type BridgeKey, type BridgeSnapshot } from './bridge-supervisor';

export interface CascadesDeps {
  store: RoomStateStore;
  sfu: SfuSessions;
  transport: SignalingTransport;
  /** False: every viewer watches on the origin (PAIRUX_CASCADE=0). */
  enabled: boolean;
  /** This instance, as the owner of the bridge leases it holds. */
  instanceId: string;
  /** How long a bridge's lease lasts unrenewed (default BRIDGE_LEASE_MS). */
  leaseMs?: number;
  log?: (level: 'info' | 'warn', message: string) => void;
  /** The bridge binary (tests); default the built one. */
  bridgeBinary?: string;
}

/**
 * A bridge's lease lasts this long unrenewed (renewed every third of it): an instance that dies
 * leaves its bridges to another within this plus half of it.
 */
const BRIDGE_LEASE_MS = 4000;

/** Compare-and-set retries of adding a region to a session's cascade (several viewers of new regions at once). */
const CAS_TRIES = 5;

export class Cascades {
  readonly supervisor: BridgeSupervisor;

  constructor(private readonly deps: CascadesDeps) {
    const { store, instanceId } = deps;
    this.supervisor = new BridgeSupervisor({
      configFor: (key) => this.configFor(key),
      lease: {
        claim: (key) => store.claimBridge(key.sessionId, key.region, instanceId, deps.leaseMs ?? BRIDGE_LEASE_MS),
        release: (key) => store.releaseBridge(key.sessionId, key.region, instanceId),
        ttlMs: deps.leaseMs ?? BRIDGE_LEASE_MS,
      },
      ...(deps.log ? { log: deps.log } : {}),
      ...(deps.bridgeBinary ? { binary: deps.bridgeBinary } : {}),
    });
  }

  /**
   * A viewer of `region` joins `session` (media on an SFU): the session as it is afterwards,
   * cascaded to that region when a deployment there could take it, its bridge running.
   */
  async place(session: SessionRecord, region: string): Promise<SessionRecord> {
    if (!this.deps.enabled || session.media !== 'sfu' || !session.sfu || region === session.sfu.region) return session;
    let current = session;
    for (let i = 0; i < CAS_TRIES; i++) {
      if (current.cascade?.[region]) {
        this.supervisor.ensure({ sessionId: current.id, region });
        return current;
      }
      const origin = current.sfu;
      if (current.media !== 'sfu' || !origin) return current;
      const far = await this.deps.sfu.openFarRoom(origin, region);
      if (!far) return current;
      const updated = await this.deps.store.updateSession(current.id, current.version, { cascade: { ...current.cascade, [region]: far } });
      if (updated) {
        this.deps.log?.('info', `session ${current.id} cascaded to region ${region} (${far.deploymentId}) from ${origin.deploymentId}`);
        this.supervisor.ensure({ sessionId: current.id, region });
        return updated;
      }
      const again = await this.deps.store.getSession(current.id);
      if (!again || again.ended) return current;
      current = again;
    }
    return current;
  }

  /**
   * The session's media moved (`session.topology`): at each new epoch its bridges start again
   * from the new origin room (or stop, when it is peer-to-peer now: see `configFor`).
   */
  originMoved(sessionId: string, epoch: number): void {
    if ((this.epochs.get(sessionId) ?? 0) >= epoch) return;
    this.epochs.set(sessionId, epoch);
    for (const b of this.supervisor.snapshot()) if (b.sessionId === sessionId) this.supervisor.restart(b);
  }

  private readonly epochs = new Map<string, number>();

  /**
   * The host's seat went to another participant: the bridges start again for the new host's
   * identity (the one they subscribe to in the origin room and publish as in the far rooms).
   */
  hostChanged(sessionId: string): void {
    for (const b of this.supervisor.snapshot()) if (b.sessionId === sessionId) this.supervisor.restart(b);
  }

  /**
   * A deployment stopped answering: each cascade this instance feeds on it moves to another
   * deployment of the same region, or back to the origin when there is none, and that region's
   * viewers are told to get their access again at once (their LiveKit would take seconds to give
   * up on the dead one by itself).
   */
  async deploymentDown(deploymentId: string): Promise<void> {
    const keys = this.supervisor.snapshot().map((b) => ({ sessionId: b.sessionId, region: b.region }));
    await Promise.all(
      keys.map((key) =>
        this.farLost(key, deploymentId).catch((err: unknown) => this.deps.log?.('warn', `moving ${key.sessionId}'s viewers in ${key.region}: ${String(err)}`)),
      ),
    );
  }

  private async farLost(key: BridgeKey, deploymentId: string): Promise<void> {
    for (let i = 0; i < CAS_TRIES; i++) {
      const session = await this.deps.store.getSession(key.sessionId);
      const far = session?.cascade?.[key.region];
      if (!session || session.ended || !far || far.deploymentId !== deploymentId) return;
      const next = session.sfu ? await this.deps.sfu.openFarRoom(session.sfu, key.region, [deploymentId]) : undefined;
      const cascade = { ...session.cascade };
      if (next) cascade[key.region] = next;
      else delete cascade[key.region];
      const updated = await this.deps.store.updateSession(session.id, session.version, { cascade: Object.keys(cascade).length ? cascade : undefined });
      if (!updated) continue;
      if (next) this.supervisor.restart(key);
      else this.supervisor.stopBridge(key);
      const where = next ? `another SFU in ${key.region} (${next.deploymentId})` : `the host's SFU in ${session.sfu?.region ?? 'its region'}`;
      this.deps.log?.('warn', `session ${session.id}: the SFU of its viewers in ${key.region} (${deploymentId}) is down; they move to ${where}`);
      const message = `The SFU in ${key.region} stopped answering: watching through ${where}.`;
      const viewers = (await this.deps.store.listParticipants(session.id)).filter((p) => p.role === 'viewer' && p.region === key.region);
      await Promise.all(viewers.map((p) => this.deps.transport.send(session.id, p.id, SfuPlacementChanged, { region: key.region, message })));
      return;
    }
  }

  /** The session ended: its bridges stop and its far rooms go. */
  async sessionEnded(sessionId: string, cascade: Record<string, SfuAssignment> | undefined): Promise<void> {
    this.supervisor.stopSession(sessionId);
    this.epochs.delete(sessionId);
    await Promise.all(Object.values(cascade ?? {}).map((far) => this.deps.sfu.closeRoom(far).catch(() => undefined)));
  }

  snapshot(): BridgeSnapshot[] {
    return this.supervisor.snapshot();
  }

  close(): void {
    this.supervisor.close();
  }

  private async configFor(key: BridgeKey) {
    const session = await this.deps.store.getSession(key.sessionId);
    const far = session?.cascade?.[key.region];
    // Nothing to feed: the session is gone or peer-to-peer, or its origin is in this region now.
    if (!session || session.ended || !session.sfu || session.media !== 'sfu' || !far || session.sfu.region === key.region) {
      this.supervisor.stopBridge(key);
      throw new Error(`session ${key.sessionId} is no longer cascaded to ${key.region}`);
    }
    const host = await this.deps.store.getParticipant(session.id, session.hostId);
    return this.deps.sfu.bridgeConfig(session.sfu, far, { id: session.hostId, name: host?.name ?? 'Host' });
  }
}
