/**
 * A hostile server cannot make a guest the host (F2). The attacker is the server here, so it is a
 * hand-written `ws` server speaking the signaling protocol; the guest is the pages' real
 * SignalingClient (what the VS Code guest panel runs) and the extension's real decision module.
 * The real viewer page runs in Chromium against the same server, which serves it the built bundle.
 * Before the fix, a join answered with `role: 'host'` was reported as `joinedAs: 'host'`, which
 * started the helper and shared the screen. With an honest server, an offer the user accepted
 * still makes the guest the host.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { WebSocketServer, type WebSocket } from 'ws';
import { launchChromium } from '../../demo/chromium';
import { findWebviewDist } from '../../server/static-files';
import { ErrorCode, type PairuxError } from '../../protocol/errors';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import type { ResultOf } from '../../protocol/rpc';
import { CloseCode, HostChanged, HostOfferEnded, HostOffered, Join, MakeHost, signalingBoundary, type Participant } from '../../protocol/signaling';
import type { ShellStatusParams } from '../../protocol/webview-shell';
import { HostSeatConsent } from '../../extension/core/host-seat';
import { silentLogger } from '../../webview/engine/logger';
import { memoryResumeStore } from '../../webview/engine/signaling/resume-store';
import { SignalingClient, UNASKED_HOST_REASON, type HostOffer } from '../../webview/engine/signaling/signaling-client';
import type { ControlPlane } from '../../server/control-plane';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { nodeWsTransport, TestClient } from '../support/signaling-client';
import { TEST_PAGES_DIR } from '../support/test-pages';

const SESSION = 'sess-evil';
const ME = 'c-guest';

function participant(id: string, role: Participant['role'], name: string): Participant {
  return { id, name, role, connected: true, controlState: 'none', joinedAt: Date.now(), client: 'vscode' };
}

function joinResult(role: Participant['role']): ResultOf<typeof Join> {
  return {
    session: { id: SESSION, mode: 'p2p', media: 'p2p', hostId: role === 'host' ? ME : 'host-1', createdAt: Date.now() },
    self: participant(ME, role, 'Guest'),
    participants: role === 'host' ? [] : [participant('host-1', 'host', 'Hana')],
    iceServers: [],
    resume: { participantId: ME, secret: 'a-ticket-that-is-long-enough' },
    resumed: false,
    reconnectGraceMs: 30_000,
    heartbeatIntervalMs: 10_000,
    epoch: 0,
  };
}

/**
 * The attacker: serves the real viewer page at /s/<id>, answers each join on /ws with
 * `answer(n)` (n counts joins), and can notify or close the latest socket.
 */
class HostileServer {
  readonly joins: Array<ResultOf<typeof Join>['self']['role']> = [];
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private latest: { ws: WebSocket; rpc: RpcEndpoint } | undefined;

  constructor(answer: (n: number) => Participant['role']) {
    const dist = findWebviewDist(TEST_PAGES_DIR);
    this.http = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const file = url.pathname.startsWith('/s/') ? 'viewer.html' : url.pathname.startsWith('/dist/webview/') ? path.basename(url.pathname) : undefined;
      if (!file || !/^[\w.-]+$/.test(file)) return void res.writeHead(404).end();
      try {
        const body = readFileSync(path.join(dist, file));
        res.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : file.endsWith('.css') ? 'text/css' : 'text/javascript' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    this.http.listen(0, '127.0.0.1');
    this.wss = new WebSocketServer({ server: this.http, path: '/ws' });
    this.wss.on('connection', (ws) => {
      const rpc = new RpcEndpoint({ boundary: signalingBoundary, side: 'b', send: (t) => ws.send(t) });
      rpc.onRequest(Join, () => {
        const role = answer(this.joins.length);
        this.joins.push(role);
        return joinResult(role);
      });
      ws.on('message', (d) => rpc.receive(d.toString()));
      ws.on('close', () => rpc.close());
      this.latest = { ws, rpc };
    });
  }

  listening(): Promise<void> {
    return new Promise((resolve) => (this.http.listening ? resolve() : this.http.once('listening', () => resolve())));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  offer(offerId: string): void {
    this.latest!.rpc.notify(HostOffered, { offerId, participantId: ME, fromId: 'host-1', fromName: 'Hana', expiresAt: Date.now() + 60_000 });
  }

  closeLatest(code: number): void {
    this.latest!.ws.close(code, 'rejoin');
  }

  /** Whether the guest closed its socket (it left). */
  async guestClosed(): Promise<boolean> {
    const ws = this.latest!.ws;
    if (ws.readyState === ws.CLOSED) return true;
    return new Promise((resolve) => ws.once('close', () => resolve(true)));
  }

  close(): void {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
    this.http.close();
  }
}

function guestClient(baseUrl: string, sessionId = SESSION, token = 'any-token'): SignalingClient {
  return new SignalingClient({
    transport: nodeWsTransport(baseUrl),
    sessionId,
    token,
    name: 'Guest',
    client: { kind: 'vscode' },
    resumeStore: memoryResumeStore(),
    asGuest: true,
    initialBackoffMs: 10,
    log: silentLogger,
  });
}

/** What the guest panel reports to the extension from this client (as viewer-page.ts builds it). */
function pageStatus(client: SignalingClient): ShellStatusParams {
  const selfId = client.self?.id;
  return {
    state: 'joined',
    message: '',
    participants: [...client.participants.values()],
    driverId: null,
    ...(selfId ? { selfId } : {}),
    ...(client.lastJoin ? { resume: client.lastJoin.resume, joinedAs: client.lastJoin.self.role } : {}),
  };
}

function outcome(client: SignalingClient): Promise<{ joinedAs: Participant['role'] } | { error: PairuxError }> {
  return new Promise((resolve) => {
    client.on('joined', ({ result }) => resolve({ joinedAs: result.self.role }));
    client.on('failed', ({ error }) => resolve({ error }));
  });
}

describe('webview: a guest becomes host only by an offer its user accepted', function () {
  this.timeout(20_000);
  let evil: HostileServer | undefined;
  let plane: ControlPlane | undefined;
  const clients: Array<SignalingClient | TestClient> = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) {
      if (c instanceof TestClient) c.close();
      else c.dispose();
    }
    evil?.close();
    evil = undefined;
    await plane?.close();
    plane = undefined;
  });

  it("a hostile server answering the guest's join with the host's seat and a ticket: the guest leaves, never reports host, and the extension refuses to share", async () => {
    evil = new HostileServer(() => 'host');
    await evil.listening();
    const guest = guestClient(evil.url);
    clients.push(guest);
    const result = outcome(guest);
    guest.start();
    const r = await result;
    // The join reached the guest (the server answered it as host), and the guest refused it.
    assert.deepEqual(evil.joins, ['host']);
    assert.ok('error' in r, `the guest reported joining as ${'joinedAs' in r ? r.joinedAs : '?'}`);
    assert.equal(r.error.code, ErrorCode.Forbidden);
    assert.equal(r.error.data?.reason, UNASKED_HOST_REASON);
    assert.match(r.error.message, /never accepted an offer to take over\. Nothing was shared and you left the session/);
    assert.equal(await evil.guestClosed(), true, 'the guest closed its connection');
    assert.equal(guest.state, 'failed');
    assert.equal(guest.lastJoin, undefined, 'no join as host is on record for the page to report');
    // The extension's own check, given what such a page would report, refuses too.
    const consent = new HostSeatConsent();
    const forged: ShellStatusParams = { ...pageStatus(guest), selfId: ME, joinedAs: 'host', resume: joinResult('host').resume };
    const decision = consent.mayTakeOver(forged);
    assert.equal(decision.ok, false);
    assert.ok(!decision.ok && decision.unasked);
  });

  describe('the real viewer page in Chromium', function () {
    let browser: Browser;
    before(async () => {
      browser = await launchChromium();
    });
    after(() => browser?.close());

    it('a join answered with the host seat: the page leaves, says why in plain words, and never says it is the host', async () => {
      evil = new HostileServer(() => 'host');
      await evil.listening();
      // A link shaped like a real one (its claims are readable; only the server checks the signature).
      const claims = Buffer.from(JSON.stringify({ sid: SESSION, role: 'controller', exp: Math.floor(Date.now() / 1000) + 3600, jti: 'x1' })).toString(
        'base64url',
      );
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${evil.url}/s/${SESSION}#t=eyJhbGciOiJIUzI1NiJ9.${claims}.c2lnbmF0dXJl&name=Guest`);
        await page
          .waitForFunction(() => document.body.dataset.state === 'error', undefined, { timeout: 15_000 })
          .catch(async () => {
            throw new Error(
              `the page is '${await page.evaluate(() => document.body.dataset.state)}': ${await page.evaluate(() => document.querySelector('#title')?.textContent)}`,
            );
          });
        assert.deepEqual(evil.joins, ['host'], 'the page joined and the server answered it as host');
        assert.equal(await page.evaluate(() => document.body.dataset.errorCode), UNASKED_HOST_REASON);
        assert.match((await page.evaluate(() => document.querySelector('#title')?.textContent)) ?? '', /server tried to share your screen/);
        assert.match((await page.evaluate(() => document.querySelector('#message')?.textContent)) ?? '', /Nothing was shared and you left the session/);
        assert.doesNotMatch(await page.evaluate(() => document.body.textContent ?? ''), /You are the host now/);
        assert.equal(await page.evaluate(() => typeof window.pairuxViewer), 'object', 'the test pages carry the hook asked next');
        assert.equal(await page.evaluate(() => window.pairuxViewer?.selfId), undefined, 'no identity taken from that join');
        assert.equal(await evil.guestClosed(), true, 'the page closed its connection');
      } finally {
        await context.close();
      }
    });
  });

  it('a hostile server that offers the seat, then answers the rejoin as host although the user never accepted: refused the same way', async () => {
    evil = new HostileServer((n) => (n === 0 ? 'controller' : 'host'));
    await evil.listening();
    const guest = guestClient(evil.url);
    clients.push(guest);
    const offered = new Promise<HostOffer>((resolve) => guest.on('hostOffered', ({ offer }) => resolve(offer)));
    const joined = new Promise<void>((resolve) => guest.once('joined', () => resolve()));
    guest.start();
    await joined;
    evil.offer('offer-1');
    assert.equal((await offered).offerId, 'offer-1', 'the offer reached the guest');
    const result = outcome(guest);
    evil.closeLatest(CloseCode.HostChanged);
    const r = await result;
    assert.deepEqual(evil.joins, ['controller', 'host']);
    assert.ok('error' in r && r.error.data?.reason === UNASKED_HOST_REASON, 'the unasked host seat was refused');
    assert.equal(guest.lastJoin?.self.role, 'controller', 'the page still reports the guest seat it joined with');
  });

  it('with an honest server, the offer the user accepted makes the guest the host (and the extension agrees); a declined one changes nothing and tells the host', async () => {
    plane = await startTestServer();
    const s = await createSession(plane);
    const host = await TestClient.connect(plane.url);
    clients.push(host);
    await host.join(s.sessionId, s.hostToken, 'Hana', { client: { kind: 'vscode' } });
    for (const type of [HostOfferEnded]) host.endpoint.onNotification(type, (params) => void host.notifications.push({ method: type.method, params }));
    const guest = guestClient(plane.url, s.sessionId, tokenOf(s.links.controller.url));
    clients.push(guest);
    const offers: HostOffer[] = [];
    guest.on('hostOffered', ({ offer }) => offers.push(offer));
    const joined = new Promise<void>((resolve) => guest.once('joined', () => resolve()));
    guest.start();
    await joined;
    const me = guest.self!.id;

    // Declined: the host hears it, nothing moves.
    await host.request(MakeHost, { participantId: me });
    await host.until(() => offers[0], 'the first offer');
    await guest.declineHostOffer(offers[0]!.offerId);
    const ended = await host.waitFor(HostOfferEnded);
    assert.equal(ended.reason, 'declined');
    assert.equal(guest.lastJoin?.self.role, 'controller');

    // Accepted: the user's consent on both sides, then the rejoin as host is taken.
    await host.request(MakeHost, { participantId: me });
    const second = await host.until(() => offers[1], 'the second offer');
    const consent = new HostSeatConsent();
    assert.equal(consent.shouldAsk(second, pageStatus(guest)), true);
    consent.accept(second);
    const asHost = new Promise<void>((resolve) => guest.on('joined', ({ result }) => result.self.role === 'host' && resolve()));
    await guest.acceptHostOffer(second.offerId);
    await host.waitFor(HostChanged, (c) => c.hostId === me);
    await asHost;
    assert.equal(guest.state, 'joined');
    assert.deepEqual(consent.mayTakeOver(pageStatus(guest)), { ok: true });
  });
});
