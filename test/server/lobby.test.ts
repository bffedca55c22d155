/**
 * The lobby (issue 12): whoever opens a controller link waits, seatless and unseen, until the host
 * lets them in; a no, or no answer in time, refuses the join in plain words and spends nothing.
 * Viewers come straight in unless the host turns the lobby on for everyone. Only the seat's
 * current holder decides. Real server, real sockets.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import {
  AcceptHost,
  AdmitGuest,
  CloseCode,
  CreateLink,
  DenyGuest,
  HostOffered,
  Join,
  LobbyClosed,
  LobbyKnock,
  LobbyWaiting,
  MakeHost,
  ParticipantJoined,
  RequestControl,
  SendSignal,
  SetLobbyMode,
} from '../../protocol/signaling';
import type { ResultOf } from '../../protocol/rpc';
import type { ServerConfigInput } from '../../server/config';
import type { ControlPlane } from '../../server/control-plane';
import type { RoomStateStore } from '../../server/room-state-store';
import { shortId } from '../../runner/host-runner';
import { rejects } from '../support/assertions';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { connectingTo } from '../support/signaling-client';

type JoinResult = ResultOf<typeof Join>;

describe('lobby: the host lets people in', function () {
  this.timeout(20_000);
  let plane: ControlPlane;
  const connect = connectingTo(() => plane);
  /** The room state as the server keeps it. */
  const store = () => (plane.service as unknown as { deps: { store: RoomStateStore } }).deps.store;
  const start = async (config: ServerConfigInput = {}) => {
    plane = await startTestServer(config);
  };
  afterEach(async () => {
    await plane?.close();
  });

  /** A session whose host answers knocks only when the test says so. */
  async function hosting() {
    const s = await createSession(plane, { mode: 'p2p' });
    const host = await connect();
    host.autoAdmit = false;
    const h = await host.join(s.sessionId, s.hostToken, 'Hana');
    return { s, host, h };
  }

  /** A guest's join, started: it stays unanswered while the guest waits. */
  async function knocking(s: { sessionId: string }, token: string, name: string) {
    const guest = await connect();
    const outcome: { result?: JoinResult; error?: PairuxError } = {};
    const joined = guest
      .request(Join, { sessionId: s.sessionId, token, name, client: { kind: 'browser' } })
      .then((r) => void (outcome.result = r))
      .catch((e: unknown) => void (outcome.error = PairuxError.from(e)));
    const waiting = await guest.waitFor(LobbyWaiting);
    return { guest, joined, outcome, waiting };
  }

  it('a controller waits unseen, without a seat or rights, until the host admits it; the knock names it', async () => {
    await start();
    const { s, host, h } = await hosting();
    const viewer = await connect();
    await viewer.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    const { guest, joined, outcome, waiting } = await knocking(s, tokenOf(s.links.controller.url), 'Ada');
    assert.equal(waiting.hostName, 'Hana');
    assert.match(waiting.message, /Waiting for Hana to let you in/);

    const knock = await host.waitFor(LobbyKnock);
    assert.equal(knock.name, 'Ada');
    assert.equal(knock.role, 'controller');
    assert.equal(knock.client, 'browser');
    assert.equal(knock.link?.label, 'controller link');
    assert.equal(knock.from, '127.0.0.1');
    assert.equal(knock.shortId, shortId(knock.participantId), 'the short id the Allow prompt shows for the same person');

    // Nobody sees it, it holds no seat, and the server refuses what only a member may do.
    assert.equal(outcome.result === undefined, true, 'the join is not answered while waiting');
    assert.deepEqual((await store().listParticipants(s.sessionId)).map((p) => p.name).sort(), ['Hana', 'Vic']);
    assert.equal(viewer.received(ParticipantJoined).length, 0);
    assert.equal(host.received(ParticipantJoined).filter((j) => j.participant.name === 'Ada').length, 0);
    await rejects(guest.request(RequestControl, {}), ErrorCode.NotJoined);
    await rejects(guest.request(SendSignal, { to: h.self.id, payload: { kind: 'hello', reason: 'join' } }), ErrorCode.NotJoined);

    await host.request(AdmitGuest, { participantId: knock.participantId });
    await joined;
    assert.equal(outcome.error, undefined, outcome.error?.message);
    assert.equal(outcome.result?.self.id, knock.participantId);
    assert.equal(outcome.result?.self.role, 'controller');
    assert.equal((await viewer.waitFor(ParticipantJoined)).participant.name, 'Ada');
    assert.equal((await host.waitFor(LobbyClosed)).reason, 'admitted');
    // Now a member: its rights work.
    await guest.request(RequestControl, {});
  });

  it('a denied guest is told why in plain words and closed; its single-use link is not spent', async () => {
    await start();
    const { s, host } = await hosting();
    const personal = await host.request(CreateLink, { role: 'controller', label: 'for Ada', singleUse: true });
    const first = await knocking(s, tokenOf(personal.url), 'Ada');
    const knock = await host.waitFor(LobbyKnock);
    assert.equal(knock.link?.label, 'for Ada');
    await host.request(DenyGuest, { participantId: knock.participantId, reason: 'not now' });
    await first.joined;
    assert.equal(first.outcome.error?.code, ErrorCode.Forbidden);
    assert.match(first.outcome.error?.message ?? '', /did not let you in\. They said: not now/);
    assert.equal(first.outcome.error?.data?.reason, 'lobby-denied');
    assert.equal(await first.guest.closed, CloseCode.NotAdmitted);
    assert.equal((await host.waitFor(LobbyClosed)).reason, 'denied');
    assert.equal((await store().listParticipants(s.sessionId)).length, 1);

    // The link still works: the same person knocks again and is let in.
    const again = await knocking(s, tokenOf(personal.url), 'Ada');
    const second = await host.waitFor(LobbyKnock, (k) => k.participantId !== knock.participantId);
    await host.request(AdmitGuest, { participantId: second.participantId });
    await again.joined;
    assert.equal(again.outcome.result?.self.name, 'Ada');
  });

  it('no answer by the deadline is a no', async () => {
    await start({ lobbyTimeoutMs: 1000 });
    const { s, host } = await hosting();
    const { guest, joined, outcome, waiting } = await knocking(s, tokenOf(s.links.controller.url), 'Ada');
    assert.ok(waiting.expiresAt > Date.now() && waiting.expiresAt <= Date.now() + 1000);
    await host.waitFor(LobbyKnock);
    await joined;
    assert.equal(outcome.error?.data?.reason, 'lobby-timeout', outcome.error?.message);
    assert.match(outcome.error?.message ?? '', /Nobody let you in/);
    assert.equal(await guest.closed, CloseCode.NotAdmitted);
    assert.equal((await host.waitFor(LobbyClosed)).reason, 'timeout');
    assert.equal((await store().listParticipants(s.sessionId)).length, 1);
  });

  it('viewers come straight in; with the lobby on for everyone (kept with the session) they wait too', async () => {
    await start();
    const { s, host } = await hosting();
    const vic = await connect();
    const v = await vic.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    assert.equal(v.self.role, 'viewer');
    assert.equal(host.received(LobbyKnock).length, 0);

    await rejects(vic.request(SetLobbyMode, { everyone: true }), ErrorCode.Forbidden);
    assert.equal((await store().getSession(s.sessionId))?.lobbyEveryone, undefined);
    assert.deepEqual(await host.request(SetLobbyMode, { everyone: true }), { everyone: true });
    assert.equal((await store().getSession(s.sessionId))?.lobbyEveryone, true);

    const { joined, outcome } = await knocking(s, tokenOf(s.links.viewer.url), 'Val');
    const knock = await host.waitFor(LobbyKnock);
    assert.equal(knock.role, 'viewer');
    await host.request(AdmitGuest, { participantId: knock.participantId });
    await joined;
    assert.equal(outcome.result?.self.role, 'viewer');

    await host.request(SetLobbyMode, { everyone: false });
    assert.equal((await store().getSession(s.sessionId))?.lobbyEveryone, undefined);
    assert.equal((await (await connect()).join(s.sessionId, tokenOf(s.links.viewer.url), 'Vee')).self.role, 'viewer');
  });

  it('PAIRUX_LOBBY=everyone makes viewers wait; off lets controllers straight in', async () => {
    await start({ lobby: 'everyone' });
    let { s, host } = await hosting();
    const viewerWait = await knocking(s, tokenOf(s.links.viewer.url), 'Val');
    assert.equal((await host.waitFor(LobbyKnock)).role, 'viewer');
    viewerWait.guest.close();
    await plane.close();

    await start({ lobby: 'off' });
    ({ s, host } = await hosting());
    const ada = await connect();
    assert.equal((await ada.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada')).self.role, 'controller');
    assert.equal(host.received(LobbyKnock).length, 0);
  });

  it('only the host decides: a guest cannot admit, and a waiting guest stays out', async () => {
    await start();
    const { s, host } = await hosting();
    const vic = await connect();
    await vic.join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    const { joined, outcome } = await knocking(s, tokenOf(s.links.controller.url), 'Mallory');
    const knock = await host.waitFor(LobbyKnock);
    const refused = await rejects(vic.request(AdmitGuest, { participantId: knock.participantId }), ErrorCode.Forbidden);
    assert.match(refused.message, /Only the host/);
    await rejects(vic.request(DenyGuest, { participantId: knock.participantId }), ErrorCode.Forbidden);
    assert.equal(outcome.result === undefined, true, 'still unanswered');
    assert.equal(plane.service.lobby.waitingCount(s.sessionId), 1, 'still waiting');
    // The host cannot "admit" someone who is not waiting.
    await rejects(host.request(AdmitGuest, { participantId: 'c-nobody' }), ErrorCode.PeerNotFound);
    await host.request(DenyGuest, { participantId: knock.participantId });
    await joined;
    assert.equal(outcome.error?.data?.reason, 'lobby-denied');
  });

  it('an ex-host cannot admit; the knock goes to the new host', async () => {
    await start();
    const s = await createSession(plane, { mode: 'p2p' });
    const host = await connect();
    const h = await host.join(s.sessionId, s.hostToken, 'Hana');
    const ada = await connect();
    ada.endpoint.onNotification(HostOffered, (o) => void ada.notifications.push({ method: HostOffered.method, params: o }));
    const a = await ada.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada', { client: { kind: 'vscode' } });
    await host.request(MakeHost, { participantId: a.self.id });
    await ada.request(AcceptHost, { offerId: (await ada.waitFor(HostOffered)).offerId });
    assert.equal(await host.closed, CloseCode.HostChanged);
    assert.equal(await ada.closed, CloseCode.HostChanged);
    // Both come back with their tickets in their new roles (a resume skips the lobby).
    const newHost = await connect();
    newHost.autoAdmit = false;
    assert.equal((await newHost.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada', { resume: a.resume })).self.role, 'host');
    const exHost = await connect();
    const back = await exHost.join(s.sessionId, s.hostToken, 'Hana', { resume: h.resume });
    assert.equal(back.self.role, 'controller');
    assert.equal(newHost.received(LobbyKnock).length, 0, 'the resume knocked nobody');

    const { joined, outcome } = await knocking(s, tokenOf(s.links.controller.url), 'Gus');
    const knock = await newHost.waitFor(LobbyKnock);
    assert.equal(exHost.received(LobbyKnock).length, 0);
    const refused = await rejects(exHost.request(AdmitGuest, { participantId: knock.participantId }), ErrorCode.Forbidden);
    assert.match(refused.message, /host's seat/);
    assert.equal(outcome.result === undefined, true, 'still unanswered');
    await newHost.request(AdmitGuest, { participantId: knock.participantId });
    await joined;
    assert.equal(outcome.result?.self.name, 'Gus');
  });

  it('a knock made while the host is away reaches it when it connects', async () => {
    await start();
    const s = await createSession(plane, { mode: 'p2p' });
    const { joined, outcome, waiting } = await knocking(s, tokenOf(s.links.controller.url), 'Ada');
    assert.equal(waiting.hostName, undefined);
    const host = await connect();
    host.autoAdmit = false;
    await host.join(s.sessionId, s.hostToken, 'Hana');
    const knock = await host.waitFor(LobbyKnock);
    assert.equal(knock.name, 'Ada');
    await host.request(AdmitGuest, { participantId: knock.participantId });
    await joined;
    assert.equal(outcome.result?.self.role, 'controller');
  });

  it('an admitted guest that drops comes back with its ticket without knocking', async () => {
    await start();
    const { s, host } = await hosting();
    const first = await knocking(s, tokenOf(s.links.controller.url), 'Ada');
    await host.request(AdmitGuest, { participantId: (await host.waitFor(LobbyKnock)).participantId });
    await first.joined;
    const ticket = first.outcome.result!.resume;
    first.guest.kill();
    const again = await connect();
    const back = await again.join(s.sessionId, tokenOf(s.links.controller.url), 'Ada', { resume: ticket });
    assert.equal(back.resumed, true);
    assert.equal(host.received(LobbyKnock).length, 1);
  });

  it('a waiting guest that leaves withdraws its knock', async () => {
    await start();
    const { s, host } = await hosting();
    const { guest } = await knocking(s, tokenOf(s.links.controller.url), 'Ada');
    const knock = await host.waitFor(LobbyKnock);
    guest.close();
    assert.equal((await host.waitFor(LobbyClosed)).reason, 'left');
    assert.equal(plane.service.lobby.waitingCount(s.sessionId), 0);
    await rejects(host.request(AdmitGuest, { participantId: knock.participantId }), ErrorCode.PeerNotFound);
  });

  it('caps: so many waiting per session, and per address', async () => {
    await start({ lobbyMaxWaiting: 2, lobbyMaxPerAddress: 3 });
    const { s, host } = await hosting();
    await knocking(s, tokenOf(s.links.controller.url), 'One');
    await knocking(s, tokenOf(s.links.controller.url), 'Two');
    const third = await connect();
    const full = await rejects(third.join(s.sessionId, tokenOf(s.links.controller.url), 'Three'), ErrorCode.LimitReached);
    assert.match(full.message, /2 people are already waiting/);
    assert.equal(host.received(LobbyKnock).length, 2);

    // Another session, same address: the address's third waiting guest is the last.
    const other = await createSession(plane, { mode: 'p2p' });
    const otherHost = await connect();
    otherHost.autoAdmit = false;
    await otherHost.join(other.sessionId, other.hostToken, 'Otto');
    await knocking(other, tokenOf(other.links.controller.url), 'Three');
    const fourth = await connect();
    const tooMany = await rejects(fourth.join(other.sessionId, tokenOf(other.links.controller.url), 'Four'), ErrorCode.RateLimited);
    assert.match(tooMany.message, /from your network/);
    const metrics = await plane.metrics.registry.getSingleMetricAsString('pairux_lobby_total');
    assert.match(metrics, /event="knock"} 3/);
    assert.match(metrics, /event="full"} 2/);
  });
});
