/**
 * The session state's trust rules hold across control-plane instances sharing one Redis: a name
 * is taken once however many instances the joins race through, and a link revoked on one
 * instance lets nobody in on another.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { RemoveParticipant } from '../../protocol/signaling';
import { rejects } from '../support/assertions';
import { createSession, tokenOf } from '../support/control-plane';
import { twoInstancesOnRedis } from '../support/two-instances';

const SECRET = 'trust-across-instances-secret-0123456789';

describe('trust: names and revoked links across instances (Redis)', function () {
  this.timeout(30_000);
  const { two, connect } = twoInstancesOnRedis('trust', SECRET);

  it('joins racing for one name through two instances get one name each', async () => {
    const [a, b] = await two();
    const s = await createSession(a);
    await (await connect(a)).join(s.sessionId, s.hostToken, 'Hana');
    const racers = await Promise.all(Array.from({ length: 6 }, (_, i) => connect(i % 2 ? b : a)));
    const joined = await Promise.all(racers.map((c, i) => c.join(s.sessionId, tokenOf(s.links.viewer.url), i % 2 ? 'ann' : 'Ann')));
    const names = joined.map((j) => j.self.name);
    assert.equal(new Set(names.map((n) => n.toLowerCase())).size, 6, `all different: ${names.join(', ')}`);
    assert.deepEqual(
      names.map((n) => n.replace(/ \(\d\)$/, '').toLowerCase()),
      Array(6).fill('ann'),
    );
  });

  it('a guest removed on one instance cannot come back through another with its link', async () => {
    const [a, b] = await two();
    const s = await createSession(a);
    const host = await connect(a);
    await host.join(s.sessionId, s.hostToken, 'Hana');
    const gus = await (await connect(b)).join(s.sessionId, tokenOf(s.links.controller.url), 'Gus');
    await host.request(RemoveParticipant, { participantId: gus.self.id });
    await rejects((await connect(b)).join(s.sessionId, tokenOf(s.links.controller.url), 'Gus'), ErrorCode.TokenRevoked);
    await rejects(b.service.preview(tokenOf(s.links.controller.url)), ErrorCode.TokenRevoked);
  });
});
