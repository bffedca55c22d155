/**
 * A deployment's real statistics, from where LiveKit keeps them. In multi-node mode every node
 * writes its `livekit.Node` protobuf (with `NodeStats`: CPU, load average, rooms, clients) into
 * the Redis hash `nodes` every `node_stats.stats_update_interval` (2 s by default), which is what
 * LiveKit's own node selector reads; its room store beside it (`rooms`, `room_node_map`) says
 * which rooms exist, on which node, with how many participants. A lone LiveKit keeps no such
 * record anywhere the control plane can reach, so there the API's room list (rooms and their
 * participant counts, which LiveKit refreshes every 5 s) is the statistic, with no CPU figure,
 * unless its Prometheus endpoint is configured (`metricsUrl`, livekit-metrics.ts): then rooms,
 * participants and CPU come from there, at the moment of the scrape.
 */
import { Redis } from 'ioredis';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { SfuDeploymentConfig } from '../config';
import { LiveKitMetricsSampler } from './livekit-metrics';
import { httpUrlOf } from './rooms';

/** LiveKit's `livekit.NodeState`. */
export type NodeState = 'starting_up' | 'serving' | 'shutting_down' | 'suspended';
const NODE_STATES: NodeState[] = ['starting_up', 'serving', 'shutting_down', 'suspended'];

/** The fields of `livekit.Node` / `livekit.NodeStats` (livekit_internal.proto) the pool uses. */
export interface LiveKitNode {
  id: string;
  ip: string;
  region: string;
  state: NodeState;
  numCpus: number;
  stats: {
    /** Unix seconds. */
    startedAt: number;
    /** Unix seconds of the node's last report: LiveKit counts a node unavailable 5 s after it. */
    updatedAt: number;
    numRooms: number;
    numClients: number;
    numTracksIn: number;
    numTracksOut: number;
    /** 0-1, the machine's (or container's) CPU use as the node measures it. */
    cpuLoad: number;
    loadAvgLast1Min: number;
    numCpus: number;
    memoryUsed: number;
    memoryTotal: number;
  };
}

/** LiveKit's `selector.AvailableSeconds`: a node whose stats are older is gone (its selector skips it too). */
export const NODE_STALE_SECONDS = 5;

export interface DeploymentStats {
  source: 'redis' | 'api' | 'metrics';
  rooms: number;
  clients: number;
  /** 0-1, mean over the live nodes weighted by their CPUs (redis), the server process's (metrics); undefined from the API. */
  cpuLoad: number | undefined;
  /** Live nodes (redis); nodes whose stats went stale are in `staleNodes`. */
  nodes: LiveKitNode[];
  /** Participants in the rooms each live node hosts, by node id (redis). */
  participantsOn: Map<string, number>;
  staleNodes: string[];
  /** Rooms the room store still puts on a stale node, by node id: they died with it. */
  lostRooms: Map<string, string[]>;
  /** When the rooms and participants were read (ms); the nodes' own reports are `updatedAt`. */
  measuredAt: number;
  /** How long reading them took (ms). */
  latencyMs: number;
}

export interface StatsReader {
  read(): Promise<DeploymentStats>;
  close(): void;
}

export function statsReaderFor(d: SfuDeploymentConfig, timeoutMs: number): StatsReader {
  if (d.redisUrl) return new RedisStatsReader(d.redisUrl, timeoutMs);
  return d.metricsUrl ? new MetricsStatsReader(new LiveKitMetricsSampler(d.metricsUrl, timeoutMs)) : new ApiStatsReader(d, timeoutMs);
}

class RedisStatsReader implements StatsReader {
  private readonly redis: Redis;
  private lastError: Error | undefined;

  constructor(url: string, timeoutMs: number) {
    this.redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      // A read that cannot be sent now fails now: a stale figure is worse than none.
      enableOfflineQueue: false,
      retryStrategy: () => Math.max(100, timeoutMs),
    });
    // Reconnects on its own; a failing read says why.
    this.redis.on('error', (err: Error) => (this.lastError = err));
  }

  async read(): Promise<DeploymentStats> {
    const started = Date.now();
    if (this.redis.status === 'wait') await this.redis.connect().catch(() => undefined);
    if (this.redis.status !== 'ready') throw new Error(`its Redis did not answer (${this.lastError?.message ?? this.redis.status})`);
    let replies;
    try {
      // One round trip, one moment: the nodes, the rooms, and which node each room is on.
      replies = await this.redis.multi().hgetallBuffer('nodes').hgetallBuffer('rooms').hgetall('room_node_map').exec();
    } catch (err) {
      throw new Error(`its Redis did not answer (${(err as Error).message})`, { cause: err });
    }
    const failed = replies?.find(([err]) => err)?.[0];
    if (!replies || failed) throw new Error(`its Redis did not answer (${failed?.message ?? 'transaction aborted'})`);
    const [rawNodes, rawRooms, roomNode] = replies.map(([, v]) => v) as [Record<string, Buffer>, Record<string, Buffer>, Record<string, string>];
    // Who is in each room: the hosting node adds and removes participants here as they come and
    // go, while the room's own num_participants is refreshed only every 5 s (LiveKit's roomUpdateInterval).
    const names = Object.keys(rawRooms);
    const counts = new Map<string, number>();
    if (names.length) {
      const pipeline = this.redis.pipeline();
      for (const name of names) pipeline.hlen(`room_participants:${name}`);
      const lens = await pipeline.exec().catch((err: Error) => {
        throw new Error(`its Redis did not answer (${err.message})`, { cause: err });
      });
      names.forEach((name, i) => {
        const [err, n] = lens?.[i] ?? [new Error('no reply'), 0];
        if (!err) counts.set(name, Number(n));
      });
    }
    return clusterStats({ nodes: rawNodes, rooms: rawRooms, roomNode, participants: counts }, started, Date.now());
  }

  close(): void {
    this.redis.disconnect();
  }
}

/** What a cluster's Redis holds: LiveKit's node records and its room store. */
export interface ClusterRecords {
  /** `nodes`: node id → livekit.Node. */
  nodes: Record<string, Buffer>;
  /** `rooms`: room name → livekit.Room. */
  rooms: Record<string, Buffer>;
  /** `room_node_map`: room name → the node hosting it. */
  roomNode: Record<string, string>;
  /** Entries of each room's `room_participants:<room>`; a room missing here falls back to its num_participants. */
  participants: Map<string, number>;
}

/**
 * A cluster's figures. Rooms and participants come from LiveKit's room store (written by the
 * node that hosts each room), not from the sum of the nodes' `num_clients`: a participant whose
 * signal connection reached another node than its room's is counted by both (LiveKit's telemetry
 * counts the signal and the media side), so the sum runs up to twice the truth. Rooms on a node
 * that went stale died with it.
 */
export function clusterStats(records: ClusterRecords, started: number, now: number): DeploymentStats {
  const { nodes: rawNodes, rooms: rawRooms, roomNode } = records;
  const nodes: LiveKitNode[] = [];
  const staleNodes: string[] = [];
  for (const [id, value] of Object.entries(rawNodes)) {
    let node: LiveKitNode;
    try {
      node = decodeNode(value);
    } catch {
      // Not a record this decoder understands: leaving it out beats counting garbage.
      staleNodes.push(id);
      continue;
    }
    if (now / 1000 - node.stats.updatedAt >= NODE_STALE_SECONDS || node.state !== 'serving') staleNodes.push(node.id || id);
    else nodes.push(node);
  }
  const live = new Set(nodes.map((n) => n.id));
  const participantsOn = new Map<string, number>();
  const lostRooms = new Map<string, string[]>();
  let rooms = 0;
  let clients = 0;
  for (const [name, value] of Object.entries(rawRooms)) {
    const on = roomNode[name];
    if (on !== undefined && !live.has(on)) {
      lostRooms.set(on, [...(lostRooms.get(on) ?? []), name]);
      continue;
    }
    let participants = records.participants.get(name);
    if (participants === undefined) {
      try {
        participants = decodeRoomParticipants(value);
      } catch {
        participants = 0;
      }
    }
    rooms++;
    clients += participants;
    if (on !== undefined) participantsOn.set(on, (participantsOn.get(on) ?? 0) + participants);
  }
  const cpusOf = (x: LiveKitNode) => Math.max(1, x.stats.numCpus || x.numCpus);
  const cpus = nodes.reduce((n, x) => n + cpusOf(x), 0);
  return {
    source: 'redis',
    rooms,
    clients,
    cpuLoad: nodes.length ? nodes.reduce((n, x) => n + x.stats.cpuLoad * cpusOf(x), 0) / cpus : undefined,
    nodes,
    participantsOn,
    staleNodes,
    lostRooms,
    measuredAt: started,
    latencyMs: now - started,
  };
}

/** A lone server's figures: no nodes to list (that needs a cluster's Redis), read since `started`. */
function serverStats(source: 'api' | 'metrics', started: number, figures: Pick<DeploymentStats, 'rooms' | 'clients' | 'cpuLoad'>): DeploymentStats {
  return {
    source,
    ...figures,
    nodes: [],
    participantsOn: new Map(),
    staleNodes: [],
    lostRooms: new Map(),
    measuredAt: started,
    latencyMs: Date.now() - started,
  };
}

class ApiStatsReader implements StatsReader {
  private readonly api: RoomServiceClient;

  constructor(d: SfuDeploymentConfig, timeoutMs: number) {
    this.api = new RoomServiceClient(httpUrlOf(d.url), d.apiKey, d.apiSecret, { requestTimeout: timeoutMs / 1000, failover: false });
  }

  async read(): Promise<DeploymentStats> {
    const started = Date.now();
    let rooms;
    try {
      rooms = await this.api.listRooms();
    } catch (err) {
      throw new Error(`its API did not list its rooms (${(err as Error).message})`, { cause: err });
    }
    return serverStats('api', started, { rooms: rooms.length, clients: rooms.reduce((n, r) => n + r.numParticipants, 0), cpuLoad: undefined });
  }

  close(): void {}
}

class MetricsStatsReader implements StatsReader {
  constructor(private readonly sampler: LiveKitMetricsSampler) {}

  async read(): Promise<DeploymentStats> {
    const started = Date.now();
    const m = await this.sampler.read();
    return serverStats('metrics', started, { rooms: m.rooms, clients: m.participants, cpuLoad: m.cpuLoad });
  }

  close(): void {}
}

// --- protobuf, the few wire types livekit.Node uses -------------------------------------------

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** A varint as a Number: the counters here stay far below 2^53. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  float(): number {
    if (this.pos + 4 > this.buf.length) throw new Error('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }

  /** Calls `field(number, wire)` for each field; it returns false to have the field skipped. */
  fields(field: (no: number, wire: number) => boolean): void {
    while (!this.done) {
      const tag = this.varint();
      const no = Math.floor(tag / 8);
      const wire = tag & 7;
      if (!field(no, wire)) this.skip(wire);
    }
  }
}

const text = new TextDecoder();

/** int32 fields come as 64-bit two's-complement varints when negative; counters never are, but a bad one must not read as 2^64. */
const int32 = (v: number) => (v > 0x7fffffff ? v - 2 ** 64 : v);

export function decodeNode(buf: Uint8Array): LiveKitNode {
  const node: LiveKitNode = {
    id: '',
    ip: '',
    region: '',
    state: 'starting_up',
    numCpus: 0,
    stats: {
      startedAt: 0,
      updatedAt: 0,
      numRooms: 0,
      numClients: 0,
      numTracksIn: 0,
      numTracksOut: 0,
      cpuLoad: 0,
      loadAvgLast1Min: 0,
      numCpus: 0,
      memoryUsed: 0,
      memoryTotal: 0,
    },
  };
  const r = new Reader(buf);
  r.fields((no, wire) => {
    if (no === 1 && wire === 2) node.id = text.decode(r.bytes());
    else if (no === 2 && wire === 2) node.ip = text.decode(r.bytes());
    else if (no === 3 && wire === 0) node.numCpus = r.varint();
    else if (no === 4 && wire === 2) decodeStats(r.bytes(), node.stats);
    else if (no === 6 && wire === 0) node.state = NODE_STATES[r.varint()] ?? 'suspended';
    else if (no === 7 && wire === 2) node.region = text.decode(r.bytes());
    else return false;
    return true;
  });
  return node;
}

/** `livekit.Room.num_participants` (field 9), kept up to date in the room store by the room's node. */
export function decodeRoomParticipants(buf: Uint8Array): number {
  let n = 0;
  const r = new Reader(buf);
  r.fields((no, wire) => {
    if (no !== 9 || wire !== 0) return false;
    n = r.varint();
    return true;
  });
  return n;
}

function decodeStats(buf: Uint8Array, s: LiveKitNode['stats']): void {
  const r = new Reader(buf);
  r.fields((no, wire) => {
    if (wire === 0) {
      const v = r.varint();
      if (no === 1) s.startedAt = v;
      else if (no === 2) s.updatedAt = v;
      else if (no === 3) s.numRooms = int32(v);
      else if (no === 4) s.numClients = int32(v);
      else if (no === 5) s.numTracksIn = int32(v);
      else if (no === 6) s.numTracksOut = int32(v);
      else if (no === 17) s.numCpus = v;
      else if (no === 34) s.memoryTotal = v;
      else if (no === 35) s.memoryUsed = v;
      return true;
    }
    if (wire === 5) {
      const v = r.float();
      if (no === 18) s.loadAvgLast1Min = v;
      else if (no === 21) s.cpuLoad = v;
      return true;
    }
    return false;
  });
}
