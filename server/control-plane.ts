/**
 * Puts the control plane together and starts it: the demo, the tests, the benches and (later)
 * the extension embed it with `startControlPlane`; `server/main.ts` runs it on its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveConfig, type ServerConfig, type ServerConfigInput } from './config';
import { createRequestHandler } from './http-server';
import { JoinTokens } from './join-tokens';
import { MemoryRoomStateStore } from './memory-room-state-store';
import { ServerMetrics } from './metrics';
import type { RoomStateStore } from './room-state-store';
import { SessionService } from './session-service';
import { LocalSignalingTransport, type SignalingTransport } from './signaling-transport';
import { findWebviewDist, StaticFiles } from './static-files';
import { WS_PATH, WsGateway } from './ws-gateway';

export interface ControlPlane {
  /** http://host:port, the origin of share links. */
  readonly url: string;
  readonly port: number;
  readonly config: ServerConfig;
  readonly service: SessionService;
  readonly tokens: JoinTokens;
  readonly metrics: ServerMetrics;
  readonly gateway: WsGateway;
  /** Ends every session with `server-shutdown`, closes sockets, stops listening. */
  close(): Promise<void>;
}

export interface ControlPlaneParts {
  store?: RoomStateStore;
  transport?: SignalingTransport;
  /** Collect Node process metrics too (the standalone server does). */
  processMetrics?: boolean;
}

export async function startControlPlane(input: ServerConfigInput = {}, parts: ControlPlaneParts = {}): Promise<ControlPlane> {
  const config = resolveConfig(input);
  const metrics = new ServerMetrics(parts.processMetrics ?? false);
  const tokens = new JoinTokens(config.tokenSecret);
  const files = new StaticFiles(findWebviewDist(config.webviewDist));
  let origin = config.publicUrl?.replace(/\/+$/, '') ?? '';
  const service = new SessionService({
    config,
    store: parts.store ?? new MemoryRoomStateStore(),
    transport: parts.transport ?? new LocalSignalingTransport(),
    tokens,
    metrics,
    origin: () => origin,
  });
  service.on('error', (err: unknown) => console.error('[pairux-server] background task failed', err));
  metrics.countParticipantsWith(() => service.participantCounts());
  const gateway = new WsGateway(service, metrics, config);
  const server: Server = createServer(createRequestHandler({ service, metrics, files, hostKey: config.hostKey, startedAt: Date.now() }));
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== WS_PATH) {
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
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;
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
    close() {
      closing ??= (async () => {
        await service.shutdown();
        // The SFU health checks run only while the control plane does.
        service.sfu.close();
        gateway.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
      })();
      return closing;
    },
  };
}
