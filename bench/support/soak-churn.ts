/**
 * The soak's guests: signaling clients that join, leave, drop, are removed by the host, ask for
 * control and give it back, one action every few seconds, in an order drawn from a seed. The host
 * is real (its page in Chromium, the runner, the helper): a request goes to its user's prompt, an
 * allowed one grants the helper, stop-all goes through the runner, Remove through the host panel.
 */
import { ControlChanged, Leave, ReleaseControl, RequestControl, type Participant } from '../../protocol/signaling';
import { tokenOf } from '../../test/support/control-plane';
import { TestClient } from '../../test/support/signaling-client';
import type { SoakHost } from './soak-host';
import { Gen } from '../../test/fuzz/support/generate';

interface Guest {
  client: TestClient;
  id: string;
  name: string;
  role: 'controller' | 'viewer';
  beat: ReturnType<typeof setInterval>;
}

export type Action = 'join' | 'leave' | 'drop' | 'remove' | 'request' | 'release' | 'stopAll';
const WEIGHTS: Array<[Action, number]> = [
  ['join', 5],
  ['leave', 1.5],
  ['drop', 1],
  ['remove', 1],
  ['request', 3],
  ['release', 1.5],
  ['stopAll', 0.7],
];
/** More guests than this and the next action that would add one leaves instead. */
const MAX_GUESTS = 8;

export class Churn {
  readonly guests = new Map<string, Guest>();
  readonly done: Record<Action | 'failed', number> = { join: 0, leave: 0, drop: 0, remove: 0, request: 0, release: 0, stopAll: 0, failed: 0 };
  readonly failures: string[] = [];
  private serial = 0;

  constructor(
    private readonly rig: SoakHost,
    private readonly g: Gen,
  ) {}

  /** One action, chosen by weight among those possible now. */
  async step(): Promise<Action> {
    const total = WEIGHTS.reduce((n, [, w]) => n + w, 0);
    let roll = this.g.random() * total;
    let action: Action = 'join';
    for (const [a, w] of WEIGHTS) {
      roll -= w;
      if (roll < 0) {
        action = a;
        break;
      }
    }
    if (action === 'join' && this.guests.size >= MAX_GUESTS) action = 'leave';
    if (action !== 'join' && action !== 'stopAll' && this.guests.size === 0) action = 'join';
    try {
      await this[action]();
      this.done[action]++;
    } catch (err) {
      this.done.failed++;
      if (this.failures.length < 20) this.failures.push(`${action}: ${(err as Error).message}`);
    }
    return action;
  }

  private pick(where: (g: Guest) => boolean = () => true): Guest | undefined {
    const list = [...this.guests.values()].filter(where);
    return list.length ? this.g.pick(list) : undefined;
  }

  private async join(): Promise<void> {
    const controllers = [...this.guests.values()].filter((x) => x.role === 'controller').length;
    const role = controllers < 2 && this.g.chance(0.7) ? 'controller' : 'viewer';
    const n = ++this.serial;
    // The host's user allows controllers whose number is even: odd ones are denied, as people are.
    const name = `${role === 'controller' ? 'Ctl' : 'Vw'} ${n}`;
    // Each guest gets a link of its own, as a host sends them: removing one withdraws only that one.
    const link = await this.rig.createLink(role);
    const client = await TestClient.connect(this.rig.plane.url);
    try {
      const joined = await client.join(this.rig.session.sessionId, tokenOf(link), name);
      const beat = setInterval(() => client.heartbeat(), 3000);
      this.guests.set(joined.self.id, { client, id: joined.self.id, name, role, beat });
    } catch (err) {
      client.kill();
      throw err;
    }
  }

  private forget(g: Guest): void {
    clearInterval(g.beat);
    this.guests.delete(g.id);
  }

  private async leave(): Promise<void> {
    const g = this.pick();
    if (!g) return;
    this.forget(g);
    await g.client.request(Leave, {}).catch(() => undefined);
    g.client.close();
  }

  /** The socket dies without a goodbye: the server holds the seat for the reconnect grace. */
  private async drop(): Promise<void> {
    const g = this.pick();
    if (!g) return;
    this.forget(g);
    g.client.kill();
  }

  private async remove(): Promise<void> {
    const g = this.pick();
    if (!g) return;
    this.forget(g);
    await this.rig.remove(g.id);
    await g.client.closed;
  }

  private async request(): Promise<void> {
    const g = this.pick((x) => x.role === 'controller' && this.stateOf(x) === 'none');
    if (!g) return;
    await g.client.request(RequestControl, {});
    // The host's user answers within a moment; the answer is whatever the prompt said.
    await g.client.waitFor(ControlChanged, (c) => c.participantId === g.id && c.state !== 'requested', 10_000).catch(() => undefined);
  }

  private async release(): Promise<void> {
    const g = this.pick((x) => this.stateOf(x) !== 'none');
    if (!g) return;
    await g.client.request(ReleaseControl, {});
  }

  private async stopAll(): Promise<void> {
    await this.rig.runner.stopAllControl();
  }

  /** This guest's control state as the last `control.changed` about it said. */
  stateOf(g: Guest): Participant['controlState'] {
    const last = g.client
      .received(ControlChanged)
      .filter((c) => c.participantId === g.id)
      .at(-1);
    return last?.state ?? 'none';
  }

  /** Everyone leaves (the churn is over). */
  async stop(): Promise<void> {
    for (const g of [...this.guests.values()]) {
      this.forget(g);
      await g.client.request(Leave, {}).catch(() => undefined);
      g.client.close();
    }
  }
}
