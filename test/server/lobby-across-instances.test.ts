/**
 * The lobby across control-plane instances sharing one Redis: a guest waiting on one instance is
 * let in or turned away by a host connected to another (the decision travels as `lobby.decided`),
 * and the host's "lobby for everyone", kept in the session record, holds on every instance.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { AdmitGuest, DenyGuest, LobbyKnock, ParticipantJoined, SetLobbyMode } from '../../protocol/signaling';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { rejects } from '../support/assertions';
import { createSession, tokenOf } from '../support/control-plane';
import { startRedis, type TestRedis } from '../support/redis';
import { TestClient } from '../support/signaling-client';

const SECRET = 'lobby-across-instances-secret-0123456789';

describe('lobby: across instances (Redis)', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let prefixN = 0;
  const planes: ControlPlane[] = [];
  const clients: TestClient[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());
  afterEach(async () => {
    for (const c of clients.splice(0)) c.kill();
    await Promise.all(planes.splice(0).map((p) => p.close()));
  });

  async function two(): Promise<[ControlPlane, ControlPlane]> {
    const prefix = `lobby${++prefixN}:`;
    for (let i = 0; i < 2; i++) {
      planes.push(
        await startControlPlane({ host: '127.0.0.1', port: 0, redis: { url: redis.url, keyPrefix: prefix }, tokenSecret: SECRET, instanceId: `lobby-${i}` }),
      );
    }
    return [planes[0]!, planes[1]!];
  }

  const connect = async (on: ControlPlane) => {
    const c = await TestClient.connect(on.url);
    clients.push(c);
    return c;
  };

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
