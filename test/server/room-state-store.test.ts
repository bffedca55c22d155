/**
 * One spec for every RoomStateStore: the memory store (the reference) and the Redis store on a
 * real redis-server. Races run through two separate Redis connections (two instances), so the
 * atomic rules are checked where they matter.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { ParticipantRole } from '../../protocol/limits';
import { MemoryRoomStateStore } from '../../server/memory-room-state-store';
import type { LinkRecord, ParticipantRecord, RoomStateStore, SessionRecord } from '../../server/room-state-store';
import { RedisLink } from '../../server/redis/redis-link';
import { CorruptStateError, RedisRoomStateStore } from '../../server/redis/redis-room-state-store';
import { startRedis, type TestRedis } from '../support/redis';
import { DEFAULT_TIERS } from '../../protocol/tiers';

const LIMITS: Record<ParticipantRole, number> = { host: 1, controller: 3, viewer: 2 };
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function session(id: string, extra: Partial<SessionRecord> = {}): SessionRecord {
  return { id, mode: 'auto', media: 'p2p', version: 0, epoch: 0, hostId: `host-${id}`, createdAt: 1_700_000_000_000, ...extra };
}

let joined = 0;
function participant(id: string, role: ParticipantRole, extra: Partial<ParticipantRecord> = {}): ParticipantRecord {
  return { id, name: `Name ${id}`, role, connected: true, controlState: 'none', joinedAt: 1_700_000_000_000 + ++joined, resumeHash: 'ab'.repeat(32), ...extra };
}

interface Subject {
  /** Two handles on the same state (two instances); for the memory store, the same object twice. */
  a: RoomStateStore;
  b: RoomStateStore;
  close(): Promise<void>;
}

function spec(name: string, open: () => Promise<Subject>) {
  describe(`room state store: ${name}`, function () {
    this.timeout(20_000);
    let a: RoomStateStore;
    let b: RoomStateStore;
    let subject: Subject;
    beforeEach(async () => {
      subject = await open();
      ({ a, b } = subject);
    });
    afterEach(() => subject.close());

    it('creates, reads back exactly, refuses a duplicate id, and counts live sessions', async () => {
      const rec = session('s1', { name: 'Pairing é ✓', region: 'eu', sfu: { deploymentId: 'd1', region: 'eu', room: 's1' }, media: 'sfu', epoch: 1 });
      await a.createSession(rec);
      assert.deepEqual(plain(await b.getSession('s1')), plain(rec));
      await assert.rejects(b.createSession(session('s1')), /already exists/);
      assert.equal(await b.getSession('nope'), undefined);
      await a.createSession(session('s2'));
      await a.createSession(session('s3'));
      assert.equal(await b.countLiveSessions(), 3);
      assert.equal(await a.endSession('s2', { at: 1, reason: 'host-ended', message: 'bye' }), true);
      assert.equal(await b.countLiveSessions(), 2);
      await a.deleteSession('s3'); // a live session deleted: no longer counted
      assert.equal(await b.countLiveSessions(), 1);
      await a.deleteSession('s2'); // an ended one: the count stays
      assert.equal(await b.countLiveSessions(), 1);
      assert.equal(await b.getSession('s2'), undefined);
    });

    it("gives a cascade bridge's lease to one instance at a time, renewed by its holder, free again once released or expired", async () => {
      assert.equal(await a.claimBridge('s1', 'eu', 'i-1', 300), true);
      assert.equal(await b.claimBridge('s1', 'eu', 'i-2', 300), false, 'held by i-1');
      assert.equal(await b.claimBridge('s1', 'us', 'i-2', 300), true, 'another region is another lease');
      assert.equal(await a.claimBridge('s1', 'eu', 'i-1', 300), true, 'its holder renews it');
      await b.releaseBridge('s1', 'eu', 'i-2');
      assert.equal(await b.claimBridge('s1', 'eu', 'i-2', 300), false, 'only its holder frees it');
      await a.releaseBridge('s1', 'eu', 'i-1');
      assert.equal(await b.claimBridge('s1', 'eu', 'i-2', 300), true, 'released: another instance takes it');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await a.claimBridge('s1', 'eu', 'i-1', 300), true, 'not renewed within its time: free again (its holder died)');
    });

    it("keeps the host's lobby mode with the session (set, seen by the other instance, cleared)", async () => {
      await a.createSession(session('s1'));
      const on = await b.updateSession('s1', 0, { lobbyEveryone: true });
      assert.equal(on?.lobbyEveryone, true);
      assert.equal((await a.getSession('s1'))?.lobbyEveryone, true);
      await a.updateSession('s1', 1, { lobbyEveryone: undefined });
      assert.equal('lobbyEveryone' in ((await b.getSession('s1')) ?? {}), false);
    });

    it('updateSession is a compare-and-set on version, removes keys patched to undefined, and refuses ended sessions', async () => {
      await a.createSession(session('s1', { moving: { by: 'i1', until: 5, reason: 'participants' }, region: 'eu' }));
      assert.equal(await b.updateSession('s1', 1, { media: 'sfu' }), undefined, 'stale version');
      const next = await b.updateSession('s1', 0, { media: 'sfu', epoch: 1, moving: undefined, movedFor: 'participants' });
      assert.ok(next);
      assert.equal(next.version, 1);
      assert.equal(next.media, 'sfu');
      assert.equal('moving' in next, false, 'moving removed');
      assert.equal(next.region, 'eu', 'untouched keys stay');
      assert.deepEqual(plain(await a.getSession('s1')), plain(next));
      assert.equal(await a.updateSession('s1', 0, { epoch: 9 }), undefined, 'the old version no longer wins');
      assert.equal(await a.updateSession('missing', 0, { epoch: 1 }), undefined);
      await a.endSession('s1', { at: 2, reason: 'host-left', message: 'gone' });
      assert.equal(await b.updateSession('s1', 1, { epoch: 2 }), undefined, 'ended');
      assert.equal((await b.getSession('s1'))?.ended?.reason, 'host-left');
    });

    it('exactly one of many racing compare-and-sets wins', async () => {
      await a.createSession(session('s1'));
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).updateSession('s1', 0, { epoch: i + 1 })));
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.equal((await a.getSession('s1'))?.version, 1);
      assert.equal((await a.getSession('s1'))?.epoch, winners[0]!.epoch);
    });

    it('sessionsOnSfu follows the assignment through moves, and forgets ended sessions', async () => {
      await a.createSession(session('s1', { media: 'sfu', sfu: { deploymentId: 'd1', region: 'eu', room: 's1' } }));
      await a.createSession(session('s2'));
      await a.createSession(session('s3', { media: 'sfu', sfu: { deploymentId: 'd1', region: 'eu', room: 's3' } }));
      assert.deepEqual((await b.sessionsOnSfu('d1')).sort(), ['s1', 's3']);
      await b.updateSession('s2', 0, { media: 'sfu', sfu: { deploymentId: 'd2', region: 'us', room: 's2' } });
      await b.updateSession('s1', 0, { sfu: { deploymentId: 'd2', region: 'us', room: 's1.2' }, epoch: 2 });
      assert.deepEqual((await a.sessionsOnSfu('d1')).sort(), ['s3']);
      assert.deepEqual((await a.sessionsOnSfu('d2')).sort(), ['s1', 's2']);
      await a.updateSession('s2', 1, { region: 'us' }); // no sfu key in the patch: the index stays
      assert.deepEqual((await a.sessionsOnSfu('d2')).sort(), ['s1', 's2']);
      await a.updateSession('s2', 2, { sfu: undefined, media: 'p2p' });
      await a.endSession('s1', { at: 1, reason: 'host-ended', message: 'x' });
      assert.deepEqual(await a.sessionsOnSfu('d2'), []);
      await a.deleteSession('s3');
      assert.deepEqual(await a.sessionsOnSfu('d1'), []);
    });

    it('endSession happens once, drops the participants, and keeps who the host removed until deleted', async () => {
      await a.createSession(session('s1'));
      await a.addParticipant('s1', participant('h', 'host'), LIMITS);
      await a.addParticipant('s1', participant('v1', 'viewer'), LIMITS);
      await a.removeParticipant('s1', 'v1', true);
      await a.addParticipant('s1', participant('c1', 'controller'), LIMITS);
      const ended = { at: 3, reason: 'host-ended' as const, message: 'done' };
      const once = await Promise.all([a.endSession('s1', ended), b.endSession('s1', ended), a.endSession('s1', ended)]);
      assert.deepEqual(once.filter(Boolean).length, 1);
      assert.equal(await b.endSession('nope', ended), false);
      assert.deepEqual(await b.listParticipants('s1'), []);
      assert.equal(await b.getParticipant('s1', 'c1'), undefined);
      assert.equal(await b.wasRemovedByHost('s1', 'v1'), true);
      await assert.rejects(b.addParticipant('s1', participant('v2', 'viewer'), LIMITS), /not live/);
      await a.deleteSession('s1');
      assert.equal(await b.wasRemovedByHost('s1', 'v1'), false);
    });

    it('addParticipant holds role limits, counting participants in their grace period', async () => {
      await a.createSession(session('s1'));
      assert.deepEqual(await a.addParticipant('s1', participant('v1', 'viewer', { connected: false, disconnectedAt: 5 }), LIMITS), { ok: true });
      assert.deepEqual(await b.addParticipant('s1', participant('v2', 'viewer'), LIMITS), { ok: true });
      assert.deepEqual(await a.addParticipant('s1', participant('v3', 'viewer'), LIMITS), { ok: false, role: 'viewer', limit: 2 });
      assert.deepEqual(await b.addParticipant('s1', participant('h', 'host'), LIMITS), { ok: true });
      assert.deepEqual(await b.addParticipant('s1', participant('h2', 'host'), LIMITS), { ok: false, role: 'host', limit: 1 });
      await a.removeParticipant('s1', 'v1');
      assert.deepEqual(await a.addParticipant('s1', participant('v3', 'viewer'), LIMITS), { ok: true }, 'a freed seat is free');
      await assert.rejects(a.addParticipant('missing', participant('x', 'viewer'), LIMITS), /not live/);
      const ids = (await b.listParticipants('s1')).map((p) => p.id);
      assert.deepEqual(ids, ['v2', 'h', 'v3'], 'in joining order');
      assert.deepEqual(plain(await b.getParticipant('s1', 'v2')), plain((await a.listParticipants('s1'))[0]));
    });

    it('two instances racing for the last seats: exactly the limit wins', async () => {
      await a.createSession(session('s1'));
      const racers = Array.from({ length: 10 }, (_, i) => participant(`c${i}`, 'controller'));
      const results = await Promise.all(racers.map((p, i) => (i % 2 ? a : b).addParticipant('s1', p, LIMITS)));
      assert.equal(results.filter((r) => r.ok).length, 3);
      assert.equal((await a.listParticipants('s1')).length, 3);
    });

    it('changeRole checks the target role limit in the same step; a no-op change is ok; unknown is undefined', async () => {
      await a.createSession(session('s1'));
      for (const id of ['c1', 'c2', 'c3']) await a.addParticipant('s1', participant(id, 'controller'), LIMITS);
      await a.addParticipant('s1', participant('v1', 'viewer'), LIMITS);
      await a.addParticipant('s1', participant('v2', 'viewer'), LIMITS);
      assert.deepEqual(await b.changeRole('s1', 'v1', 'controller', LIMITS), { ok: false, role: 'controller', limit: 3 });
      const same = await b.changeRole('s1', 'c1', 'controller', LIMITS);
      assert.equal(same?.ok && same.participant.role, 'controller');
      assert.deepEqual(await b.changeRole('s1', 'c1', 'viewer', LIMITS), { ok: false, role: 'viewer', limit: 2 });
      assert.equal(await b.changeRole('s1', 'nobody', 'viewer', LIMITS), undefined);
      await a.removeParticipant('s1', 'v2');
      const demoted = await b.changeRole('s1', 'c1', 'viewer', LIMITS);
      assert.equal(demoted?.ok && demoted.participant.role, 'viewer');
      assert.equal((await a.getParticipant('s1', 'c1'))?.role, 'viewer');
      // Both instances promote a viewer into the one free controller seat at once: one wins.
      await a.addParticipant('s1', participant('v3', 'viewer', {}), { ...LIMITS, viewer: 3 });
      const race = await Promise.all([a.changeRole('s1', 'c1', 'controller', LIMITS), b.changeRole('s1', 'v3', 'controller', LIMITS)]);
      assert.equal(race.filter((r) => r?.ok).length, 1);
      assert.equal((await a.listParticipants('s1')).filter((p) => p.role === 'controller').length, 3);
    });

    it('transferHost swaps the host and a controller in one step, bumps the version, and refuses anything else', async () => {
      await a.createSession(session('s1'));
      await a.addParticipant('s1', participant('host-s1', 'host', { controlState: 'none' }), LIMITS);
      for (const id of ['c1', 'c2', 'c3']) await a.addParticipant('s1', participant(id, 'controller'), LIMITS);
      await a.updateParticipant('s1', 'c1', { controlState: 'granted' });
      await a.addParticipant('s1', participant('v1', 'viewer'), LIMITS);
      assert.deepEqual(await b.transferHost('s1', 'c2', 'c1'), { ok: false, reason: 'not-host' });
      assert.deepEqual(await b.transferHost('s1', 'host-s1', 'v1'), { ok: false, reason: 'not-controller' });
      assert.deepEqual(await b.transferHost('s1', 'host-s1', 'ghost'), { ok: false, reason: 'not-found' });
      assert.deepEqual(await b.transferHost('nope', 'host-s1', 'c1'), { ok: false, reason: 'gone' });
      const done = await b.transferHost('s1', 'host-s1', 'c1');
      assert.ok(done.ok);
      assert.deepEqual(
        [done.session.hostId, done.session.version, done.from.role, done.to.role, done.to.controlState],
        ['c1', 1, 'controller', 'host', 'none'],
      );
      const after = await a.listParticipants('s1');
      assert.deepEqual(
        after.filter((p) => p.role === 'host').map((p) => p.id),
        ['c1'],
      );
      assert.equal(after.filter((p) => p.role === 'controller').length, 3, "the old host took the new one's controller seat");
      assert.equal((await a.getSession('s1'))?.hostId, 'c1');
      // The role limits see the swap: no fourth controller, no second host.
      assert.deepEqual(await a.changeRole('s1', 'v1', 'controller', LIMITS), { ok: false, role: 'controller', limit: 3 });
      // Two instances racing to hand the host seat on: one wins, the other is no longer the host's.
      const race = await Promise.all([a.transferHost('s1', 'c1', 'c2'), b.transferHost('s1', 'c1', 'c3')]);
      assert.equal(race.filter((r) => r.ok).length, 1);
      assert.equal((await a.listParticipants('s1')).filter((p) => p.role === 'host').length, 1);
      await a.endSession('s1', { at: 1, reason: 'host-ended', message: 'bye' });
      assert.deepEqual(await b.transferHost('s1', (await a.getSession('s1'))!.hostId, 'c1'), { ok: false, reason: 'gone' });
    });

    it('names: a name key is held by one participant at a time (one of two racing instances gets it), freed when it leaves', async () => {
      await a.createSession(session('s1'));
      await a.createSession(session('s2'));
      const [x, y] = await Promise.all([
        a.addParticipant('s1', participant('v1', 'viewer', { name: 'Ann' }), LIMITS, 'ann'),
        b.addParticipant('s1', participant('v2', 'viewer', { name: 'ANN' }), LIMITS, 'ann'),
      ]);
      assert.deepEqual([x, y].map((r) => JSON.stringify(r)).sort(), [JSON.stringify({ ok: false, nameTaken: true }), JSON.stringify({ ok: true })]);
      assert.equal((await b.listParticipants('s1')).length, 1, 'the loser was not added');
      const holder = (await a.listParticipants('s1'))[0]!;
      assert.deepEqual(await b.addParticipant('s2', participant('v3', 'viewer'), LIMITS, 'ann'), { ok: true }, 'names belong to their session');
      // The name taken is checked before the role limit, and a name key is not a field of the record.
      assert.deepEqual(await a.addParticipant('s1', participant('c1', 'controller', { name: 'Ann' }), LIMITS, 'ann'), { ok: false, nameTaken: true });
      assert.equal('_nk' in (await b.getParticipant('s1', holder.id))!, false);
      await a.removeParticipant('s1', holder.id);
      assert.deepEqual(await b.addParticipant('s1', participant('c1', 'controller', { name: 'Ann' }), LIMITS, 'ann'), { ok: true }, 'freed when it left');
      await a.endSession('s1', { at: 1, reason: 'host-ended', message: 'bye' });
      await a.deleteSession('s1');
      await a.createSession(session('s1'));
      assert.deepEqual(await b.addParticipant('s1', participant('v9', 'viewer'), LIMITS, 'ann'), { ok: true }, 'gone with the session');
    });

    it('share links: remembered per session, revoked once (one of two racing instances wins), listed while current, kept until deleted', async () => {
      await a.createSession(session('s1'));
      await a.createSession(session('s2'));
      const link = (id: string, extra: Partial<LinkRecord> = {}): LinkRecord => ({
        id,
        role: 'controller',
        label: 'controller link',
        singleUse: false,
        personal: false,
        createdAt: 1_700_000_000_000 + ++joined,
        expiresAt: 1_800_000_000_000,
        ...extra,
      });
      const shared = link('jti-ctl');
      const watch = link('jti-view', { role: 'viewer', label: 'viewer link' });
      const ann = link('jti-ann', { label: 'Ann é ✓', singleUse: true, personal: true });
      for (const l of [shared, watch, ann]) await a.addLink('s1', l);
      assert.deepEqual(plain(await b.getLink('s1', ann.id)), plain(ann));
      assert.equal(await b.getLink('s2', ann.id), undefined, 'links belong to their session');
      assert.deepEqual(plain(await b.listLinks('s1')), plain([shared, watch, ann]));
      assert.equal(await b.isLinkRevoked('s1', ann.id), false);
      // A single-use link used by two joins at once: exactly one revocation wins it.
      const [x, y] = await Promise.all([a.revokeLinks('s1', [ann.id]), b.revokeLinks('s1', [ann.id])]);
      assert.deepEqual([...x, ...y], [ann.id]);
      assert.equal(await a.isLinkRevoked('s1', ann.id), true);
      assert.equal(await a.isLinkRevoked('s2', ann.id), false, 'revocations belong to their session');
      assert.deepEqual(plain(await a.listLinks('s1')), plain([shared, watch]));
      assert.deepEqual((await b.revokeLinks('s1', [shared.id, watch.id, ann.id])).sort(), [shared.id, watch.id].sort(), 'only what was live is newly revoked');
      assert.deepEqual(await a.listLinks('s1'), []);
      // Which link a participant came through is part of its record.
      await a.addParticipant('s1', participant('c1', 'controller', { link: { id: shared.id, label: shared.label } }), LIMITS);
      assert.deepEqual(plain((await b.getParticipant('s1', 'c1'))?.link), { id: shared.id, label: shared.label });
      await a.endSession('s1', { at: 1, reason: 'host-ended', message: 'bye' });
      assert.equal(await b.isLinkRevoked('s1', shared.id), true, 'kept while the ended session is remembered');
      await a.deleteSession('s1');
      assert.equal(await b.isLinkRevoked('s1', shared.id), false);
      assert.equal(await b.getLink('s1', watch.id), undefined);
    });

    it('control audit: appended in order, capped to the newest, kept after the end, gone with the delete, never for a deleted session', async () => {
      await a.createSession(session('s1'));
      const entry = (i: number) => ({
        at: 1_700_000_000_000 + i,
        action: 'granted' as const,
        target: { id: `c${i}`, name: `Ada ${i} é` },
        ...(i % 2 ? { actor: { id: 'h', name: 'Hana' } } : {}),
      });
      for (let i = 0; i < 7; i++) await (i % 2 ? a : b).appendControlAudit('s1', entry(i), 5);
      assert.deepEqual(plain(await b.listControlAudit('s1')), plain([2, 3, 4, 5, 6].map(entry)));
      assert.deepEqual(await a.listControlAudit('other'), []);
      await a.endSession('s1', { at: 1, reason: 'host-ended', message: 'bye' });
      assert.equal((await b.listControlAudit('s1')).length, 5);
      await a.deleteSession('s1');
      assert.deepEqual(await b.listControlAudit('s1'), []);
      await b.appendControlAudit('s1', entry(9), 5);
      assert.deepEqual(await a.listControlAudit('s1'), [], 'a late append does not bring a purged session back');
    });

    it("keeps a session's tiers and the host's tier choice per guest; a role change or a host transfer drops the choice in the same step", async () => {
      const tiers = {
        table: { ...DEFAULT_TIERS, standard: { ...DEFAULT_TIERS.standard, maxKbps: 1234 } },
        roles: { host: 'high', controller: 'standard', viewer: 'low' },
      } as const;
      await a.createSession(session('s1', { tiers }));
      assert.deepEqual(plain((await b.getSession('s1'))?.tiers), plain(tiers));
      await a.addParticipant('s1', participant('host-s1', 'host'), LIMITS);
      await a.addParticipant('s1', participant('c1', 'controller'), LIMITS);
      await a.addParticipant('s1', participant('v1', 'viewer'), LIMITS);
      assert.equal((await b.updateParticipant('s1', 'v1', { chosenTier: 'high' }))?.chosenTier, 'high');
      assert.equal((await a.getParticipant('s1', 'v1'))?.chosenTier, 'high');
      assert.equal('chosenTier' in plain((await b.updateParticipant('s1', 'v1', { chosenTier: undefined })) ?? {}), false, 'cleared');
      await a.updateParticipant('s1', 'v1', { chosenTier: 'low' });
      // The same role again changes nothing, the choice included.
      const same = await b.changeRole('s1', 'v1', 'viewer', LIMITS);
      assert.equal(same?.ok && same.participant.chosenTier, 'low');
      const promoted = await b.changeRole('s1', 'v1', 'controller', LIMITS);
      assert.ok(promoted?.ok);
      assert.equal('chosenTier' in plain(promoted.participant), false);
      assert.equal('chosenTier' in plain((await a.getParticipant('s1', 'v1')) ?? {}), false);
      // A refused change keeps it.
      await a.updateParticipant('s1', 'c1', { chosenTier: 'standard' });
      assert.deepEqual(await b.changeRole('s1', 'c1', 'viewer', { ...LIMITS, viewer: 0 }), { ok: false, role: 'viewer', limit: 0 });
      assert.equal((await a.getParticipant('s1', 'c1'))?.chosenTier, 'standard');
      const moved = await b.transferHost('s1', 'host-s1', 'c1');
      assert.ok(moved.ok);
      assert.equal('chosenTier' in plain(moved.to), false);
      assert.equal('chosenTier' in plain((await a.getParticipant('s1', 'c1')) ?? {}), false);
    });

    it('updateParticipant patches fields, removes those patched to undefined, and answers undefined for strangers', async () => {
      await a.createSession(session('s1'));
      await a.addParticipant('s1', participant('c1', 'controller', { connected: false, disconnectedAt: 42 }), LIMITS);
      const back = await b.updateParticipant('s1', 'c1', { connected: true, disconnectedAt: undefined, name: 'Ada ✓' });
      assert.equal(back?.connected, true);
      assert.equal(plain(back)?.disconnectedAt, undefined);
      const read = plain(await a.getParticipant('s1', 'c1'));
      assert.equal(read?.name, 'Ada ✓');
      assert.equal('disconnectedAt' in (read ?? {}), false);
      assert.equal((await a.updateParticipant('s1', 'c1', { controlState: 'granted' }))?.controlState, 'granted');
      assert.equal(await a.updateParticipant('s1', 'ghost', { connected: true }), undefined);
      assert.equal(await a.getParticipant('s1', 'ghost'), undefined);
      const removed = await b.removeParticipant('s1', 'c1');
      assert.equal(removed?.controlState, 'granted');
      assert.equal(await b.removeParticipant('s1', 'c1'), undefined);
      assert.equal(await a.wasRemovedByHost('s1', 'c1'), false, 'left, not removed by the host');
    });
  });
}

spec('memory', async () => {
  const store = new MemoryRoomStateStore();
  return { a: store, b: store, close: async () => undefined };
});

describe('room state store: redis only', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let prefixN = 0;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  const links: RedisLink[] = [];
  async function link(prefix: string, timeoutMs = 500): Promise<RedisLink> {
    const l = new RedisLink({ url: redis.url, keyPrefix: prefix, timeoutMs, log: () => undefined });
    await l.connect();
    links.push(l);
    return l;
  }
  afterEach(async () => {
    redis.resume();
    await Promise.all(links.splice(0).map((l) => l.close()));
  });

  spec('redis', async () => {
    const prefix = `spec${++prefixN}:`;
    const la = await link(prefix);
    const lb = await link(prefix);
    return { a: new RedisRoomStateStore(la), b: new RedisRoomStateStore(lb), close: async () => undefined };
  });

  it('a corrupt value is a clear error naming the key, not a crash; the rest keeps working', async () => {
    const l = await link('corrupt:');
    const store = new RedisRoomStateStore(l);
    await store.createSession(session('s1'));
    await store.createSession(session('s2'));
    await store.addParticipant('s1', participant('c1', 'controller'), LIMITS);
    await l.cmd.hset('corrupt:s:s1', 'media', '"carrier-pigeon"');
    await assert.rejects(
      store.getSession('s1'),
      (err: unknown) => err instanceof CorruptStateError && /corrupt session at corrupt:s:s1: media/.test(err.message),
    );
    await l.cmd.hset('corrupt:p:s1:c1', 'connected', '{not json');
    await assert.rejects(
      store.getParticipant('s1', 'c1'),
      (err: unknown) => err instanceof CorruptStateError && /corrupt participant at corrupt:p:s1:c1: field connected is not JSON/.test(err.message),
    );
    await assert.rejects(store.listParticipants('s1'), CorruptStateError);
    await l.cmd.set('corrupt:live', 'many');
    await assert.rejects(store.countLiveSessions(), /corrupt live-session count/);
    assert.equal((await store.getSession('s2'))?.id, 's2');
  });

  it('while Redis is paused: held sessions are read from the local copy within ~500 ms, the rest is UNAVAILABLE at once, and all is back after resume', async () => {
    const l = await link('pause:');
    const store = new RedisRoomStateStore(l);
    await store.createSession(session('held'));
    await store.createSession(session('other'));
    await store.addParticipant('held', participant('h', 'host'), LIMITS);
    await store.listParticipants('held');
    store.holds = (id) => id === 'held';
    redis.pause();
    let t0 = Date.now();
    assert.equal((await store.getSession('held'))?.id, 'held');
    assert.ok(Date.now() - t0 < 900, `first read waited ${Date.now() - t0} ms`);
    t0 = Date.now();
    assert.equal((await store.getParticipant('held', 'h'))?.role, 'host');
    assert.deepEqual(
      (await store.listParticipants('held')).map((p) => p.id),
      ['h'],
    );
    assert.ok(Date.now() - t0 < 100, 'later reads do not wait once Redis counts as unreachable');
    const unavailable = (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.Unavailable && /state store is unreachable/.test(err.message);
    await assert.rejects(store.getSession('other'), unavailable);
    await assert.rejects(store.addParticipant('held', participant('v1', 'viewer'), LIMITS), unavailable);
    redis.resume();
    await new Promise<void>((resolve) => l.once('up', () => resolve()));
    assert.deepEqual(await store.addParticipant('held', participant('v1', 'viewer'), LIMITS), { ok: true });
    assert.equal((await store.getSession('other'))?.id, 'other');
  });

  it('a join insert sent just as Redis stops answering is reported as uncertain (it lands on resume)', async () => {
    const l = await link('uncertain:');
    const store = new RedisRoomStateStore(l);
    await store.createSession(session('s1'));
    redis.pause();
    await assert.rejects(
      store.addParticipant('s1', participant('v1', 'viewer'), LIMITS),
      (e: unknown) => e instanceof PairuxError && e.code === ErrorCode.Unavailable,
    );
    redis.resume();
    await new Promise<void>((resolve) => l.once('up', () => resolve()));
    assert.deepEqual(store.takeUncertainAdds(), [{ sessionId: 's1', participantId: 'v1' }]);
    assert.equal((await store.getParticipant('s1', 'v1'))?.id, 'v1', 'Redis ran it after all');
    assert.deepEqual(store.takeUncertainAdds(), []);
  });
});
