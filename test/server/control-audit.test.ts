/**
 * The server's control audit, through the real server over WebSocket: every request, grant,
 * deny, revoke, release, take-over and drop is kept with the session, with who did it to whom,
 * in order; only the current host reads it (not a guest, not a viewer, not the host who handed
 * the seat on); the list stays bounded; it goes with the session's purge.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import {
  AcceptHost,
  ControlAudit,
  ControlChanged,
  DenyControl,
  End,
  GrantControl,
  HostOffered,
  MakeHost,
  MAX_CONTROL_AUDIT_ENTRIES,
  ReleaseControl,
  RequestControl,
  RevokeControl,
} from '../../protocol/signaling';
import { MAX_SELF_ACTIONS_PER_MINUTE } from '../../server/control-audit';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { MemoryRoomStateStore } from '../../server/memory-room-state-store';
import { MAX_ID_CHARS, MAX_NAME_CHARS, MAX_SIGNALING_MESSAGE_BYTES } from '../../protocol/limits';
import { ShellAction } from '../../protocol/webview-shell';
import { rejects } from '../support/assertions';
import { createSession, tokenOf } from '../support/control-plane';
import { joinedEngine, TestClient } from '../support/signaling-client';

describe('control plane: the control audit', function () {
  this.timeout(30_000);
  let plane: ControlPlane;
  const clients: TestClient[] = [];
  let s: Awaited<ReturnType<typeof createSession>>;
  let store: MemoryRoomStateStore;

  async function join(token: string, name: string, options: Parameters<TestClient['join']>[3] = {}, before: (c: TestClient) => void = () => undefined) {
    const c = await TestClient.connect(plane.url);
    clients.push(c);
    before(c);
    const r = await c.join(s.sessionId, token, name, options);
    return { c, id: r.self.id, resume: r.resume };
  }

  beforeEach(async () => {
    store = new MemoryRoomStateStore();
    // The lobby off: controllers join at once (the lobby's admissions are not what this file is about).
    plane = await startControlPlane({ host: '127.0.0.1', port: 0, reconnectGraceMs: 300, endedSessionTtlMs: 200, lobby: 'off' }, { store });
    s = await createSession(plane, { mode: 'p2p' });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.kill();
    await plane.close();
  });

  const summary = (entries: Array<{ action: string; target: { name: string }; actor?: { name: string } }>) =>
    entries.map((e) => `${e.action} ${e.target.name}${e.actor ? ` by ${e.actor.name}` : ''}`);

  it('the host reads every control event in order, with who did it to whom', async () => {
    const host = await join(s.hostToken, 'Hana', { client: { kind: 'vscode' } });
    const ada = await join(tokenOf(s.links.controller.url), 'Ada');
    const bob = await join(tokenOf(s.links.controller.url), 'Bob');
    await ada.c.request(RequestControl, {});
    await host.c.request(DenyControl, { participantId: ada.id, reason: 'denied' });
    await ada.c.request(RequestControl, {});
    await host.c.request(GrantControl, { participantId: ada.id });
    await host.c.request(GrantControl, { participantId: bob.id });
    await bob.c.request(ReleaseControl, {});
    await host.c.request(GrantControl, { participantId: ada.id });
    await host.c.request(RevokeControl, { panic: true });
    await host.c.request(GrantControl, { participantId: bob.id });
    // Bob's connection dies: the server ends his control, nobody did.
    bob.c.kill();
    await host.c.waitFor(ControlChanged, (p) => p.participantId === bob.id && p.reason === 'left');

    const { entries } = await host.c.request(ControlAudit, {});
    assert.deepEqual(summary(entries), [
      'requested Ada by Ada',
      'denied Ada by Hana',
      'requested Ada by Ada',
      'granted Ada by Hana',
      'taken-over Ada by Hana',
      'granted Bob by Hana',
      'released Bob by Bob',
      'granted Ada by Hana',
      'panic Ada by Hana',
      'granted Bob by Hana',
      'left Bob',
    ]);
    assert.deepEqual(entries[1]!.actor, { id: host.id, name: 'Hana' });
    assert.deepEqual(entries[1]!.target, { id: ada.id, name: 'Ada' });
    for (let i = 1; i < entries.length; i++) assert.ok(entries[i]!.at >= entries[i - 1]!.at, 'in order of time');
    assert.ok(
      entries.every((e) => Object.keys(e).every((k) => ['at', 'action', 'target', 'actor'].includes(k))),
      'nothing but who, what and when',
    );
  });

  it('a guest and a viewer are refused; after a host transfer the ex-host is refused and the new host reads it', async () => {
    const host = await join(s.hostToken, 'Hana', { client: { kind: 'vscode' } });
    let offered!: Promise<string>;
    const ada = await join(tokenOf(s.links.controller.url), 'Ada', { client: { kind: 'vscode' } }, (c) => {
      offered = new Promise((resolve) => c.endpoint.onNotification(HostOffered, (o) => resolve(o.offerId)));
    });
    const vic = await join(tokenOf(s.links.viewer.url), 'Vic');
    await host.c.request(GrantControl, { participantId: ada.id });
    // The same request from the host works: the refusals below are about who asks.
    assert.equal((await host.c.request(ControlAudit, {})).entries.length, 1);
    for (const guest of [ada, vic]) {
      const err = await rejects(guest.c.request(ControlAudit, {}), ErrorCode.Forbidden);
      assert.match(err.message, /Only the host can see the control audit/);
    }

    await host.c.request(MakeHost, { participantId: ada.id });
    await ada.c.request(AcceptHost, { offerId: await offered });
    await Promise.all([host.c.closed, ada.c.closed]);
    const newHost = await join(tokenOf(s.links.controller.url), 'Ada', { resume: ada.resume });
    const exHost = await join(s.hostToken, 'Hana', { resume: host.resume });
    await rejects(exHost.c.request(ControlAudit, {}), ErrorCode.Forbidden);
    const { entries } = await newHost.c.request(ControlAudit, {});
    assert.deepEqual(summary(entries).slice(0, 1), ['granted Ada by Hana']);
  });

  it("the host page's own signaling client reads it, and a full list fits one message on every hop", async () => {
    const hostPage = await joinedEngine(plane.url, s.sessionId, s.hostToken, 'Hana');
    try {
      const ada = await join(tokenOf(s.links.controller.url), 'Ada');
      await ada.c.request(RequestControl, {});
      await hostPage.grantControl(ada.id);
      assert.deepEqual(summary(await hostPage.controlAudit()), ['requested Ada by Ada', 'granted Ada by Hana']);
    } finally {
      hostPage.dispose();
    }
    // The longest ids and names (3-byte characters) in a full list: under the signaling and shell caps, in bytes.
    const longest = (c: string) => ({ id: 'i'.repeat(MAX_ID_CHARS), name: c.repeat(MAX_NAME_CHARS) });
    const entries = Array.from({ length: MAX_CONTROL_AUDIT_ENTRIES }, (_, i) => ({
      at: 1_800_000_000_000 + i,
      action: 'taken-over' as const,
      target: longest('語'),
      actor: longest('語'),
    }));
    const reply = JSON.stringify({ v: 1, id: 2 ** 31, result: { entries } });
    assert.ok(Buffer.byteLength(reply) < MAX_SIGNALING_MESSAGE_BYTES, `${Buffer.byteLength(reply)} bytes`);
    assert.ok(ControlAudit.result.safeParse({ entries }).success);
    assert.ok(ShellAction.result.safeParse({ controlAudit: entries }).success);
    assert.ok(ShellAction.params.safeParse({ action: 'controlAudit' }).success);
  });

  it("a guest looping request and release cannot push the host's decisions out of the list", async () => {
    const host = await join(s.hostToken, 'Hana');
    const ada = await join(tokenOf(s.links.controller.url), 'Ada');
    await host.c.request(GrantControl, { participantId: ada.id });
    await host.c.request(RevokeControl, { participantId: ada.id, panic: false });
    for (let i = 0; i < MAX_CONTROL_AUDIT_ENTRIES; i++) {
      await ada.c.request(RequestControl, {});
      await ada.c.request(ReleaseControl, {});
    }
    // The loop really ran: Ada's last release reached the arbiter.
    assert.equal(host.c.received(ControlChanged).filter((c) => c.participantId === ada.id && c.reason === 'released').length, MAX_CONTROL_AUDIT_ENTRIES);
    const { entries } = await host.c.request(ControlAudit, {});
    assert.deepEqual(summary(entries).slice(0, 2), ['granted Ada by Hana', 'revoked Ada by Hana']);
    assert.equal(entries.length, 2 + MAX_SELF_ACTIONS_PER_MINUTE);
  });

  it('keeps only the newest entries, and none once the session is purged', async () => {
    const host = await join(s.hostToken, 'Hana');
    const ada = await join(tokenOf(s.links.controller.url), 'Ada');
    const rounds = MAX_CONTROL_AUDIT_ENTRIES / 2 + 10;
    for (let i = 0; i < rounds; i++) {
      await host.c.request(GrantControl, { participantId: ada.id });
      await host.c.request(RevokeControl, { participantId: ada.id, panic: false });
    }
    await ada.c.request(RequestControl, {});
    const { entries } = await host.c.request(ControlAudit, {});
    assert.equal(entries.length, MAX_CONTROL_AUDIT_ENTRIES);
    assert.deepEqual(summary(entries.slice(-3)), ['granted Ada by Hana', 'revoked Ada by Hana', 'requested Ada by Ada'], 'the newest kept, the oldest dropped');
    assert.equal(summary(entries)[0], 'revoked Ada by Hana', 'the list starts mid-way: 20 older entries went');

    // Kept while the ended session waits for its purge, gone with it.
    await host.c.request(End, {});
    assert.equal((await store.listControlAudit(s.sessionId)).length, MAX_CONTROL_AUDIT_ENTRIES);
    for (let i = 0; i < 50 && (await store.getSession(s.sessionId)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await store.getSession(s.sessionId), undefined, 'the session was purged');
    assert.deepEqual(await store.listControlAudit(s.sessionId), []);
  });
});
