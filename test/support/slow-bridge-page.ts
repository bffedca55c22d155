/**
 * A host page that takes `busyMs` to take each frame, in a process of its own (its own event loop,
 * as a browser page has): it connects the page's bridge client to `url` and sends each frame's
 * seq and epoch arrival time to the parent over IPC. Run: `node --import tsx slow-bridge-page.ts URL BUSY_MS`.
 */
import { WebSocket as NodeWebSocket } from 'ws';
import { HostBridgeClient } from '../../webview/engine/frames/host-bridge-client';
import { parseVideoMessage } from '../../webview/engine/frames/video-message';

const [url, busy] = process.argv.slice(2) as [string, string];
const busyMs = Number(busy);
const send = (m: unknown) => process.send!(m);
// The page's bridge client uses the browser's WebSocket; Node 20 has none, `ws` speaks the same API.
(globalThis as { WebSocket?: unknown }).WebSocket = NodeWebSocket;
const page = await HostBridgeClient.connect(url, () => undefined);
page.on('frame', ({ data }) => {
  const m = parseVideoMessage(data);
  send({ seq: m.ok ? m.header.seq : -1, at: performance.timeOrigin + performance.now() });
  const until = performance.now() + busyMs;
  while (performance.now() < until);
});
process.on('disconnect', () => {
  page.close();
  process.exit(0);
});
send('ready');
