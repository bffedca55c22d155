/**
 * Fuzz: the host bridge over its WebSocket carrier (the demo's HostBridgeServer, protocol/host-bridge.ts)
 * into the real HostRunner, helper and X server. A rogue page holding the bridge's key (only the
 * host page has it) sends generated page → runner messages: valid, bent, broken, binary, oversize;
 * sockets without the key are turned away. The host's user approves nobody and a valid
 * `control.approve` (the page's word for the host's own grant) is never sent, so nothing may land
 * on X; afterwards a page with an approved driver moves the pointer.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { HelperProcess } from '../../helper/client';
import { ControlApprove, hostBridgeBoundary, MAX_BRIDGE_JSON_BYTES } from '../../protocol/host-bridge';
import { InputEvent, KEY_ALLOWLIST } from '../../protocol/input';
import { HostRunner } from '../../runner/host-runner';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import { mouseLocation, startXvfb, waitFor, type Xvfb } from '../helper/support/xvfb';
import { Gen, message } from './support/generate';
import { fuzzCount, fuzzSeed, memory, prototypeClean, rssOf, Tally } from './support/run';
import { watchX, type XWatch } from './support/x-watch';

const COUNT = fuzzCount(1500);
const SEED = fuzzSeed();
const HEAP_TOLERANCE_MB = 30;
const BATCH = 200;

function isApproval(text: string): boolean {
  try {
    const m = JSON.parse(text) as { method?: unknown; params?: unknown };
    return m.method === ControlApprove.method && ControlApprove.params.safeParse(m.params).success;
  } catch {
    return false;
  }
}

async function openPage(url: string): Promise<{ ws: WebSocket; answers: { error: number; result: number }; ask(id: number): Promise<void> }> {
  const ws = new WebSocket(url, { maxPayload: 1 << 24 });
  const answers = { error: 0, result: 0 };
  const waiting = new Map<number, () => void>();
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    try {
      const m = JSON.parse(data.toString()) as { id?: unknown };
      if ('error' in m) answers.error++;
      else if ('result' in m) answers.result++;
      if (typeof m.id === 'number') waiting.get(m.id)?.();
    } catch {
      // not an answer
    }
  });
  ws.on('error', () => undefined);
  ws.on('close', () => [...waiting.values()].forEach((w) => w()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    answers,
    ask: (id) =>
      new Promise<void>((resolve) => {
        if (ws.readyState !== WebSocket.OPEN) return resolve();
        const t = setTimeout(resolve, 10_000);
        waiting.set(id, () => (clearTimeout(t), resolve()));
        ws.send(JSON.stringify({ v: 1, id, method: 'bridge.hello', params: { sessionId: 's', hostId: 'h' } }));
      }),
  };
}

describe("fuzz: the host bridge's WebSocket into the runner, helper and X", function () {
  this.timeout(60_000 + COUNT * 10);
  let x: Xvfb;
  let helper: HelperProcess;
  let runner: HostRunner;
  let bridge: HostBridgeServer;
  let watch: XWatch;

  before(async () => {
    x = await startXvfb(640, 480);
    helper = new HelperProcess({ env: x.env });
    await helper.start();
    const capture = await helper.startCapture({ fps: 5, patches: true });
    runner = new HostRunner({
      helper,
      capture,
      prompt: { ask: async () => ({ allow: false, reason: 'denied' }) },
      say: () => undefined,
      frames: 'bridge',
      controlRequests: true,
    });
    bridge = new HostBridgeServer(runner);
    runner.attach(bridge);
    await bridge.listen();
    watch = await watchX(x);
  });
  after(async () => {
    watch?.stop();
    await bridge?.close();
    await helper?.stop();
    await x?.stop();
  });

  async function drive(at: number): Promise<void> {
    const page = await openPage(bridge.url);
    const send = (method: string, params: unknown) => page.ws.send(JSON.stringify({ v: 1, method, params }));
    send('control.approve', { participantId: 'legit' });
    send('control.state', { driverId: 'legit', driverName: 'Legit', reason: 'granted' });
    await waitFor(() => helper.controller === 'legit', 5000, 'legit granted at the helper');
    send('input', { controllerId: 'legit', event: { t: 'move', seq: 1, x: at, y: 0.5 } });
    await waitFor(() => mouseLocation(x).x === Math.round(640 * at), 5000, `the pointer at x ${Math.round(640 * at)}`);
    send('control.state', { driverId: null, driverName: null, reason: 'revoked' });
    await waitFor(() => helper.controller === null, 5000, 'the grant gone');
    page.ws.close();
  }

  it("the watcher sees an approved driver's move (so its zero below means nothing landed)", async () => {
    await drive(0.25);
    await watch.waitFor(1, 5000);
    await new Promise((r) => setTimeout(r, 300));
    watch.reset();
  });

  it(`${COUNT} generated bridge messages from a page with the key: nothing lands on X, the bridge keeps working`, async () => {
    const keyless = new WebSocket(bridge.url.replace(/k=[^&]+/, 'k=guess'));
    const refusedCode = await new Promise<number>((resolve) => keyless.on('close', (code) => resolve(code)).on('error', () => undefined));
    assert.equal(refusedCode, 1008, 'a socket without the key is turned away');

    const g = new Gen(SEED);
    const tally = new Tally('host bridge WebSocket', SEED);
    const dict = { ids: () => ['guest-1', 'legit', 'host-1'], words: [...KEY_ALLOWLIST], fields: { event: InputEvent } };
    const injectedBefore = (await helper.inputStats()).injected;
    let page = await openPage(bridge.url);
    let answered = { error: 0, result: 0 };
    const settle = () => {
      answered = { error: answered.error + page.answers.error, result: answered.result + page.answers.result };
      page.answers.error = page.answers.result = 0;
    };
    let closes = 0;
    let withheld = 0;
    let oversize = 0;
    let heapBefore = memory();
    let rssBefore = await rssOf(helper.pid!);
    const warmup = Math.max(BATCH, Math.floor(COUNT / 10));
    while (tally.messages < COUNT) {
      if (page.ws.readyState !== WebSocket.OPEN) {
        settle();
        closes++;
        page = await openPage(bridge.url);
      }
      const m = message(hostBridgeBoundary.aToB, g, { dict, withhold: [ControlApprove.method], hugeChars: MAX_BRIDGE_JSON_BYTES + 100 });
      if (typeof m.data === 'string' && isApproval(m.data)) {
        withheld++;
        continue;
      }
      // Over the cap the bridge's socket errors with nobody listening and the runner process dies
      // (the regression test below); until that is fixed the fuzz sends only what fits.
      const size = typeof m.data === 'string' ? Buffer.byteLength(m.data) : m.data.byteLength;
      if (size > MAX_BRIDGE_JSON_BYTES) {
        oversize++;
        continue;
      }
      page.ws.send(m.data);
      tally.messages++;
      if (tally.messages % BATCH === 0) await page.ask(2147483000);
      if (tally.messages === warmup) {
        heapBefore = memory();
        rssBefore = await rssOf(helper.pid!);
      }
    }
    await page.ask(2147483000);
    settle();
    const stats = await helper.inputStats();
    await new Promise((r) => setTimeout(r, 500));
    tally.refused += answered.error;
    tally.accepted = answered.result;
    tally.silent = Math.max(0, tally.messages - tally.refused - tally.accepted);
    tally.injectedWithoutGrant = watch.count();
    tally.before = heapBefore;
    tally.after = memory();
    const rssAfter = await rssOf(helper.pid!);
    const growth = tally.after.heapMb - heapBefore.heapMb;
    tally.finish(
      `runner-side heap ${heapBefore.heapMb.toFixed(1)} → ${tally.after.heapMb.toFixed(1)} MB (+${growth.toFixed(1)}, tolerance ${HEAP_TOLERANCE_MB}), helper RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB; ${closes} page sockets closed and reopened; ${withheld} valid approvals and ${oversize} oversize messages not sent`,
    );
    page.ws.close();

    assert.equal(tally.injectedWithoutGrant, 0, `X input events during the fuzz: ${JSON.stringify(watch.kinds())}`);
    assert.equal(stats.injected, injectedBefore, 'the helper injected nothing during the fuzz');
    assert.equal(stats.granted, null, 'nobody is granted at the helper');
    assert.ok(prototypeClean(), 'nothing reached Object.prototype');
    assert.ok(tally.refused > tally.messages / 10, `refusals were answered (${tally.refused})`);
    assert.ok(growth < HEAP_TOLERANCE_MB, `heap grew ${growth.toFixed(1)} MB`);

    watch.reset();
    await drive(0.75);
    await watch.waitFor(1, 5000);
  });

  // REGRESSION (fails until runner/websocket-bridge.ts listens for its page socket's 'error'): a
  // page message over MAX_BRIDGE_JSON_BYTES makes `ws` emit 'error' (RangeError: Max payload size
  // exceeded) on a socket with no listener, which is an uncaught exception: the demo's runner
  // process, and with it the host's sharing, dies. Run in a child process so the crash is seen as one.
  it("a page message over the bridge's cap closes that socket and the runner process stays up", async () => {
    const script = `
      import WebSocket from 'ws';
      import { HostBridgeServer } from './runner/websocket-bridge.ts';
      const backend = { hello: () => ({}), askControl: async () => ({ allow: false, reason: 'denied' }), controlState: () => {}, input: () => {} };
      const bridge = new HostBridgeServer(backend);
      await bridge.listen();
      const ws = new WebSocket(bridge.url);
      ws.on('error', () => {});
      await new Promise((r) => ws.once('open', r));
      const closed = new Promise((r) => ws.once('close', (code) => r(code)));
      ws.send('x'.repeat(${MAX_BRIDGE_JSON_BYTES} + 1000));
      console.log('closed with', await closed);
      await new Promise((r) => setTimeout(r, 500));
      console.log('runner still up');
      await bridge.close();
    `;
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.match(
      r.stdout,
      /closed with 1009/,
      `the oversize message closes its socket with 1009 (stdout ${r.stdout.trim()}; stderr ${r.stderr.split('\n').slice(0, 3).join(' ')})`,
    );
    assert.match(r.stdout, /runner still up/, 'the runner process survives it');
    assert.equal(r.status, 0);
  });
});
