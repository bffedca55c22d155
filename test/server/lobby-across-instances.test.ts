/**
 * The lobby across control-plane instances sharing one Redis: a guest waiting on one instance is
 * let in or turned away by a host connected to another (the decision travels as `lobby.decided`),
 * and the host's "lobby for everyone", kept in the session record, holds on every instance.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { AdmitGuest, DenyGuest, LobbyKnock, ParticipantJoined, SetLobbyMode } from '../../protocol/signaling';
import { rejects } from '../support/assertions';
import { createSession, tokenOf } from '../support/control-plane';
import { twoInstancesOnRedis } from '../support/two-instances';

const SECRET = 'lobby-across-instances-secret-0123456789';

describe('lobby: across instances (Redis)', function () {
  this.timeout(30_000);
  const { two, connect } = twoInstancesOnRedis('lobby', SECRET);

  it('a host on one instance admits and denies guests waiting on another', async () => {
    const [a, b] = await two();
    const s = await createSession(a);
    const host = await connect(a);
    host.autoAdmit = false;
    await host.join(s.sessionId, s.hostToken, 'Hana');

    const gus = (await connect(b)).join(s.sessionId, tokenOf(s.links.controller.url), 'Gus');
    const knockG = await host.waitFor(LobbyKnock, (k) => k.name === 'Gus');
    await host.request(DenyGuest, { participantId: knockG.participantId });
    const refused = await rejects(gus, ErrorCode.Forbidden);
    assert.equal(refused.data?.reason, 'lobby-denied');

    const ada = (await connect(b)).join(s.sessionId, tokenOf(s.links.controller.url), 'Ada');
    const knockA = await host.waitFor(LobbyKnock, (k) => k.name === 'Ada');
    assert.equal(host.received(ParticipantJoined).length, 0, 'unseen while waiting');
    await host.request(AdmitGuest, { participantId: knockA.participantId });
    assert.equal((await ada).self.id, knockA.participantId);
    assert.equal((await host.waitFor(ParticipantJoined)).participant.name, 'Ada');
  });

  it("the host's lobby for everyone holds on the other instance", async () => {
    const [a, b] = await two();
    const s = await createSession(a);
    const host = await connect(a);
    host.autoAdmit = false;
    await host.join(s.sessionId, s.hostToken, 'Hana');
    await host.request(SetLobbyMode, { everyone: true });
    const vic = (await connect(b)).join(s.sessionId, tokenOf(s.links.viewer.url), 'Vic');
    const knock = await host.waitFor(LobbyKnock, (k) => k.name === 'Vic');
    assert.equal(knock.role, 'viewer');
    await host.request(AdmitGuest, { participantId: knock.participantId });
    assert.equal((await vic).self.role, 'viewer');
  });
});
