/**
 * Remote control at the control plane: who may ask, who decides, one driver at a time, and
 * everyone told who drives. (The host page and the helper enforce the grant again; see
 * test/helper and test/e2e.)
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { ControlChanged, DenyControl, GrantControl, ReleaseControl, RequestControl, RevokeControl } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';
import { rejects as refused } from '../support/assertions';

describe('control plane: remote control', () => {
  let plane: ControlPlane;
  const clients: TestClient[] = [];
  let host: TestClient;
  let ids: { host: string; c1: string; c2: string; viewer: string };
  let c1: TestClient;
  let c2: TestClient;
  let viewer: TestClient;

  async function join(link: string | null, name: string, token?: string) {
    const c = await TestClient.connect(plane.url);
    clients.push(c);
    const s = sessionRef!;
    const r = await c.join(s.sessionId, token ?? tokenOf(link!), name);
    return { c, id: r.self.id };
  }
  let sessionRef: Awaited<ReturnType<typeof createSession>> | undefined;

  beforeEach(async () => {
    plane = await startTestServer({ reconnectGraceMs: 2000 });
    sessionRef = await createSession(plane);
    const h = await join(null, 'Host', sessionRef.hostToken);
    const a = await join(sessionRef.links.controller.url, 'Ada');
    const b = await join(sessionRef.links.controller.url, 'Bob');
    const v = await join(sessionRef.links.viewer.url, 'Vic');
    [host, c1, c2, viewer] = [h.c, a.c, b.c, v.c];
    ids = { host: h.id, c1: a.id, c2: b.id, viewer: v.id };
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.kill();
    await plane.close();
  });

  it('a controller asks, the host is told, grants, and everyone learns who drives', async () => {
    await c1.request(RequestControl, {});
    const asked = await host.waitFor(ControlChanged, (p) => p.reason === 'requested');
    assert.equal(asked.participantId, ids.c1);
    await host.request(GrantControl, { participantId: ids.c1 });
    for (const c of [host, c1, c2, viewer]) {
      const granted = await c.waitFor(ControlChanged, (p) => p.reason === 'granted');
      assert.equal(granted.driverId, ids.c1);
    }
  });

  it('a viewer may not ask, and the host is not bothered', async () => {
    const err = await refused(viewer.request(RequestControl, {}), ErrorCode.Forbidden);
    assert.match(err.message, /controller link/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(host.received(ControlChanged).length, 0);
  });

  it('only the host decides', async () => {
    await c1.request(RequestControl, {});
    await refused(c2.request(GrantControl, { participantId: ids.c2 }), ErrorCode.Forbidden);
    await refused(c1.request(GrantControl, { participantId: ids.c1 }), ErrorCode.Forbidden);
    await refused(c2.request(RevokeControl, { panic: false }), ErrorCode.Forbidden);
    await refused(host.request(GrantControl, { participantId: ids.viewer }), ErrorCode.Forbidden);
  });

  it('a new grant takes over from the current driver, who is told', async () => {
    await host.request(GrantControl, { participantId: ids.c1 });
    await host.request(GrantControl, { participantId: ids.c2 });
    const lost = await c1.waitFor(ControlChanged, (p) => p.participantId === ids.c1 && p.reason === 'taken-over');
    assert.equal(lost.driverId, null, 'the old driver lost control before the new one got it');
    const now = await c1.waitFor(ControlChanged, (p) => p.reason === 'granted' && p.participantId === ids.c2);
    assert.equal(now.driverId, ids.c2);
  });

  it('deny and timeout answer a request; release gives control back', async () => {
    await c1.request(RequestControl, {});
    await host.request(DenyControl, { participantId: ids.c1, reason: 'timeout' });
    assert.equal((await c1.waitFor(ControlChanged, (p) => p.state === 'none')).reason, 'timeout');
    await host.request(GrantControl, { participantId: ids.c1 });
    await c1.request(ReleaseControl, {});
    const released = await host.waitFor(ControlChanged, (p) => p.reason === 'released');
    assert.equal(released.driverId, null);
  });

  it('the panic revoke stops the driver and every pending request at once', async () => {
    await host.request(GrantControl, { participantId: ids.c1 });
    await c2.request(RequestControl, {});
    await host.request(RevokeControl, { panic: true });
    const panics = await viewer.until(() => {
      const list = viewer.received(ControlChanged).filter((p) => p.reason === 'panic');
      return list.length === 2 ? list : undefined;
    }, 'two panic changes');
    assert.deepEqual(panics.map((p) => p.participantId).sort(), [ids.c1, ids.c2].sort());
    assert.ok(panics.every((p) => p.driverId === null));
  });

  it('a driver who drops loses control at once', async () => {
    await host.request(GrantControl, { participantId: ids.c1 });
    c1.kill();
    const gone = await host.waitFor(ControlChanged, (p) => p.participantId === ids.c1 && p.reason === 'left');
    assert.equal(gone.driverId, null);
  });

  it('requests can be switched off by the host setting', async () => {
    await plane.close();
    // No host joins here to let Ada in from the lobby: it is off.
    plane = await startTestServer({ controlRequests: false, lobby: 'off' });
    sessionRef = await createSession(plane);
    const { c } = await join(sessionRef.links.controller.url, 'Ada');
    const err = await refused(c.request(RequestControl, {}), ErrorCode.Forbidden);
    assert.match(err.message, /turned off/);
  });
});
