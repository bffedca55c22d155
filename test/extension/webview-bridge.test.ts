/**
 * The extension's end of a webview's postMessage channel: envelopes checked, the host bridge's
 * requests reach the runner, and frames wait for the page's acknowledgement.
 */
import assert from 'node:assert/strict';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { AskControl, BridgeFrameTaken, BridgeHello, BridgeInput, hostBridgeBoundary } from '../../protocol/host-bridge';
import { MAX_SHELL_JSON_BYTES, ShellReady, webviewShellBoundary } from '../../protocol/webview-shell';
import type { BridgeBackend } from '../../runner/bridge-backend';
import { WebviewBridge } from '../../extension/core/webview-bridge';
import { WebviewPort } from '../../extension/core/webview-port';

/** A stand-in for the page: the other end of both boundaries, over the same envelopes. */
function fakePage(port: WebviewPort) {
  const posted: unknown[] = [];
  const bridge = new RpcEndpoint({ boundary: hostBridgeBoundary, side: 'a', send: (text) => port.receive({ ch: 'bridge', text }) });
  const shell = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => port.receive({ ch: 'shell', text }) });
  const deliver = (m: unknown): void => {
    const e = m as { ch: string; text?: string; data?: Uint8Array };
    if (e.ch === 'bridge') bridge.receive(e.text!);
    else if (e.ch === 'shell') shell.receive(e.text!);
    else posted.push(e);
  };
  return { posted, bridge, shell, deliver };
}

function backend(): BridgeBackend & { inputs: unknown[]; asked: string[] } {
  const inputs: unknown[] = [];
  const asked: string[] = [];
  return {
    inputs,
    asked,
    hello: () => ({ frames: { via: 'bridge' }, screen: { width: 640, height: 360, fps: 30, source: 'helper' }, controlRequests: true }),
    askControl: async ({ name }) => {
      asked.push(name);
      return { allow: true, reason: 'allowed' };
    },
    controlState: () => undefined,
    input: (id, event) => inputs.push({ id, event }),
  };
}

describe('extension: webview port and host bridge', () => {
  it('answers the page, relays its requests to the runner, and refuses what is not an envelope', async () => {
    let page: ReturnType<typeof fakePage>;
    const port = new WebviewPort({ post: (m) => (page.deliver(m), Promise.resolve(true)) }, () => undefined);
    page = fakePage(port);
    const b = backend();
    new WebviewBridge(port, b, () => undefined);
    port.shell.onRequest(ShellReady, () => ({ page: 'guest' as const, link: 'http://x/s/a#t=b', signalingUrl: 'ws://x/ws' }));
    assert.equal((await page.shell.request(ShellReady, { page: 'guest', origin: 'vscode-webview://x' })).page, 'guest');
    const hello = await page.bridge.request(BridgeHello, { sessionId: 's1', hostId: 'h1' });
    assert.equal(hello.screen.width, 640);
    assert.deepEqual(await page.bridge.request(AskControl, { participantId: 'c1', name: 'Ada' }), { allow: true, reason: 'allowed' });
    assert.deepEqual(b.asked, ['Ada']);
    page.bridge.notify(BridgeInput, { controllerId: 'c1', event: { t: 'move', seq: 1, x: 0.5, y: 0.5 } });
    assert.equal(b.inputs.length, 1);
    for (const bad of [
      null,
      'text',
      { ch: 'other', text: '{}' },
      { ch: 'frame', data: new Uint8Array(4) },
      { ch: 'shell', text: 'x'.repeat(MAX_SHELL_JSON_BYTES + 1) },
    ])
      port.receive(bad);
    assert.equal(port.rejected, 5);
  });

  it('sends the next frame only once the page has taken the previous one', async () => {
    let page: ReturnType<typeof fakePage>;
    const port = new WebviewPort({ post: (m) => (page.deliver(m), Promise.resolve(true)) }, () => undefined);
    page = fakePage(port);
    const bridge = new WebviewBridge(port, backend(), () => undefined);
    assert.equal(bridge.frameTarget.connected(), false, 'no page until it says hello');
    await page.bridge.request(BridgeHello, { sessionId: 's1', hostId: 'h1' });
    assert.equal(bridge.frameTarget.ready(), true);
    bridge.frameTarget.send(new Uint8Array([1, 2, 3]));
    assert.equal(bridge.frameTarget.ready(), false, 'one frame in flight');
    assert.equal(page.posted.length, 1);
    page.bridge.notify(BridgeFrameTaken, {});
    assert.equal(bridge.frameTarget.ready(), true);
    assert.equal(bridge.framesAcked, 1);
  });
});
