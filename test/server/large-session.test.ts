/**
 * A session of hundreds (the strategy's broadcast scale): whoever joins or rejoins late gets a
 * join result listing everyone, though that list outgrows what a client may send the server.
 * Real server, real WebSockets; the clients check what they receive with the signaling boundary's
 * caps, as every PairUX client does.
 */
import assert from 'node:assert/strict';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../../protocol/limits';
import type { ControlPlane } from '../../server/control-plane';
import { createSession, NO_LOBBY, startTestServer, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';

describe('control plane: a session of hundreds', function () {
  this.timeout(60_000);
  let plane: ControlPlane;
  const clients: TestClient[] = [];
  after(async () => {
    for (const c of clients.splice(0)) c.close();
    await plane?.close();
  });

  it('the 301st participant and a returning host are told about everyone, in one join result past 64 KiB', async () => {
    plane = await startTestServer({ ...NO_LOBBY, viewerLimitP2p: 1000, messageRatePerSecond: 1000 });
    const session = await createSession(plane, { mode: 'p2p', name: 'All hands' });
    const host = await TestClient.connect(plane.url);
    clients.push(host);
    const h = await host.join(session.sessionId, session.hostToken, 'Hana');
    // Names as long as allowed: 300 of them make a list well past what a client may send.
    const name = (i: number) => `Viewer ${String(i).padStart(3, '0')} ${'of the all-hands meeting in the big hall '.repeat(2)}`.slice(0, 64);
    const token = tokenOf(session.links.viewer.url);
    for (let i = 0; i < 300; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, k) => {
          const c = await TestClient.connect(plane.url);
          clients.push(c);
          await c.join(session.sessionId, token, name(i + k));
        }),
      );
    }
    const last = await TestClient.connect(plane.url);
    clients.push(last);
    const joined = await last.join(session.sessionId, token, 'Latecomer');
    assert.equal(joined.participants.length, 302, 'the host, 300 viewers and the latecomer');
    assert.ok(JSON.stringify(joined).length > MAX_SIGNALING_MESSAGE_BYTES, `the result is ${JSON.stringify(joined).length} characters`);

    // The host's connection drops and comes back: its list of everyone arrives too.
    host.close();
    const back = await TestClient.connect(plane.url);
    clients.push(back);
    const again = await back.join(session.sessionId, session.hostToken, 'Hana', { resume: h.resume });
    assert.equal(again.resumed, true);
    assert.equal(again.participants.length, 302);
  });
});
