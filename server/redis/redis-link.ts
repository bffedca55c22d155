/**
 * One control-plane instance's connection to the shared Redis: a command connection, a
 * subscriber connection, the key names, and whether Redis answers.
 *
 * Reachability is a circuit breaker, so an outage costs one slow call, not one per call: a
 * command that gets no answer within `timeoutMs` (or cannot be sent) marks Redis down; while
 * down, every call fails at once with UNAVAILABLE (callers with a local copy serve that instead);
 * a probe pings until Redis answers, then the `recovered` listeners resync (routes, heartbeat,
 * what changed meanwhile) and the link is up again.
 *
 * A command that timed out may still run when Redis answers again (Redis executes what it had
 * received): callers treat such a write as "maybe done" (see the store's compensation), never as
 * "not done".
 */
import { EventEmitter } from 'node:events';
import { Redis, ReplyError } from 'ioredis';
import { ErrorCode, PairuxError } from '../../protocol/errors';

export const UNAVAILABLE_MESSAGE = 'the state store is unreachable; retrying';

export interface RedisLinkOptions {
  url: string;
  keyPrefix: string;
  /** Redis Sentinel: the primary of `sentinelName` is asked of these (and followed when it changes). */
  sentinels?: Array<{ host: string; port: number }>;
  sentinelName?: string;
  /** How long a command may go unanswered before Redis counts as unreachable. */
  timeoutMs?: number;
  /** Between probes while Redis is down. */
  probeIntervalMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, err?: unknown) => void;
}

export interface RedisLinkEvents {
  down: [reason: string];
  /** Redis answers again; the link is up once every listener's promise (in `onRecovered`) settled. */
  up: [];
}

/** Every key and channel of one deployment, under its prefix. Ids never contain ':' or ' ' (protocol `Id`). */
export class KeySpace {
  constructor(readonly prefix: string) {}
  session = (sid: string) => `${this.prefix}s:${sid}`;
  participant = (sid: string, pid: string) => `${this.prefix}p:${sid}:${pid}`;
  /** Participant key without the id, for scripts that walk a session's participants. */
  participantPrefix = (sid: string) => `${this.prefix}p:${sid}:`;
  roles = (sid: string) => `${this.prefix}r:${sid}`;
  removed = (sid: string) => `${this.prefix}x:${sid}`;
  sfuPrefix = () => `${this.prefix}sfu:`;
  sfu = (deploymentId: string) => `${this.prefix}sfu:${deploymentId}`;
  live = () => `${this.prefix}live`;
  bridgeLease = (sid: string, region: string) => `${this.prefix}cb:${sid}:${region}`;
  routes = (sid: string) => `${this.prefix}rt:${sid}`;
  instanceRoutes = (instanceId: string) => `${this.prefix}ir:${instanceId}`;
  heartbeat = (instanceId: string) => `${this.prefix}hb:${instanceId}`;
  instances = () => `${this.prefix}instances`;
  channel = (instanceId: string) => `${this.prefix}i:${instanceId}`;
  deadlines = () => `${this.prefix}deadlines`;
}

export function unavailable(cause?: unknown): PairuxError {
  return new PairuxError(ErrorCode.Unavailable, UNAVAILABLE_MESSAGE, { retry: true }, { cause });
}

/** Reconnects (to Redis, or to the sentinels) 50 ms apart at first, then up to every second. */
const reconnectBackoff = (times: number): number => Math.min(1000, 50 * times);

export class RedisLink extends EventEmitter<RedisLinkEvents> {
  readonly cmd: Redis;
  readonly sub: Redis;
  readonly keys: KeySpace;
  private up = true;
  private closed = false;
  private probing: Promise<void> | undefined;
  private readonly recoverers: Array<() => Promise<void>> = [];
  private readonly timeoutMs: number;
  private readonly probeIntervalMs: number;
  private lastConnectionLog = 0;
  readonly log: NonNullable<RedisLinkOptions['log']>;

  constructor(options: RedisLinkOptions) {
    super();
    this.timeoutMs = options.timeoutMs ?? 500;
    this.probeIntervalMs = options.probeIntervalMs ?? 250;
    this.keys = new KeySpace(options.keyPrefix);
    this.log = options.log ?? ((level, message, err) => console[level](`[pairux-server] redis: ${message}`, ...(err === undefined ? [] : [err])));
    const common = {
      lazyConnect: true,
      connectTimeout: Math.max(1000, this.timeoutMs * 2),
      // Nothing waits in a queue while Redis is away: the breaker answers instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: reconnectBackoff,
    };
    // Under Sentinel, ioredis asks the sentinels for the primary on every (re)connect, so a
    // promoted replica is found like any reconnect; the url still gives password, db and TLS.
    const target = options.sentinels ? { sentinels: options.sentinels, name: options.sentinelName ?? 'mymaster', sentinelRetryStrategy: reconnectBackoff } : {};
    this.cmd = new Redis(options.url, { ...common, ...target, commandTimeout: this.timeoutMs });
    // The subscriber keeps its subscriptions across reconnects (ioredis resubscribes).
    this.sub = new Redis(options.url, { ...common, ...target, enableOfflineQueue: true, autoResubscribe: true });
    for (const [name, client] of [
      ['commands', this.cmd],
      ['subscriber', this.sub],
    ] as const) {
      client.on('error', (err: Error) => this.connectionTrouble(`${name} connection: ${err.message}`));
      client.on('close', () => {
        if (name === 'commands' && !this.closed) this.markDown('the connection closed');
      });
    }
  }

  get isUp(): boolean {
    return this.up;
  }

  get commandTimeoutMs(): number {
    return this.timeoutMs;
  }

  async connect(): Promise<void> {
    try {
      await Promise.all([this.cmd.connect(), this.sub.connect()]);
      await this.cmd.ping();
    } catch (err) {
      this.cmd.disconnect();
      this.sub.disconnect();
      throw new Error(`cannot reach Redis: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Runs after Redis answers again, before the link counts as up (resyncs). */
  onRecovered(fn: () => Promise<void>): void {
    this.recoverers.push(fn);
  }

  /**
   * One call to Redis through the breaker. An unreachable Redis is UNAVAILABLE (and marks the
   * link down); an error Redis itself answered (a script's) is passed on as it is.
   */
  async run<T>(op: (r: Redis) => Promise<T>): Promise<T> {
    if (!this.up || this.closed) throw unavailable();
    try {
      return await op(this.cmd);
    } catch (err) {
      if (err instanceof ReplyError) throw err;
      this.markDown(err instanceof Error ? err.message : String(err));
      throw unavailable(err);
    }
  }

  /** Fire-and-forget through the breaker: failures are expected while Redis is away, so only logged when unexpected. */
  fire(what: string, op: (r: Redis) => Promise<unknown>): void {
    this.run(op).catch((err: unknown) => {
      if (!(err instanceof PairuxError && err.code === ErrorCode.Unavailable)) this.log('error', `${what} failed`, err);
    });
  }

  /**
   * A Lua script on the command connection (ioredis `defineCommand`: EVAL on a connection's first
   * use, EVALSHA after, so scripts keep the order they were called in). Names are per connection.
   */
  script(name: string, numberOfKeys: number, lua: string): (keys: string[], args: Array<string | number>) => Promise<unknown> {
    this.cmd.defineCommand(name, { numberOfKeys, lua });
    const fn = (this.cmd as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name];
    if (!fn) throw new Error(`ioredis did not define ${name}`);
    return (keys, args) => fn.call(this.cmd, ...keys, ...args);
  }

  markDown(reason: string): void {
    if (this.closed || !this.up) return;
    this.up = false;
    this.log('warn', `Redis unreachable (${reason}); serving held sessions locally until it answers`);
    this.emit('down', reason);
    this.probing ??= this.probe().finally(() => (this.probing = undefined));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.probing?.catch(() => undefined);
    await Promise.all(
      [this.cmd, this.sub].map(async (c) => {
        try {
          if (c.status === 'ready') await Promise.race([c.quit(), new Promise((r) => setTimeout(r, this.timeoutMs).unref())]);
        } catch {
          // Closing anyway.
        }
        c.disconnect();
      }),
    );
  }

  private async probe(): Promise<void> {
    while (!this.closed) {
      await new Promise((r) => setTimeout(r, this.probeIntervalMs).unref());
      if (this.closed) return;
      try {
        await this.cmd.ping();
      } catch {
        continue;
      }
      // Answering again: resync first, with the link up so the resync's own calls go through.
      this.up = true;
      for (const fn of this.recoverers) {
        try {
          await fn();
        } catch (err) {
          this.log('error', 'resync after the outage failed', err);
          if (!this.up) break;
        }
      }
      if (!this.up) continue;
      this.log('info', 'Redis answers again; resynced');
      this.emit('up');
      return;
    }
  }

  private connectionTrouble(message: string): void {
    const now = Date.now();
    if (now - this.lastConnectionLog < 5000) return;
    this.lastConnectionLog = now;
    this.log('warn', message);
  }
}
