/**
 * The page's own grants reach the runner on both carriers of the host bridge (the demo's
 * WebSocket, the editor's webview port), as `control.approve`: the runner records them as the
 * host's decision, so a page-made grant counts like an Allow at the runner's prompt.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { BridgeHello, ControlApprove, ControlState, hostBridgeBoundary } from '../../protocol/host-bridge';
import type { BridgeBackend } from '../../runner/bridge-backend';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import { WebviewBridge } from '../../extension/core/webview-bridge';
import { WebviewPort } from '../../extension/core/webview-port';

function backend(): BridgeBackend & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    hello: () => ({ frames: { via: 'bridge' }, screen: { width: 64, height: 64, fps: 5, source: 'helper' }, controlRequests: true }),
    askControl: async () => ({ allow: false, reason: 'denied' }),
    controlState: (p) => void calls.push(`state ${p.driverId}`),
    approve: (id) => void calls.push(`approve ${id}`),
    input: () => undefined,
  };
}

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('runner: the host page tells the runner about its own grants', () => {
  it('over the WebSocket bridge (the demo)', async () => {
    const b = backend();
    const server = new HostBridgeServer(b);
    const url = await server.listen();
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const page = new RpcEndpoint({ boundary: hostBridgeBoundary, side: 'a', send: (text) => ws.send(text) });
    ws.on('message', (data, binary) => !binary && page.receive(data.toString()));
    try {
      await page.request(BridgeHello, { sessionId: 's1', hostId: 'h1' });
      page.notify(ControlApprove, { participantId: 'ada' });
      page.notify(ControlState, { driverId: 'ada', driverName: 'Ada', reason: 'granted' });
      await until(() => b.calls.length === 2, 'both notifications');
      assert.deepEqual(b.calls, ['approve ada', 'state ada']);
    } finally {
      ws.close();
      await server.close();
    }
  });

  it('over the webview port (the editor)', async () => {
    const b = backend();
    let page: RpcEndpoint;
    const port = new WebviewPort({ post: (m) => (page.receive((m as { text: string }).text), Promise.resolve(true)) }, () => undefined);
    page = new RpcEndpoint({ boundary: hostBridgeBoundary, side: 'a', send: (text) => port.receive({ ch: 'bridge', text }) });
    new WebviewBridge(port, b, () => undefined);
    await page.request(BridgeHello, { sessionId: 's1', hostId: 'h1' });
    page.notify(ControlApprove, { participantId: 'bob' });
    assert.deepEqual(b.calls, ['approve bob']);
  });
});
