/**
 * SFU sessions against the real LiveKit server (built by scripts/livekit.mjs, started on loopback
 * by demo/livekit-server.ts) with real LiveKit clients (@livekit/rtc-node): rooms per session,
 * tokens whose grants the SFU enforces, signed webhooks, the strategy's SFU limits, and a LiveKit
 * that does not answer.
 */
import '../support/livekit-quiet';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { AccessToken, TokenVerifier, type ClaimGrants } from 'livekit-server-sdk';
import { LocalVideoTrack, RoomEvent, TrackPublishOptions, TrackSource, VideoBufferType, VideoFrame, VideoSource, type Room } from '@livekit/rtc-node';
import { ErrorCode } from '../../protocol/errors';
import { HttpErrorResponse } from '../../protocol/http-api';
import { End, RefreshSfuAccess, RemoveParticipant, SetRole } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { configFromEnv } from '../../server/config';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { TestClient } from '../support/signaling-client';
import { rejects } from '../support/assertions';
import { eventually, freePort, SfuClients, startPlane, startSfuRig, untilNoRooms, type SfuRig } from '../support/livekit';

const post = async (plane: { url: string }, body: string) => {
  const res = await fetch(`${plane.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json: unknown = await res.json();
  return { status: res.status, error: res.ok ? { code: '', message: '', data: undefined } : HttpErrorResponse.parse(json).error };
};

/**
 * Sends until `arrived` (a fresh data channel may drop what is sent before it is fully up): the
 * point is whether the SFU forwards a sender's data at all, not the first message's luck.
 */
async function sendUntil(
  room: Room,
  text: string,
  options: { topic: string; destination_identities?: string[] },
  arrived: () => boolean,
  what: string,
): Promise<void> {
  await eventually(async () => {
    if (arrived()) return true;
    await room.localParticipant!.publishData(new TextEncoder().encode(text), { reliable: true, ...options });
    await new Promise((r) => setTimeout(r, 250));
    return arrived();
  }, what);
}

/** A moving 64×64 test picture, so LiveKit sees a live track. */
function screenTrack(): { track: LocalVideoTrack; stop(): void } {
  const source = new VideoSource(64, 64);
  const track = LocalVideoTrack.createVideoTrack('screen', source);
  let n = 0;
  const timer = setInterval(() => source.captureFrame(new VideoFrame(new Uint8Array(64 * 64 * 4).fill(n++ % 255), 64, 64, VideoBufferType.RGBA)), 50);
  return { track, stop: () => clearInterval(timer) };
}

describe('control plane: SFU sessions on a real LiveKit', function () {
  this.timeout(60_000);
  let rig: SfuRig;
  let plane: ControlPlane | undefined;
  const clients: TestClient[] = [];
  const sfu = new SfuClients();
  const stops: Array<() => void> = [];

  const connect = async (p: ControlPlane) => {
    const c = await TestClient.connect(p.url);
    clients.push(c);
    return c;
  };
  /** An SFU session with its host joined over the real WebSocket. */
  const hosted = async (p: ControlPlane) => {
    const s = await createSession(p, { mode: 'sfu', name: 'Review' });
    const host = await connect(p);
    const joined = await host.join(s.sessionId, s.hostToken, 'Ada');
    return { s, host, joined };
  };

  before(async () => {
    rig = await startSfuRig();
  });
  after(async () => {
    await rig?.livekit.stop();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    await sfu.disconnectAll();
    for (const c of clients.splice(0)) c.kill();
    await plane?.close();
    plane = undefined;
    await untilNoRooms(rig.api);
  });

  it('creates a LiveKit room per SFU session and gives each role a token with its grants', async () => {
    plane = await startPlane(rig);
    const { s, joined: h } = await hosted(plane);
    assert.deepEqual(
      (await rig.api.listRooms([s.sessionId])).map((r) => r.name),
      [s.sessionId],
    );
    assert.equal(h.session.mode, 'sfu');
    const controller = await (await connect(plane)).join(s.sessionId, tokenOf(s.links.controller.url), 'Linus');
    const viewer = await (await connect(plane)).join(s.sessionId, tokenOf(s.links.viewer.url), 'Grace');
    const verifier = new TokenVerifier(rig.livekit.apiKey, rig.livekit.apiSecret);
    const claims: Record<string, ClaimGrants> = {};
    for (const [role, j] of [
      ['host', h],
      ['controller', controller],
      ['viewer', viewer],
    ] as const) {
      assert.ok(j.sfu, `${role} join has SFU access`);
      assert.equal(j.sfu.url, rig.livekit.url);
      assert.equal(j.sfu.room, s.sessionId);
      assert.ok(j.sfu.expiresAt > Date.now() + 60_000 && j.sfu.expiresAt <= Date.now() + 900_000 + 1000, 'expires in the configured 15 minutes');
      const c = await verifier.verify(j.sfu.token);
      assert.equal(c.sub, j.self.id, 'LiveKit identity is the PairUX participant id');
      assert.equal(c.name, j.self.name);
      assert.deepEqual(JSON.parse(c.metadata ?? ''), { role });
      assert.equal(c.video?.room, s.sessionId);
      assert.equal(c.video?.roomJoin, true);
      claims[role] = c;
    }
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(claims).map(([role, c]) => [
          role,
          { pub: c.video?.canPublish, sources: c.video?.canPublishSources, data: c.video?.canPublishData, sub: c.video?.canSubscribe },
        ]),
      ),
      {
        host: { pub: true, sources: ['screen_share'], data: true, sub: true },
        controller: { pub: false, sources: undefined, data: true, sub: true },
        viewer: { pub: false, sources: undefined, data: false, sub: true },
      },
    );
    // A P2P session on the same server has no SFU part.
    const p2p = await createSession(plane, { mode: 'p2p' });
    const p2pHost = await connect(plane);
    assert.equal((await p2pHost.join(p2p.sessionId, p2p.hostToken, 'Ada')).sfu, undefined);
    await rejects(p2pHost.request(RefreshSfuAccess, {}), ErrorCode.BadMessage);
    assert.equal((await rig.api.listRooms()).length, 1, 'no LiveKit room for the P2P session');
  });

  it('lets the host publish its screen and data and a controller send data; the SFU refuses a viewer', async () => {
    plane = await startPlane(rig);
    const { s, joined: h } = await hosted(plane);
    const c = await (await connect(plane)).join(s.sessionId, tokenOf(s.links.controller.url), 'Linus');
    const v = await (await connect(plane)).join(s.sessionId, tokenOf(s.links.viewer.url), 'Grace');
    const hostRoom = await sfu.connect(h.sfu!);
    const controllerRoom = await sfu.connect(c.sfu!);
    const viewerRoom = await sfu.connect(v.sfu!);
    const atHost = SfuClients.record(hostRoom);
    const atViewer = SfuClients.record(viewerRoom);
    const subscribed = new Promise<string>((resolve) => viewerRoom.on(RoomEvent.TrackSubscribed, (_t, _pub, p) => resolve(p.identity)));

    const screen = screenTrack();
    stops.push(screen.stop);
    await hostRoom.localParticipant!.publishTrack(screen.track, new TrackPublishOptions({ source: TrackSource.SOURCE_SCREENSHARE }));
    assert.equal(await subscribed, h.self.id, "the viewer receives the host's screen through the SFU");

    await sendUntil(
      controllerRoom,
      '{"t":"key"}',
      { topic: 'pairux.input', destination_identities: [h.self.id] },
      () => atHost.some((m) => m.from === c.self.id && m.topic === 'pairux.input'),
      "the controller's data at the host",
    );
    await sendUntil(
      hostRoom,
      'hello',
      { topic: 'pairux.host' },
      () => atViewer.some((m) => m.from === h.self.id && m.text === 'hello'),
      "the host's data at the viewer",
    );

    // The viewer's own client goes ahead; the SFU drops its data and never accepts its track.
    for (let i = 0; i < 5; i++) {
      await viewerRoom.localParticipant!.publishData(new TextEncoder().encode('{"t":"key"}'), {
        reliable: true,
        topic: 'pairux.input',
        destination_identities: [h.self.id],
      });
    }
    const viewerScreen = screenTrack();
    stops.push(viewerScreen.stop);
    const camera = screenTrack();
    stops.push(camera.stop);
    const [viewerPublish, hostCamera] = await Promise.allSettled([
      viewerRoom.localParticipant!.publishTrack(viewerScreen.track, new TrackPublishOptions({ source: TrackSource.SOURCE_SCREENSHARE })),
      // The host may publish the screen share only, not a camera.
      hostRoom.localParticipant!.publishTrack(camera.track, new TrackPublishOptions({ source: TrackSource.SOURCE_CAMERA })),
    ]);
    assert.equal(viewerPublish.status, 'rejected', 'a viewer cannot publish a track');
    assert.match(String((viewerPublish as PromiseRejectedResult).reason), /track publication timed out|permission/i);
    assert.equal(hostCamera.status, 'rejected', 'the host cannot publish a camera');
    await sendUntil(
      controllerRoom,
      'marker',
      { topic: 'pairux.input', destination_identities: [h.self.id] },
      () => atHost.some((m) => m.text === 'marker'),
      'a later controller message at the host',
    );
    assert.deepEqual(
      atHost.filter((m) => m.from === v.self.id),
      [],
      'nothing from the viewer reached the host',
    );
    const inRoom = await rig.api.listParticipants(s.sessionId);
    const tracks = Object.fromEntries(inRoom.map((p) => [p.identity, p.tracks.map((t) => t.source)]));
    assert.deepEqual(tracks, { [h.self.id]: [TrackSource.SOURCE_SCREENSHARE as number], [c.self.id]: [], [v.self.id]: [] });
  });

  it('follows role changes and removals into the SFU, also against old tokens of demoted or removed guests', async () => {
    plane = await startPlane(rig);
    const { s, host } = await hosted(plane);
    const v = await (await connect(plane)).join(s.sessionId, tokenOf(s.links.viewer.url), 'Grace');
    const viewerRoom = await sfu.connect(v.sfu!);
    const permission = async () => (await rig.api.listParticipants(s.sessionId)).find((p) => p.identity === v.self.id)?.permission;
    assert.equal((await permission())?.canPublishData, false);
    await host.request(SetRole, { participantId: v.self.id, role: 'controller' });
    await eventually(async () => (await permission())?.canPublishData === true, 'the promoted viewer may send data in the SFU');
    assert.equal((await permission())?.canPublish, false, 'and still publishes no media');

    // A controller demoted while away from the SFU comes back with its old controller token: it gets a viewer's permissions.
    const c = await (await connect(plane)).join(s.sessionId, tokenOf(s.links.controller.url), 'Linus');
    await host.request(SetRole, { participantId: c.self.id, role: 'viewer' });
    await sfu.connect(c.sfu!);
    const permissionOf = async (id: string) => (await rig.api.listParticipants(s.sessionId)).find((p) => p.identity === id);
    await eventually(async () => (await permissionOf(c.self.id))?.permission?.canPublishData === false, "the demoted controller's data permission withdrawn");
    assert.deepEqual(JSON.parse((await permissionOf(c.self.id))?.metadata ?? ''), { role: 'viewer' });

    const gone = new Promise<void>((resolve) => viewerRoom.once(RoomEvent.Disconnected, () => resolve()));
    await host.request(RemoveParticipant, { participantId: v.self.id });
    await gone;
    // The token is still within its lifetime; LiveKit lets it in, its webhook tells the control plane, which takes it out.
    const again = sfu.room();
    const outAgain = new Promise<void>((resolve) => again.once(RoomEvent.Disconnected, () => resolve()));
    // The eviction may even beat the end of the connect.
    await again.connect(v.sfu!.url, v.sfu!.token, { autoSubscribe: false, dynacast: false }).catch(() => undefined);
    await outAgain;
    const metrics = plane.metrics;
    // Counted once the eviction call returns, which can be just after the client hears it.
    await eventually(
      async () => /pairux_sfu_webhooks_total\{event="participant_joined",result="evicted"\} [1-9]/.test(await metrics.text()),
      'the eviction counted',
    );
  });

  it("refuses forged webhooks and follows who is in the SFU from LiveKit's signed ones", async () => {
    plane = await startPlane(rig);
    const { s, joined: h } = await hosted(plane);
    const url = `${plane.url}/livekit/webhook`;
    const body = JSON.stringify({
      event: 'participant_left',
      room: { name: s.sessionId },
      participant: { identity: h.self.id, sid: 'PA_x' },
      id: 'EV_1',
      createdAt: '1',
    });
    const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/webhook+json' }, body });
    assert.equal(unsigned.status, 401);
    const wrongKey = new AccessToken(rig.livekit.apiKey, 'not-the-secret-not-the-secret-not-the-secret');
    wrongKey.sha256 = 'whatever';
    const forged = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/webhook+json', authorization: await wrongKey.toJwt() }, body });
    assert.equal(forged.status, 401);
    // Signed with the real secret but over another body: the checksum does not match.
    const realKey = new AccessToken(rig.livekit.apiKey, rig.livekit.apiSecret);
    realKey.sha256 = Buffer.from('0'.repeat(32)).toString('base64');
    const tampered = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/webhook+json', authorization: await realKey.toJwt() }, body });
    assert.equal(tampered.status, 401);
    assert.match(await plane.metrics.text(), /pairux_sfu_webhooks_total\{event="unknown",result="rejected"\} 3/);

    const service = plane.service;
    assert.equal(service.sfu.presence.has(s.sessionId, h.self.id), false);
    const hostRoom = await sfu.connect(h.sfu!);
    await eventually(() => service.sfu.presence.has(s.sessionId, h.self.id), 'participant_joined from LiveKit');
    assert.match(await plane.metrics.text(), /pairux_sfu_participants 1\b/);
    await hostRoom.disconnect();
    await eventually(() => !service.sfu.presence.has(s.sessionId, h.self.id), 'participant_left from LiveKit');
  });

  it('refuses an SFU session at maxConcurrentRooms and the viewer past the limit, naming them', async () => {
    plane = await startPlane(rig, {}, { maxConcurrentRooms: 2 });
    const first = await hosted(plane);
    await hosted(plane);
    const refused = await post(plane, '{"mode":"sfu"}');
    assert.equal(refused.status, 503);
    assert.equal(refused.error.code, ErrorCode.LimitReached);
    assert.match(refused.error.message, /limit of 2 concurrent sessions \(maxConcurrentRooms\).*P2P/);
    assert.equal((await rig.api.listRooms()).length, 2, 'the refused session left no room behind');
    const burst = await Promise.all([1, 2, 3].map(() => post(plane!, '{"mode":"sfu"}')));
    assert.deepEqual(
      burst.map((r) => r.status),
      [503, 503, 503],
      'concurrent creations at the limit are all refused',
    );
    assert.equal((await post(plane, '{"mode":"p2p"}')).status, 201, 'P2P sessions are not counted against the SFU');
    await first.host.request(End, {});
    await eventually(async () => (await rig.api.listRooms([first.s.sessionId])).length === 0, "the ended session's room deleted");
    // One room free, four hosts at once: exactly one gets it.
    const race = await Promise.all([1, 2, 3, 4].map(() => post(plane!, '{"mode":"sfu"}')));
    assert.deepEqual(race.map((r) => r.status).sort(), [201, 503, 503, 503]);
    await plane.close();
    await untilNoRooms(rig.api);
    plane = await startPlane(rig);
    const s = await createSession(plane, { mode: 'sfu' });

    // The default viewer limit of an SFU session is 100 (P2P: 25).
    assert.equal(plane.service.config.livekit?.viewerLimit, 100);
    const token = tokenOf(s.links.viewer.url);
    for (let i = 0; i < 100; i++) await (await connect(plane)).join(s.sessionId, token, `Viewer ${i}`);
    const err = await rejects((await connect(plane)).join(s.sessionId, token, 'Viewer 101'), ErrorCode.LimitReached);
    assert.match(err.message, /100 viewers, the most a SFU session allows/);
    assert.deepEqual(err.data, { role: 'viewer', limit: 100 });
  });

  it('hands out fresh access with sfu.access and brings back a room LiveKit dropped', async () => {
    plane = await startPlane(rig, {}, { viewerLimit: 1, tokenTtlSeconds: 120 });
    const { s, host, joined } = await hosted(plane);
    await (await connect(plane)).join(s.sessionId, tokenOf(s.links.viewer.url), 'Grace');
    await rejects((await connect(plane)).join(s.sessionId, tokenOf(s.links.viewer.url), 'Linus'), ErrorCode.LimitReached);
    await rig.api.deleteRoom(s.sessionId);
    const fresh = await host.request(RefreshSfuAccess, {});
    assert.equal(fresh.room, s.sessionId);
    assert.ok(fresh.expiresAt >= joined.sfu!.expiresAt && fresh.expiresAt <= Date.now() + 121_000);
    assert.deepEqual(
      (await rig.api.listRooms([s.sessionId])).map((r) => r.name),
      [s.sessionId],
      'room created again',
    );
    const room: Room = await sfu.connect(fresh);
    assert.equal(room.isConnected, true);
  });

  it("says so when LiveKit refuses the control plane's API secret", async () => {
    plane = await startPlane(rig, {}, { apiSecret: 'a-secret-livekit-does-not-know-at-all' });
    const r = await post(plane, '{"mode":"sfu"}');
    assert.equal(r.status, 503);
    assert.equal(r.error.code, ErrorCode.Unavailable);
    assert.match(r.error.message, /refused the control plane's API key.*PAIRUX_LIVEKIT_API_SECRET/);
  });
});

describe('control plane: SFU mode without a usable LiveKit', () => {
  let plane: ControlPlane | undefined;
  afterEach(async () => {
    await plane?.close();
    plane = undefined;
  });

  it('says LiveKit did not answer, offering P2P, when it is unreachable', async () => {
    const port = await freePort();
    plane = await startTestServer({ livekit: { url: `ws://127.0.0.1:${port}`, apiKey: 'k', apiSecret: 's'.repeat(32), requestTimeoutMs: 2000 } });
    const r = await post(plane, '{"mode":"sfu"}');
    assert.equal(r.status, 503);
    assert.equal(r.error.code, ErrorCode.Unavailable);
    assert.match(r.error.message, new RegExp(`LiveKit at ws://127\\.0\\.0\\.1:${port} did not answer \\(ECONNREFUSED\\); start the session in P2P mode`));
    assert.equal(r.error.data?.mode, 'p2p');
    assert.equal(plane.service.localSessions.size, 0, 'no session was created');
  });

  it('says LiveKit did not answer in time when it accepts connections and never replies', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const { port } = silent.address() as { port: number };
    try {
      plane = await startTestServer({ livekit: { url: `http://127.0.0.1:${port}`, apiKey: 'k', apiSecret: 's'.repeat(32), requestTimeoutMs: 300 } });
      const started = Date.now();
      const r = await post(plane, '{"mode":"sfu"}');
      assert.equal(r.error.code, ErrorCode.Unavailable);
      assert.match(r.error.message, /did not answer \(no answer in time\); start the session in P2P mode/);
      assert.ok(Date.now() - started < 3000, `gave up after ${Date.now() - started} ms`);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('names the missing settings when no LiveKit is configured, and a half-configured environment fails at start', async () => {
    plane = await startTestServer();
    const r = await post(plane, '{"mode":"sfu"}');
    assert.equal(r.error.code, ErrorCode.Unavailable);
    assert.match(r.error.message, /PAIRUX_LIVEKIT_URL, PAIRUX_LIVEKIT_API_KEY and PAIRUX_LIVEKIT_API_SECRET/);
    assert.throws(() => configFromEnv({ PAIRUX_LIVEKIT_URL: 'ws://127.0.0.1:7880' }), /set PAIRUX_LIVEKIT_API_KEY and PAIRUX_LIVEKIT_API_SECRET too/);
    const full = configFromEnv({
      PAIRUX_LIVEKIT_URL: 'ws://127.0.0.1:7880',
      PAIRUX_LIVEKIT_API_KEY: 'k',
      PAIRUX_LIVEKIT_API_SECRET: 's',
      PAIRUX_LIVEKIT_MAX_ROOMS: '7',
    });
    assert.deepEqual([full.livekit?.url, full.livekit?.maxConcurrentRooms], ['ws://127.0.0.1:7880', 7]);
  });
});
