/**
 * A webview page's signaling socket is the extension's (extension/core/signal-relay.ts and
 * webview/vscode/shell-transport.ts, over the real shell boundary): a server that refuses the
 * webview's origin still takes the page, because the socket the extension opens carries none.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { SignalRelay } from '../../extension/core/signal-relay';
import { WebviewPort } from '../../extension/core/webview-port';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { ShellSignalOpen, ShellSignalSend, webviewShellBoundary } from '../../protocol/webview-shell';
import type { TransportConnection } from '../../webview/engine/signaling/transport';
import { ShellSignalingTransport } from '../../webview/vscode/shell-transport';

interface Server {
  url: string;
  origins: Array<string | undefined>;
  sockets: WebSocket[];
  received: string[];
  close(): Promise<void>;
}

/** A signaling server stand-in that records each socket's Origin and echoes text. */
async function server(): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  await new Promise((r) => wss.once('listening', r));
  const s: Server = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`,
    origins: [],
    sockets: [],
    received: [],
    close: () => new Promise((r) => wss.close(() => r(undefined))),
  };
  wss.on('connection', (ws, req) => {
    s.origins.push(req.headers.origin);
    s.sockets.push(ws);
    ws.on('message', (d, binary) => {
      if (binary) return;
      s.received.push(d.toString());
      ws.send(`echo ${d.toString()}`);
    });
  });
  return s;
}

/** The page's shell endpoint and the extension's port, joined as postMessage would join them. */
function channel() {
  let page!: RpcEndpoint;
  const port = new WebviewPort({ post: (m) => (page.receive((m as { text: string }).text), Promise.resolve(true)) }, () => undefined);
  page = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => port.receive({ ch: 'shell', text }) });
  return { port, page };
}

function until<T>(probe: () => T | undefined, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = probe();
      if (v !== undefined) return resolve(v);
      if (Date.now() > end) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

function connect(transport: ShellSignalingTransport) {
  const events: string[] = [];
  const conn: TransportConnection = transport.connect({
    onOpen: () => events.push('open'),
    onMessage: (t) => events.push(`message ${t}`),
    onClose: (code, reason) => events.push(`close ${code} ${reason}`),
  });
  return { conn, events };
}

describe('extension: the pages’ signaling socket is the extension’s (a webview origin never reaches the server)', () => {
  let s: Server;
  beforeEach(async () => (s = await server()));
  afterEach(async () => s.close());

  it('a page connects through the relay: text both ways, and the server sees no Origin', async () => {
    const { port, page } = channel();
    const relay = new SignalRelay(port.shell, { url: () => s.url });
    const { conn, events } = connect(new ShellSignalingTransport(page));
    assert.throws(() => conn.send('too early'), /not open/);
    await until(() => (events.includes('open') ? true : undefined), 'the connection to open');
    conn.send('{"hello":1}');
    await until(() => (events.includes('message echo {"hello":1}') ? true : undefined), 'the echo');
    assert.deepEqual(s.origins, [undefined]);
    assert.deepEqual(s.received, ['{"hello":1}']);
    relay.close();
  });

  it('the page closing closes the server’s socket; the server closing reaches the page with its code and reason', async () => {
    const { port, page } = channel();
    const relay = new SignalRelay(port.shell, { url: () => s.url });
    const transport = new ShellSignalingTransport(page);
    const a = connect(transport);
    await until(() => (a.events.includes('open') ? true : undefined), 'open');
    a.conn.close(4000, 'bye');
    assert.deepEqual(a.events, ['open', 'close 4000 bye'], 'reported at once, as the WebSocket transport does');
    await until(() => (s.sockets[0]!.readyState === s.sockets[0]!.CLOSED ? true : undefined), "the server's socket to close");
    await until(() => (relay.openCount === 0 ? true : undefined), 'the relay to let it go');

    const b = connect(transport);
    await until(() => (b.events.includes('open') ? true : undefined), 'the second connection');
    s.sockets[1]!.close(4403, 'removed by the host');
    await until(() => b.events.find((e) => e.startsWith('close')), 'the close');
    assert.deepEqual(b.events.slice(-1), ['close 4403 removed by the host']);
    relay.close();
  });

  it('a server that is not there: the page is told the connection closed (1006), and can try again', async () => {
    const { port, page } = channel();
    await s.close();
    const relay = new SignalRelay(port.shell, { url: () => s.url });
    const { events } = connect(new ShellSignalingTransport(page));
    const closed = await until(() => events.find((e) => e.startsWith('close')), 'the failure');
    assert.match(closed, /^close 1006 .*ECONNREFUSED/);
    assert.equal(relay.openCount, 0);
    s = await server();
    relay.close();
  });

  it('refuses more than its open connections and drops text for one it does not hold; closing it ends every connection', async () => {
    const { port, page } = channel();
    const relay = new SignalRelay(port.shell, { url: () => s.url, maxOpen: 2 });
    const transport = new ShellSignalingTransport(page);
    const held = [connect(transport), connect(transport)];
    for (const h of held) await until(() => (h.events.includes('open') ? true : undefined), 'open');
    const third = connect(transport);
    const refused = await until(() => third.events.find((e) => e.startsWith('close')), 'the third to be refused');
    assert.equal(refused, 'close 1013 too many signaling connections from this page');
    assert.equal(s.sockets.length, 2, 'the server never saw the third');
    // A page naming a connection it never opened reaches nothing.
    page.notify(ShellSignalSend, { id: 'nobody', text: 'lost' });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(s.received, []);
    relay.close();
    for (const h of held) await until(() => h.events.find((e) => e.startsWith('close')), 'closed by the relay');
    assert.match(held[0]!.events.at(-1)!, /^close 1001 the editor closed this session/);
    assert.equal(relay.closed, true);
    relay.close();
  });

  it('opens only the session’s own URL, whatever else a page puts in its message', async () => {
    const { port, page } = channel();
    const relay = new SignalRelay(port.shell, { url: () => s.url });
    page.notify(ShellSignalOpen, { id: 'x', url: 'ws://127.0.0.1:9/elsewhere' } as never);
    await until(() => (s.sockets.length === 1 ? true : undefined), 'the session server to get the socket');
    relay.close();
  });

  it('a message too large for the webview’s channel closes the connection (1009) instead of vanishing', async () => {
    const { port, page } = channel();
    const relay = new SignalRelay(port.shell, { url: () => s.url });
    const { events } = connect(new ShellSignalingTransport(page));
    await until(() => (events.includes('open') ? true : undefined), 'open');
    // 600 KB of characters JSON escapes six-fold: under the cap on what the server sends, over the webview channel's.
    s.sockets[0]!.send('\u0001'.repeat(600_000));
    const closed = await until(() => events.find((e) => e.startsWith('close')), 'the close');
    assert.equal(closed, 'close 1009 message too large for the webview');
    relay.close();
  });
});
