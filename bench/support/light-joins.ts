/**
 * The signaling half of the benches' light SFU subscribers (in a browser page, or in the Go
 * process): each joins the session as a viewer through the control plane, keeps its heartbeat,
 * and hands the SFU access it got to `subscribe`, which joins the LiveKit room; every join is
 * timed, and a failure is recorded in `joins`, not thrown.
 */
import { TestClient } from '../../test/support/signaling-client';

export interface LightJoin {
  index: number;
  /** Signaling WebSocket connect + session.join. */
  signalingMs?: number;
  /** From the start of the join to the host's video track subscribed. */
  subscribedMs?: number;
  error?: string;
}

export type Subscribe = (join: LightJoin, sfu: { url: string; token: string }) => Promise<void>;

export class LightJoins {
  readonly joins: LightJoin[] = [];
  private readonly clients: TestClient[] = [];
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly subscribe: Subscribe) {}

  /** Joins `n` more, `concurrency` at a time; `region` is the join's region hint (a cascaded session places them there). */
  async add(n: number, planeUrl: string, sessionId: string, token: string, options: { concurrency?: number; region?: string } = {}): Promise<void> {
    const todo = Array.from({ length: n }, (_, k) => ({ index: this.joins.length + k }) as LightJoin);
    this.joins.push(...todo);
    let next = 0;
    const worker = async () => {
      while (next < todo.length) await this.joinOne(todo[next++]!, planeUrl, sessionId, token, options.region);
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 10, n) }, worker));
  }

  close(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const c of this.clients.splice(0)) c.close();
  }

  private async joinOne(j: LightJoin, planeUrl: string, sessionId: string, token: string, region?: string): Promise<void> {
    const t0 = performance.now();
    try {
      const client = await TestClient.connect(planeUrl);
      this.clients.push(client);
      const joined = await client.join(sessionId, token, `Light ${j.index + 1}`, { client: { kind: 'bench' }, ...(region ? { region } : {}) });
      this.timers.push(setInterval(() => client.heartbeat(), Math.max(1000, joined.heartbeatIntervalMs / 2)));
      j.signalingMs = performance.now() - t0;
      if (!joined.sfu) throw new Error('the join result has no sfu access (not an SFU session?)');
      await this.subscribe(j, joined.sfu);
      j.subscribedMs = performance.now() - t0;
    } catch (err) {
      j.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
    }
  }
}
