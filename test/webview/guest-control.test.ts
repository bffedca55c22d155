/**
 * A guest's view of remote control, from the server's notifications alone, and the words it
 * shows for each situation.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { Participant } from '../../protocol/signaling';
import { TypedEmitter } from '../../common/typed-emitter';
import { GuestControl, type GuestControlView } from '../../webview/engine/input/guest-control';
import type { ControlChange, SignalingEvents } from '../../webview/engine/signaling/signaling-client';
import { controlStatusText, driverText, type ControlTextInput } from '../../webview/pages/control-text';

class FakeSignaling extends TypedEmitter<SignalingEvents> {
  self: Participant = { id: 'me', name: 'Me', role: 'controller', connected: true, controlState: 'none', joinedAt: 0 };
  driverId: string | null = null;
  requests = 0;
  refuse: PairuxError | undefined;
  async requestControl(): Promise<void> {
    this.requests++;
    if (this.refuse) throw this.refuse;
    this.changed({ participantId: 'me', state: 'requested', reason: 'requested', driverId: this.driverId });
  }
  async releaseControl(): Promise<void> {
    this.changed({ participantId: 'me', state: 'none', reason: 'released', driverId: null });
  }
  changed(change: ControlChange): void {
    this.driverId = change.driverId;
    this.emit('controlChanged', change);
  }
}

function text(view: GuestControlView, extra: Partial<ControlTextInput> = {}): string {
  return controlStatusText({
    view,
    selfId: 'me',
    hostName: 'Hana',
    driverName: undefined,
    fullscreen: false,
    keyboard: 'off',
    keyboardLockSupported: true,
    ...extra,
  });
}

describe('webview: guest control state', () => {
  it('request → waiting → driving → taken over, with the words for each', async () => {
    const s = new FakeSignaling();
    const c = new GuestControl(s as never);
    c.start();
    assert.equal(c.view.canRequest, true);
    await c.request();
    assert.equal(c.view.phase, 'waiting');
    assert.match(text(c.view), /Waiting for Hana/);
    s.changed({ participantId: 'me', state: 'granted', reason: 'granted', driverId: 'me' });
    assert.equal(c.driving, true);
    assert.match(text(c.view), /You are driving Hana's screen/);
    assert.match(text(c.view), /full screen/);
    s.changed({ participantId: 'me', state: 'none', reason: 'taken-over', driverId: null });
    assert.equal(c.view.outcome, 'taken-over');
    assert.equal(text(c.view), 'Another controller took over control.');
    s.changed({ participantId: 'bob', state: 'granted', reason: 'granted', driverId: 'bob' });
    assert.equal(text(c.view, { driverName: 'Bob' }), 'Bob took over control.');
  });

  it('says why a request or a drive ended', () => {
    const s = new FakeSignaling();
    const c = new GuestControl(s as never);
    c.start();
    const cases: Array<[ControlChange['reason'], RegExp]> = [
      ['denied', /Hana declined/],
      ['timeout', /Hana did not answer/],
      ['revoked', /Hana took control back/],
      ['panic', /Hana stopped all remote control/],
      ['released', /You stopped driving/],
      ['left', /connection dropped/],
    ];
    for (const [reason, words] of cases) {
      s.changed({ participantId: 'me', state: 'none', reason, driverId: null });
      assert.equal(c.view.outcome, reason);
      assert.match(text(c.view), words);
    }
  });

  it("a refused request shows the server's words; a viewer cannot ask", async () => {
    const s = new FakeSignaling();
    s.refuse = new PairuxError(ErrorCode.Forbidden, 'The host has turned off control requests in this session.');
    const c = new GuestControl(s as never);
    c.start();
    await c.request();
    assert.equal(c.view.phase, 'none');
    assert.equal(text(c.view), 'The host has turned off control requests in this session.');
    s.self = { ...s.self, role: 'viewer' };
    assert.equal(c.view.canRequest, false);
  });

  it('says who drives, and what full screen means for the keyboard', () => {
    assert.equal(driverText(null, 'me', undefined), '');
    assert.equal(driverText('me', 'me', 'Me'), 'You are driving');
    assert.equal(driverText('ada', 'me', 'Ada'), 'Ada is driving');
    const driving: GuestControlView = { canRequest: true, phase: 'driving', outcome: undefined, error: undefined, driverId: 'me' };
    assert.match(text(driving, { fullscreen: true, keyboard: 'locked' }), /every key goes to the host/);
    assert.match(text(driving, { fullscreen: true, keyboard: 'unavailable' }), /Keyboard Lock is not available/);
    const watching: GuestControlView = { canRequest: false, phase: 'none', outcome: undefined, error: undefined, driverId: 'ada' };
    assert.equal(text(watching, { driverName: 'Ada' }), 'Ada is driving');
  });

  it('a drive lost while disconnected shows as lost on rejoin', () => {
    const s = new FakeSignaling();
    const c = new GuestControl(s as never);
    c.start();
    s.changed({ participantId: 'me', state: 'granted', reason: 'granted', driverId: 'me' });
    s['emit']('joined', { result: { self: { ...s.self, controlState: 'none' } } as never, resumed: true, identityChanged: false });
    assert.equal(c.view.phase, 'none');
    assert.equal(c.view.outcome, 'left');
  });
});
