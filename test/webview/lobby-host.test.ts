/**
 * The host page's lobby module (HostLobby) on the pages' real SignalingClient against the real
 * server: a knock goes to the runner with everything the prompt shows, the runner's answer lets
 * the guest in or turns it away, and with no runner to ask it is a no at once. The asker here
 * stands in for the runner's bridge (tests of the runner's prompts are in test/runner/).
 */
import assert from 'node:assert/strict';
import { Join } from '../../protocol/signaling';
import { PairuxError } from '../../protocol/errors';
import type { ResultOf } from '../../protocol/rpc';
import type { ControlPlane } from '../../server/control-plane';
import { HostLobby, type LobbyAsker } from '../../webview/engine/signaling/host-lobby';
import { silentLogger } from '../../webview/engine/logger';
import type { SignalingClient } from '../../webview/engine/signaling/signaling-client';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { joinedEngine, TestClient } from '../support/signaling-client';

type Asked = Parameters<LobbyAsker['admit']>[0];

describe('lobby: the host page asks its runner', function () {
  this.timeout(20_000);
  let plane: ControlPlane;
  let host: SignalingClient;
  let s: Awaited<ReturnType<typeof createSession>>;
  const clients: TestClient[] = [];

  beforeEach(async () => {
    plane = await startTestServer();
    s = await createSession(plane, { mode: 'p2p' });
    host = await joinedEngine(plane.url, s.sessionId, s.hostToken, 'Hana');
  });
  afterEach(async () => {
    host.dispose();
    for (const c of clients.splice(0)) c.close();
    await plane.close();
  });

  /** A guest knocking through the controller link; its join settles when the host decides. */
  async function knock(name: string) {
    const guest = await TestClient.connect(plane.url);
    clients.push(guest);
    const outcome: { result?: ResultOf<typeof Join>; error?: PairuxError } = {};
    const joined = guest
      .request(Join, { sessionId: s.sessionId, token: tokenOf(s.links.controller.url), name, client: { kind: 'vscode' } })
      .then((r) => void (outcome.result = r))
      .catch((e: unknown) => void (outcome.error = PairuxError.from(e)));
    return { guest, joined, outcome };
  }

  const hostSaw = () => new Promise<string>((resolve) => host.once('participantJoined', ({ participant }) => resolve(participant.name)));

  it('a knock waits for the runner, which is told who knocks; its yes lets the guest in', async () => {
    const lobby = new HostLobby({ signaling: host, log: silentLogger, runner: true });
    const asked: Asked[] = [];
    const { joined, outcome } = await knock('Ada');
    // The bridge is not open yet: the knock is held, not refused.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(outcome.error, undefined, 'not turned away while the runner is still connecting');
    const seen = hostSaw();
    lobby.setAsker({ admit: async (k) => (asked.push(k), { admit: true, reason: 'allowed' }) });
    await joined;
    assert.equal(outcome.result?.self.name, 'Ada');
    assert.equal(await seen, 'Ada');
    assert.equal(asked.length, 1);
    const k = asked[0]!;
    assert.deepEqual(
      { name: k.name, role: k.role, client: k.client, link: k.link, from: k.from, participantId: k.participantId },
      { name: 'Ada', role: 'controller', client: 'vscode', link: 'controller link', from: '127.0.0.1', participantId: outcome.result?.self.id },
    );
    assert.ok(outcome.result?.self.id.includes(k.shortId));
    assert.equal(lobby.admitted, 1);
  });

  it("the runner's no turns the guest away", async () => {
    const lobby = new HostLobby({ signaling: host, log: silentLogger, runner: true });
    lobby.setAsker({ admit: async () => ({ admit: false, reason: 'timeout' }) });
    const { joined, outcome, guest } = await knock('Gus');
    await joined;
    assert.equal(outcome.error?.data?.reason, 'lobby-denied');
    await guest.closed;
    assert.equal(lobby.denied, 1);
  });

  it('with no runner to ask (none, or its bridge closed) a knock is turned away at once', async () => {
    const lobby = new HostLobby({ signaling: host, log: silentLogger });
    const started = Date.now();
    const first = await knock('Val');
    await first.joined;
    assert.equal(first.outcome.error?.data?.reason, 'lobby-denied');
    assert.ok(Date.now() - started < 3000, 'at once, not at the deadline');

    let asked = 0;
    lobby.setAsker({ admit: async () => (asked++, { admit: true, reason: 'allowed' }) });
    lobby.setAsker(undefined);
    const second = await knock('Vee');
    await second.joined;
    assert.equal(second.outcome.error?.data?.reason, 'lobby-denied');
    assert.equal(asked, 0);
  });

  it('a knock repeated while the runner is asking is asked about once', async () => {
    const lobby = new HostLobby({ signaling: host, log: silentLogger, runner: true });
    let asked = 0;
    let answer: (() => void) | undefined;
    lobby.setAsker({
      admit: () =>
        new Promise((resolve) => {
          asked++;
          answer = () => resolve({ admit: true, reason: 'allowed' });
        }),
    });
    const { joined, outcome } = await knock('Ada');
    while (!answer) await new Promise((r) => setTimeout(r, 20));
    // The server repeats a knock when the host reconnects; here the page hears it again.
    (host as unknown as { emit(e: string, p: unknown): void }).emit('lobbyKnock', {
      participantId: await pendingId(),
      name: 'Ada',
      role: 'controller',
      shortId: 'x',
      from: '127.0.0.1',
      expiresAt: Date.now() + 60_000,
    });
    answer();
    await joined;
    assert.equal(asked, 1);
    assert.equal(outcome.result?.self.name, 'Ada');
  });

  /** The id of the one guest waiting (the server's lobby knows it before anyone else does). */
  async function pendingId(): Promise<string> {
    const waiters = (plane.service.lobby as unknown as { waiters: Map<unknown, { knock: { participantId: string } }> }).waiters;
    const [w] = waiters.values();
    assert.ok(w, 'someone waits');
    return w.knock.participantId;
  }
});
