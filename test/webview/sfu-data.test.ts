/**
 * The SFU host's input path without a browser: LiveKit data packets go through SfuHostData,
 * which names the sender by LiveKit's identity (never the payload), requires a controller of
 * this session by the control plane's list, and only then hands the event to the same
 * HostInputGate as P2P (which requires the grant). Also the publish settings and the token
 * keeper, which are pure.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import type { InputEvent } from '../../protocol/input';
import type { Participant, SfuAccess } from '../../protocol/signaling';
import { TypedEmitter } from '../../common/typed-emitter';
import { HostInputGate } from '../../webview/engine/input/host-input';
import { SfuAccessKeeper } from '../../webview/engine/sfu/sfu-access';
import { isLossyInput, SfuHostData, TOPIC_TO_GUEST, TOPIC_TO_HOST, type PublishDataOptions } from '../../webview/engine/sfu/sfu-data';
import type { SignalingEvents, SignalingState } from '../../webview/engine/signaling/signaling-client';

function participant(id: string, role: Participant['role']): Participant {
  return { id, name: id.toUpperCase(), role, connected: true, controlState: 'none', joinedAt: 0 };
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const packet = (event: unknown): Uint8Array => enc.encode(JSON.stringify({ v: 1, method: 'peer.input', params: { event } }));
const move = (seq: number): InputEvent => ({ t: 'move', seq, x: 0.5, y: 0.5 });

function setup(driver: string | null = 'ada') {
  const participants = new Map<string, Participant>([
    ['host', participant('host', 'host')],
    ['ada', participant('ada', 'controller')],
    ['bob', participant('bob', 'controller')],
    ['vic', participant('vic', 'viewer')],
  ]);
  const forwarded: Array<{ id: string; event: InputEvent }> = [];
  const sent: Array<{ text: string; options: PublishDataOptions }> = [];
  const gate = new HostInputGate({
    refusalFor: (id) => (id === driver ? undefined : 'nobody has been given control'),
    sink: { input: (id, event) => (forwarded.push({ id, event }), true) },
    refusalIntervalMs: 0,
  });
  const data = new SfuHostData({
    participants: () => participants,
    publish: async (bytes, options) => void sent.push({ text: dec.decode(bytes), options }),
    screen: () => ({ width: 1280, height: 720, fps: 30, source: 'generated' }),
    gate,
    log: () => undefined,
  });
  return { participants, forwarded, sent, gate, data };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('webview: SFU host data (LiveKit data → input gate)', () => {
  it("forwards the driver's event, attributed to LiveKit's sender identity", () => {
    const { data, forwarded } = setup('ada');
    data.receive(packet(move(1)), 'ada', TOPIC_TO_HOST);
    assert.deepEqual(forwarded, [{ id: 'ada', event: move(1) }]);
    assert.equal(data.counts.accepted, 1);
  });

  it('a payload claiming to be someone else is still from its LiveKit sender: a non-driver is refused', async () => {
    const { data, forwarded, sent } = setup('ada');
    // Bob forges Ada's id everywhere he can inside the payload.
    data.receive(
      enc.encode(JSON.stringify({ v: 1, method: 'peer.input', params: { event: { ...move(2), from: 'ada' }, from: 'ada', identity: 'ada' } })),
      'bob',
      TOPIC_TO_HOST,
    );
    assert.deepEqual(forwarded, []);
    await tick();
    const refusal = sent
      .map((s) => ({ ...s, msg: JSON.parse(s.text) as { method: string; params: { code: string } } }))
      .find((s) => s.msg.method === 'peer.input.refused');
    assert.ok(refusal, 'bob is told');
    assert.deepEqual(refusal.options.destinationIdentities, ['bob']);
    assert.equal(refusal.options.topic, TOPIC_TO_GUEST);
    assert.equal(refusal.msg.params.code, ErrorCode.Forbidden);
  });

  it("a viewer's data never reaches the gate, even with the grant recorded for it", async () => {
    const { data, forwarded, gate, sent } = setup('vic');
    data.receive(packet(move(3)), 'vic', TOPIC_TO_HOST);
    assert.deepEqual(forwarded, []);
    assert.equal(data.counts.wrongRole, 1);
    assert.equal(gate.stats().refused[ErrorCode.Forbidden], 1);
    await tick();
    assert.ok(sent.some((s) => s.options.destinationIdentities[0] === 'vic' && s.text.includes('viewers cannot send input')));
  });

  it('a controller demoted to viewer is refused from the next packet on', () => {
    const { data, forwarded, participants } = setup('ada');
    data.receive(packet(move(1)), 'ada', TOPIC_TO_HOST);
    participants.set('ada', participant('ada', 'viewer'));
    data.receive(packet(move(2)), 'ada', TOPIC_TO_HOST);
    assert.deepEqual(
      forwarded.map((f) => f.event.seq),
      [1],
    );
  });

  it('drops packets from strangers, from the host itself, on other topics, oversized or not UTF-8', () => {
    const { data, forwarded } = setup('ada');
    data.receive(packet(move(1)), 'mallory', TOPIC_TO_HOST);
    data.receive(packet(move(1)), undefined, TOPIC_TO_HOST);
    data.receive(packet(move(1)), 'host', TOPIC_TO_HOST);
    data.receive(packet(move(1)), 'ada', 'chat');
    data.receive(packet(move(1)), 'ada', undefined);
    data.receive(new Uint8Array(20_000).fill(32), 'ada', TOPIC_TO_HOST);
    data.receive(new Uint8Array([0xff, 0xfe, 0x80]), 'ada', TOPIC_TO_HOST);
    assert.deepEqual(forwarded, []);
    assert.deepEqual(data.counts, { accepted: 0, wrongTopic: 2, unknownSender: 2, wrongRole: 1, malformed: 2 });
  });

  it('answers pings and sends the screen to one guest or to the room', async () => {
    const { data, sent } = setup();
    data.receive(enc.encode(JSON.stringify({ v: 1, id: 7, method: 'peer.ping', params: { sentAt: 1 } })), 'ada', TOPIC_TO_HOST);
    data.sendScreen('bob');
    data.sendScreen();
    await tick();
    const pong = sent.find((s) => s.text.includes('"id":7'));
    const [one, all] = sent.filter((s) => s.text.includes('peer.screen'));
    assert.match(pong!.text, /hostTime/);
    assert.deepEqual(pong!.options.destinationIdentities, ['ada']);
    assert.match(one!.text, /peer\.screen/);
    assert.deepEqual(one!.options.destinationIdentities, ['bob']);
    assert.deepEqual(all!.options.destinationIdentities, []);
    assert.ok(sent.every((s) => s.options.reliable && s.options.topic === TOPIC_TO_GUEST));
  });

  it('names the key generation it sends under (encrypted sessions) to one guest or to the room, reliably', async () => {
    const { data, sent } = setup();
    data.sendKeyGeneration(3, 'bob');
    data.sendKeyGeneration(4);
    await tick();
    const [one, all] = sent.filter((s) => s.text.includes('peer.keyGen'));
    assert.deepEqual(JSON.parse(one!.text).params, { gen: 3 });
    assert.deepEqual(one!.options.destinationIdentities, ['bob']);
    assert.deepEqual(JSON.parse(all!.text).params, { gen: 4 });
    assert.deepEqual(all!.options.destinationIdentities, []);
    assert.ok(sent.every((s) => s.options.reliable && s.options.topic === TOPIC_TO_GUEST));
  });

  it('pointer moves go lossy, buttons and keys reliable', () => {
    assert.equal(isLossyInput(move(1)), true);
    assert.equal(isLossyInput({ t: 'down', seq: 1, x: 0, y: 0, button: 'left' }), false);
    assert.equal(isLossyInput({ t: 'keydown', seq: 1, key: 'a', mods: [] }), false);
    assert.equal(isLossyInput({ t: 'text', seq: 1, text: 'x' }), false);
  });
});

class FakeSignaling extends TypedEmitter<SignalingEvents> {
  state: SignalingState = 'joined';
  sfu: SfuAccess | undefined;
  refreshes = 0;
  next: () => Promise<SfuAccess> = async () => ({ url: 'ws://x', token: `t${++this.refreshes}`, room: 'r', expiresAt: Date.now() + 600_000 });
  refreshSfuAccess(): Promise<SfuAccess> {
    return this.next();
  }
}

describe('webview: SFU access keeper', () => {
  const access = (expiresInMs: number, token = 't0'): SfuAccess => ({ url: 'ws://x', token, room: 'r', expiresAt: Date.now() + expiresInMs });

  it('keeps a token with time left, refreshes one near expiry or when forced', async () => {
    const s = new FakeSignaling();
    const keeper = new SfuAccessKeeper(s, access(600_000), () => undefined);
    assert.equal((await keeper.fresh()).token, 't0');
    assert.equal((await keeper.fresh(true)).token, 't1');
    keeper.stop();
    const near = new SfuAccessKeeper(s, access(10_000), () => undefined);
    assert.equal((await near.fresh()).token, 't2');
    near.stop();
  });

  it('falls back to the token it has when the control plane cannot answer', async () => {
    const s = new FakeSignaling();
    s.next = () => Promise.reject(new Error('down'));
    const keeper = new SfuAccessKeeper(s, access(10_000), () => undefined);
    assert.equal((await keeper.fresh(true)).token, 't0');
    keeper.stop();
  });
});

describe('webview: SFU publish settings for the shared screen', () => {
  // Imported here so the suites above do not load livekit-client.
  const load = () => import('../../webview/engine/sfu/sfu-host');

  it('1080p30: H.264 simulcast, the full-size layer at ≤ 5 Mbps and a half-size layer at the same frame rate (a lower one dropped frames of the top layer too), resolution kept under congestion', async () => {
    const { screenPublishOptions } = await load();
    const o = screenPublishOptions({ width: 1920, height: 1080, fps: 30, source: 'x' }, {});
    assert.equal(o.source, 'screen_share');
    assert.equal(o.videoCodec, 'h264');
    assert.equal(o.simulcast, true);
    assert.equal(o.backupCodec, false);
    assert.equal(o.degradationPreference, 'maintain-resolution');
    assert.deepEqual(o.screenShareEncoding, { maxBitrate: 5_000_000, maxFramerate: 30, priority: 'high' });
    const [half] = o.screenShareSimulcastLayers ?? [];
    assert.deepEqual([half?.width, half?.height, half?.encoding.maxFramerate, half?.encoding.maxBitrate], [960, 540, 30, 833_333]);
  });

  it('three layers on request: the standard tier’s size (÷1.5) between the half and the full, at the same frame rate', async () => {
    const { screenPublishOptions } = await load();
    const o = screenPublishOptions({ width: 1920, height: 1080, fps: 30, source: 'x' }, { simulcastLayers: 3 });
    assert.deepEqual(
      (o.screenShareSimulcastLayers ?? []).map((l) => [l.width, l.height, l.encoding.maxFramerate, l.encoding.maxBitrate]),
      [
        [960, 540, 30, 833_333],
        [1280, 720, 30, 2_721_655],
      ],
    );
  });

  it('VP9/AV1 become H.264 (LiveKit 1.13.5 cannot simulcast them), VP8 stays, and so does a host that cannot send H.264; an explicit cap wins', async () => {
    const { screenPublishOptions } = await load();
    const screen = { width: 1280, height: 720, fps: 15, source: 'x' };
    assert.equal(screenPublishOptions(screen, { codec: 'vp9' }).videoCodec, 'h264');
    assert.equal(screenPublishOptions(screen, { codec: 'av1' }).videoCodec, 'h264');
    assert.equal(screenPublishOptions(screen, { codec: 'h264' }).videoCodec, 'h264');
    assert.equal(screenPublishOptions(screen, { codec: 'vp8' }).videoCodec, 'vp8');
    assert.equal(screenPublishOptions(screen, { codec: 'av1' }, false).videoCodec, 'vp8');
    assert.equal(screenPublishOptions(screen, { maxBitrateKbps: 1200 }).screenShareEncoding?.maxBitrate, 1_200_000);
  });
});
