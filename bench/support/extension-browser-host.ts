/**
 * The browser-host case of `npm run bench:extension`, as its own process so its CPU is metered
 * apart from the bench: what `npm run demo` runs (demo/main.ts) on the X display in $DISPLAY —
 * the control plane on loopback, the helper with runner/host-runner.ts and its bridge WebSocket
 * (as demo/real-screen.ts wires them) and demo/headless-host.ts (the host page in headless
 * Chromium). Speaks over the
 * IPC channel: sends `{ type: 'ready', viewer }`, answers `{ type: 'counters' }` with the host
 * page's counters, and `{ type: 'stop' }` ends the session and exits. Started with
 * `fork(…, { execArgv: ['--import', 'tsx'] })`; args: WIDTH HEIGHT FPS.
 */
import { startControlPlane } from '../../server/control-plane';
import { TEST_PAGES } from '../../test/support/test-pages';
import { startHeadlessHost } from '../../demo/headless-host';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import { HostRunner } from '../../runner/host-runner';
import { HelperProcess, resolveHelperCommand } from '../../helper/client';
import { HOST_COUNTERS_EXPRESSION } from './extension-host-stats';

const [, , fps] = process.argv.slice(2).map(Number) as [number, number, number];
const say = (line: string) => process.stderr.write(`  [browser host] ${line}\n`);

const plane = await startControlPlane({ host: '127.0.0.1', port: 0, ...TEST_PAGES });
const session = await plane.service.createSession({ mode: 'p2p', name: 'PairUX bench', linkTtlSeconds: 3600 });
const screen = await startScreen().catch(async (err: unknown) => {
  await plane.close();
  throw err;
});
const host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, {
  width: screen.width,
  height: screen.height,
  fps,
  codec: 'vp9',
  name: 'Bench host',
  bridge: screen.bridgeUrl,
}).catch(async (err: unknown) => {
  await screen.close();
  await plane.close();
  throw err;
});
say(`sharing ${process.env.DISPLAY}: ${screen.width}×${screen.height} @ ${fps} fps`);

/**
 * demo/real-screen.ts's helper + runner + bridge on $DISPLAY, with one difference: the helper
 * runs from its bundle (dist/helper.js), as under `npm run demo` and in the extension; under tsx
 * HelperProcess would otherwise run helper/main.ts through tsx.
 */
async function startScreen(): Promise<{ bridgeUrl: string; width: number; height: number; close(): Promise<void> }> {
  const helper = new HelperProcess({ env: process.env, command: resolveHelperCommand({ from: 'bundle' }) });
  try {
    const hello = await helper.start();
    if (!hello.capture.available) throw new Error(`screen capture is not available: ${hello.capture.reason ?? 'unknown reason'}`);
    const capture = await helper.startCapture({ fps, deliver: 'link', patches: true });
    const runner = new HostRunner({
      helper,
      capture,
      prompt: { ask: async () => ({ allow: false, reason: 'disabled' }) },
      say: () => undefined,
      frames: 'bridge',
      controlRequests: false,
    });
    const bridge = new HostBridgeServer(runner);
    runner.attach(bridge);
    const bridgeUrl = await bridge.listen();
    return {
      bridgeUrl,
      width: capture.width,
      height: capture.height,
      async close() {
        await bridge.close();
        await helper.stop();
      },
    };
  } catch (err) {
    await helper.stop().catch(() => undefined);
    throw err;
  }
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await plane.service.endSession(session.sessionId, 'host-ended', 'The bench host stopped.').catch(() => undefined);
  await host.close();
  await screen.close();
  await plane.close();
  process.exit(0);
}
process.on('message', (m: { type: string }) => {
  if (m.type === 'counters') {
    host.page.evaluate(HOST_COUNTERS_EXPRESSION).then(
      (counters) => process.send!({ type: 'counters', counters }),
      (err: Error) => process.send!({ type: 'counters', error: err.message }),
    );
  } else if (m.type === 'stop') {
    void stop();
  }
});
process.on('disconnect', () => void stop());
process.send!({ type: 'ready', viewer: session.links.viewer.url });
