/**
 * Fuzz: the control plane's WebSocket (protocol/signaling.ts) against a real server. Rogue
 * sockets (some never joined, some joined with the session's own controller and viewer links)
 * send generated messages: every request and notification of the boundary, valid, bent and
 * broken, with the session's real ids and link tokens in the mix so they reach the session code.
 * Meanwhile a legitimate host and controller sit in the session. Asserted: the server never goes
 * down, no rogue ever holds control or the host's seat, nothing reaches Object.prototype, the
 * heap is flat, and afterwards a new guest joins and the host's grant to its controller works.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../../protocol/limits';
import { ControlChanged, GrantControl, HostChanged, Join, Leave, signalingBoundary } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';
import { Gen, message } from './support/generate';
import { fuzzCount, fuzzSeed, memory, prototypeClean, Tally } from './support/run';

const COUNT = fuzzCount(2500);
const SEED = fuzzSeed();
const HEAP_TOLERANCE_MB = 30;
const ROGUES = 8;
/** After this many messages each rogue's queue is drained (one answered request), so nothing piles up unread. */
const BATCH = 400;

interface Rogue {
  ws: WebSocket;
  kind: 'anonymous' | 'controller' | 'viewer';
  /** Resolvers waiting for an answer with this id. */
  waiting: Map<number, () => void>;
}

describe('fuzz: the control plane WebSocket', function () {
  this.timeout(60_000 + COUNT * 3);
  let plane: ControlPlane;
  let host: TestClient;
  let controller: TestClient;
  let session: Awaited<ReturnType<typeof createSession>>;
  let beat: ReturnType<typeof setInterval>;
  let hostId: string;
  let controllerId: string;

  before(async () => {
    // The per-socket rate limit is raised so generated messages reach the session code instead of
    // the limiter (which the gateway tests cover); a dropped guest's seat frees fast so rogues can rejoin.
    plane = await startTestServer({ messageRatePerSecond: 1_000_000, reconnectGraceMs: 500 });
    session = await createSession(plane);
    host = await TestClient.connect(plane.url);
    hostId = (await host.join(session.sessionId, session.hostToken, 'Host')).self.id;
    controller = await TestClient.connect(plane.url);
    controllerId = (await controller.join(session.sessionId, tokenOf(session.links.controller.url), 'Legit')).self.id;
    beat = setInterval(() => (host.heartbeat(), controller.heartbeat()), 2000);
  });
  after(async () => {
    clearInterval(beat);
    host?.close();
    controller?.close();
    await plane?.close();
  });

  it(`${COUNT} generated messages from rogue sockets: the server stays up, no rogue drives, the session keeps working`, async () => {
    const g = new Gen(SEED);
    const tally = new Tally('server WebSocket', SEED);
    const closes: Record<string, number> = {};
    const joined = new Set<string>();
    const tokens = [tokenOf(session.links.controller.url), tokenOf(session.links.viewer.url)];
    const ids = () => [session.sessionId, hostId, controllerId, ...joined];
    const dict = { ids, tokens: () => [...tokens, 'x.y.z'], words: ['hello', 'offer', 'answer', 'ice', 'bye'] };

    // The legitimate clients record every frame and notice they get: what matters is kept here and
    // the rest dropped each batch, or their records would be the heap growth this test measures.
    const rogueGrants: unknown[] = [];
    const hostChanges: unknown[] = [];
    function drainLegit(): void {
      rogueGrants.push(...host.received(ControlChanged).filter((c) => c.state === 'granted' || (c.driverId !== null && c.driverId !== controllerId)));
      hostChanges.push(...host.received(HostChanged));
      for (const c of [host, controller]) {
        c.notifications.length = 0;
        c.raw.length = 0;
      }
    }

    const rogues: Rogue[] = [];
    async function openRogue(kind: Rogue['kind']): Promise<Rogue> {
      const ws = new WebSocket(`${plane.url.replace(/^http/, 'ws')}/ws`, { maxPayload: 1 << 20 });
      const r: Rogue = { ws, kind, waiting: new Map() };
      ws.on('message', (data) => {
        let m: { id?: number | null; error?: unknown; result?: { self?: { id: string } } };
        try {
          m = JSON.parse(data.toString()) as typeof m;
        } catch {
          return;
        }
        const sentinel = typeof m.id === 'number' && m.id >= 2 ** 31 - 2;
        if (sentinel) {
          if (m.result?.self?.id) joined.add(m.result.self.id);
        } else if ('error' in m) tally.refused++;
        else if ('result' in m) {
          tally.accepted++;
          if (m.result?.self?.id) joined.add(m.result.self.id);
        }
        if (typeof m.id === 'number') r.waiting.get(m.id)?.();
      });
      ws.on('close', (code) => {
        closes[code] = (closes[code] ?? 0) + 1;
        for (const w of r.waiting.values()) w();
      });
      ws.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      if (kind !== 'anonymous') {
        const token = kind === 'controller' ? tokens[0] : tokens[1];
        await ask(r, { v: 1, id: 2 ** 31 - 2, method: Join.method, params: { sessionId: session.sessionId, token, name: `Rogue ${rogues.length}` } });
      }
      return r;
    }
    function ask(r: Rogue, msg: { id: number; [k: string]: unknown }): Promise<void> {
      if (r.ws.readyState !== WebSocket.OPEN) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const t = setTimeout(done, 10_000);
        function done() {
          clearTimeout(t);
          r.waiting.delete(msg.id);
          resolve();
        }
        r.waiting.set(msg.id, done);
        r.ws.send(JSON.stringify(msg));
      });
    }

    const kinds: Rogue['kind'][] = ['anonymous', 'anonymous', 'controller', 'viewer', 'viewer', 'viewer', 'anonymous', 'viewer'];
    for (let i = 0; i < ROGUES; i++) rogues.push(await openRogue(kinds[i]!));
    const warmup = Math.max(BATCH, Math.floor(COUNT / 10));
    let heapBefore = memory();
    tally.before = heapBefore;
    let refusedOpens = 0;
    while (tally.messages < COUNT) {
      const slot = g.int(0, ROGUES - 1);
      let r = rogues[slot]!;
      if (r.ws.readyState !== WebSocket.OPEN) {
        r = rogues[slot] = await openRogue(r.kind).catch(() => r);
        if (r.ws.readyState !== WebSocket.OPEN) {
          if (++refusedOpens > 100) throw new Error(`the server refused 100 new sockets in a row (closes so far ${JSON.stringify(closes)})`);
          continue;
        }
        refusedOpens = 0;
      }
      const m = message(signalingBoundary.aToB, g, { dict, hugeChars: 70_000 });
      r.ws.send(m.data);
      tally.messages++;
      // An oversize message closes the socket (1009) and a leave ends its membership (4003):
      // what this socket would send next is lost, so the next message goes to a fresh one.
      const size = typeof m.data === 'string' ? Buffer.byteLength(m.data) : m.data.byteLength;
      if (size > MAX_SIGNALING_MESSAGE_BYTES || m.method === Leave.method) {
        await ask(r, { v: 1, id: 2 ** 31 - 1, method: 'ice.servers', params: {} });
        if (size > MAX_SIGNALING_MESSAGE_BYTES) tally.refused++;
        r.ws.terminate();
      }
      if (tally.messages % BATCH === 0) {
        await Promise.all(rogues.map((x) => ask(x, { v: 1, id: 2 ** 31 - 1, method: 'ice.servers', params: {} })));
        drainLegit();
        const health = await fetch(`${plane.url}/healthz`).catch(() => undefined);
        if (!health?.ok) {
          tally.crashes++;
          break;
        }
      }
      if (tally.messages === warmup) tally.before = heapBefore = memory();
    }
    await Promise.all(rogues.map((x) => ask(x, { v: 1, id: 2 ** 31 - 1, method: 'ice.servers', params: {} })));
    for (const r of rogues) r.ws.terminate();
    await new Promise((r) => setTimeout(r, 1000));
    drainLegit();
    tally.after = memory();
    tally.silent = Math.max(0, tally.messages - tally.refused - tally.accepted);
    const growth = tally.after.heapMb - heapBefore.heapMb;
    tally.finish(
      `server heap ${heapBefore.heapMb.toFixed(1)} → ${tally.after.heapMb.toFixed(1)} MB (+${growth.toFixed(1)}, tolerance ${HEAP_TOLERANCE_MB}), RSS ${heapBefore.rssMb.toFixed(0)} → ${tally.after.rssMb.toFixed(0)} MB; closes ${JSON.stringify(closes)}`,
    );

    assert.equal(tally.crashes, 0, 'the server answered /healthz throughout');
    assert.ok(prototypeClean(), 'nothing reached Object.prototype');
    assert.equal(host.closeCode, undefined, `the host stayed connected (closed ${host.closeCode} ${host.closeReason})`);
    assert.equal(controller.closeCode, undefined, 'the legitimate controller stayed connected');
    assert.deepEqual(rogueGrants, [], 'no rogue ever held control (the host granted nobody)');
    assert.deepEqual(hostChanges, [], 'the host kept its seat');
    assert.ok(tally.refused > tally.messages / 4, `most messages were refused with an error (${tally.refused})`);
    assert.ok(growth < HEAP_TOLERANCE_MB, `server heap grew ${growth.toFixed(1)} MB`);

    // The session still works: a new guest joins, the host grants its controller, and it hears so.
    const late = await TestClient.connect(plane.url);
    const lateJoin = await late.join(session.sessionId, tokenOf(session.links.viewer.url), 'Late');
    assert.equal(lateJoin.self.role, 'viewer');
    late.close();
    await host.request(GrantControl, { participantId: controllerId });
    await controller.waitFor(ControlChanged, (c) => c.state === 'granted' && c.participantId === controllerId);
  });
});
