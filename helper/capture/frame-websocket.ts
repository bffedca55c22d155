/**
 * `deliver: 'websocket'`: the helper serves frames itself on a loopback WebSocket the host page
 * opens, so 8 MB pictures skip the hop through the runner. 127.0.0.1 only, a random port, and a
 * random key in the URL path: anything else is refused before the upgrade. Each frame is one
 * binary message laid out as the host bridge relays link frames (kind byte, video header, pixels;
 * a WebSocket message needs no length prefix), sent as fragments (header, then each strip of
 * pixels) so the pixels are not copied.
 * A viewer still draining the previous frame skips this one.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameKind, VIDEO_HEADER_BYTES, writeVideoHeader, type VideoFrameHeader } from '../../protocol/helper-framing';

/** Viewers only receive; anything bigger than this from them closes their socket. */
const MAX_VIEWER_MESSAGE_BYTES = 1024;

export class FrameWebSocketServer {
  private readonly inFlight = new WeakSet<WebSocket>();
  readonly stats = { sent: 0, dropped: 0, refusedUpgrades: 0 };

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  /**
   * `onViewer` runs when a viewer connects (it needs a frame now, changed or not). `fixed` comes
   * from the runner (see frame-socket-env.ts): the same key and port across helper restarts keep
   * the URL the page holds valid; when the port is taken a random one is used.
   */
  static async start(
    onViewer: () => void,
    onViewersChanged: (count: number) => void,
    fixed: { key?: string; port?: number } = {},
  ): Promise<FrameWebSocketServer> {
    const key = fixed.key ?? randomBytes(24).toString('base64url');
    const path = `/frames/${key}`;
    const http = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_VIEWER_MESSAGE_BYTES });
    const listen = (port: number) =>
      new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, '127.0.0.1', () => {
          http.off('error', reject);
          resolve();
        });
      });
    await listen(fixed.port ?? 0).catch(() => listen(0));
    const { port } = http.address() as AddressInfo;
    const server = new FrameWebSocketServer(http, wss, `ws://127.0.0.1:${port}${path}`);
    http.on('upgrade', (req, socket, head) => {
      if (req.url !== path) {
        server.stats.refusedUpgrades++;
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', () => undefined);
        ws.on('error', () => ws.terminate());
        ws.on('close', () => onViewersChanged(wss.clients.size));
        onViewersChanged(wss.clients.size);
        onViewer();
      });
    });
    return server;
  }

  get viewers(): number {
    return this.wss.clients.size;
  }

  /** Whether some viewer could take a frame now (the others are still draining theirs). */
  ready(): boolean {
    for (const ws of this.wss.clients) if (ws.readyState === ws.OPEN && !this.inFlight.has(ws)) return true;
    return false;
  }

  /** Sends to every viewer ready for it; true when at least one took the frame. */
  send(header: VideoFrameHeader, strips: readonly Buffer[]): boolean {
    let taken = false;
    let prefix: Buffer | undefined;
    for (const ws of this.wss.clients) {
      if (ws.readyState !== ws.OPEN) continue;
      if (this.inFlight.has(ws)) {
        this.stats.dropped++;
        continue;
      }
      prefix ??= framePrefix(header);
      this.inFlight.add(ws);
      ws.send(prefix, { binary: true, fin: false });
      strips.forEach((strip, i) => {
        if (i < strips.length - 1) ws.send(strip, { binary: true, fin: false });
        else ws.send(strip, { binary: true, fin: true }, () => this.inFlight.delete(ws));
      });
      this.stats.sent++;
      taken = true;
    }
    return taken;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

function framePrefix(header: VideoFrameHeader): Buffer {
  const prefix = Buffer.alloc(1 + VIDEO_HEADER_BYTES);
  prefix[0] = FrameKind.Video;
  writeVideoHeader(new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength), 1, header);
  return prefix;
}
