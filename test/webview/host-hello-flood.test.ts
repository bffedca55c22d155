/**
 * A hello flood from one guest (F3): the P2P host builds a peer connection per hello it acts on,
 * so a viewer sending hellos as fast as the server lets it could starve the host and keep other
 * viewers from ever getting a picture. The real HostEngine runs here without a browser: the
 * WebRTC objects it creates are minimal stand-ins that count connections and record offers.
 */
import assert from 'node:assert/strict';
import type { Participant, SignalPayload } from '../../protocol/signaling';
import { DEFAULT_ROLE_TIERS, DEFAULT_TIERS } from '../../protocol/tiers';
import { TypedEmitter } from '../../common/typed-emitter';
import { HostEngine } from '../../webview/engine/p2p/host-engine';
import { HELLO_MIN_INTERVAL_MS } from '../../webview/engine/p2p/hello-pacer';
import { silentLogger } from '../../webview/engine/logger';
import type { SignalingEvents, SignalingState } from '../../webview/engine/signaling/signaling-client';

/** Every RTCPeerConnection the engine made, by the guest it was for (from its offer). */
let built: FakePeerConnection[] = [];

class FakeChannel {
  readyState = 'connecting';
  addEventListener(): void {}
  send(): void {}
  close(): void {}
}

class FakePeerConnection {
  connectionState = 'new';
  iceConnectionState = 'new';
  signalingState = 'stable';
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription = null;
  onicecandidate: unknown = null;
  onconnectionstatechange: unknown = null;
  oniceconnectionstatechange: unknown = null;
  constructor() {
    built.push(this);
  }
  addTransceiver() {
    return { sender: { getParameters: () => ({ encodings: [] }), setParameters: async () => undefined }, setCodecPreferences: () => undefined };
  }
  createDataChannel() {
    return new FakeChannel();
  }
  async createOffer() {
    return { type: 'offer', sdp: 'v=0\r\n' };
  }
  async setLocalDescription(d: { type: string; sdp: string }) {
    this.localDescription = d;
    this.signalingState = 'have-local-offer';
  }
  close(): void {
    this.connectionState = 'closed';
  }
}

const globals = globalThis as Record<string, unknown>;
const saved = {
  RTCPeerConnection: globals.RTCPeerConnection,
  MediaStream: globals.MediaStream,
  RTCRtpSender: globals.RTCRtpSender,
  RTCRtpReceiver: globals.RTCRtpReceiver,
};

function participant(id: string, role: Participant['role']): Participant {
  return { id, name: id, role, connected: true, controlState: 'none', joinedAt: 0 };
}

/** What HostEngine uses of the signaling client; hellos arrive as the server relays them. */
class FakeSignaling extends TypedEmitter<SignalingEvents> {
  state: SignalingState = 'joined';
  participants = new Map<string, Participant>([['host', participant('host', 'host')]]);
  /** The session's quality tiers (the join result's); the defaults, as from a server that sent none. */
  tiers = { table: DEFAULT_TIERS, roles: DEFAULT_ROLE_TIERS };
  offers: Array<{ to: string; at: number }> = [];
  add(id: string): void {
    this.participants.set(id, participant(id, 'viewer'));
  }
  hello(from: string): void {
    this.emit('signal', { from, payload: { kind: 'hello', reason: 'join' } });
  }
  leave(id: string): void {
    const p = this.participants.get(id);
    this.participants.delete(id);
    this.emit('participantLeft', { participantId: id, reason: 'left', participant: p });
  }
  async freshIceServers() {
    return [];
  }
  async sendSignal(to: string, payload: SignalPayload): Promise<void> {
    if (payload.kind === 'offer') this.offers.push({ to, at: Date.now() });
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webview: a hello flood from one guest', function () {
  this.timeout(20_000);
  let s: FakeSignaling;
  let engine: HostEngine;

  beforeEach(() => {
    built = [];
    Object.assign(globals, {
      RTCPeerConnection: FakePeerConnection,
      MediaStream: class {},
      RTCRtpSender: { getCapabilities: () => null },
      RTCRtpReceiver: { getCapabilities: () => null },
    });
    s = new FakeSignaling();
    s.add('flood');
    s.add('ada');
    engine = new HostEngine({
      signaling: s as never,
      track: {} as MediaStreamTrack,
      screen: { width: 64, height: 64, fps: 5, source: 'test' },
      log: silentLogger,
    });
    engine.start();
  });
  afterEach(() => {
    engine.stop();
    Object.assign(globals, saved);
  });

  const offersTo = (id: string) => s.offers.filter((o) => o.to === id).length;

  it('builds a bounded number of connections for it, and another guest is answered at once', async () => {
    const started = Date.now();
    // 150 hellos a second for 3 s (the rate the review used, under the server's 200/s limit).
    let sent = 0;
    let adaAnsweredAfter: number | undefined;
    while (Date.now() - started < 3000) {
      for (let i = 0; i < 15; i++, sent++) s.hello('flood');
      if (sent === 150) {
        const asked = Date.now();
        s.hello('ada');
        await pause(20);
        assert.equal(offersTo('ada'), 1, "ada's hello was answered with an offer");
        adaAnsweredAfter = s.offers.find((o) => o.to === 'ada')!.at - asked;
      }
      await pause(100);
    }
    await pause(50);
    assert.ok(sent >= 400, `${sent} hellos sent`);
    assert.ok(adaAnsweredAfter !== undefined && adaAnsweredAfter < 200, `ada answered after ${adaAnsweredAfter} ms`);
    // Rebuilds at 0, 1, 3 s at most (the interval doubles while the flood goes on).
    const floodBuilt = built.length - 1;
    assert.ok(floodBuilt >= 1 && floodBuilt <= 3, `${floodBuilt} peer connections built for ${sent} hellos`);
    assert.equal(offersTo('flood'), floodBuilt, 'each connection built was offered');
    // Only the newest is kept: every replaced one was closed.
    assert.equal(built.filter((pc) => pc.connectionState !== 'closed').length, 2);
  });

  it('a guest whose connection failed is answered again after the interval; a guest that left is not', async () => {
    s.hello('ada');
    s.hello('ada');
    await pause(20);
    assert.equal(offersTo('ada'), 1, 'the second hello waits');
    await pause(HELLO_MIN_INTERVAL_MS + 100);
    assert.equal(offersTo('ada'), 2, 'the deferred hello builds one connection at the end of the interval');
    s.hello('flood');
    s.hello('flood');
    s.leave('flood');
    await pause(HELLO_MIN_INTERVAL_MS + 100);
    assert.equal(offersTo('flood'), 1, 'nothing deferred is built for a guest that left');
  });
});
