/**
 * The pages' engine switches: they stand in before the first join, pick P2P or SFU by whether
 * the join result carries SFU access, and hand over what the page did meanwhile (the screen the
 * runner reported, start) so the pages need no mode branches.
 */
import assert from 'node:assert/strict';
import type { SfuAccess } from '../../protocol/signaling';
import { TypedEmitter } from '../../common/typed-emitter';
import { GuestMediaSwitch, HostMediaSwitch, mediaModeLabel } from '../../webview/engine/media-engine';
import type { JoinResult, SignalingClient, SignalingEvents } from '../../webview/engine/signaling/signaling-client';
import type { InboundVideoStats } from '../../webview/engine/stats';
import type {
  GuestEngineEvents,
  GuestInfo,
  GuestMediaEngine,
  GuestStats,
  HostEngineEvents,
  HostMediaEngine,
  MediaMode,
  ScreenDescription,
} from '../../webview/engine/engine-types';

class FakeSignaling extends TypedEmitter<SignalingEvents> {
  join(sfu?: SfuAccess): void {
    const result = { sfu } as unknown as JoinResult;
    this.emit('joined', { result, resumed: false, identityChanged: true });
  }
}

class FakeHost extends TypedEmitter<HostEngineEvents> implements HostMediaEngine {
  started = 0;
  screen: ScreenDescription = { width: 1, height: 1, fps: 1, source: 'none' };
  constructor(readonly mode: MediaMode) {
    super();
  }
  start(): void {
    this.started++;
  }
  stop(): void {}
  setScreen(screen: ScreenDescription): void {
    this.screen = screen;
  }
  guests(): GuestInfo[] {
    return [];
  }
  stats(): Promise<GuestStats[]> {
    return Promise.resolve([]);
  }
  fail(message: string): void {
    this.emit('error', { message });
  }
}

class FakeGuest extends TypedEmitter<GuestEngineEvents> implements GuestMediaEngine {
  started = 0;
  readonly state = 'live' as const;
  readonly rttMs = 3;
  readonly screen = undefined;
  readonly inputReady = true;
  sent: unknown[] = [];
  constructor(readonly mode: MediaMode) {
    super();
  }
  start(): void {
    this.started++;
  }
  stop(): void {}
  stats(): Promise<InboundVideoStats> {
    return Promise.reject(new Error('unused'));
  }
  sendInput(event: unknown): boolean {
    this.sent.push(event);
    return true;
  }
  flushInput(): Promise<boolean> {
    return Promise.resolve(true);
  }
  live(): void {
    this.emit('state', { state: 'live', previous: 'connecting' });
  }
}

const access: SfuAccess = { url: 'ws://127.0.0.1:1', token: 't', room: 'r', expiresAt: Date.now() + 60_000 };
const screen: ScreenDescription = { width: 1280, height: 720, fps: 30, source: 'bridge' };

describe('webview: media engine switches (P2P or SFU by the join result)', () => {
  it('the host: SFU access ⇒ the SFU engine, which gets the screen set before the join, is started, and its events reach the page', () => {
    const s = new FakeSignaling();
    let made: FakeHost | undefined;
    const sw = new HostMediaSwitch(s as unknown as SignalingClient, { ...screen, source: 'page' }, (sfu) => (made = new FakeHost(sfu ? 'sfu' : 'p2p')));
    const errors: string[] = [];
    sw.on('error', ({ message }) => errors.push(message));
    sw.start();
    sw.setScreen(screen);
    assert.equal(sw.chosen, undefined);
    assert.deepEqual(sw.guests(), []);
    s.join(access);
    assert.equal(sw.mode, 'sfu');
    assert.equal(made?.started, 1);
    assert.deepEqual(made?.screen, screen);
    made?.fail('boom');
    assert.deepEqual(errors, ['boom']);
    s.join(access); // a rejoin chooses nothing new
    assert.equal(made?.started, 1);
  });

  it('the guest: no SFU access ⇒ P2P; input and state go through the chosen engine; nothing is sent before the choice', () => {
    const s = new FakeSignaling();
    let made: FakeGuest | undefined;
    const sw = new GuestMediaSwitch(s as unknown as SignalingClient, (sfu) => (made = new FakeGuest(sfu ? 'sfu' : 'p2p')));
    const states: string[] = [];
    sw.on('state', ({ state }) => states.push(state));
    assert.equal(sw.sendInput({ t: 'move' }), false);
    assert.equal(sw.state, 'connecting');
    sw.start();
    s.join(undefined);
    assert.equal(sw.mode, 'p2p');
    assert.equal(made?.started, 1);
    made?.live();
    assert.deepEqual(states, ['live']);
    assert.equal(sw.sendInput({ t: 'move' }), true);
    assert.deepEqual(made?.sent, [{ t: 'move' }]);
    assert.equal(sw.rttMs, 3);
  });

  it('status words', () => {
    assert.equal(mediaModeLabel('sfu'), 'via SFU');
    assert.equal(mediaModeLabel('p2p'), 'peer-to-peer');
    assert.equal(mediaModeLabel(undefined), '');
  });
});
