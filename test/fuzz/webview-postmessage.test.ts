/**
 * Fuzz: a host webview's postMessage into the extension (protocol/webview-shell.ts envelopes
 * carrying the shell boundary and the host bridge, protocol/host-bridge.ts), received by the real
 * receiving code (WebviewPort, WebviewBridge) in front of the real HostRunner, helper and X
 * server. The host's own user approves nobody (its prompt always says no) and the page's
 * `control.approve` (its statement of the host's own grant) is never sent valid: so no generated
 * `control.state` naming a driver, no input for any id, may put one event on the display. The
 * runner keeps relaying frames, the port stays open, and afterwards an approved driver's move lands.
 */
import assert from 'node:assert/strict';
import { HelperProcess } from '../../helper/client';
import { WebviewBridge } from '../../extension/core/webview-bridge';
import { WebviewPort } from '../../extension/core/webview-port';
import { ControlApprove, ControlState, BridgeInput, hostBridgeBoundary } from '../../protocol/host-bridge';
import { InputEvent, KEY_ALLOWLIST } from '../../protocol/input';
import { ShellDriving, ShellReady, ShellStatus, webviewShellBoundary } from '../../protocol/webview-shell';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { HostRunner } from '../../runner/host-runner';
import { mouseLocation, startXvfb, waitFor, type Xvfb } from '../helper/support/xvfb';
import { Gen, message, type Generated } from './support/generate';
import { fuzzCount, fuzzSeed, memory, prototypeClean, rssOf, Tally } from './support/run';
import { watchX, type XWatch } from './support/x-watch';

const COUNT = fuzzCount(2000);
const SEED = fuzzSeed();
const HEAP_TOLERANCE_MB = 30;
const IDS = ['guest-1', 'guest-2', 'legit', 'host-1'];

/** A valid `control.approve`, however it came about: only the harness speaks for the host's user. */
function isApproval(text: string): boolean {
  try {
    const m = JSON.parse(text) as { method?: unknown; params?: unknown };
    return m.method === ControlApprove.method && ControlApprove.params.safeParse(m.params).success;
  } catch {
    return false;
  }
}

describe("fuzz: a host webview's postMessage into the extension, runner, helper and X", function () {
  this.timeout(60_000 + COUNT * 5);
  let x: Xvfb;
  let helper: HelperProcess;
  let runner: HostRunner;
  let port: WebviewPort;
  let bridge: WebviewBridge;
  let watch: XWatch;
  /** Answers the extension posted back to the page, counted as they go (kept, they would be the heap growth measured). */
  const answers = { error: 0, result: 0 };
  let framesPosted = 0;
  let asked = 0;
  /** The page's side of the bridge, for the legitimate messages (the proof and the check after). */
  let page: RpcEndpoint;

  before(async () => {
    x = await startXvfb(640, 480);
    helper = new HelperProcess({ env: x.env });
    await helper.start();
    const capture = await helper.startCapture({ fps: 5, patches: true });
    runner = new HostRunner({
      helper,
      capture,
      prompt: { ask: async () => (asked++, { allow: false, reason: 'denied' }) },
      say: () => undefined,
      frames: 'bridge',
      controlRequests: true,
    });
    port = new WebviewPort(
      {
        post: (m) => {
          const e = m as { ch?: string; text?: string };
          if (e.ch === 'frame') framesPosted++;
          else if (typeof e.text === 'string') {
            if (e.text.includes('"error":')) answers.error++;
            else if (e.text.includes('"result":')) answers.result++;
          }
          return Promise.resolve(true);
        },
      },
      () => undefined,
    );
    // What the extension's host session registers on the shell (extension/core/host-session.ts).
    port.shell.onRequest(ShellReady, () => ({ page: 'host' as const, hostParams: 's=x', signalingUrl: 'ws://127.0.0.1:1/ws' }));
    port.shell.onNotification(ShellStatus, () => undefined);
    port.shell.onNotification(ShellDriving, () => undefined);
    bridge = new WebviewBridge(port, runner, () => undefined);
    runner.attach(bridge);
    page = new RpcEndpoint({ boundary: hostBridgeBoundary, side: 'a', send: (text) => port.receive({ ch: 'bridge', text }) });
    watch = await watchX(x);
  });
  after(async () => {
    watch?.stop();
    bridge?.close();
    port?.close();
    await helper?.stop();
    await x?.stop();
  });

  async function drive(id: string, at: number): Promise<void> {
    page.notify(ControlApprove, { participantId: id });
    page.notify(ControlState, { driverId: id, driverName: 'Legit', reason: 'granted' });
    await waitFor(() => helper.controller === id, 5000, `${id} granted at the helper`);
    page.notify(BridgeInput, { controllerId: id, event: { t: 'move', seq: 1, x: at, y: 0.5 } });
    await waitFor(() => mouseLocation(x).x === Math.round(640 * at), 5000, `the pointer at x ${Math.round(640 * at)}`);
    page.notify(ControlState, { driverId: null, driverName: null, reason: 'revoked' });
    await waitFor(() => helper.controller === null, 5000, 'the grant gone');
  }

  it("the watcher sees an approved driver's move (so its zero below means nothing landed)", async () => {
    await drive('legit', 0.25);
    await watch.waitFor(1, 5000);
    await new Promise((r) => setTimeout(r, 300));
    watch.reset();
  });

  it(`${COUNT} generated webview messages: nothing lands on X, the port and runner keep working, an approved move lands afterwards`, async () => {
    const g = new Gen(SEED);
    const tally = new Tally('webview postMessage', SEED);
    const dict = { ids: () => IDS, words: [...KEY_ALLOWLIST], fields: { event: InputEvent } };
    const injectedBefore = (await helper.inputStats()).injected;
    const warmup = Math.max(200, Math.floor(COUNT / 10));
    const answersBefore = { ...answers };
    const rejectedBefore = port.rejected;
    let withheld = 0;
    let heapBefore = memory();
    let rssBefore = await rssOf(helper.pid!);
    while (tally.messages < COUNT) {
      const onBridge = g.chance(0.7);
      const m: Generated = message(onBridge ? hostBridgeBoundary.aToB : webviewShellBoundary.aToB, g, {
        dict,
        withhold: [ControlApprove.method],
        hugeChars: 300_000,
      });
      if (typeof m.data === 'string' && isApproval(m.data)) {
        withheld++;
        continue;
      }
      const text = typeof m.data === 'string' ? m.data : Buffer.from(m.data).toString('latin1');
      const roll = g.random();
      const envelope: unknown =
        roll < 0.85
          ? { ch: onBridge ? 'bridge' : 'shell', text }
          : g.pick([null, text, { ch: 'frame', data: g.bytes(g.int(0, 64)) }, { ch: 'other', text }, { ch: 'bridge', text: 1 }, [text], { ch: 'shell' }]);
      port.receive(envelope);
      tally.messages++;
      if (tally.messages === warmup) {
        heapBefore = memory();
        rssBefore = await rssOf(helper.pid!);
      }
      if (tally.messages % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    // Everything sent has reached the helper once a request sent after it is answered.
    const stats = await helper.inputStats();
    await new Promise((r) => setTimeout(r, 500));
    tally.refused = answers.error - answersBefore.error + (port.rejected - rejectedBefore);
    tally.accepted = answers.result - answersBefore.result;
    tally.silent = Math.max(0, tally.messages - tally.refused - tally.accepted);
    tally.injectedWithoutGrant = watch.count();
    tally.before = heapBefore;
    tally.after = memory();
    const rssAfter = await rssOf(helper.pid!);
    const growth = tally.after.heapMb - heapBefore.heapMb;
    tally.finish(
      `extension-side heap ${heapBefore.heapMb.toFixed(1)} → ${tally.after.heapMb.toFixed(1)} MB (+${growth.toFixed(1)}, tolerance ${HEAP_TOLERANCE_MB}), ` +
        `helper RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB; ${withheld} valid approvals withheld, the host's prompt asked ${asked}× (always no)`,
    );

    assert.equal(tally.injectedWithoutGrant, 0, `X input events during the fuzz: ${JSON.stringify(watch.kinds())}`);
    assert.equal(stats.injected, injectedBefore, 'the helper injected nothing during the fuzz');
    assert.equal(stats.granted, null, 'nobody is granted at the helper');
    assert.ok(prototypeClean(), 'nothing reached Object.prototype');
    assert.ok(tally.refused > tally.messages / 10, `refusals were answered or counted (${tally.refused})`);
    assert.ok(growth < HEAP_TOLERANCE_MB, `heap grew ${growth.toFixed(1)} MB`);

    // Frames still reach the page, and an approved driver still drives.
    const frames = framesPosted;
    page.notify(
      hostBridgeBoundary.aToB.notifications.find((n) => n.method === 'frame.taken')!,
      {},
    );
    x.run('xdotool', 'mousemove', '10', '10');
    await waitFor(() => framesPosted > frames, 5000, 'a frame relayed to the page after the fuzz');
    watch.reset();
    await drive('legit', 0.75);
    await watch.waitFor(1, 5000);
  });
});
