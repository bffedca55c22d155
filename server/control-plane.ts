/**
 * Puts the control plane together and starts it: the demo, the tests, the benches and (later)
 * the extension embed it with `startControlPlane`; `server/main.ts` runs it on its own.
 */
import { createServer, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CloseCode } from '../protocol/signaling';
import { resolveConfig, type ServerConfig, type ServerConfigInput } from './config';
import { HostAllowlist } from './host-allowlist';
import { createRequestHandler } from './http-server';
import { JoinTokens } from './join-tokens';
import { MemoryRoomStateStore } from './memory-room-state-store';
import { ServerMetrics } from './metrics';
import type { RoomStateStore } from './room-state-store';
import { startScaleOut, type ScaleOut, type ScaleOutOptions } from './redis/scale-out';
import { SessionService } from './session-service';
import { LocalSignalingTransport, type SignalingTransport } from './signaling-transport';
import { findWebviewDist, StaticFiles } from './static-files';
import { describeTlsPair, loadTlsPair, watchTlsFiles, type TlsPair } from './tls-files';
import { SIGNALING_PATH } from '../common/signaling-url';
import { WsGateway } from './ws-gateway';

export interface ControlPlane {
  /** http://host:port, the origin of share links. */
  readonly url: string;
  readonly port: number;
  readonly config: ServerConfig;
  readonly service: SessionService;
  readonly tokens: JoinTokens;
  readonly metrics: ServerMetrics;
  readonly gateway: WsGateway;
  /** With `config.redis`: the store, transport and liveness shared with the other instances. */
  readonly scaleOut: ScaleOut | undefined;
  /** With `config.tls`: the certificate being served now (replaced when the files change). */
  readonly tls: TlsPair | undefined;
  /**
   * Ends every session with `server-shutdown`, closes sockets, stops listening. With Redis it
   * ends no session: it stops listening, closes its sockets with `Moving` (the clients reconnect
   * to another instance at once, as themselves) and leaves the sessions to the others.
   */
  close(): Promise<void>;
}

export interface ControlPlaneParts {
  store?: RoomStateStore;
  transport?: SignalingTransport;
  /** Collect Node process metrics too (the standalone server does). */
  processMetrics?: boolean;
  /** Timings of the Redis scale-out (tests shorten the heartbeat TTL). */
  scaleOut?: ScaleOutOptions;
  /** How often the TLS files are checked for a renewal (ms; tests shorten it). */
  tlsPollMs?: number;
  /** Where TLS reloads are reported (default: the console). */
  log?: (level: 'info' | 'error', message: string) => void;
}

export async function startControlPlane(input: ServerConfigInput = {}, parts: ControlPlaneParts = {}): Promise<ControlPlane> {
  const config = resolveConfig(input);
  const log = parts.log ?? ((level, message) => (level === 'error' ? console.error : console.log)(`[pairux-server] ${message}`));
  // Read before anything starts: a bad certificate is a start-up error, not a broken listener.
  let tls = config.tls ? loadTlsPair(config.tls) : undefined;
  const metrics = new ServerMetrics(parts.processMetrics ?? false);
  const tokens = new JoinTokens(config.tokenSecret);
  const files = new StaticFiles(findWebviewDist(config.webviewDist));
  let origin = config.publicUrl?.replace(/\/+$/, '') ?? '';
  const scale = config.redis && !parts.store && !parts.transport ? await startScaleOut(config, parts.scaleOut) : undefined;
  const service = new SessionService({
    config,
    store: parts.store ?? scale?.store ?? new MemoryRoomStateStore(),
    transport: parts.transport ?? scale?.transport ?? new LocalSignalingTransport(),
    ...(scale ? { timers: scale.timers } : {}),
    tokens,
    metrics,
    origin: () => origin,
  });
  scale?.bind(service);
  if (scale) {
    metrics.describeRedisWith(() => ({ up: scale.link.isUp, relaysDropped: scale.transport.dropped }));
    scale.link.on('down', () => metrics.redisOutages.inc());
  }
  service.on('error', (err: unknown) => console.error('[pairux-server] background task failed', err));
  metrics.countParticipantsWith(() => service.participantCounts());
  const hosts = new HostAllowlist(config);
  let listeningPort = 0;
  const gateway = new WsGateway(service, metrics, config, hosts, () => listeningPort);
  const options: ServerOptions = {
    // Slow clients (headers or a body a byte at a time) are cut by these, checked every second
    // instead of Node's default 30 s so a short setting means what it says.
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
  };
  const handler = createRequestHandler({ service, metrics, files, hostKey: config.hostKey, startedAt: Date.now(), config, hosts });
  const server: Server | HttpsServer = tls ? createHttpsServer({ ...options, cert: tls.cert, key: tls.key }, handler) : createServer(options, handler);
  const stopWatching =
    config.tls && 'setSecureContext' in server
      ? watchTlsFiles(
          config.tls,
          (pair) => {
            server.setSecureContext({ cert: pair.cert, key: pair.key });
            tls = pair;
            log('info', `reloaded: ${describeTlsPair(pair)}`);
          },
          (err) => log('error', `the TLS files changed but cannot be used, still serving the previous certificate: ${err.message}`),
          parts.tlsPollMs,
        )
      : () => undefined;
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== SIGNALING_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    gateway.handleUpgrade(req, socket, head);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    stopWatching();
    gateway.close();
    service.sfu.close();
    await service.shutdown({ endSessions: false });
    await scale?.close();
    throw err;
  });
  const { port } = server.address() as AddressInfo;
  listeningPort = port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`;
  if (!origin) origin = url;
  let closing: Promise<void> | undefined;
  return {
    url: origin,
    port,
    config,
    service,
    tokens,
    metrics,
    gateway,
    scaleOut: scale,
    get tls() {
      return tls;
    },
    close() {
      closing ??= (async () => {
        stopWatching();
        if (scale) {
          // Not listening first: the load balancer sends the reconnects to the other instances.
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
          await gateway.drain(CloseCode.Moving, 'this server instance is going away; reconnect');
          await service.shutdown({ endSessions: false });
          service.sfu.close();
          gateway.close();
          await scale.close();
          server.closeAllConnections();
          await stopped;
          return;
        }
        await service.shutdown();
        // The SFU health checks run only while the control plane does.
        service.sfu.close();
        gateway.close();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Before waiting, not after: server.close() waits for every open connection, and a
        // browser's busy keep-alive connection could hold it (a CI run timed out at 90 s here).
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
