/**
 * Real LiveKit nodes for the SFU pool tests: single nodes and multi-node clusters (nodes sharing
 * one Redis db and one key), each restartable where it was (same ports and keys, so the pool's
 * configured URL points at it again), and waits on the pool's own events instead of sleeps.
 */
import { randomBytes } from 'node:crypto';
import { RoomServiceClient } from 'livekit-server-sdk';
import { startLocalLiveKit, type LocalLiveKit, type LocalLiveKitOptions } from '../../demo/livekit-server';
import type { ControlPlane } from '../../server/control-plane';
import type { DeploymentSnapshot } from '../../server/sfu/pool';

export class PoolNode {
  private constructor(
    public lk: LocalLiveKit,
    private readonly options: LocalLiveKitOptions,
  ) {}

  static async start(options: LocalLiveKitOptions = {}): Promise<PoolNode> {
    const keys = options.keys ?? { apiKey: `API${randomBytes(6).toString('hex')}`, apiSecret: randomBytes(32).toString('base64url') };
    const opts = { logLevel: 'warn', ...options, keys };
    return new PoolNode(await startLocalLiveKit(opts), opts);
  }

  get url(): string {
    return this.lk.url;
  }

  get keys(): { apiKey: string; apiSecret: string } {
    return { apiKey: this.lk.apiKey, apiSecret: this.lk.apiSecret };
  }

  /** LiveKit's own API, to see what the node (or its cluster) really holds. */
  get api(): RoomServiceClient {
    return new RoomServiceClient(this.lk.url.replace(/^ws/, 'http'), this.lk.apiKey, this.lk.apiSecret);
  }

  /** SIGKILL: no goodbye to its Redis or its clients, like a crashed machine. */
  async kill(): Promise<void> {
    process.kill(this.lk.pid, 'SIGKILL');
    await this.lk.exited;
  }

  /** SIGSTOP: its sockets stay open and nothing answers, like a hung machine or a dead link. */
  pause(): void {
    process.kill(-this.lk.pid, 'SIGSTOP');
  }

  resume(): void {
    process.kill(-this.lk.pid, 'SIGCONT');
  }

  /** Started again on the same ports with the same keys (a new LiveKit node id). */
  async restart(): Promise<void> {
    await this.lk.stop();
    this.lk = await startLocalLiveKit({ ...this.options, ports: this.lk.ports });
  }

  async stop(): Promise<void> {
    await this.lk.stop();
  }

  /** Deletes every room (of the cluster, for a cluster node), so each test counts only its own. */
  async clear(): Promise<void> {
    const api = this.api;
    await Promise.all((await api.listRooms()).map((r) => api.deleteRoom(r.name).catch(() => undefined)));
  }
}

/** The pool's snapshot of one deployment once `ok` holds for it: checked now, then after each of its checks. */
export function untilDeployment(
  plane: ControlPlane,
  id: string,
  ok: (d: DeploymentSnapshot) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<DeploymentSnapshot> {
  const pool = plane.service.sfu.pool;
  if (!pool) throw new Error('this control plane has no SFU pool');
  const now = pool.snapshot().find((d) => d.id === id);
  if (now && ok(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    let last = now;
    const onChecked = (d: DeploymentSnapshot) => {
      if (d.id !== id) return;
      last = d;
      if (!ok(d)) return;
      clearTimeout(timer);
      pool.off('checked', onChecked);
      resolve(d);
    };
    const timer = setTimeout(() => {
      pool.off('checked', onChecked);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${id} last: ${JSON.stringify(last)}`));
    }, timeoutMs);
    pool.on('checked', onChecked);
  });
}

/** The next `name` event of `emitter`, or a rejection naming it after `timeoutMs`. */
export function nextEvent<T>(
  emitter: { once(name: string, f: (v: T) => void): unknown; off(name: string, f: (v: T) => void): unknown },
  name: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (v: T) => {
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => {
      emitter.off(name, on);
      reject(new Error(`no ${name} within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.once(name, on);
  });
}
