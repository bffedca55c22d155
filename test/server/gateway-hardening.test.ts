/**
 * The control plane's edges against hostile clients (security review F1 socket part, F4, F5 and
 * the low findings): sockets the server closed, sockets that never join, slow HTTP, session
 * creation by one address, foreign Host and Origin names, floods, replayed webhooks, what the
 * server tells strangers. Raw TCP clients stand in for attackers that ignore the protocol.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import net from 'node:net';
import { AccessToken } from 'livekit-server-sdk';
import { ErrorCode } from '../../protocol/errors';
import { HttpErrorResponse } from '../../protocol/http-api';
import { PROTOCOL_VERSION } from '../../protocol/rpc';
import { ParticipantUpdated, RemoveParticipant, Signal } from '../../protocol/signaling';
import { AddressRateLimit } from '../../server/client-address';
import { configFromEnv, isLoopbackHost, resolveConfig } from '../../server/config';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { MemoryRoomStateStore } from '../../server/memory-room-state-store';
import { SfuWebhookVerifier } from '../../server/sfu/webhooks';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';

/**
 * A WebSocket client on a bare TCP socket that does only what a test tells it: it never answers
 * a close frame, so it can keep sending after the server closed it, as a hostile client would.
 */
class RawSocket {
  readonly texts: unknown[] = [];
  closeFrameAt: number | undefined;
  closeCode: number | undefined;
  endedAt: number | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private nextId = 1;

  private constructor(
    readonly socket: net.Socket,
    leftover: Buffer,
  ) {
    this.buffer = leftover;
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.parse();
    });
    socket.on('close', () => (this.endedAt = Date.now()));
    socket.on('error', () => undefined);
  }

  /** Upgrades; resolves with the socket, or with the refusal's status line and body. */
  static async open(port: number, opts: { localAddress?: string; host?: string; origin?: string } = {}): Promise<RawSocket | { status: number; body: string }> {
    const socket = net.connect({ port, host: '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${opts.host ?? `127.0.0.1:${port}`}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${opts.origin ? `Origin: ${opts.origin}\r\n` : ''}\r\n`,
    );
    let leftover = Buffer.alloc(0);
    const head = await new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        got = Buffer.concat([got, d]);
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(got.toString('latin1'))?.[1]);
        if (status === 101) {
          leftover = got.subarray(end + 4);
          resolve(got.subarray(0, end));
        } else {
          socket.once('close', () => resolve(got));
          socket.on('data', (more: Buffer) => (got = Buffer.concat([got, more])));
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head.toString('latin1'))?.[1]);
    if (status !== 101) return { status, body: head.toString('utf8').split('\r\n\r\n')[1] ?? '' };
    const raw = new RawSocket(socket, leftover);
    raw.parse();
    return raw;
  }

  sendText(text: string): void {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const len = payload.length;
    const header = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
    const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
    if (!this.socket.destroyed) this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** Sends a request and resolves with its response. */
  async request(method: string, params: unknown): Promise<{ result?: unknown; error?: { code: string } }> {
    const id = this.nextId++;
    this.sendText(JSON.stringify({ v: PROTOCOL_VERSION, id, method, params }));
    return this.until(
      () => this.texts.find((t) => (t as { id?: number }).id === id) as { result?: unknown; error?: { code: string } } | undefined,
      `response ${id}`,
    );
  }

  async until<T>(probe: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  parse(): void {
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = (this.buffer[0] as number) & 0x0f;
      let len = (this.buffer[1] as number) & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        len = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + len) return;
      const payload = this.buffer.subarray(offset, offset + len);
      this.buffer = this.buffer.subarray(offset + len);
      if (opcode === 1) this.texts.push(JSON.parse(payload.toString('utf8')));
      if (opcode === 8) {
        this.closeFrameAt ??= Date.now();
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
      }
    }
  }
}

function opened(r: RawSocket | { status: number }): RawSocket {
  if (!(r instanceof RawSocket)) assert.fail(`upgrade refused with HTTP ${r.status}`);
  return r;
}

/** One HTTP request with full control over Host, source address and headers. */
function rawHttp(port: number, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string; localAddress?: string }) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: opts.headers ?? {},
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const createBody = { method: 'POST', path: '/api/sessions', headers: { 'content-type': 'application/json' }, body: '{}' };

async function metric(plane: ControlPlane, pattern: RegExp): Promise<number> {
  const m = pattern.exec(await plane.metrics.text());
  return m ? Number(m[1]) : 0;
}

async function eventually(probe: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw socket joined with a viewer link; resolves with it and its participant id. */
async function rawViewer(plane: ControlPlane, viewerLink: string, sessionId: string, name: string) {
  const raw = opened(await RawSocket.open(plane.port));
  const joined = await raw.request('session.join', { sessionId, token: tokenOf(viewerLink), name });
  const self = (joined.result as { self?: { id: string } } | undefined)?.self;
  assert.ok(self, `join failed: ${JSON.stringify(joined.error)}`);
  return { raw, id: self.id };
}

describe('control plane: hardened edges', () => {
  let plane: ControlPlane | undefined;
  const clients: Array<{ kill(): void } | RawSocket> = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) {
      if (c instanceof RawSocket) c.destroy();
      else c.kill();
    }
    await plane?.close();
    plane = undefined;
  });

  describe('F1: a socket the server closed', () => {
    it('a removed guest that ignores the close frame reaches the host no more, and is cut within 2 s', async () => {
      plane = await startTestServer();
      const s = await createSession(plane);
      const host = await TestClient.connect(plane.url);
      clients.push(host);
      const { self } = await host.join(s.sessionId, s.hostToken, 'Host');
      const { raw: guest, id: guestId } = await rawViewer(plane, s.links.viewer.url, s.sessionId, 'Mallory');
      clients.push(guest);
      const hello = { to: self.id, payload: { kind: 'hello', reason: 'join' } };

      // Before the removal its signal is relayed: the path works.
      assert.deepEqual((await guest.request('signal.send', hello)).result, {});
      await host.waitFor(Signal, (p) => p.from === guestId);

      await host.request(RemoveParticipant, { participantId: guestId });
      await guest.until(() => guest.closeFrameAt, 'the close frame');
      assert.equal(guest.closeCode, 4004);
      // It ignores the close and keeps signalling the host, as a hostile client would.
      for (let i = 0; i < 5; i++) guest.sendText(JSON.stringify({ v: PROTOCOL_VERSION, id: 100 + i, method: 'signal.send', params: hello }));
      await guest.until(() => guest.endedAt, 'the server to cut the socket', 2500);
      assert.ok(guest.endedAt! - guest.closeFrameAt! < 2000, `cut ${guest.endedAt! - guest.closeFrameAt!} ms after the close frame`);
      // Before that, the server read all five (counted as dropped) and acted on none of them.
      assert.equal(await metric(plane, /^pairux_ws_dropped_after_close_total (\d+)/m), 5);
      assert.equal(host.received(Signal).length, 1, 'only the signal sent before the removal reached the host');
      assert.equal(
        guest.texts.filter((t) => (t as { id?: number }).id !== undefined && (t as { id: number }).id >= 100).length,
        0,
        'no answer to a late request',
      );
    });

    it('a guest closed for silence cannot signal the host while its seat waits for it to come back', async () => {
      plane = await startTestServer({ heartbeatIntervalMs: 200 });
      const s = await createSession(plane);
      const host = await TestClient.connect(plane.url);
      clients.push(host);
      const { self } = await host.join(s.sessionId, s.hostToken, 'Host');
      const beat = setInterval(() => host.heartbeat(), 100);
      try {
        const { raw: guest, id: guestId } = await rawViewer(plane, s.links.viewer.url, s.sessionId, 'Quiet');
        clients.push(guest);
        const hello = JSON.stringify({
          v: PROTOCOL_VERSION,
          id: 50,
          method: 'signal.send',
          params: { to: self.id, payload: { kind: 'hello', reason: 'join' } },
        });
        guest.sendText(hello);
        await host.waitFor(Signal, (p) => p.from === guestId);
        // Silent past three heartbeats: the server closes it; its seat stays for the reconnect grace.
        await guest.until(() => guest.closeFrameAt, 'the heartbeat close', 3000);
        for (let i = 0; i < 5; i++) guest.sendText(hello.replace('"id":50', `"id":${100 + i}`));
        await eventually(
          async () => host.received(Signal).length > 1 || (await metric(plane!, /^pairux_ws_dropped_after_close_total (\d+)/m)) >= 5,
          'the five late messages read (relayed or dropped)',
        );
        assert.equal(host.received(Signal).length, 1, 'only the signal sent before the close reached the host');
      } finally {
        clearInterval(beat);
      }
    });

    it('a flooding guest is closed (1008), and the session hears it is gone at once, not when the socket dies', async () => {
      // A long grace: if the service learned of the drop only when the socket died, the host would hear it after 5 s.
      plane = await startTestServer({ messageRatePerSecond: 20, closeGraceMs: 5000 });
      const s = await createSession(plane);
      const host = await TestClient.connect(plane.url);
      clients.push(host);
      await host.join(s.sessionId, s.hostToken, 'Host');
      const { raw: guest, id: guestId } = await rawViewer(plane, s.links.viewer.url, s.sessionId, 'Flood');
      clients.push(guest);
      // 200 messages/s against a limit of 20/s, for up to 3 s: a flood, not a burst.
      const heartbeat = JSON.stringify({ v: PROTOCOL_VERSION, method: 'heartbeat', params: {} });
      const started = Date.now();
      while (guest.closeFrameAt === undefined && Date.now() - started < 3000) {
        guest.sendText(heartbeat);
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(guest.closeFrameAt, 'the flooding socket was closed');
      assert.equal(guest.closeCode, 1008);
      const gone = await host.waitFor(ParticipantUpdated, (p) => p.participant.id === guestId && !p.participant.connected, 4000);
      assert.equal(gone.participant.connected, false);
      assert.ok(Date.now() - guest.closeFrameAt! < 1500, `the host heard of the drop ${Date.now() - guest.closeFrameAt!} ms after the close`);
      assert.equal(guest.endedAt, undefined, 'the socket itself is still within its grace');
    });
  });

  describe('F4: sockets that never join, slow HTTP', () => {
    it('caps unjoined sockets per address (429) and in all (503), while a legitimate join still works', async () => {
      plane = await startTestServer({ maxUnjoinedSocketsPerIp: 2, maxUnjoinedSockets: 4, joinTimeoutMs: 1500 });
      const s = await createSession(plane);
      const port = plane.port;
      const a1 = opened(await RawSocket.open(port, { localAddress: '127.0.0.2' }));
      const a2 = opened(await RawSocket.open(port, { localAddress: '127.0.0.2' }));
      clients.push(a1, a2);
      const perIp = await RawSocket.open(port, { localAddress: '127.0.0.2' });
      assert.ok(!(perIp instanceof RawSocket));
      assert.equal(perIp.status, 429);
      assert.equal(HttpErrorResponse.parse(JSON.parse(perIp.body)).error.code, ErrorCode.RateLimited);

      // Another address joins while 127.0.0.2 is at its cap.
      const legit = await TestClient.connect(plane.url);
      clients.push(legit);
      await legit.join(s.sessionId, tokenOf(s.links.viewer.url), 'Legit');

      const b1 = opened(await RawSocket.open(port, { localAddress: '127.0.0.3' }));
      const b2 = opened(await RawSocket.open(port, { localAddress: '127.0.0.3' }));
      clients.push(b1, b2);
      const global = await RawSocket.open(port, { localAddress: '127.0.0.4' });
      assert.ok(!(global instanceof RawSocket));
      assert.equal(global.status, 503);

      // A socket that joins leaves the count: room for one more.
      await b1.request('session.join', { sessionId: s.sessionId, token: tokenOf(s.links.viewer.url), name: 'Late' });
      const c1 = opened(await RawSocket.open(port, { localAddress: '127.0.0.4' }));
      clients.push(c1);

      // The join deadline still closes the idle ones, which frees their slots.
      await a1.until(() => a1.closeFrameAt, 'the join deadline', 4000);
      assert.equal(a1.closeCode, 1008);
      await eventually(
        async () => await RawSocket.open(port, { localAddress: '127.0.0.2' }).then((r) => (r instanceof RawSocket ? (clients.push(r), true) : false)),
        'a slot for 127.0.0.2 again',
        3000,
      );
    });

    it('cuts a client that sends its headers a line at a time', async () => {
      plane = await startTestServer({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
      const socket = net.connect({ port: plane.port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      await new Promise((r) => socket.once('connect', r));
      const started = Date.now();
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${plane.port}\r\n`);
      const trickle = setInterval(() => socket.writable && socket.write(`X-Slow-${Date.now()}: 1\r\n`), 200);
      const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 5000))]);
      clearInterval(trickle);
      socket.destroy();
      assert.ok(ms < 3000, `cut after ${ms} ms`);
      assert.match(answer, /^HTTP\/1\.1 408/);
    });

    it('answers a trickled request body with 408 and hangs up', async () => {
      plane = await startTestServer({ headersTimeoutMs: 1000, requestTimeoutMs: 5000, bodyTimeoutMs: 1000 });
      const socket = net.connect({ port: plane.port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      await new Promise((r) => socket.once('connect', r));
      const started = Date.now();
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
      socket.write(`POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1:${plane.port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
      const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
      const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 5000))]);
      clearInterval(trickle);
      socket.destroy();
      assert.ok(ms < 2500, `cut after ${ms} ms`);
      assert.match(answer, /^HTTP\/1\.1 408/);
      assert.match(answer, /"code":"TIMEOUT"/);
    });
  });

  describe('F5: session creation', () => {
    it('needs a host key when the public URL is not loopback, whatever the bind address', () => {
      assert.throws(() => resolveConfig({ host: '127.0.0.1', publicUrl: 'https://pairux.example.com' }), /host key/);
      assert.doesNotThrow(() => resolveConfig({ host: '127.0.0.1', publicUrl: 'https://pairux.example.com', hostKey: 'a-long-enough-host-key' }));
      assert.doesNotThrow(() => resolveConfig({ host: '127.0.0.1', publicUrl: 'http://localhost:4000' }));
      assert.doesNotThrow(() => resolveConfig({ host: '::1', publicUrl: 'http://[::1]:4000' }));
      assert.throws(() => resolveConfig({ host: '127.0.0.1.nip.io' }), /host key/);
    });

    it('reads the edge settings from the environment', () => {
      const config = resolveConfig(
        configFromEnv({
          PAIRUX_ALLOWED_HOSTS: 'pairux.lan, pairux.internal:8443',
          PAIRUX_TRUST_PROXY: 'true',
          PAIRUX_MAX_UNJOINED_SOCKETS: '50',
          PAIRUX_MAX_UNJOINED_SOCKETS_PER_IP: '5',
          PAIRUX_HEADERS_TIMEOUT_MS: '2000',
          PAIRUX_REQUEST_TIMEOUT_MS: '4000',
          PAIRUX_BODY_TIMEOUT_MS: '3000',
          PAIRUX_SESSION_CREATES_PER_MINUTE: '0',
          PAIRUX_METRICS_TOKEN: 'a-metrics-token-long-enough',
        }),
      );
      assert.deepEqual(
        [
          config.allowedHosts,
          config.trustProxy,
          config.maxUnjoinedSockets,
          config.maxUnjoinedSocketsPerIp,
          config.headersTimeoutMs,
          config.requestTimeoutMs,
          config.bodyTimeoutMs,
          config.sessionCreatesPerMinute,
          config.metricsToken,
        ],
        [['pairux.lan', 'pairux.internal:8443'], true, 50, 5, 2000, 4000, 3000, 0, 'a-metrics-token-long-enough'],
      );
      const defaults = resolveConfig(configFromEnv({}));
      assert.deepEqual(
        [
          defaults.trustProxy,
          defaults.maxUnjoinedSockets,
          defaults.maxUnjoinedSocketsPerIp,
          defaults.headersTimeoutMs,
          defaults.requestTimeoutMs,
          defaults.sessionCreatesPerMinute,
        ],
        [false, 1000, 20, 10_000, 30_000, 10],
      );
      assert.throws(() => resolveConfig({ headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 }), /requestTimeoutMs/);
    });

    it('counts only real loopback addresses as loopback', () => {
      for (const h of ['127.0.0.1', '127.5.6.7', '::1', '[::1]', '0:0:0:0:0:0:0:1', 'localhost', 'LocalHost', '::ffff:127.0.0.1'])
        assert.equal(isLoopbackHost(h), true, h);
      for (const h of ['127.0.0.1.evil.com', '127.evil', '127.0.0.256', '0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'localhost.evil.com'])
        assert.equal(isLoopbackHost(h), false, h);
    });

    it('limits sessions per client address and says when to retry; other addresses still create', async () => {
      // A burst of twice the rate, then one per 60/3 s.
      plane = await startTestServer({ sessionCreatesPerMinute: 3 });
      for (let i = 0; i < 6; i++) assert.equal((await rawHttp(plane.port, createBody)).status, 201);
      const refused = await rawHttp(plane.port, createBody);
      assert.equal(refused.status, 429);
      const retry = Number(refused.headers['retry-after']);
      assert.ok(retry >= 19 && retry <= 20, `Retry-After ${retry}`);
      const body = HttpErrorResponse.parse(JSON.parse(refused.body));
      assert.equal(body.error.code, ErrorCode.RateLimited);
      assert.equal(body.error.data?.retryAfterSeconds, retry);
      assert.equal((await rawHttp(plane.port, { ...createBody, localAddress: '127.0.0.2' })).status, 201);
      assert.equal(plane.service.localSessions.size, 7);
    });

    it('keeps its per-address memory bounded, forgetting the least recently seen address first', () => {
      let now = 0;
      const limit = new AddressRateLimit(1, 60_000, 3, () => now);
      for (const a of ['a', 'a', 'a']) limit.take(a);
      assert.ok(limit.take('a') > 0, 'a is over its burst');
      for (const a of ['b', 'c', 'd']) assert.equal(limit.take(a), 0);
      // 'a' was the least recently seen of four: forgotten, so it starts afresh.
      assert.equal(limit.take('a'), 0);
      assert.equal((limit as unknown as { buckets: Map<string, unknown> }).buckets.size, 3);
      now += 30_000;
      assert.equal(limit.take('d'), 0, 'half a window refills half a token, plus the one left');
    });

    it('behind a trusted proxy, counts each forwarded client on its own', async () => {
      plane = await startTestServer({ sessionCreatesPerMinute: 1, trustProxy: true });
      const from = (ip: string) => rawHttp(plane!.port, { ...createBody, headers: { ...createBody.headers, 'x-forwarded-for': `198.51.100.7, ${ip}` } });
      assert.equal((await from('203.0.113.1')).status, 201);
      assert.equal((await from('203.0.113.1')).status, 201);
      assert.equal((await from('203.0.113.1')).status, 429);
      assert.equal((await from('203.0.113.2')).status, 201);
    });
  });

  describe('low findings', () => {
    it('refuses Host names it does not serve (DNS rebinding) on HTTP and on the socket, and checks Origin against its own list', async () => {
      plane = await startTestServer({ allowedHosts: ['pairux.internal'] });
      const port = plane.port;
      const evil = `rebind.evil:${port}`;
      assert.equal((await rawHttp(port, { headers: { host: evil } })).status, 421);
      const create = await rawHttp(port, { ...createBody, headers: { ...createBody.headers, host: evil, origin: `http://${evil}` } });
      assert.equal(create.status, 421);
      assert.equal(plane.service.localSessions.size, 0);
      const upgrade = await RawSocket.open(port, { host: evil, origin: `http://${evil}` });
      assert.equal((upgrade as { status: number }).status, 421);
      // Its own name with a foreign page's Origin: refused; its own origins: open.
      const foreign = await RawSocket.open(port, { origin: `http://rebind.evil:${port}` });
      assert.equal((foreign as { status: number }).status, 403);
      for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://pairux.internal:${port}`]) {
        const ok = await RawSocket.open(port, { origin });
        assert.ok(ok instanceof RawSocket, origin);
        clients.push(ok);
      }
      // Behind a proxy on another port, an allowed Host with the matching Origin is the server's own page.
      const proxied = await RawSocket.open(port, { host: 'pairux.internal:8443', origin: 'https://pairux.internal:8443' });
      assert.ok(proxied instanceof RawSocket, 'proxied own origin');
      clients.push(proxied);
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `pairux.internal:${port}`, `[::1]:${port}`]) {
        assert.equal((await rawHttp(port, { headers: { host } })).status, 200, host);
      }
    });

    it("does not count a client's own error responses as errors of the server", async () => {
      plane = await startTestServer();
      const c = await TestClient.connect(plane.url);
      clients.push(c);
      for (let i = 0; i < 20; i++) c.sendRaw(JSON.stringify({ v: PROTOCOL_VERSION, id: null, error: { code: 'INTERNAL', message: 'fake' } }));
      c.sendRaw(JSON.stringify({ v: PROTOCOL_VERSION, id: 999, error: { code: 'INTERNAL', message: 'fake' } }));
      c.sendRaw(JSON.stringify({ v: PROTOCOL_VERSION, id: 998, result: {} }));
      // A genuinely bad message after them: once it is counted, the fakes were read too.
      c.sendRaw('{not json');
      await eventually(async () => (await metric(plane!, /^pairux_errors_total\{code="BAD_MESSAGE"\} (\d+)/m)) >= 1, 'the bad message counted');
      assert.equal(await metric(plane, /^pairux_errors_total\{code="INTERNAL"\} (\d+)/m), 0);
      assert.equal(await metric(plane, /^pairux_errors_total\{code="BAD_MESSAGE"\} (\d+)/m), 1);
    });

    it('refuses replayed and stale LiveKit webhooks', async () => {
      const keys = { deploymentId: 'default', apiKey: 'APIreplay', apiSecret: 'a-secret-that-is-long-enough-for-livekit' };
      const verifier = new SfuWebhookVerifier([keys]);
      const signed = async (event: object) => {
        const body = JSON.stringify({ event: 'room_started', room: { name: 'r1' }, ...event });
        const token = new AccessToken(keys.apiKey, keys.apiSecret);
        token.sha256 = createHash('sha256').update(body).digest('base64');
        return { body, auth: await token.toJwt() };
      };
      const now = String(Math.floor(Date.now() / 1000));
      const fresh = await signed({ id: 'EV_fresh', createdAt: now });
      assert.equal((await verifier.verify(fresh.body, fresh.auth)).event.id, 'EV_fresh');
      await assert.rejects(verifier.verify(fresh.body, fresh.auth), /already received/);
      const stale = await signed({ id: 'EV_stale', createdAt: String(Math.floor(Date.now() / 1000) - 600) });
      await assert.rejects(verifier.verify(stale.body, stale.auth), /not within 5 minutes/);
      const other = await signed({ id: 'EV_other', createdAt: now });
      assert.equal((await verifier.verify(other.body, other.auth)).event.id, 'EV_other');
    });

    it('serves no source maps, and the bundles link none', async () => {
      plane = await startTestServer();
      assert.equal((await fetch(`${plane.url}/dist/webview/viewer.js.map`)).status, 404);
      const js = await fetch(`${plane.url}/dist/webview/viewer.js`);
      assert.equal(js.status, 200);
      assert.ok(!/sourceMappingURL/.test(await js.text()), 'viewer.js links a source map');
    });

    it('serves /metrics to this machine or to the metrics token only', async () => {
      plane = await startTestServer({ metricsToken: 'a-metrics-token-long-enough', trustProxy: true });
      assert.equal((await rawHttp(plane.port, { path: '/metrics' })).status, 200);
      const remote = await rawHttp(plane.port, { path: '/metrics', headers: { 'x-forwarded-for': '203.0.113.9' } });
      assert.equal(remote.status, 401);
      assert.doesNotMatch(remote.body, /pairux_/);
      const wrong = await rawHttp(plane.port, {
        path: '/metrics',
        headers: { 'x-forwarded-for': '203.0.113.9', authorization: 'Bearer not-the-metrics-token' },
      });
      assert.equal(wrong.status, 401);
      const right = await rawHttp(plane.port, {
        path: '/metrics',
        headers: { 'x-forwarded-for': '203.0.113.9', authorization: 'Bearer a-metrics-token-long-enough' },
      });
      assert.equal(right.status, 200);
      assert.match(right.body, /pairux_sessions/);
    });

    it('says the state store is unreachable without repeating its error text', async () => {
      const store = new MemoryRoomStateStore();
      store.countLiveSessions = () => Promise.reject(new Error('connect ECONNREFUSED 10.9.8.7:6379 (user admin, password hunter2)'));
      plane = await startControlPlane({ host: '127.0.0.1', port: 0 }, { store });
      const health = JSON.parse((await rawHttp(plane.port, { path: '/healthz' })).body) as { ok: boolean; stateStore: string; sessions: unknown };
      assert.deepEqual([health.ok, health.stateStore, health.sessions], [true, 'unreachable', null]);
    });

    it('does not log an aborted POST as an internal error', async () => {
      plane = await startTestServer();
      const logged: string[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
      try {
        const socket = net.connect({ port: plane.port, host: '127.0.0.1' });
        socket.on('error', () => undefined);
        await new Promise((r) => socket.once('connect', r));
        socket.write(`POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1:${plane.port}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"mo`);
        await new Promise((r) => setTimeout(r, 100));
        socket.destroy();
        // The server saw the request end early (counted), and logged nothing about it.
        await eventually(async () => (await metric(plane!, /^pairux_errors_total\{code="(?:CLOSED|INTERNAL)"\} (\d+)/m)) >= 1, 'the abort counted');
      } finally {
        console.error = original;
      }
      assert.deepEqual(
        logged.filter((l) => /internal error/.test(l)),
        [],
      );
      assert.equal(await metric(plane, /^pairux_errors_total\{code="INTERNAL"\} (\d+)/m), 0);
      assert.equal(await metric(plane, /^pairux_errors_total\{code="CLOSED"\} (\d+)/m), 1);
    });
  });
});
