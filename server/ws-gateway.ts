/**
 * WebSocket front of the session service: one RpcEndpoint per socket, size cap (1009 from `ws`),
 * per-connection rate limit, join deadline and heartbeat liveness. Bad messages get typed errors
 * and the connection goes on; only oversize, silence and floods close it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ErrorCode, PairuxError } from '../protocol/errors';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../protocol/limits';
import { PROTOCOL_VERSION, type NotificationType } from '../protocol/rpc';
import { RpcEndpoint } from '../protocol/rpc-endpoint';
import {
  CloseCode,
  CreateLink,
  DenyControl,
  End,
  GetIceServers,
  GrantControl,
  Heartbeat,
  Join,
  Leave,
  ReleaseControl,
  RemoveParticipant,
  RequestControl,
  RefreshSfuAccess,
  ReportMedia,
  MakeHost,
  AcceptHost,
  DeclineHost,
  RevokeControl,
  SendSignal,
  SetRole,
  signalingBoundary,
} from '../protocol/signaling';
import type { ServerConfig } from './config';
import type { ServerMetrics } from './metrics';
import type { ClientConnection, SessionService } from './session-service';
import type { ParticipantSink } from './signaling-transport';

export const WS_PATH = '/ws';

interface Live {
  ws: WebSocket;
  lastSeen: number;
  joinedBy: number;
  connection: ClientConnection;
}

export class WsGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNALING_MESSAGE_BYTES, perMessageDeflate: false });
  private readonly live = new Set<Live>();
  /** What closed sockets still do in the session service (marking drops), for `drain`. */
  private readonly settling = new Set<Promise<void>>();
  private draining = false;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly service: SessionService,
    private readonly metrics: ServerMetrics,
    private readonly config: ServerConfig,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(config.heartbeatIntervalMs, config.joinTimeoutMs, 1000));
    this.sweeper.unref();
  }

  get connectionCount(): number {
    return this.live.size;
  }

  /** Called from the HTTP server's `upgrade` event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.draining) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const origin = req.headers.origin;
    if (origin && !this.originAllowed(origin, req.headers.host)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      this.metrics.errors.inc({ code: ErrorCode.Forbidden });
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /**
   * Closes every socket with `code` (clients that reconnect get another instance) and waits until
   * the session service has recorded each drop; sockets that do not finish the closing handshake
   * within `timeoutMs` are cut.
   */
  async drain(code: number, reason: string, timeoutMs = 2000): Promise<void> {
    this.draining = true;
    for (const l of this.live) l.ws.close(code, reason);
    const deadline = Date.now() + timeoutMs;
    while (this.live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const l of this.live) l.ws.terminate();
    while (this.live.size > 0 && Date.now() < deadline + 1000) await new Promise((r) => setTimeout(r, 20));
    await Promise.all([...this.settling]);
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const l of this.live) l.ws.terminate();
    this.wss.close();
  }

  private originAllowed(origin: string, host: string | undefined): boolean {
    if (host && (origin === `http://${host}` || origin === `https://${host}`)) return true;
    // VS Code webviews run on their own origin per webview; the join token is the real gate.
    if (origin.startsWith('vscode-webview://')) return true;
    return this.config.allowedOrigins.includes(origin);
  }

  private accept(ws: WebSocket): void {
    const now = Date.now();
    const sink: ParticipantSink = {
      notify: <P>(type: NotificationType<P>, params: P) => endpoint.notify(type, params),
      close: (code, reason) => ws.close(code, reason),
    };
    const connection = this.service.connect(sink);
    const live: Live = { ws, lastSeen: now, joinedBy: now + this.config.joinTimeoutMs, connection };
    this.live.add(live);
    this.metrics.connections.inc();

    const endpoint = new RpcEndpoint({
      boundary: signalingBoundary,
      side: 'b',
      send: (text) => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      },
      onProtocolError: (err) => this.metrics.errors.inc({ code: err.code }),
    });
    endpoint.onRequest(Join, (p) => connection.join(p));
    endpoint.onRequest(Leave, async () => {
      await connection.leave();
      return {};
    });
    endpoint.onRequest(End, async (p) => {
      await connection.end(p.reason);
      return {};
    });
    endpoint.onRequest(SendSignal, async (p) => {
      await connection.signal(p);
      return {};
    });
    endpoint.onRequest(CreateLink, (p) => connection.createLink(p.role, p.ttlSeconds));
    endpoint.onRequest(GetIceServers, () => ({ iceServers: connection.iceServers() }));
    endpoint.onRequest(RequestControl, async () => (await connection.control.request(), {}));
    endpoint.onRequest(ReleaseControl, async () => (await connection.control.release(), {}));
    endpoint.onRequest(GrantControl, async (p) => (await connection.control.grant(p.participantId), {}));
    endpoint.onRequest(DenyControl, async (p) => (await connection.control.deny(p.participantId, p.reason), {}));
    endpoint.onRequest(RevokeControl, async (p) => (await connection.control.revoke(p.participantId, p.panic), {}));
    endpoint.onRequest(SetRole, async (p) => ({ participant: await connection.participants.setRole(p.participantId, p.role) }));
    endpoint.onRequest(RemoveParticipant, async (p) => (await connection.participants.remove(p.participantId, p.reason), {}));
    endpoint.onRequest(MakeHost, async (p) => ({ participant: await connection.participants.makeHost(p.participantId) }));
    endpoint.onRequest(AcceptHost, async (p) => (await this.service.participants.transfer.accept(connection.requireMember(), p.offerId), {}));
    endpoint.onRequest(DeclineHost, async (p) => (await this.service.participants.transfer.decline(connection.requireMember(), p.offerId), {}));
    endpoint.onRequest(ReportMedia, async ({ media, epoch }) => {
      await connection.reportMedia(media, epoch);
      return {};
    });
    endpoint.onRequest(RefreshSfuAccess, () => connection.sfuAccess());
    endpoint.onNotification(Heartbeat, () => undefined);

    // Token bucket: a burst of twice the rate, refilled continuously.
    const rate = this.config.messageRatePerSecond;
    let tokens = rate * 2;
    let refilledAt = now;
    let refusedInRow = 0;

    ws.on('message', (data: RawData, isBinary: boolean) => {
      const t = Date.now();
      live.lastSeen = t;
      tokens = Math.min(rate * 2, tokens + ((t - refilledAt) / 1000) * rate);
      refilledAt = t;
      if (tokens < 1) {
        this.metrics.errors.inc({ code: ErrorCode.RateLimited });
        if (++refusedInRow === 1) this.replyError(ws, new PairuxError(ErrorCode.RateLimited, `more than ${rate} messages per second; slow down`, { rate }));
        if (refusedInRow > rate * 4) ws.close(1008, 'message flood');
        return;
      }
      tokens -= 1;
      refusedInRow = 0;
      if (isBinary) {
        this.metrics.errors.inc({ code: ErrorCode.BadMessage });
        this.replyError(ws, new PairuxError(ErrorCode.BadMessage, 'binary messages are not accepted on the signaling socket; send JSON text'));
        return;
      }
      endpoint.receive(data.toString());
    });
    ws.on('error', (err) => {
      // `ws` reports an oversize message here and closes with 1009 itself.
      if (/max payload/i.test(err.message)) this.metrics.errors.inc({ code: ErrorCode.TooLarge });
    });
    ws.on('close', () => {
      this.live.delete(live);
      this.metrics.connections.dec();
      endpoint.close();
      const settled = connection.closedByTransport().catch(() => undefined);
      this.settling.add(settled);
      void settled.finally(() => this.settling.delete(settled));
    });
  }

  private replyError(ws: WebSocket, error: PairuxError): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id: null, error: error.toBody() }));
  }

  private sweep(): void {
    const now = Date.now();
    const silentLimit = this.config.heartbeatIntervalMs * 3;
    for (const l of this.live) {
      if (!l.connection.member && now > l.joinedBy) {
        l.ws.close(1008, 'no session.join in time');
      } else if (now - l.lastSeen > silentLimit) {
        l.ws.close(CloseCode.HeartbeatTimeout, 'no heartbeat');
        // A dead TCP peer never completes the closing handshake.
        setTimeout(() => l.ws.terminate(), 1000).unref();
      }
    }
  }
}
