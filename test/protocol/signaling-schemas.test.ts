/** The signaling boundary's validators on hostile input: caps, shapes, names. */
import assert from 'node:assert/strict';
import { DisplayName, Id } from '../../protocol/common';
import { MAX_SDP_CHARS } from '../../protocol/limits';
import { Join, SendSignal, SignalPayload } from '../../protocol/signaling';

describe('protocol: signaling schemas', () => {
  it('caps SDP size and knows every payload kind', () => {
    assert.ok(SignalPayload.safeParse({ kind: 'offer', pc: 'p1', sdp: 'v=0' }).success);
    assert.ok(!SignalPayload.safeParse({ kind: 'offer', pc: 'p1', sdp: 'x'.repeat(MAX_SDP_CHARS + 1) }).success);
    assert.ok(!SignalPayload.safeParse({ kind: 'answer', pc: 'p1' }).success);
    assert.ok(!SignalPayload.safeParse({ kind: 'video', pc: 'p1' }).success);
    assert.ok(SignalPayload.safeParse({ kind: 'ice', pc: 'p1', candidate: null }).success);
    assert.ok(!SignalPayload.safeParse({ kind: 'ice', pc: 'p1', candidate: { candidate: 'c'.repeat(5000) } }).success);
  });

  it('accepts only safe ids and printable names', () => {
    assert.ok(Id.safeParse('v-AbC_123').success);
    for (const bad of ['', '../x', 'a b', 'x'.repeat(65), 'é']) assert.ok(!Id.safeParse(bad).success, bad);
    assert.equal(DisplayName.parse('  Ada  '), 'Ada');
    for (const bad of ['', '   ', 'a\u0000b', 'bell\u0007', 'x'.repeat(65)]) assert.ok(!DisplayName.safeParse(bad).success, JSON.stringify(bad));
  });

  it('requires a token and a session to join, and a target to signal', () => {
    assert.ok(!Join.params.safeParse({ sessionId: 's', name: 'n' }).success);
    assert.ok(!Join.params.safeParse({ sessionId: 's', name: 'n', token: 'x'.repeat(5000) }).success);
    assert.ok(!SendSignal.params.safeParse({ payload: { kind: 'hello', reason: 'join' } }).success);
  });
});
