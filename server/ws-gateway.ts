/**
 * WebSocket front of the session service: one RpcEndpoint per socket, size cap (1009 from `ws`),
 * per-connection rate limit, join deadline and heartbeat liveness, caps on sockets that have not
 * joined (all, and per address). Bad messages get typed errors and the connection goes on; only
 * oversize, silence and floods close it. A socket the server began closing is deaf: its rights
 * end at that moment, not when (or if) its peer completes the closing handshake.
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
  AdmitGuest,
  DenyGuest,
  SetLobbyMode,
  Leave,
  ReleaseControl,
  RemoveParticipant,
  RequestControl,
  RefreshSfuAccess,
  ReportMedia,
  ReportHostLoad,
  MakeHost,
  AcceptHost,
  DeclineHost,
  RevokeControl,
  ControlAudit,
  RotateLinks,
  ListLinks,
  RevokeLink,
  SendSignal,
  SetRole,
  SetTier,
  signalingBoundary,
} from '../protocol/signaling';
import { clientAddress } from './client-address';
import type { ServerConfig } from './config';
import type { HostAllowlist } from './host-allowlist';
import type { ServerMetrics } from './metrics';
import type { ClientConnection, SessionService } from './session-service';
import type { ParticipantSink } from './signaling-transport';

interface Live {
  ws: WebSocket;
  lastSeen: number;
  joinedBy: number;
  connection: ClientConnection;
  endpoint: RpcEndpoint;
  address: string;
  /** Counted among the unjoined sockets (until it joins or goes). */
  unjoined: boolean;
  /** The server began closing it, or its peer did: nothing it sends counts any more. */
  closing: boolean;
  /** The session service was told it is gone. */
  gone: boolean;
  cut: ReturnType<typeof setTimeout> | undefined;
}

/** Refusals in one second, beyond which a socket is flooding rather than bursting (× the rate). */
const FLOOD_FACTOR = 1;

export class WsGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNALING_MESSAGE_BYTES, perMessageDeflate: false });
  private readonly live = new Set<Live>();
  private unjoinedCount = 0;
  private readonly unjoinedByAddress = new Map<string, number>();
  /** What closed sockets still do in the session service (marking drops), for `drain`. */
  private readonly settling = new Set<Promise<void>>();
  private draining = false;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly service: SessionService,
    private readonly metrics: ServerMetrics,
    private readonly config: ServerConfig,
    private readonly hosts: HostAllowlist,
    /** The port the HTTP server listens on (known once it does): the server's own origins use it. */
    private readonly listeningPort: () => number,
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
    if (!this.hosts.hostAllowed(req.headers.host)) {
      refuse(socket, '421 Misdirected Request', 'this server does not answer to that host name');
      this.metrics.errors.inc({ code: ErrorCode.Forbidden });
      return;
    }
    const origin = req.headers.origin;
    if (origin && !this.hosts.originAllowed(origin, this.listeningPort(), req.headers.host)) {
      refuse(socket, '403 Forbidden', 'pages of this origin may not open the signaling socket');
      this.metrics.errors.inc({ code: ErrorCode.Forbidden });
      return;
    }
    const address = clientAddress(req, this.config.trustProxy);
    if (this.unjoinedCount >= this.config.maxUnjoinedSockets) {
      refuse(socket, '503 Service Unavailable', 'too many connections are waiting to join; try again in a few seconds', 5);
      this.metrics.errors.inc({ code: ErrorCode.LimitReached });
      return;
    }
    if ((this.unjoinedByAddress.get(address) ?? 0) >= this.config.maxUnjoinedSocketsPerIp) {
      refuse(socket, '429 Too Many Requests', 'too many connections from your address are waiting to join; join with the open ones first', 5);
      this.metrics.errors.inc({ code: ErrorCode.RateLimited });
      return;
    }
    // `ws` completes the upgrade synchronously here (no verifyClient), so the caps above and the
    // count in accept() cannot be raced by another upgrade.
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, address));
  }

  /**
   * Closes every socket with `code` (clients that reconnect get another instance) and waits until
   * the session service has recorded each drop; sockets that do not finish the closing handshake
   * within `timeoutMs` are cut.
   */
  async drain(code: number, reason: string, timeoutMs = 2000): Promise<void> {
    this.draining = true;
    for (const l of this.live) this.closeLive(l, code, reason);
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

  private accept(ws: WebSocket, address: string): void {
    const now = Date.now();
    const sink: ParticipantSink = {
      notify: <P>(type: NotificationType<P>, params: P) => endpoint.notify(type, params),
      close: (code, reason) => this.closeLive(live, code, reason),
    };
    const connection = this.service.connect(sink, address);
    const endpoint = new RpcEndpoint({
      boundary: signalingBoundary,
      side: 'b',
      send: (text) => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      },
      // What a client claims in its own error responses is not an error of ours.
      onProtocolError: (err, source) => {
        if (source !== 'peer') this.metrics.errors.inc({ code: err.code });
      },
    });
    const live: Live = {
      ws,
      lastSeen: now,
      joinedBy: now + this.config.joinTimeoutMs,
      connection,
      endpoint,
      address,
      unjoined: false,
      closing: false,
      gone: false,
      cut: undefined,
    };
    this.live.add(live);
    this.countUnjoined(live, true);
    this.metrics.connections.inc();

    endpoint.onRequest(Join, async (p) => {
      const result = await connection.join(p);
      this.countUnjoined(live, false);
      return result;
    });
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
    endpoint.onRequest(CreateLink, (p) => connection.createLink(p));
    endpoint.onRequest(RotateLinks, (p) => connection.rotateLinks(p.ttlSeconds));
    endpoint.onRequest(ListLinks, () => connection.listLinks());
    endpoint.onRequest(RevokeLink, (p) => connection.revokeLink(p.id));
    endpoint.onRequest(GetIceServers, () => ({ iceServers: connection.iceServers() }));
    endpoint.onRequest(RequestControl, async () => (await connection.control.request(), {}));
    endpoint.onRequest(ReleaseControl, async () => (await connection.control.release(), {}));
    endpoint.onRequest(GrantControl, async (p) => (await connection.control.grant(p.participantId), {}));
    endpoint.onRequest(DenyControl, async (p) => (await connection.control.deny(p.participantId, p.reason), {}));
    endpoint.onRequest(RevokeControl, async (p) => (await connection.control.revoke(p.participantId, p.panic), {}));
    endpoint.onRequest(ControlAudit, () => connection.control.audit());
    endpoint.onRequest(SetRole, async (p) => ({ participant: await connection.participants.setRole(p.participantId, p.role) }));
    endpoint.onRequest(SetTier, async (p) => ({ participant: await connection.participants.setTier(p.participantId, p.tier) }));
    endpoint.onRequest(RemoveParticipant, async (p) => (await connection.participants.remove(p.participantId, p.reason), {}));
    endpoint.onRequest(AdmitGuest, async (p) => (await connection.lobby.admit(p.participantId), {}));
    endpoint.onRequest(DenyGuest, async (p) => (await connection.lobby.deny(p.participantId, p.reason), {}));
    endpoint.onRequest(SetLobbyMode, (p) => connection.lobby.setMode(p.everyone));
    endpoint.onRequest(MakeHost, async (p) => ({ participant: await connection.participants.makeHost(p.participantId) }));
    endpoint.onRequest(AcceptHost, async (p) => (await this.service.participants.transfer.accept(connection.requireMember(), p.offerId), {}));
    endpoint.onRequest(DeclineHost, async (p) => (await this.service.participants.transfer.decline(connection.requireMember(), p.offerId), {}));
    endpoint.onRequest(ReportMedia, async ({ media, epoch }) => {
      await connection.reportMedia(media, epoch);
      return {};
    });
    endpoint.onRequest(ReportHostLoad, (report) => connection.reportHostLoad(report));
    endpoint.onRequest(RefreshSfuAccess, () => connection.sfuAccess());
    endpoint.onNotification(Heartbeat, () => undefined);

    // Token bucket: a burst of twice the rate, refilled continuously.
    const rate = this.config.messageRatePerSecond;
    let tokens = rate * 2;
    let refilledAt = now;
    // Refusals are counted per second, not "in a row": a flood at many times the rate still lets
    // a message through whenever a token refills, which used to reset a row count every few ms.
    let refusedWindowStart = now;
    let refusedInWindow = 0;
    let toldToSlowDown = false;

    ws.on('message', (data: RawData, isBinary: boolean) => {
      // `ws` keeps delivering what arrives until the peer's close frame: a socket being closed
      // (removed, replaced, handed over) must not act any more, whatever it still sends.
      if (live.closing || ws.readyState !== ws.OPEN) {
        this.metrics.droppedAfterClose.inc();
        return;
      }
      const t = Date.now();
      live.lastSeen = t;
      tokens = Math.min(rate * 2, tokens + ((t - refilledAt) / 1000) * rate);
      refilledAt = t;
      if (tokens < 1) {
        this.metrics.errors.inc({ code: ErrorCode.RateLimited });
        if (t - refusedWindowStart >= 1000) {
          refusedWindowStart = t;
          refusedInWindow = 0;
        }
        if (!toldToSlowDown) this.replyError(ws, new PairuxError(ErrorCode.RateLimited, `more than ${rate} messages per second; slow down`, { rate }));
        toldToSlowDown = true;
        if (++refusedInWindow > rate * FLOOD_FACTOR) this.closeLive(live, 1008, 'message flood');
        return;
      }
      tokens -= 1;
      toldToSlowDown = false;
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
      live.closing = true;
      clearTimeout(live.cut);
      this.live.delete(live);
      this.countUnjoined(live, false);
      this.metrics.connections.dec();
      this.connectionGone(live);
    });
  }

  /**
   * Server-initiated close: the close frame goes first (an honest client reads the code and
   * reason), the socket stops counting at once, and one that does not answer is cut after the
   * grace instead of `ws`'s 30 s closing handshake.
   */
  private closeLive(live: Live, code: number, reason: string): void {
    if (live.closing) return;
    live.closing = true;
    live.ws.close(code, reason);
    live.cut = setTimeout(() => live.ws.terminate(), this.config.closeGraceMs);
    live.cut.unref();
    this.connectionGone(live);
  }

  /** Tells the session service once that the connection is gone, and remembers the work for `drain`. */
  private connectionGone(live: Live): void {
    if (live.gone) return;
    live.gone = true;
    live.endpoint.close();
    const settled = live.connection.closedByTransport().catch(() => undefined);
    this.settling.add(settled);
    void settled.finally(() => this.settling.delete(settled));
  }

  private countUnjoined(live: Live, unjoined: boolean): void {
    if (live.unjoined === unjoined) return;
    live.unjoined = unjoined;
    const n = (this.unjoinedByAddress.get(live.address) ?? 0) + (unjoined ? 1 : -1);
    if (n > 0) this.unjoinedByAddress.set(live.address, n);
    else this.unjoinedByAddress.delete(live.address);
    this.unjoinedCount += unjoined ? 1 : -1;
  }

  private replyError(ws: WebSocket, error: PairuxError): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id: null, error: error.toBody() }));
  }

  private sweep(): void {
    const now = Date.now();
    const silentLimit = this.config.heartbeatIntervalMs * 3;
    for (const l of this.live) {
      if (l.closing) continue;
      // A guest in the lobby waits on the host, within the lobby's own deadline.
      if (l.connection.waiting) continue;
      if (!l.connection.member && now > l.joinedBy) {
        this.closeLive(l, 1008, 'no session.join in time');
      } else if (now - l.lastSeen > silentLimit) {
        this.closeLive(l, CloseCode.HeartbeatTimeout, 'no heartbeat');
      }
    }
  }
}

/** Refuses an upgrade with a status and a sentence the client's developer can read. */
function refuse(socket: Duplex, status: string, message: string, retryAfterSeconds?: number): void {
  const body = JSON.stringify({
    error: { code: status.startsWith('429') ? ErrorCode.RateLimited : status.startsWith('503') ? ErrorCode.LimitReached : ErrorCode.Forbidden, message },
  });
  const retry = retryAfterSeconds === undefined ? '' : `Retry-After: ${retryAfterSeconds}\r\n`;
  socket.end(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n${retry}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
