/**
 * Which instances are alive, and what happens to the participants of one that is not. Each
 * instance writes `hb:<id>` with a short TTL every `beatMs` and lists itself in `instances`. An
 * instance whose key expired is dead: its routes no longer count (`has`/`send` answer false),
 * and every survivor sweeps it: it pops the dead instance's route entries one batch at a time
 * (SPOP: each entry goes to exactly one sweeper), drops each route that still points at the dead
 * instance, and hands the participant to `orphaned` (the session service's `presenceLost`:
 * marked disconnected, its grace period starts). A participant that already reconnected
 * elsewhere has a route to a live instance and is left alone.
 *
 * An instance that finds its own key gone (it was paused or cut off from Redis longer than the
 * TTL, so others may have swept it) says so with `lapsed`; the wiring resyncs its routes and
 * presence then.
 *
 * Not covered: a sweeper that dies between popping an entry and marking the participant
 * disconnected loses that entry (two instances failing within a second of each other); the
 * participant then shows as connected until it reconnects or the session ends.
 */
import type { RedisLink } from './redis-link';
import { parseRouteEntry } from './redis-signaling-transport';

// KEYS: my heartbeat, instances. ARGV: me, ttl ms. Answers whether the key was still there.
const BEAT = `
local had = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return had`;

// KEYS: instances. ARGV: me, prefix. The listed instances whose heartbeat expired.
const DEAD = `
local dead = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. 'hb:' .. id) == 0 then dead[#dead + 1] = id end
end
return dead`;

// KEYS: routes of the session. ARGV: pid, dead instance. 1 when the route was the dead one's (now dropped).
const CLAIM = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0`;

// KEYS: instances, the dead one's entries, its heartbeat. ARGV: dead id. Forgets it once swept.
const FORGET = `
if redis.call('SCARD', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SREM', KEYS[1], ARGV[1]) end
return 1`;

export interface LivenessOptions {
  /** Heartbeat period. */
  beatMs?: number;
  /** How long a heartbeat counts; an instance silent this long is dead. */
  ttlMs?: number;
  /** How often dead instances are looked for. */
  sweepMs?: number;
  orphaned(sessionId: string, participantId: string): Promise<void>;
  lapsed(): void;
}

export class InstanceLiveness {
  private readonly beatMs: number;
  private readonly ttlMs: number;
  private readonly sweepMs: number;
  private beatTimer: ReturnType<typeof setInterval> | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private sweeping = false;
  /**
   * No sweeping before then. When Redis itself was away, every instance's heartbeat lapsed at
   * once: after it answers again, the others get one TTL to beat before any of them counts as dead.
   */
  private sweepNotBefore = 0;
  private readonly s: Record<'beat' | 'dead' | 'claim' | 'forget', (keys: string[], args: Array<string | number>) => Promise<unknown>>;

  constructor(
    private readonly link: RedisLink,
    private readonly instanceId: string,
    private readonly options: LivenessOptions,
  ) {
    this.beatMs = options.beatMs ?? 1000;
    this.ttlMs = options.ttlMs ?? 5000;
    this.sweepMs = options.sweepMs ?? 1000;
    link.on('down', () => (this.sweepNotBefore = Number.POSITIVE_INFINITY));
    this.s = {
      beat: link.script('pairuxLiveBeat', 2, BEAT),
      dead: link.script('pairuxLiveDead', 1, DEAD),
      claim: link.script('pairuxLiveClaim', 1, CLAIM),
      forget: link.script('pairuxLiveForget', 3, FORGET),
    };
  }

  async start(): Promise<void> {
    await this.beat();
    this.beatTimer = setInterval(() => void this.beat().catch(() => undefined), this.beatMs);
    this.sweepTimer = setInterval(() => void this.sweep(), this.sweepMs);
    this.beatTimer.unref();
    this.sweepTimer.unref();
  }

  /** Writes the heartbeat now; `lapsed` fires when it had expired. */
  async beat(): Promise<void> {
    const k = this.link.keys;
    const had = await this.link.run(() => this.s.beat([k.heartbeat(this.instanceId), k.instances()], [this.instanceId, this.ttlMs]));
    if (had === 0 && this.beatTimer) this.options.lapsed();
  }

  /** After this instance lost Redis: sweeps wait one TTL from now (see `sweepNotBefore`). */
  holdSweeps(): void {
    this.sweepNotBefore = Date.now() + this.ttlMs;
  }

  /** Finds dead instances and sweeps them; concurrent sweeps on one instance are skipped. */
  async sweep(): Promise<number> {
    if (this.sweeping || !this.link.isUp || Date.now() < this.sweepNotBefore) return 0;
    this.sweeping = true;
    let swept = 0;
    try {
      const k = this.link.keys;
      const dead = (await this.link.run(() => this.s.dead([k.instances()], [this.instanceId, k.prefix]))) as string[];
      for (const id of dead) {
        let count = 0;
        for (;;) {
          const batch = await this.link.run((r) => r.spop(k.instanceRoutes(id), 50));
          if (batch.length === 0) break;
          for (const entry of batch) {
            const parsed = parseRouteEntry(entry);
            if (!parsed) continue;
            const claimed = await this.link.run(() => this.s.claim([k.routes(parsed.sessionId)], [parsed.participantId, id]));
            if (claimed !== 1) continue;
            swept++;
            count++;
            await this.options
              .orphaned(parsed.sessionId, parsed.participantId)
              .catch((err: unknown) => this.link.log('error', `sweeping ${entry} of dead instance ${id} failed`, err));
          }
        }
        await this.link.run(() => this.s.forget([k.instances(), k.instanceRoutes(id), k.heartbeat(id)], [id]));
        if (count) this.link.log('info', `instance ${id} stopped answering; swept ${count} of its participants`);
      }
    } catch {
      // Redis away: the next sweep tries again.
    } finally {
      this.sweeping = false;
    }
    return swept;
  }

  /** Stops beating and, on a graceful close, drops the heartbeat so others take over at once. */
  async stop(dropHeartbeat: boolean): Promise<void> {
    if (this.beatTimer) clearInterval(this.beatTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.beatTimer = this.sweepTimer = undefined;
    if (dropHeartbeat) await this.link.run((r) => r.del(this.link.keys.heartbeat(this.instanceId))).catch(() => undefined);
  }
}
