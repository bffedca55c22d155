/**
 * Control-plane scale-out on a real Redis: several real instances (in this process, or as child
 * processes where one must die without a goodbye) behind a TCP load balancer, real WebSocket
 * clients. What one instance does reaches participants on the others; role limits hold across
 * them; a dead instance's clients come back elsewhere as themselves; Redis pausing leaves
 * sessions served; a graceful close of one instance ends nothing.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import {
  CloseCode,
  ControlChanged,
  GrantControl,
  ParticipantJoined,
  ParticipantLeft,
  ParticipantUpdated,
  RemoveParticipant,
  RequestControl,
  SendSignal,
  SessionEnded,
  Signal,
  type Participant,
} from '../../protocol/signaling';
import { configFromEnv, resolveConfig, type ServerConfigInput } from '../../server/config';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { MAX_RELAY_BYTES } from '../../server/redis/redis-signaling-transport';
import type { SignalingClient } from '../../webview/engine/signaling/signaling-client';
import { rejects } from '../support/assertions';
import { createSession, tokenOf } from '../support/control-plane';
import { startPlaneProcess, type PlaneProcess } from '../support/plane-process';
import { startRedis, startSentinelRedis, type TestRedis } from '../support/redis';
import { engineClient, joinedEngine, TestClient } from '../support/signaling-client';
import { TcpBalancer } from '../support/tcp-balancer';

const SECRET = 'scale-out-test-secret-0123456789abcdef';
const local = (p: { port: number }) => ({ url: `http://127.0.0.1:${p.port}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

const view = (p: Participant) => ({ id: p.id, role: p.role, connected: p.connected, controlState: p.controlState });
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);

describe('control plane: scale-out through Redis', function () {
  this.timeout(40_000);
  let redis: TestRedis;
  let prefixN = 0;
  const planes: ControlPlane[] = [];
  const processes: PlaneProcess[] = [];
  const clients: TestClient[] = [];
  const engines: SignalingClient[] = [];
  let lb: TcpBalancer | undefined;

  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());
  afterEach(async () => {
    redis.resume();
    for (const e of engines.splice(0)) e.dispose();
    for (const c of clients.splice(0)) c.kill();
    await Promise.all(planes.splice(0).map((p) => p.close()));
    await Promise.all(processes.splice(0).map((p) => p.kill()));
    await lb?.close();
    lb = undefined;
  });

  async function cluster(n: number, config: ServerConfigInput = {}): Promise<{ prefix: string; instances: ControlPlane[]; balancer: TcpBalancer }> {
    const balancer = (lb = await TcpBalancer.start());
    const prefix = `so${++prefixN}:`;
    const instances: ControlPlane[] = [];
    for (let i = 0; i < n; i++) {
      const plane = await startControlPlane(
        {
          host: '127.0.0.1',
          port: 0,
          redis: { url: redis.url, keyPrefix: prefix },
          tokenSecret: SECRET,
          publicUrl: balancer.url,
          instanceId: `inst-${i}`,
          reconnectGraceMs: 3000,
          ...config,
        },
        { scaleOut: { instanceTtlMs: 1500 } },
      );
      planes.push(plane);
      instances.push(plane);
    }
    balancer.setBackends(instances.map((p) => ({ port: p.port })));
    return { prefix, instances, balancer };
  }

  async function client(on: { url: string }): Promise<TestClient> {
    const c = await TestClient.connect(on.url);
    clients.push(c);
    return c;
  }

  /** The real engine client, through the balancer: it reconnects with its resume ticket like the pages do. */
  async function engine(balancer: TcpBalancer, sessionId: string, token: string, name: string): Promise<SignalingClient> {
    const e = await joinedEngine(balancer.url, sessionId, token, name);
    engines.push(e);
    return e;
  }

  async function healthOf(plane: ControlPlane): Promise<{ sessions: number | null; sessionsHere: number; stateStore: string }> {
    const { sessions, sessionsHere, stateStore } = (await (await fetch(`${plane.url}/healthz`)).json()) as {
      sessions: number | null;
      sessionsHere: number;
      stateStore: string;
    };
    return { sessions, sessionsHere, stateStore };
  }

  it('a guest on instance A reaches the host on B: signals both ways, its control request, and one participant list', async () => {
    const {
      instances: [a, b],
    } = await cluster(2);
    const s = await createSession(local(b!));
    assert.match(s.wsUrl, new RegExp(`^ws://127.0.0.1:${lb!.port}/ws$`), 'clients are sent to the public URL (the balancer)');
    const host = await client(local(b!));
    const h = await host.join(s.sessionId, s.hostToken, 'Host');
    const guest = await client(local(a!));
    const g = await guest.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada');
    assert.deepEqual(g.participants.map((p) => p.id).sort(), [h.self.id, g.self.id].sort());
    await host.waitFor(ParticipantJoined, (p) => p.participant.id === g.self.id);

    await guest.request(SendSignal, { to: h.self.id, payload: { kind: 'hello', reason: 'join' } });
    assert.equal((await host.waitFor(Signal, (p) => p.from === g.self.id)).payload.kind, 'hello');
    await host.request(SendSignal, { to: g.self.id, payload: { kind: 'offer', pc: 'pc-1', sdp: 'v=0 offer' } });
    const offer = await guest.waitFor(Signal, (p) => p.payload.kind === 'offer');
    assert.equal(offer.from, h.self.id);

    await guest.request(RequestControl, {});
    assert.equal((await host.waitFor(ControlChanged, (p) => p.reason === 'requested')).participantId, g.self.id);
    await host.request(GrantControl, { participantId: g.self.id });
    assert.equal((await guest.waitFor(ControlChanged, (p) => p.reason === 'granted')).driverId, g.self.id);

    // Two more, one per instance: every list agrees, and everyone heard of everyone.
    const v1 = await client(local(a!));
    const r1 = await v1.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    const v2 = await client(local(b!));
    const r2 = await v2.join(s.sessionId, tokenOf(s.links.viewer.url), 'Val');
    assert.deepEqual(r2.participants.map(view).sort(byId), [...r1.participants, r2.self].map(view).sort(byId));
    assert.equal(r2.participants.find((p) => p.id === g.self.id)?.controlState, 'granted');
    for (const c of [host, guest, v1]) await c.waitFor(ParticipantJoined, (p) => p.participant.id === r2.self.id);
    await guest.waitFor(ParticipantJoined, (p) => p.participant.id === r1.self.id);

    // Each instance's /healthz counts every instance's sessions, and its own apart.
    await createSession(local(a!));
    assert.deepEqual(await healthOf(a!), { sessions: 2, sessionsHere: 1, stateStore: 'ok' });
    assert.deepEqual(await healthOf(b!), { sessions: 2, sessionsHere: 1, stateStore: 'ok' });
  });

  it('role limits hold across instances: of two guests racing for the last controller seat on different instances, exactly one wins', async () => {
    const {
      instances: [a, b],
    } = await cluster(2);
    for (let round = 0; round < 5; round++) {
      const s = await createSession(local(round % 2 ? a! : b!));
      const token = tokenOf(s.links.controller.url);
      await (await client(local(a!))).join(s.sessionId, s.hostToken, 'Host');
      await (await client(local(a!))).join(s.sessionId, token, 'C1');
      await (await client(local(b!))).join(s.sessionId, token, 'C2');
      const [x, y] = [await client(local(a!)), await client(local(b!))];
      const results = await Promise.allSettled([x.join(s.sessionId, token, 'Racer A'), y.join(s.sessionId, token, 'Racer B')]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1, `round ${round}: exactly one wins`);
      assert.equal((lost[0]!.reason as PairuxError).code, ErrorCode.LimitReached);
      assert.deepEqual((lost[0]!.reason as PairuxError).data, { role: 'controller', limit: 3 });
    }
  });

  it('the host removes a guest connected to the other instance: it is told why, then closed with 4004', async () => {
    const {
      instances: [a, b],
    } = await cluster(2);
    const s = await createSession(local(a!));
    const host = await client(local(a!));
    await host.join(s.sessionId, s.hostToken, 'Host');
    const guest = await client(local(b!));
    const g = await guest.join(s.sessionId, tokenOf(s.links.viewer.url), 'Eve');
    await host.request(RemoveParticipant, { participantId: g.self.id, reason: 'wrong meeting' });
    const ended = await guest.waitFor(SessionEnded);
    assert.equal(ended.reason, 'removed');
    assert.match(ended.message, /wrong meeting/);
    assert.equal(await guest.closed, CloseCode.Removed);
    // Told first, closed after: the order one instance made them in.
    assert.ok(guest.notifications.some((n) => n.method === SessionEnded.method));
    assert.equal((await host.waitFor(ParticipantLeft, (p) => p.participantId === g.self.id)).reason, 'removed');
    const again = await client(local(a!));
    await rejects(again.join(s.sessionId, tokenOf(s.links.viewer.url), 'Eve', { resume: g.resume }), ErrorCode.SessionEnded);
  });

  it('a graceful close of one instance ends no session: its clients reconnect at once to another, as themselves', async () => {
    const {
      instances: [a, b],
      balancer,
    } = await cluster(2);
    const s = await createSession(local(b!));
    const host = await client(local(b!));
    await host.join(s.sessionId, s.hostToken, 'Host');
    balancer.pin(0);
    const ctrl = await engine(balancer, s.sessionId, tokenOf(s.links.controller.url), 'Ada');
    const viewer = await engine(balancer, s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    balancer.pin(undefined);
    assert.deepEqual(balancer.routed, [0, 0], 'both guests on instance A');
    const before = { ctrl: ctrl.self!, viewer: viewer.self! };
    const retries: number[] = [];
    for (const e of [ctrl, viewer]) e.on('retry', ({ delayMs }) => retries.push(delayMs));
    const rejoined = [ctrl, viewer].map(
      (e) => new Promise<{ resumed: boolean; at: number }>((resolve) => e.once('joined', ({ resumed }) => resolve({ resumed, at: Date.now() }))),
    );

    const t0 = Date.now();
    await a!.close();
    const back = await Promise.all(rejoined);
    assert.deepEqual(retries, [0, 0], 'Moving (4005): the first retry goes at once');
    for (const r of back) {
      assert.equal(r.resumed, true);
      assert.ok(r.at - t0 < 3000, `back after ${r.at - t0} ms`);
    }
    assert.deepEqual(balancer.routed.slice(2), [1, 1], 'they came back through the balancer on instance B');
    assert.equal(ctrl.self!.id, before.ctrl.id);
    assert.equal(ctrl.self!.role, 'controller');
    assert.equal(viewer.self!.id, before.viewer.id);
    assert.equal(viewer.self!.role, 'viewer');
    assert.equal(host.received(SessionEnded).length, 0, 'the session did not end');
    assert.equal(host.closeCode, undefined);
    await until(
      async () => {
        const list = await b!.scaleOut!.store.listParticipants(s.sessionId);
        return list.length === 3 && list.every((p) => p.connected);
      },
      'everyone connected on B',
      5000,
    );
    // And it goes on: a signal from the moved controller reaches the host.
    await ctrl.sendSignal(ctrl.hostId!, { kind: 'hello', reason: 'reconnect' });
    await host.waitFor(Signal, (p) => p.from === before.ctrl.id && p.payload.kind === 'hello');
  });

  it('a deadline set by an instance that went away runs on another (a host-join deadline)', async () => {
    const {
      instances: [a, b],
    } = await cluster(2, { hostJoinTimeoutMs: 1000 });
    const s = await createSession(local(a!));
    await a!.close();
    const session = await until(
      async () => {
        const rec = await b!.scaleOut!.store.getSession(s.sessionId);
        return rec?.ended && rec;
      },
      'the session ended by instance B',
      6000,
    );
    assert.equal(session.ended?.reason, 'host-left');
    assert.match(session.ended!.message, /never connected/);
  });

  it('Redis paused for ~2 s: an instance keeps its sessions going; a join gets a clear UNAVAILABLE; all works after resume', async () => {
    const {
      instances: [a, b],
    } = await cluster(2, { heartbeatIntervalMs: 300 });
    const s = await createSession(local(a!));
    const host = await client(local(a!));
    const h = await host.join(s.sessionId, s.hostToken, 'Host');
    const guest = await client(local(a!));
    const g = await guest.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada');
    const leaver = await client(local(a!));
    const leaverId = (await leaver.join(s.sessionId, tokenOf(s.links.viewer.url), 'Leaves while Redis is away')).self.id;
    // Heartbeats every 300 ms: a socket silent for 900 ms is closed, so staying connected through the pause means they were answered.
    const beat = setInterval(() => clients.forEach((c) => c.ws.readyState === c.ws.OPEN && c.heartbeat()), 150);
    try {
      redis.pause();
      const pausedAt = Date.now();
      leaver.kill();
      await guest.request(SendSignal, { to: h.self.id, payload: { kind: 'hello', reason: 'join' } });
      await host.waitFor(Signal, (p) => p.from === g.self.id);
      for (let i = 0; i < 5; i++) {
        await host.request(SendSignal, { to: g.self.id, payload: { kind: 'offer', pc: `pc-${i}`, sdp: 'v=0' } });
        await guest.request(SendSignal, { to: h.self.id, payload: { kind: 'answer', pc: `pc-${i}`, sdp: 'v=0' } });
      }
      await guest.until(() => guest.received(Signal).filter((p) => p.payload.kind === 'offer').length === 5 || undefined, 'five offers');
      await host.until(() => host.received(Signal).filter((p) => p.payload.kind === 'answer').length === 5 || undefined, 'five answers');
      const late = await client(local(a!));
      const err = await rejects(late.join(s.sessionId, tokenOf(s.links.viewer.url), 'Late'), ErrorCode.Unavailable);
      assert.match(err.message, /the state store is unreachable; retrying/);
      // The pages' signaling client tells its user what the server said, and keeps trying.
      const patient = engineClient(local(a!).url, s.sessionId, tokenOf(s.links.viewer.url), 'Patient');
      engines.push(patient);
      const told = new Promise<string | undefined>((resolve) => patient.once('retry', (r) => resolve(r.serverSaid)));
      patient.start();
      assert.match((await told) ?? 'nothing', /the state store is unreachable/);
      const health = await healthOf(a!);
      assert.deepEqual([health.sessions, health.sessionsHere], [null, 1], "no count of every instance's without the store; its own still");
      assert.equal(health.stateStore, 'unreachable', 'said without the Redis error text');
      const scrape = () => a!.metrics.registry.metrics();
      assert.match(await scrape(), /^pairux_redis_up 0$/m, 'the outage shows in /metrics');
      assert.match(await scrape(), /^pairux_redis_outages_total 1$/m);
      await sleep(Math.max(0, 2000 - (Date.now() - pausedAt)));
      assert.equal(host.closeCode, undefined, 'the host stayed connected (heartbeats answered)');
      assert.equal(guest.closeCode, undefined, 'the guest stayed connected');
      redis.resume();
      await until(() => a!.scaleOut!.link.isUp, 'instance A sees Redis again');
      assert.match(await a!.metrics.registry.metrics(), /^pairux_redis_up 1$/m);
      const v = await client(local(a!));
      const joined = await v.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
      assert.equal(joined.self.role, 'viewer');
      await host.waitFor(ParticipantJoined, (p) => p.participant.id === joined.self.id);
      await until(() => patient.state === 'joined', 'the patient client to get in by itself', 10_000);
      const w = await client(local(b!));
      const fromB = await w.join(s.sessionId, tokenOf(s.links.viewer.url), 'Wil');
      assert.deepEqual(
        fromB.participants.map((p) => p.id).sort(),
        [h.self.id, g.self.id, leaverId, joined.self.id, patient.self!.id, fromB.self.id].sort(),
        'the failed join left no seat behind',
      );
      assert.ok(fromB.participants.every((p) => p.connected || p.id === leaverId));
      await guest.request(SendSignal, { to: h.self.id, payload: { kind: 'bye', pc: 'pc-0' } });
      await host.waitFor(Signal, (p) => p.payload.kind === 'bye');
      // The drop that happened while Redis was away was recorded by the resync: its grace, then gone.
      await host.waitFor(ParticipantUpdated, (p) => p.participant.id === leaverId && !p.participant.connected, 3000);
      assert.equal((await host.waitFor(ParticipantLeft, (p) => p.participantId === leaverId, 6000)).reason, 'timeout');
      // Every heartbeat lapsed during the pause (TTL 1.5 s); nobody swept a live instance for it.
      const spurious = [...host.received(ParticipantUpdated), ...guest.received(ParticipantUpdated)].filter(
        (p) => p.participant.id !== leaverId && !p.participant.connected,
      );
      assert.deepEqual(spurious, [], 'nobody connected was shown as disconnected');
    } finally {
      clearInterval(beat);
    }
  });

  it('a malformed or oversized relayed message is logged and dropped; delivery goes on', async () => {
    const {
      prefix,
      instances: [a, b],
    } = await cluster(2);
    const channel = `${prefix}i:inst-0`;
    const pub = b!.scaleOut!.link.cmd;
    await pub.publish(channel, 'not json');
    await pub.publish(channel, JSON.stringify({ k: 'n', from: 'x' }));
    await pub.publish(channel, JSON.stringify({ k: 'n', from: 'x', s: 'abc', p: 'def', m: 'no.such.method', a: {} }));
    await pub.publish(channel, JSON.stringify({ k: 'n', from: 'x', s: 'abc', p: 'def', m: 'signal', a: { from: 'x', payload: { kind: 'nonsense' } } }));
    await pub.publish(channel, 'x'.repeat(MAX_RELAY_BYTES + 1));
    await until(() => a!.scaleOut!.transport.dropped === 5 || undefined, `5 dropped (${a!.scaleOut!.transport.dropped})`);
    assert.match(await a!.metrics.registry.metrics(), /^pairux_relays_dropped 5$/m);
    const s = await createSession(local(a!));
    const host = await client(local(a!));
    const h = await host.join(s.sessionId, s.hostToken, 'Host');
    const guest = await client(local(b!));
    await guest.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada');
    await guest.request(SendSignal, { to: h.self.id, payload: { kind: 'hello', reason: 'join' } });
    await host.waitFor(Signal);
  });

  it('an instance killed abruptly: its clients reconnect through the balancer to another as themselves; who does not come back is swept after the grace', async function () {
    this.timeout(60_000);
    const balancer = (lb = await TcpBalancer.start());
    const env = {
      PAIRUX_REDIS_URL: redis.url,
      PAIRUX_REDIS_PREFIX: `kill${++prefixN}:`,
      PAIRUX_TOKEN_SECRET: SECRET,
      PAIRUX_PUBLIC_URL: balancer.url,
      PAIRUX_RECONNECT_GRACE_MS: '2000',
    };
    const doomed = await startPlaneProcess({ ...env, PAIRUX_INSTANCE_ID: 'doomed' });
    processes.push(doomed);
    const survivor = await startPlaneProcess({ ...env, PAIRUX_INSTANCE_ID: 'survivor' });
    processes.push(survivor);
    balancer.setBackends([{ port: doomed.port }, { port: survivor.port }]);

    const s = await createSession({ url: survivor.url });
    const host = await client({ url: survivor.url });
    const h = await host.join(s.sessionId, s.hostToken, 'Host');
    balancer.pin(0);
    const ctrl = await engine(balancer, s.sessionId, tokenOf(s.links.controller.url), 'Ada');
    balancer.pin(undefined);
    const gone = await client({ url: doomed.url });
    const goneId = (await gone.join(s.sessionId, tokenOf(s.links.viewer.url), 'Gone')).self.id;
    const dropped = await client({ url: doomed.url });
    const droppedId = (await dropped.join(s.sessionId, tokenOf(s.links.viewer.url), 'Dropped')).self.id;
    const ctrlId = ctrl.self!.id;
    await host.request(GrantControl, { participantId: ctrlId });
    await until(() => ctrl.driverId === ctrlId, 'the controller drives');
    // One drops while its instance lives: that instance sets its grace deadline, then dies.
    dropped.kill();
    await host.waitFor(ParticipantUpdated, (p) => p.participant.id === droppedId && !p.participant.connected);
    const rejoined = new Promise<{ resumed: boolean }>((resolve) => ctrl.once('joined', resolve));

    await doomed.kill('SIGKILL');
    const killedAt = Date.now();
    await rejects(host.request(SendSignal, { to: goneId, payload: { kind: 'bye', pc: 'pc-1' } }), ErrorCode.PeerNotFound);

    assert.equal((await rejoined).resumed, true);
    assert.equal(balancer.routed.at(-1), 1, 'reconnected on the survivor');
    assert.equal(ctrl.self!.id, ctrlId, 'same identity');
    assert.equal(ctrl.self!.role, 'controller', 'still a controller');
    // Its drop went unseen, so its return counts as one: the control it had ended (a driver who drops loses control).
    const lost = await host.waitFor(ControlChanged, (p) => p.participantId === ctrlId && p.state === 'none');
    assert.equal(lost.reason, 'left');
    assert.equal(ctrl.self!.controlState, 'none');
    await host.request(SendSignal, { to: ctrlId, payload: { kind: 'offer', pc: 'pc-2', sdp: 'v=0' } });
    await until(() => ctrl.state === 'joined', 'joined');

    // The drop the dead instance had recorded: its deadline runs on the survivor.
    const droppedLeft = await host.waitFor(ParticipantLeft, (p) => p.participantId === droppedId, 10_000);
    assert.equal(droppedLeft.reason, 'timeout');
    // The one that never comes back: swept once the dead instance's heartbeat expired, then removed after the grace.
    const swept = await host.waitFor(ParticipantUpdated, (p) => p.participant.id === goneId && !p.participant.connected, 15_000);
    assert.equal(swept.participant.role, 'viewer');
    const left = await host.waitFor(ParticipantLeft, (p) => p.participantId === goneId, 10_000);
    assert.equal(left.reason, 'timeout');
    assert.ok(Date.now() - killedAt >= 2000, 'not before the grace period');
    assert.equal(host.received(SessionEnded).length, 0);
    assert.equal(ctrl.state, 'joined');
    // The moved controller's list says the same (its notifications come from the survivor now).
    await until(() => ctrl.participants.has(h.self.id) && !ctrl.participants.has(goneId) && !ctrl.participants.has(droppedId), "the controller's list", 3000);
  });

  it('an instance restarted under the same id records the drops of its previous life', async function () {
    this.timeout(60_000);
    const env = {
      PAIRUX_REDIS_URL: redis.url,
      PAIRUX_REDIS_PREFIX: `restart${++prefixN}:`,
      PAIRUX_TOKEN_SECRET: SECRET,
      PAIRUX_RECONNECT_GRACE_MS: '2000',
    };
    const steady = await startPlaneProcess({ ...env, PAIRUX_INSTANCE_ID: 'steady' });
    processes.push(steady);
    const first = await startPlaneProcess({ ...env, PAIRUX_INSTANCE_ID: 'phoenix' });
    processes.push(first);
    const s = await createSession({ url: steady.url });
    const host = await client({ url: steady.url });
    await host.join(s.sessionId, s.hostToken, 'Host');
    const guest = await client({ url: first.url });
    const guestId = (await guest.join(s.sessionId, tokenOf(s.links.viewer.url), 'Guest')).self.id;
    await first.kill('SIGKILL');
    // Back under the same id before its heartbeat expired: nobody else would ever sweep it.
    const again = await startPlaneProcess({ ...env, PAIRUX_INSTANCE_ID: 'phoenix' });
    processes.push(again);
    const startedAt = Date.now();
    await host.waitFor(ParticipantUpdated, (p) => p.participant.id === guestId && !p.participant.connected, 4000);
    assert.ok(Date.now() - startedAt < 4000);
    assert.equal((await host.waitFor(ParticipantLeft, (p) => p.participantId === guestId, 6000)).reason, 'timeout');
  });
  it("reads Sentinel from the environment: the sentinels, the primary's name, and the url for password and db; a bad entry is named", () => {
    const secret = 'x'.repeat(32);
    const c = resolveConfig(
      configFromEnv({ PAIRUX_REDIS_SENTINELS: '127.0.0.1:26379, [::1]:26380', PAIRUX_REDIS_SENTINEL_NAME: 'pm', PAIRUX_TOKEN_SECRET: secret }),
    );
    assert.deepEqual(c.redis, {
      url: 'redis://',
      keyPrefix: 'pairux:',
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      sentinelName: 'pm',
    });
    const withUrl = resolveConfig(configFromEnv({ PAIRUX_REDIS_URL: 'redis://:pw@ignored/3', PAIRUX_REDIS_SENTINELS: 'h:1', PAIRUX_TOKEN_SECRET: secret }));
    assert.deepEqual([withUrl.redis?.url, withUrl.redis?.sentinelName], ['redis://:pw@ignored/3', 'mymaster']);
    assert.throws(() => configFromEnv({ PAIRUX_REDIS_SENTINELS: '127.0.0.1:26379,nowhere' }), /PAIRUX_REDIS_SENTINELS has "nowhere", not host:port/);
  });

  it('Redis under Sentinel, its primary SIGKILLed: both instances follow the promoted replica, and the session, its roles and new joins carry on', async function () {
    this.timeout(60_000);
    const sentinel = await startSentinelRedis();
    try {
      const redisConfig = { url: 'redis://', keyPrefix: `sn${++prefixN}:`, sentinels: sentinel.sentinels, sentinelName: sentinel.name };
      const up: ControlPlane[] = [];
      for (let i = 0; i < 2; i++) {
        const plane = await startControlPlane(
          { host: '127.0.0.1', port: 0, redis: redisConfig, tokenSecret: SECRET, instanceId: `sent-${i}`, reconnectGraceMs: 10_000 },
          { scaleOut: { instanceTtlMs: 1500 } },
        );
        planes.push(plane);
        up.push(plane);
      }
      const [one, two] = up as [ControlPlane, ControlPlane];
      const s = await createSession(local(one));
      const host = await client(local(one));
      const h = await host.join(s.sessionId, s.hostToken, 'Host');
      const guest = await client(local(two));
      const g = await guest.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada');
      await sentinel.synced();
      const before = await sentinel.primaryPort();
      const killedAt = Date.now();
      await sentinel.killPrimary();

      // The sentinels promote the replica; a join through either instance gets in once they have.
      const late = await until(
        async () => {
          const c = await client(local(two));
          try {
            return await c.join(s.sessionId, tokenOf(s.links.viewer.url), 'Late');
          } catch {
            c.kill();
            return undefined;
          }
        },
        'a join after the failover',
        30_000,
      );
      const failoverMs = Date.now() - killedAt;
      assert.notEqual(await sentinel.primaryPort(), before, 'the replica was promoted');
      // What was written before the kill came across: both seats, in their roles.
      const roles = Object.fromEntries(late.participants.map((p) => [p.id, p.role]));
      assert.deepEqual([roles[h.self.id], roles[g.self.id], roles[late.self.id]], ['host', 'controller', 'viewer']);
      // Signals cross the instances again, both ways.
      await until(async () => {
        try {
          await guest.request(SendSignal, { to: h.self.id, payload: { kind: 'hello', reason: 'reconnect' } });
          return true;
        } catch {
          return undefined;
        }
      }, 'the guest on B to reach the host on A');
      await host.waitFor(Signal, (p) => p.from === g.self.id && p.payload.kind === 'hello' && p.payload.reason === 'reconnect');
      await host.request(SendSignal, { to: g.self.id, payload: { kind: 'offer', pc: 'pc-9', sdp: 'v=0' } });
      await guest.waitFor(Signal, (p) => p.payload.kind === 'offer' && p.payload.pc === 'pc-9');
      for (const p of [one, two]) assert.equal(((await (await fetch(`${p.url}/healthz`)).json()) as { stateStore: string }).stateStore, 'ok');
      console.log(`      [figures] Sentinel failover: primary SIGKILLed → a join served again after ${failoverMs} ms (down-after 1 s)`);
    } finally {
      await Promise.all(planes.splice(0).map((p) => p.close()));
      await sentinel.stop();
    }
  });
});
