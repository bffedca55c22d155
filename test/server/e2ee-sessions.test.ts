/**
 * End-to-end encrypted sessions at the control plane (issue 15, the toggle): the server records
 * only that a session is encrypted, tells every client (join result, link preview), and refuses a
 * client that cannot encrypt before it takes a seat or spends a link; on Redis as in memory.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { SESSION_PREVIEW_PATH, SessionPreview } from '../../protocol/http-api';
import { SendSignal, Signal } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { startRedis, type TestRedis } from '../support/redis';
import { TestClient } from '../support/signaling-client';

async function preview(plane: ControlPlane, link: string): Promise<SessionPreview> {
  const res = await fetch(`${plane.url}${SESSION_PREVIEW_PATH}`, { headers: { authorization: `Bearer ${tokenOf(link)}` } });
  return SessionPreview.parse(await res.json());
}

let prefixes = 0;
const canEncrypt = { client: { kind: 'browser' as const, e2ee: true } };

for (const store of ['memory', 'redis'] as const) {
  describe(`control plane: end-to-end encrypted sessions (${store})`, function () {
    this.timeout(20_000);
    let plane: ControlPlane;
    let redis: TestRedis | undefined;
    const clients: TestClient[] = [];
    before(async () => {
      if (store === 'redis') redis = await startRedis();
    });
    after(async () => redis?.stop());
    beforeEach(async () => {
      plane = await startTestServer(settings());
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await plane?.close();
    });
    let prefix = '';
    /** On Redis each test gets its own key prefix; a second instance with the same settings shares the state. */
    const settings = (again = false) => {
      if (!redis) return {};
      if (!again) prefix = `e2ee${++prefixes}:`;
      return { redis: { url: redis.url, keyPrefix: prefix }, tokenSecret: 'e2ee-test-token-secret-of-32-chars!' };
    };
    const client = async () => {
      const c = await TestClient.connect(plane.url);
      clients.push(c);
      return c;
    };

    it('an encrypted session says so in the preview and in every join result; a plain one says nothing', async () => {
      const s = await createSession(plane, { e2ee: true });
      assert.equal((await preview(plane, s.links.viewer.url)).e2ee, true);
      const host = await (await client()).join(s.sessionId, s.hostToken, 'Ada', canEncrypt);
      assert.equal(host.session.e2ee, true);
      const guest = await (await client()).join(s.sessionId, tokenOf(s.links.viewer.url), 'Bo', canEncrypt);
      assert.equal(guest.session.e2ee, true);

      if (redis) {
        // Another instance reads the session from Redis alone: the flag is stored, not only held.
        const other = await startTestServer(settings(true));
        try {
          assert.equal((await preview(other, s.links.controller.url)).e2ee, true);
        } finally {
          await other.close();
        }
      }

      const plain = await createSession(plane);
      assert.equal((await preview(plane, plain.links.viewer.url)).e2ee, undefined);
      const joined = await (await client()).join(plain.sessionId, plain.hostToken, 'Cy');
      assert.equal(joined.session.e2ee, undefined);
    });

    it('a client that cannot encrypt is refused (E2EE_REQUIRED) before it takes a seat; one that can then joins', async () => {
      const s = await createSession(plane, { e2ee: true });
      const host = await client();
      await host.join(s.sessionId, s.hostToken, 'Ada', canEncrypt);
      const refused = await (await client()).join(s.sessionId, tokenOf(s.links.viewer.url), 'Old viewer').catch((e: unknown) => e);
      assert.ok(refused instanceof PairuxError, String(refused));
      assert.equal(refused.code, ErrorCode.E2eeRequired);
      assert.match(refused.message, /end-to-end encrypted and this app cannot encrypt/);
      const explicit = await (
        await client()
      )
        .join(s.sessionId, tokenOf(s.links.viewer.url), 'Says no', { client: { kind: 'browser', e2ee: false } })
        .catch((e: unknown) => e);
      assert.equal((explicit as PairuxError).code, ErrorCode.E2eeRequired);
      // Nobody was seated: the host is alone.
      assert.equal((await preview(plane, s.links.viewer.url)).participants, 1);
      // A host that cannot encrypt is refused too: its own session is no exception.
      const s2 = await createSession(plane, { e2ee: true });
      assert.equal(
        ((await (await client()).join(s2.sessionId, s2.hostToken, 'Old host').catch((e: unknown) => e)) as PairuxError).code,
        ErrorCode.E2eeRequired,
      );
      const ok = await (await client()).join(s.sessionId, tokenOf(s.links.viewer.url), 'New viewer', canEncrypt);
      assert.equal(ok.self.role, 'viewer');
    });

    it('relays the key messages between host and guest as they are, and refuses a flood of them', async () => {
      const s = await createSession(plane, { e2ee: true });
      const host = await client();
      const joined = await host.join(s.sessionId, s.hostToken, 'Ada', canEncrypt);
      const guest = await client();
      const me = await guest.join(s.sessionId, tokenOf(s.links.viewer.url), 'Bo', canEncrypt);
      const publicKey = { kind: 'e2ee-public' as const, key: 'B'.repeat(87) };
      await guest.request(SendSignal, { to: joined.self.id, payload: publicKey });
      assert.deepEqual((await host.waitFor(Signal, (p) => p.payload.kind === 'e2ee-public')).payload, publicKey);
      const rekey = { kind: 'e2ee-rekey' as const, keyId: 3, hostPublic: 'C'.repeat(87), iv: 'D'.repeat(16), ciphertext: 'E'.repeat(64) };
      await host.request(SendSignal, { to: me.self.id, payload: rekey });
      const got = await guest.waitFor(Signal, (p) => p.payload.kind === 'e2ee-rekey');
      assert.deepEqual(got, { from: joined.self.id, payload: rekey });
      // A damaged one never reaches the guest.
      const bad = await host.request(SendSignal, { to: me.self.id, payload: { ...rekey, ciphertext: 'E'.repeat(500) } } as never).catch((e: unknown) => e);
      assert.equal((bad as PairuxError).code, ErrorCode.BadMessage);
      // A guest flooding its public key is cut off at the limit.
      let refusedAt = 0;
      for (let i = 1; i <= 12 && !refusedAt; i++) {
        const r = await guest.request(SendSignal, { to: joined.self.id, payload: publicKey }).catch((e: unknown) => e);
        if (r instanceof PairuxError && r.code === ErrorCode.RateLimited) refusedAt = i;
      }
      assert.equal(refusedAt, 10, 'the 11th public key within 10 s is refused (one went before the loop)');
    });
  });
}
