/**
 * The host's enforcement of remote control, without a browser: who may send input (identity from
 * the connection, not the event), the sanitizer and rate limit in front of the sink, coalesced
 * refusals, the runner being asked about requests, and stop-all closing the gate before the
 * server has even heard of it.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { Participant } from '../../protocol/signaling';
import { TypedEmitter } from '../../common/typed-emitter';
import { HostControl, type AskAnswer } from '../../webview/engine/input/host-control';
import { HostInputGate, type RefusalNotice } from '../../webview/engine/input/host-input';
import type { ControlChange, SignalingEvents, SignalingState } from '../../webview/engine/signaling/signaling-client';
import type { InputEvent } from '../../protocol/input';

function participant(id: string, role: Participant['role'], controlState: Participant['controlState'] = 'none'): Participant {
  return { id, name: id.toUpperCase(), role, connected: true, controlState, joinedAt: 0 };
}

/** The slice of SignalingClient HostControl uses, with requests recorded and answered by the test. */
class FakeSignaling extends TypedEmitter<SignalingEvents> {
  state: SignalingState = 'joined';
  self = participant('host', 'host');
  participants = new Map<string, Participant>([['host', this.self]]);
  driverId: string | null = null;
  calls: string[] = [];
  revokeAnswer: Promise<void> = new Promise(() => undefined); // the server never answers

  add(p: Participant): void {
    this.participants.set(p.id, p);
  }

  /** The server's participant.updated (a role change). */
  update(id: string, changes: Partial<Participant>): void {
    const previous = this.participants.get(id)!;
    this.participants.set(id, { ...previous, ...changes });
    this.emit('participantUpdated', { participant: this.participants.get(id)!, previous });
  }

  leave(id: string): void {
    const participant = this.participants.get(id);
    this.participants.delete(id);
    this.emit('participantLeft', { participantId: id, reason: 'left', participant });
  }

  /** What the server would broadcast: the participant update, then control.changed. */
  change(participantId: string, state: Participant['controlState'], reason: ControlChange['reason']): void {
    const p = this.participants.get(participantId)!;
    this.participants.set(participantId, { ...p, controlState: state });
    this.driverId = [...this.participants.values()].find((x) => x.controlState === 'granted')?.id ?? null;
    this.emit('controlChanged', { participantId, state, reason, driverId: this.driverId });
  }

  async grantControl(id: string): Promise<void> {
    this.calls.push(`grant ${id}`);
    for (const p of this.participants.values()) if (p.controlState === 'granted' && p.id !== id) this.change(p.id, 'none', 'taken-over');
    this.change(id, 'granted', 'granted');
  }
  async denyControl(id: string, reason: 'denied' | 'timeout' = 'denied'): Promise<void> {
    this.calls.push(`deny ${id} ${reason}`);
    this.change(id, 'none', reason);
  }
  revokeControl(options: { participantId?: string; panic?: boolean } = {}): Promise<void> {
    this.calls.push(`revoke ${options.participantId ?? 'all'}${options.panic ? ' panic' : ''}`);
    return this.revokeAnswer;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(answer: (id: string) => Promise<AskAnswer> = async () => ({ allow: true, reason: 'allowed' }), now?: () => number) {
  const s = new FakeSignaling();
  s.add(participant('ada', 'controller'));
  s.add(participant('bob', 'controller'));
  s.add(participant('vic', 'viewer'));
  const asked: string[] = [];
  const control = new HostControl({
    signaling: s as never,
    asker: {
      ask: (id) => {
        asked.push(id);
        return answer(id);
      },
    },
  });
  control.start();
  const forwarded: Array<{ id: string; event: InputEvent }> = [];
  const gate = new HostInputGate({
    refusalFor: (id) => control.refusalFor(id),
    sink: { input: (id, event) => (forwarded.push({ id, event }), true) },
    refusalIntervalMs: 40,
    ...(now ? { now } : {}),
  });
  const notices = new Map<string, RefusalNotice[]>();
  for (const id of ['ada', 'bob', 'vic']) {
    notices.set(id, []);
    gate.attach(id, (n) => notices.get(id)!.push(n));
  }
  return { s, control, gate, asked, forwarded, notices };
}

const click = (seq: number) => ({ t: 'down', seq, x: 0.5, y: 0.5, button: 'left' });

describe('webview: host control and the input gate', () => {
  it("asks the runner about a request and grants; only the driver's input reaches the sink", async () => {
    const { s, gate, asked, forwarded, notices } = setup();
    s.change('ada', 'requested', 'requested');
    await tick();
    assert.deepEqual(asked, ['ada']);
    assert.deepEqual(s.calls, ['grant ada']);
    gate.receive('ada', click(1));
    gate.receive('bob', click(2)); // a controller who does not drive
    gate.receive('vic', click(3)); // a viewer
    assert.deepEqual(
      forwarded.map((f) => [f.id, f.event.seq]),
      [['ada', 1]],
    );
    assert.equal(notices.get('bob')![0]?.code, ErrorCode.Forbidden);
    assert.equal(notices.get('vic')![0]?.seq, 3);
    assert.match(notices.get('vic')![0]!.reason, /someone else is driving/);
    assert.deepEqual(gate.stats().refused, { [ErrorCode.Forbidden]: 2 });
  });

  it("the identity is the connection's: an event claiming to be from the driver is still the sender's", async () => {
    const { s, gate, forwarded } = setup();
    s.change('ada', 'requested', 'requested');
    await tick();
    gate.receive('bob', { ...click(9), controllerId: 'ada', from: 'ada' });
    assert.equal(forwarded.length, 0);
  });

  it("sanitizes the driver's events and strips what is not allowed", async () => {
    const { s, gate, forwarded, notices } = setup();
    s.change('ada', 'requested', 'requested');
    await tick();
    gate.receive('ada', { t: 'keydown', seq: 4, key: 'p', mods: ['control'], exec: 'rm -rf /' });
    gate.receive('ada', { t: 'keydown', seq: 5, key: 'F13' });
    gate.receive('ada', { t: 'exec', seq: 6 });
    gate.receive('ada', { t: 'move', seq: 7, x: 2, y: 0.5 });
    assert.deepEqual(
      forwarded.map((f) => f.event),
      [{ t: 'keydown', seq: 4, key: 'p', mods: ['control'] }],
    );
    await wait(60);
    const refused = notices.get('ada')!;
    // The first refusal at once, the other two coalesced into one notice.
    assert.deepEqual(
      refused.map((n) => [n.seq, n.count]),
      [
        [5, 1],
        [7, 2],
      ],
    );
    assert.deepEqual(gate.stats().refused, { [ErrorCode.Forbidden]: 2, [ErrorCode.BadMessage]: 1 });
  });

  it('rate-limits a flooding driver and says so a few times a second, not per event', async () => {
    // A clock that stands still while the flood arrives, so a slow machine cannot refill the bucket.
    let clock = 1000;
    const { s, gate, forwarded, notices } = setup(undefined, () => clock);
    s.change('ada', 'requested', 'requested');
    await tick();
    for (let i = 0; i < 1000; i++) gate.receive('ada', { t: 'move', seq: i, x: 0.5, y: 0.5 });
    assert.equal(forwarded.length, 200, 'half a second of budget as a burst');
    clock += 100;
    await wait(60);
    const n = notices.get('ada')!;
    assert.ok(n.length <= 2, `${n.length} notices`);
    assert.equal(
      n.reduce((sum, x) => sum + x.count, 0),
      1000 - forwarded.length,
    );
    assert.equal(n[0]?.code, ErrorCode.RateLimited);
  });

  it('denies when the runner says no, or when nobody answers in time', async () => {
    const answers: Record<string, AskAnswer | Error> = {
      ada: { allow: false, reason: 'denied' },
      bob: new PairuxError(ErrorCode.Timeout, 'control.ask got no answer'),
    };
    const { s } = setup(async (id) => {
      const a = answers[id]!;
      if (a instanceof Error) throw a;
      return a;
    });
    s.change('ada', 'requested', 'requested');
    s.change('bob', 'requested', 'requested');
    await tick();
    assert.deepEqual(s.calls.sort(), ['deny ada denied', 'deny bob timeout']);
  });

  it('without a runner to ask, requests are denied at once', async () => {
    const s = new FakeSignaling();
    s.add(participant('ada', 'controller'));
    const control = new HostControl({ signaling: s as never });
    control.start();
    s.change('ada', 'requested', 'requested');
    await tick();
    assert.deepEqual(s.calls, ['deny ada denied']);
  });

  it('a request withdrawn while the host is asked is not granted', async () => {
    let allow!: (a: AskAnswer) => void;
    const { s } = setup(() => new Promise((r) => (allow = r)));
    s.change('ada', 'requested', 'requested');
    s.change('ada', 'none', 'released');
    allow({ allow: true, reason: 'allowed' });
    await tick();
    assert.deepEqual(s.calls, []);
  });

  it('stop-all refuses input at once, before the server answers, and voids pending questions', async () => {
    let allowBob!: (a: AskAnswer) => void;
    const { s, control, gate, forwarded, notices } = setup((id) =>
      id === 'bob' ? new Promise((r) => (allowBob = r)) : Promise.resolve({ allow: true, reason: 'allowed' }),
    );
    s.change('ada', 'requested', 'requested');
    await tick();
    s.change('bob', 'requested', 'requested');
    gate.receive('ada', click(1));
    control.stopAll();
    // The server has not answered the revoke (it never will here) and still says Ada drives.
    assert.equal(s.driverId, 'ada');
    assert.ok(s.calls.includes('revoke all panic'));
    gate.receive('ada', click(2));
    assert.deepEqual(
      forwarded.map((f) => f.event.seq),
      [1],
    );
    assert.match(notices.get('ada')!.at(-1)!.reason, /stopped all remote control/);
    allowBob({ allow: true, reason: 'allowed' });
    await tick();
    assert.ok(!s.calls.includes('grant bob'), 'a question asked before stop-all must not grant');
    assert.equal(control.driverId, null);
  });

  it('after stop-all, a fresh grant (once the server confirmed the revoke) lets input flow again', async () => {
    const { s, control, gate, forwarded } = setup();
    s.revokeAnswer = Promise.resolve();
    s.change('ada', 'requested', 'requested');
    await tick();
    control.stopAll();
    s.change('ada', 'none', 'panic');
    await tick();
    gate.receive('ada', click(1));
    assert.equal(forwarded.length, 0);
    s.change('bob', 'requested', 'requested');
    await tick();
    assert.equal(control.stopped, false);
    gate.receive('bob', click(2));
    assert.deepEqual(
      forwarded.map((f) => [f.id, f.event.seq]),
      [['bob', 2]],
    );
  });

  it('a take-over moves the gate to the new driver', async () => {
    const { s, gate, forwarded } = setup();
    s.change('ada', 'requested', 'requested');
    await tick();
    s.change('bob', 'requested', 'requested');
    await tick();
    gate.receive('ada', click(1));
    gate.receive('bob', click(2));
    assert.deepEqual(
      forwarded.map((f) => f.id),
      ['bob'],
    );
  });

  it('a driver the server names on its own (the host never allowed it) gets no input through', async () => {
    const { s, control, gate, asked, forwarded, notices } = setup();
    const refusals: Array<[string, string | undefined]> = [];
    const gated = new HostInputGate({
      refusalFor: (id) => {
        const why = control.refusalFor(id);
        refusals.push([id, why]);
        return why;
      },
      sink: { input: (id, event) => (forwarded.push({ id, event }), true) },
    });
    const told: Array<string | undefined> = [];
    gated.attach('ada', (n) => told.push(n.reason));
    // No request, no question to the host, no grant from it: only the server's word.
    s.change('ada', 'granted', 'granted');
    assert.equal(s.driverId, 'ada');
    assert.deepEqual(asked, []);
    gated.receive('ada', click(1));
    gate.receive('ada', click(2));
    assert.deepEqual(refusals, [['ada', 'the host never allowed ada to drive']]);
    assert.equal(told.length, 1);
    assert.match(told[0]!, /the host never allowed ada to drive/);
    assert.equal(notices.get('ada')![0]?.seq, 2);
    assert.equal(forwarded.length, 0);
    assert.equal(control.driverId, null);
  });

  it("the host's own grant counts, and an approval ends with that participant's control", async () => {
    const { s, control, gate, forwarded, notices } = setup();
    const toldRunner: string[] = [];
    control.on('approved', ({ participantId }) => toldRunner.push(participantId));
    await control.grant('bob');
    assert.deepEqual(s.calls, ['grant bob']);
    assert.deepEqual(toldRunner, ['bob'], "the runner hears of the host page's own grant");
    gate.receive('bob', click(1));
    assert.deepEqual(
      forwarded.map((f) => [f.id, f.event.seq]),
      [['bob', 1]],
    );
    // Bob stops driving; the server later names him again without the host having allowed it.
    s.change('bob', 'none', 'released');
    s.change('bob', 'granted', 'granted');
    await wait(50);
    gate.receive('bob', click(2));
    assert.deepEqual(
      forwarded.map((f) => f.event.seq),
      [1],
    );
    assert.match(notices.get('bob')!.at(-1)!.reason, /never allowed bob/);
  });

  it('an approval ends when that participant leaves or is demoted', async () => {
    const { s, control, gate, forwarded } = setup();
    await control.grant('ada');
    s.update('ada', { role: 'viewer' });
    s.update('ada', { role: 'controller' });
    gate.receive('ada', click(1));
    assert.match(control.refusalFor('ada') ?? '', /never allowed ada/);
    await control.grant('bob');
    s.leave('bob');
    s.add(participant('bob', 'controller', 'granted'));
    gate.receive('bob', click(2));
    assert.equal(forwarded.length, 0);
    assert.match(control.refusalFor('bob') ?? '', /never allowed bob/);
  });

  it('the runner is told who asks beyond a name: their client and the link they came through', async () => {
    const s = new FakeSignaling();
    s.add({ ...participant('ada', 'controller'), client: 'vscode', link: { id: 'jti-1', label: 'for Ada' } });
    s.add({ ...participant('bob', 'controller'), client: 'browser' });
    const asked: unknown[] = [];
    const control = new HostControl({
      signaling: s as never,
      asker: { ask: async (id, name, who) => (asked.push([id, name, who]), { allow: false, reason: 'denied' }) },
    });
    control.start();
    s.change('ada', 'requested', 'requested');
    s.change('bob', 'requested', 'requested');
    await tick();
    assert.deepEqual(asked, [
      ['ada', 'ADA', { client: 'vscode', link: 'for Ada' }],
      ['bob', 'BOB', { client: 'browser' }],
    ]);
  });

  it("refuses when the sink cannot take input (the runner went away), and passes the helper's refusals on", async () => {
    const { s, gate, notices } = setup();
    s.change('ada', 'requested', 'requested');
    await tick();
    gate.setSink(undefined);
    gate.receive('ada', click(1));
    assert.equal(notices.get('ada')![0]?.code, ErrorCode.Closed);
    await wait(50);
    gate.refuse('ada', { seq: 8, code: 'FORBIDDEN', reason: 'the helper has no grant' }, 3);
    assert.deepEqual(notices.get('ada')!.at(-1), { seq: 8, code: 'FORBIDDEN', reason: 'the helper has no grant', count: 3 });
  });
});
