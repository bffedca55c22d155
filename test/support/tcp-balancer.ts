/**
 * A load balancer for tests: a TCP proxy on a free loopback port that hands each new connection
 * to the next backend, round-robin, skipping backends that refuse (a killed or closed instance),
 * so a dropped client reconnecting through it lands on one that lives. `pin()` sends new
 * connections to one backend only, for a test that needs to know where its client is.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  host?: string;
  port: number;
}

export class TcpBalancer {
  private backends: Backend[] = [];
  private next = 0;
  private pinned: number | undefined;
  private readonly sockets = new Set<Socket>();
  /** Backend index of each connection made, in order (tests read where clients went). */
  readonly routed: number[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(backends: Backend[] = []): Promise<TcpBalancer> {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    const lb = new TcpBalancer(server, port);
    lb.setBackends(backends);
    server.on('connection', (client) => lb.accept(client));
    return lb;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setBackends(backends: Backend[]): void {
    this.backends = [...backends];
    this.next = 0;
  }

  /** New connections go to backend `index` only (refused there: the client's connection fails); undefined: round-robin again. */
  pin(index: number | undefined): void {
    this.pinned = index;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    client.pause();
    const order = this.pinned !== undefined ? [this.pinned] : this.backends.map((_, i) => (this.next + i) % this.backends.length);
    if (this.pinned === undefined && this.backends.length) this.next = (this.next + 1) % this.backends.length;
    this.tryBackend(client, order);
  }

  private tryBackend(client: Socket, order: number[]): void {
    const index = order[0];
    const backend = index === undefined ? undefined : this.backends[index];
    if (index === undefined || !backend || client.destroyed) {
      client.destroy();
      return;
    }
    const upstream = connect(backend.port, backend.host ?? '127.0.0.1');
    this.sockets.add(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.routed.push(index);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      // Refused: the next backend. After connecting: the pair goes down together.
      if (!connected) this.tryBackend(client, order.slice(1));
    });
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      if (connected) client.destroy();
    });
    client.on('close', () => upstream.destroy());
  }
}
