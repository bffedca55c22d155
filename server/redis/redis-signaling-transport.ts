/**
 * SignalingTransport across instances. A participant's socket is on one instance; the route
 * table in Redis (`rt:<sid>`: participant → instance id, and `ir:<instance>`: that instance's
 * entries, for sweeping it when it dies) says which. Delivery to a socket on this instance is
 * direct and never waits for Redis; anything else is published on the holder's channel
 * (`i:<instance>`, one per instance, subscribed from the start, so there is no window in which a
 * new member misses a message the way a per-session subscription would have).
 *
 * Order: every outgoing call is one Lua script on the one command connection, issued in call
 * order, and each instance reads its channel on one subscriber connection, so deliveries from
 * one instance arrive in the order they were made (a `send` then a `disconnect`, a `broadcast`
 * then a `disconnectAll`).
 *
 * A route counts only while its instance's heartbeat key lives (`instance-liveness.ts`) and
 * that instance is subscribed to its channel: `has` and `send` answer false for a participant
 * whose instance died (at once when the process is gone, within the TTL when it hangs).
 *
 * While Redis does not answer, local delivery goes on; remote deliveries are dropped (`send`
 * answers false), and route writes that failed are redone by `resync` when it answers again.
 */
import { z } from 'zod';
import { Id } from '../../protocol/common';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../../protocol/limits';
import type { NotificationType } from '../../protocol/rpc';
import { CloseCode, signalingBoundary } from '../../protocol/signaling';
import type { ParticipantSink, SignalingTransport } from '../signaling-transport';
import type { RedisLink } from './redis-link';

/** A relayed message is one notification (≤ the signaling cap) plus its envelope. */
export const MAX_RELAY_BYTES = MAX_SIGNALING_MESSAGE_BYTES + 4096;

const Code = z.int().min(1000).max(4999);
const Reason = z.string().max(123);
const From = z.string().min(1).max(64);
const Method = z.string().min(1).max(64);
export const RelayMessage = z.discriminatedUnion('k', [
  /** notify one participant */
  z.object({ k: z.literal('n'), from: From, s: Id, p: Id, m: Method, a: z.unknown() }),
  /** notify every participant of the session on the receiving instance, except `x` */
  z.object({ k: z.literal('b'), from: From, s: Id, x: Id.optional(), m: Method, a: z.unknown() }),
  /** close one participant's socket */
  z.object({ k: z.literal('c'), from: From, s: Id, p: Id, code: Code, why: Reason }),
  /** close every socket of the session */
  z.object({ k: z.literal('C'), from: From, s: Id, code: Code, why: Reason }),
  /** the participant attached on another instance: close the old socket here */
  z.object({ k: z.literal('r'), from: From, s: Id, p: Id }),
]);
type RelayMessage = z.infer<typeof RelayMessage>;

const NOTIFICATIONS = new Map(signalingBoundary.bToA.notifications.map((n) => [n.method, n as NotificationType<unknown>]));

// KEYS: routes, my entries. ARGV: pid, me, entry, prefix, 'replaced' message.
const ATTACH = `
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if prev and prev ~= ARGV[2] then
  redis.call('SREM', ARGV[4] .. 'ir:' .. prev, ARGV[3])
  redis.call('PUBLISH', ARGV[4] .. 'i:' .. prev, ARGV[5])
end
return 1`;

// After an outage: take the route back unless another live instance holds the participant now.
const RECLAIM = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cur ~= ARGV[2] and redis.call('EXISTS', ARGV[4] .. 'hb:' .. cur) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1`;

const DETACH = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('SREM', KEYS[2], ARGV[3])
return 1`;

// ARGV: pid, me, prefix. A route to this instance that is not local here is stale: not live.
// The holder counts while its heartbeat lives and its channel has a subscriber: a process that
// died has no connection left, so its routes stop counting at once, long before its TTL.
const HAS = `
local i = redis.call('HGET', KEYS[1], ARGV[1])
if not i or i == ARGV[2] then return 0 end
if redis.call('EXISTS', ARGV[3] .. 'hb:' .. i) == 0 then return 0 end
local n = redis.call('PUBSUB', 'NUMSUB', ARGV[3] .. 'i:' .. i)
if tonumber(n[2]) > 0 then return 1 end
return 0`;

const TO_ONE = `
local i = redis.call('HGET', KEYS[1], ARGV[1])
if not i or i == ARGV[2] then return 0 end
if redis.call('EXISTS', ARGV[3] .. 'hb:' .. i) == 0 then return 0 end
if redis.call('PUBLISH', ARGV[3] .. 'i:' .. i, ARGV[4]) > 0 then return 1 end
return 0`;

// ARGV: me, prefix, message, '1' to drop the session's routes afterwards.
const TO_ALL = `
local seen = {}
for _, i in ipairs(redis.call('HVALS', KEYS[1])) do
  if i ~= ARGV[1] and not seen[i] then
    seen[i] = true
    redis.call('PUBLISH', ARGV[2] .. 'i:' .. i, ARGV[3])
  end
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[1]) end
return 1`;

type Script = (keys: string[], args: Array<string | number>) => Promise<unknown>;

export const routeEntry = (sessionId: string, participantId: string) => `${sessionId} ${participantId}`;
export function parseRouteEntry(entry: string): { sessionId: string; participantId: string } | undefined {
  const [sessionId, participantId, extra] = entry.split(' ');
  return sessionId && participantId && extra === undefined ? { sessionId, participantId } : undefined;
}

export class RedisSignalingTransport implements SignalingTransport {
  private readonly local = new Map<string, Map<string, ParticipantSink>>();
  private readonly s: Record<'attach' | 'reclaim' | 'detach' | 'has' | 'toOne' | 'toAll', Script>;
  /** Relayed messages dropped as malformed or oversized (for tests and metrics). */
  dropped = 0;
  private lastDropLog = 0;
  /**
   * Sockets closed lately (entry → when). The service records a drop with a few calls to Redis
   * after the close; one that began just before Redis stopped answering may have been cut short,
   * so `resync` looks at these again.
   */
  private readonly recentDrops = new Map<string, number>();
  private downAt = 0;

  constructor(
    private readonly link: RedisLink,
    readonly instanceId: string,
  ) {
    const d = (name: string, lua: string) => link.script(`pairuxRoute${name}`, name === 'Has' || name === 'ToOne' || name === 'ToAll' ? 1 : 2, lua);
    link.on('down', () => (this.downAt = Date.now()));
    this.s = {
      attach: d('Attach', ATTACH),
      reclaim: d('Reclaim', RECLAIM),
      detach: d('Detach', DETACH),
      has: d('Has', HAS),
      toOne: d('ToOne', TO_ONE),
      toAll: d('ToAll', TO_ALL),
    };
  }

  /** Subscribes to this instance's channel; resolves once Redis confirmed it. */
  async start(): Promise<void> {
    const channel = this.link.keys.channel(this.instanceId);
    this.link.sub.on('message', (ch: string, text: string) => {
      if (ch === channel) this.receive(text);
    });
    await this.link.sub.subscribe(channel);
  }

  attach(sessionId: string, participantId: string, sink: ParticipantSink): ParticipantSink | undefined {
    let members = this.local.get(sessionId);
    if (!members) this.local.set(sessionId, (members = new Map()));
    const previous = members.get(participantId);
    members.set(participantId, sink);
    const k = this.link.keys;
    const replaced = JSON.stringify({ k: 'r', from: this.instanceId, s: sessionId, p: participantId } satisfies RelayMessage);
    this.link.fire('route attach', () =>
      this.s.attach(
        [k.routes(sessionId), k.instanceRoutes(this.instanceId)],
        [participantId, this.instanceId, routeEntry(sessionId, participantId), k.prefix, replaced],
      ),
    );
    return previous === sink ? undefined : previous;
  }

  detach(sessionId: string, participantId: string, sink: ParticipantSink): void {
    if (!this.detachLocal(sessionId, participantId, sink)) return;
    this.detachRoute(sessionId, participantId);
    const now = Date.now();
    if (this.link.isUp) for (const [entry, at] of this.recentDrops) if (now - at > 10_000) this.recentDrops.delete(entry);
    this.recentDrops.set(routeEntry(sessionId, participantId), now);
  }

  async has(sessionId: string, participantId: string): Promise<boolean> {
    if (this.local.get(sessionId)?.has(participantId)) return true;
    if (!this.link.isUp) return false;
    const k = this.link.keys;
    try {
      return (await this.link.run(() => this.s.has([k.routes(sessionId)], [participantId, this.instanceId, k.prefix]))) === 1;
    } catch {
      return false;
    }
  }

  async send<P>(sessionId: string, participantId: string, type: NotificationType<P>, params: P): Promise<boolean> {
    const sink = this.local.get(sessionId)?.get(participantId);
    if (sink) {
      sink.notify(type, params);
      return true;
    }
    const text = this.encode({ k: 'n', from: this.instanceId, s: sessionId, p: participantId, m: type.method, a: params });
    if (!text || !this.link.isUp) return false;
    const k = this.link.keys;
    try {
      return (await this.link.run(() => this.s.toOne([k.routes(sessionId)], [participantId, this.instanceId, k.prefix, text]))) === 1;
    } catch {
      return false;
    }
  }

  broadcast<P>(sessionId: string, type: NotificationType<P>, params: P, exceptParticipantId?: string): void {
    this.deliverLocally(sessionId, type, params, exceptParticipantId);
    const msg: RelayMessage = { k: 'b', from: this.instanceId, s: sessionId, m: type.method, a: params };
    if (exceptParticipantId) msg.x = exceptParticipantId;
    this.toAll(sessionId, msg, false);
  }

  disconnect(sessionId: string, participantId: string, code: number, reason: string): void {
    const sink = this.local.get(sessionId)?.get(participantId);
    if (sink) {
      this.detach(sessionId, participantId, sink);
      sink.close(code, reason);
      return;
    }
    const text = this.encode({ k: 'c', from: this.instanceId, s: sessionId, p: participantId, code, why: clip(reason) });
    if (!text) return;
    const k = this.link.keys;
    this.link.fire('remote disconnect', () => this.s.toOne([k.routes(sessionId)], [participantId, this.instanceId, k.prefix, text]));
  }

  disconnectAll(sessionId: string, code: number, reason: string): void {
    this.closeLocal(sessionId, code, reason);
    this.toAll(sessionId, { k: 'C', from: this.instanceId, s: sessionId, code, why: clip(reason) }, true);
  }

  // ---- for the scale-out wiring ----------------------------------------------------------

  /** Whether a socket of the session is on this instance. */
  holdsLocally(sessionId: string): boolean {
    return (this.local.get(sessionId)?.size ?? 0) > 0;
  }

  localMembers(): Array<{ sessionId: string; participantId: string; sink: ParticipantSink }> {
    const out = [];
    for (const [sessionId, members] of this.local) for (const [participantId, sink] of members) out.push({ sessionId, participantId, sink });
    return out;
  }

  /** Closes every socket on this instance (graceful shutdown: `CloseCode.Moving`). */
  closeEverything(code: number, reason: string): void {
    for (const sessionId of [...this.local.keys()]) this.closeLocal(sessionId, code, reason);
  }

  /**
   * After Redis answered again: routes for every socket here are written again (unless the
   * participant is held by another live instance now: then the socket here is stale and closed),
   * and the entries of sockets that closed meanwhile are dropped. Returns those participants,
   * and those whose socket closed shortly before or during the outage: their drop may not have
   * been recorded (recording it again is harmless).
   */
  async resync(): Promise<Array<{ sessionId: string; participantId: string }>> {
    const k = this.link.keys;
    const mine = this.localMembers();
    const held = new Set(mine.map((m) => routeEntry(m.sessionId, m.participantId)));
    await Promise.all(
      mine.map(async ({ sessionId, participantId, sink }) => {
        const ours = await this.link.run(() =>
          this.s.reclaim(
            [k.routes(sessionId), k.instanceRoutes(this.instanceId)],
            [participantId, this.instanceId, routeEntry(sessionId, participantId), k.prefix],
          ),
        );
        if (ours === 1) return;
        this.detachLocal(sessionId, participantId, sink);
        sink.close(CloseCode.Replaced, 'replaced by a newer connection of the same participant');
      }),
    );
    const recorded = await this.link.run((r) => r.smembers(k.instanceRoutes(this.instanceId)));
    const since = this.downAt - 2 * this.link.commandTimeoutMs;
    const suspects = [...this.recentDrops].filter(([entry, at]) => at >= since && !held.has(entry) && !recorded.includes(entry)).map(([entry]) => entry);
    this.recentDrops.clear();
    const gone: Array<{ sessionId: string; participantId: string }> = [];
    for (const entry of suspects) {
      const parsed = parseRouteEntry(entry);
      if (parsed) gone.push(parsed);
    }
    for (const entry of recorded) {
      if (held.has(entry)) continue;
      const parsed = parseRouteEntry(entry);
      if (parsed) {
        await this.link.run(() =>
          this.s.detach([k.routes(parsed.sessionId), k.instanceRoutes(this.instanceId)], [parsed.participantId, this.instanceId, entry]),
        );
        gone.push(parsed);
      } else {
        await this.link.run((r) => r.srem(k.instanceRoutes(this.instanceId), entry));
      }
    }
    return gone;
  }

  // ---- inside ------------------------------------------------------------------------------

  private detachLocal(sessionId: string, participantId: string, sink: ParticipantSink): boolean {
    const members = this.local.get(sessionId);
    if (members?.get(participantId) !== sink) return false;
    members.delete(participantId);
    if (members.size === 0) this.local.delete(sessionId);
    return true;
  }

  private detachRoute(sessionId: string, participantId: string): void {
    const k = this.link.keys;
    this.link.fire('route detach', () =>
      this.s.detach([k.routes(sessionId), k.instanceRoutes(this.instanceId)], [participantId, this.instanceId, routeEntry(sessionId, participantId)]),
    );
  }

  private closeLocal(sessionId: string, code: number, reason: string): void {
    const members = this.local.get(sessionId);
    if (!members) return;
    this.local.delete(sessionId);
    for (const [participantId, sink] of members) {
      this.detachRoute(sessionId, participantId);
      sink.close(code, reason);
    }
  }

  private deliverLocally<P>(sessionId: string, type: NotificationType<P>, params: P, except?: string): void {
    const members = this.local.get(sessionId);
    if (!members) return;
    for (const [id, sink] of [...members]) if (id !== except) sink.notify(type, params);
  }

  private toAll(sessionId: string, msg: RelayMessage, dropRoutes: boolean): void {
    const text = this.encode(msg);
    if (!text) return;
    const k = this.link.keys;
    this.link.fire('relay to the session', () => this.s.toAll([k.routes(sessionId)], [this.instanceId, k.prefix, text, dropRoutes ? '1' : '0']));
  }

  private encode(msg: RelayMessage): string | undefined {
    const text = JSON.stringify(msg);
    if (Buffer.byteLength(text) <= MAX_RELAY_BYTES) return text;
    this.drop(`not relaying a ${msg.k === 'n' || msg.k === 'b' ? msg.m : msg.k} of ${Buffer.byteLength(text)} bytes (over ${MAX_RELAY_BYTES})`);
    return undefined;
  }

  private receive(text: string): void {
    if (Buffer.byteLength(text) > MAX_RELAY_BYTES) return this.drop(`dropped a relayed message of ${Buffer.byteLength(text)} bytes (over ${MAX_RELAY_BYTES})`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.drop(`dropped a relayed message that is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
    }
    const parsed = RelayMessage.safeParse(json);
    if (!parsed.success) return this.drop(`dropped a malformed relayed message: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const msg = parsed.data;
    if (msg.from === this.instanceId) return;
    switch (msg.k) {
      case 'n':
      case 'b': {
        const type = NOTIFICATIONS.get(msg.m);
        if (!type) return this.drop(`dropped a relayed ${msg.m}: not a notification of the signaling protocol`);
        const params = type.params.safeParse(msg.a);
        if (!params.success) return this.drop(`dropped a relayed ${msg.m} with invalid params`);
        if (msg.k === 'b') return this.deliverLocally(msg.s, type, params.data, msg.x);
        this.local.get(msg.s)?.get(msg.p)?.notify(type, params.data);
        return;
      }
      case 'c': {
        const sink = this.local.get(msg.s)?.get(msg.p);
        if (!sink) return;
        this.detach(msg.s, msg.p, sink);
        sink.close(msg.code, msg.why);
        return;
      }
      case 'C':
        return this.closeLocal(msg.s, msg.code, msg.why);
      case 'r': {
        const sink = this.local.get(msg.s)?.get(msg.p);
        if (!sink) return;
        // The route is the other instance's now: only the socket here goes.
        this.detachLocal(msg.s, msg.p, sink);
        sink.close(CloseCode.Replaced, 'replaced by a newer connection of the same participant');
        return;
      }
    }
  }

  private drop(message: string): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.lastDropLog < 5000) return;
    this.lastDropLog = now;
    this.link.log('warn', message);
  }
}

/** WebSocket close reasons are at most 123 bytes. */
function clip(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
