/**
 * Host rights follow the seat, not the connection (review F1/S3): after a host transfer the
 * ex-host's old connection — here one the server closed but that still speaks, as a socket does
 * until its closing handshake ends — acts as the controller it now is. A removed guest's
 * connection can no longer signal anyone.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import type { NotificationType } from '../../protocol/rpc';
import { AcceptHost, CloseCode, ControlChanged, GetIceServers, HostOffered, LobbyKnock, RemoveParticipant, Signal } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import type { ClientConnection } from '../../server/session-service';
import type { ParticipantSink } from '../../server/signaling-transport';
import { rejects } from '../support/assertions';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { connectingTo, TestClient } from '../support/signaling-client';

/** A connection the server told to close, and which goes on sending anyway. */
class LingeringConnection {
  readonly closes: number[] = [];
  readonly notified: string[] = [];
  readonly connection: ClientConnection;

  constructor(plane: ControlPlane) {
    const sink: ParticipantSink = {
      notify: <P>(type: NotificationType<P>, params: P) => {
        this.notified.push(type.method);
        // As host it lets in whoever knocks: these tests are about what comes after.
        if (type.method === LobbyKnock.method) this.connection.lobby.admit((params as { participantId: string }).participantId).catch(() => undefined);
      },
      close: (code) => void this.closes.push(code),
    };
    this.connection = plane.service.connect(sink);
  }

  join(params: Parameters<ClientConnection['join']>[0]): ReturnType<ClientConnection['join']> {
    return this.connection.join(params);
  }

  async closedWith(code: number): Promise<void> {
    for (let i = 0; i < 100 && !this.closes.includes(code); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(this.closes.includes(code), `the server closed this connection with ${code} (got ${this.closes.join(', ') || 'nothing'})`);
  }
}

type Joined = Awaited<ReturnType<TestClient['join']>>;

describe('trust: rights follow the current state, not the role a connection joined with', function () {
  this.timeout(20_000);
  let plane: ControlPlane;
  const connect = connectingTo(() => plane);
  beforeEach(async () => {
    plane = await startTestServer();
  });
  afterEach(async () => {
    await plane.close();
  });

  /**
   * Hana hosts through a lingering connection and hands the seat to Ada, who comes back as the
   * host; Vic watches. Returns Hana's old connection, still open on her side.
   */
  async function transferred() {
    const s = await createSession(plane, { mode: 'p2p' });
    const hana = new LingeringConnection(plane);
    const h = await hana.join({ sessionId: s.sessionId, token: s.hostToken, name: 'Hana', client: { kind: 'vscode' } });
    const ada = await connect();
    const offered = new Promise<string>((resolve) => ada.endpoint.onNotification(HostOffered, (o) => resolve(o.offerId)));
    const a = await ada.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada', { client: { kind: 'vscode' } });
    const vic = await connect();
    const v: Joined = await vic.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    // Before the transfer the same connection holds the host's rights: the refusals below are about the transfer.
    await hana.connection.createLink({ role: 'viewer' });
    await hana.connection.participants.makeHost(a.self.id);
    await ada.request(AcceptHost, { offerId: await offered });
    await hana.closedWith(CloseCode.HostChanged);
    assert.equal(await ada.closed, CloseCode.HostChanged);
    const newHost = await connect();
    const back = await newHost.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada', { resume: a.resume });
    assert.deepEqual([back.self.role, back.session.hostId], ['host', a.self.id]);
    return { s, hana, h, newHost, a, vic, v };
  }

  it("an ex-host's old connection cannot grant itself control of the new host's machine", async () => {
    const { hana, h, newHost } = await transferred();
    const err = await rejects(hana.connection.control.grant(h.self.id), ErrorCode.Forbidden);
    assert.match(err.message, /only the host can grant control/i);
    // A round trip on the new host's socket: a grant would have been announced before its answer.
    await newHost.request(GetIceServers, {});
    assert.equal(newHost.received(ControlChanged).filter((c) => c.state === 'granted').length, 0, 'nobody was granted control');
  });

  it("an ex-host's old connection cannot remove a viewer", async () => {
    const { hana, newHost, vic, v } = await transferred();
    await rejects(hana.connection.participants.remove(v.self.id), ErrorCode.Forbidden);
    // Vic is still in and still connected: a round trip on Vic's socket answers.
    await vic.request(GetIceServers, {});
    assert.equal(vic.closeCode, undefined);
    // The current host can remove Vic: the refusal above was about who asked.
    await newHost.request(RemoveParticipant, { participantId: v.self.id });
    assert.equal(await vic.closed, CloseCode.Removed);
  });

  it("an ex-host's old connection cannot end the session, change roles or make links", async () => {
    const { hana, s, newHost, v } = await transferred();
    await rejects(hana.connection.end('bye'), ErrorCode.Forbidden);
    await rejects(hana.connection.participants.setRole(v.self.id, 'controller'), ErrorCode.Forbidden);
    await rejects(hana.connection.createLink({ role: 'controller' }), ErrorCode.Forbidden);
    assert.equal((await plane.service.preview(tokenOf(s.links.viewer.url))).hostConnected, true, 'the session goes on');
    await newHost.request(GetIceServers, {});
    assert.equal(newHost.closeCode, undefined);
  });

  it("an ex-host's old connection leaving does not end the new host's session", async () => {
    const { hana, s, newHost } = await transferred();
    await hana.connection.leave();
    assert.equal((await plane.service.preview(tokenOf(s.links.viewer.url))).hostConnected, true, 'the session goes on');
    await newHost.request(GetIceServers, {});
    assert.equal(newHost.closeCode, undefined);
  });

  it("a removed guest's later signals are refused and never reach the host", async () => {
    const s = await createSession(plane, { mode: 'p2p' });
    const host = await connect();
    const h = await host.join(s.sessionId, s.hostToken, 'Hana');
    const gus = new LingeringConnection(plane);
    const g = await gus.join({ sessionId: s.sessionId, token: tokenOf(s.links.viewer.url), name: 'Gus' });
    // While Gus is in, his hello reaches the host.
    await gus.connection.signal({ to: h.self.id, payload: { kind: 'hello', reason: 'join' } });
    await host.waitFor(Signal, (sig) => sig.from === g.self.id);
    await host.request(RemoveParticipant, { participantId: g.self.id });
    await gus.closedWith(CloseCode.Removed);
    const err = await rejects(gus.connection.signal({ to: h.self.id, payload: { kind: 'hello', reason: 'reconnect' } }), ErrorCode.PeerNotFound);
    assert.match(err.message, /no longer in this session/);
    // A round trip on the host's socket: a relayed signal would have arrived before its answer.
    await host.request(GetIceServers, {});
    assert.equal(host.received(Signal).length, 1, 'only the hello from before the removal reached the host');
  });
});
