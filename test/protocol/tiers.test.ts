/** The quality tiers' table rules (protocol/tiers.ts) and the validators of the messages that carry them. */
import assert from 'node:assert/strict';
import { CreateSessionRequest, CreateSessionResponse } from '../../protocol/http-api';
import { Join, Participant, SetTier } from '../../protocol/signaling';
import { clampTiers, DEFAULT_ROLE_TIERS, DEFAULT_TIERS, mergeRoleTiers, mergeTiers, tierFor, tierOrderProblems, type TierTable } from '../../protocol/tiers';

describe('protocol: quality tiers', () => {
  it('the defaults are in order: each tier gets no more of anything than the one above it', () => {
    assert.deepEqual(tierOrderProblems(DEFAULT_TIERS), []);
    assert.equal(tierFor('viewer', DEFAULT_ROLE_TIERS), 'standard');
    assert.equal(tierFor('viewer', DEFAULT_ROLE_TIERS, 'low'), 'low');
  });

  it('an override changes only the fields it names', () => {
    const merged = mergeTiers(DEFAULT_TIERS, { standard: { maxKbps: 1500 }, low: { rtcPriority: 'very-low' } });
    assert.deepEqual(merged.standard, { ...DEFAULT_TIERS.standard, maxKbps: 1500 });
    assert.deepEqual(merged.low, { ...DEFAULT_TIERS.low, rtcPriority: 'very-low' });
    assert.deepEqual(merged.high, DEFAULT_TIERS.high);
    assert.deepEqual(mergeTiers(DEFAULT_TIERS), DEFAULT_TIERS);
    assert.deepEqual(mergeRoleTiers(DEFAULT_ROLE_TIERS, { viewer: 'low' }), { host: 'high', controller: 'high', viewer: 'low' });
  });

  it('names every field that is out of order, with both values', () => {
    const table: TierTable = {
      ...DEFAULT_TIERS,
      standard: { ...DEFAULT_TIERS.standard, maxFps: 90, maxScaleDown: 0.5 as number },
      low: { ...DEFAULT_TIERS.low, priority: 60, rtcPriority: 'high' },
    };
    assert.deepEqual(tierOrderProblems(table), [
      'standard.maxFps (90) asks for more than high.maxFps (60); a tier gets at most what the one above it gets',
      'standard.maxScaleDown (0.5) asks for more than high.maxScaleDown (1); a tier gets at most what the one above it gets',
      'low.priority (60) asks for more than standard.priority (50); a tier gets at most what the one above it gets',
      'low.rtcPriority (high) asks for more than standard.rtcPriority (medium); a tier gets at most what the one above it gets',
    ]);
  });

  it('clamps a table under a ceiling and under each tier above, and reports each change', () => {
    const ceiling = { ...DEFAULT_TIERS.high, maxKbps: 3000, maxScaleDown: 1.25, rtcPriority: 'medium' as const };
    const asked = mergeTiers(DEFAULT_TIERS, { high: { maxKbps: 9000 }, standard: { maxScaleDown: 1 }, low: { maxFps: 15 } });
    const { table, clamped } = clampTiers(asked, ceiling);
    assert.deepEqual(
      clamped.map((c) => `${c.tier}.${c.field} ${c.asked}→${c.applied}`),
      ['high.maxKbps 9000→3000', 'high.maxScaleDown 1→1.25', 'high.rtcPriority high→medium', 'standard.maxScaleDown 1→1.25'],
    );
    assert.equal(table.low.maxFps, 15, 'a lower tier may get as much as the one above it');
    assert.deepEqual(tierOrderProblems(table), []);
    // Asking for less is never changed.
    const modest = mergeTiers(DEFAULT_TIERS, { high: { maxKbps: 1000 }, standard: { maxKbps: 800 }, low: { maxKbps: 200 } });
    assert.deepEqual(clampTiers(modest, DEFAULT_TIERS.high), { table: modest, clamped: [] });
  });

  it('the session request takes tiers and role tiers, strictly: a misspelt tier or field is refused, not ignored', () => {
    assert.ok(CreateSessionRequest.safeParse({ tiers: { low: { maxKbps: 300 } }, roleTiers: { viewer: 'low' } }).success);
    for (const bad of [
      { tiers: { lowest: { maxKbps: 300 } } },
      { tiers: { low: { maxkbps: 300 } } },
      { tiers: { low: { maxKbps: 60_000 } } },
      { tiers: { low: { maxFps: 0 } } },
      { tiers: { low: { maxScaleDown: 0.5 } } },
      { roleTiers: { viewer: 'best' } },
      { roleTiers: { audience: 'low' } },
    ]) {
      assert.ok(!CreateSessionRequest.safeParse(bad).success, JSON.stringify(bad));
    }
  });

  it('participant.setTier takes a tier name or null, nothing else', () => {
    assert.ok(SetTier.params.safeParse({ participantId: 'v-1', tier: 'low' }).success);
    assert.ok(SetTier.params.safeParse({ participantId: 'v-1', tier: null }).success);
    for (const bad of [
      { participantId: 'v-1' },
      { participantId: 'v-1', tier: 'ultra' },
      { participantId: 'v-1', tier: 0 },
      { tier: 'low' },
      { participantId: '../x', tier: 'low' },
    ]) {
      assert.ok(!SetTier.params.safeParse(bad).success, JSON.stringify(bad));
    }
  });

  it('the tier fields are optional on the way in, so answers of servers older than the tiers still parse', () => {
    const p = { id: 'v-1', name: 'Vic', role: 'viewer', connected: true, controlState: 'none', joinedAt: 1 };
    assert.ok(Participant.safeParse(p).success);
    assert.ok(!Participant.safeParse({ ...p, tier: 'ultra' }).success);
    assert.ok(
      Join.result.safeParse({
        session: { id: 's', mode: 'auto', media: 'p2p', hostId: 'h', createdAt: 1 },
        self: p,
        participants: [],
        iceServers: [],
        resume: { participantId: 'v-1', secret: 'x'.repeat(16) },
        resumed: false,
        reconnectGraceMs: 1,
        heartbeatIntervalMs: 1,
        epoch: 0,
      }).success,
    );
    const created = { sessionId: 's', hostToken: 't', wsUrl: 'ws://x', links: { controller: { url: 'u', expiresAt: 1 }, viewer: { url: 'u', expiresAt: 1 } } };
    assert.ok(CreateSessionResponse.safeParse(created).success);
    assert.ok(
      !CreateSessionResponse.safeParse({ ...created, tiers: { table: DEFAULT_TIERS, roles: { ...DEFAULT_ROLE_TIERS, viewer: 'x' }, clamped: [] } }).success,
    );
  });
});
