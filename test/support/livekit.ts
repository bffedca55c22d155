/**
 * The real LiveKit server and real LiveKit clients for SFU tests: LiveKit started on loopback by
 * demo/livekit-server.ts with its webhooks pointed at a control plane on a port chosen up front
 * (LiveKit's config is written before the control plane listens), and @livekit/rtc-node rooms
 * (libwebrtc in Node) as light participants.
 */
import './livekit-quiet';
import { createServer } from 'node:net';
import { Room, RoomEvent } from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import type { ServerConfigInput } from '../../server/config';
import type { ControlPlane } from '../../server/control-plane';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/sfu/webhooks';
import { startTestServer } from './control-plane';
import { TestClient } from './signaling-client';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface SfuRig {
  livekit: LocalLiveKit;
  /** LiveKit's own API, to see what the SFU really holds. */
  api: RoomServiceClient;
  /** Port LiveKit's webhooks go to: start the control plane there with `startPlane`. */
  planePort: number;
}

/**
 * `webhooks: false` keeps LiveKit from telling the control plane who joined: then the control
 * plane does not correct a rogue token's grants or evict it, which a test of the host's own
 * checks behind the SFU needs.
 */
export async function startSfuRig(options: { webhooks?: boolean } = {}): Promise<SfuRig> {
  const planePort = await freePort();
  const webhookUrl = options.webhooks === false ? undefined : `http://127.0.0.1:${planePort}${LIVEKIT_WEBHOOK_PATH}`;
  const livekit = await startLocalLiveKit({ ...(webhookUrl ? { webhookUrl } : {}), logLevel: 'warn' });
  const api = new RoomServiceClient(livekit.url.replace(/^ws/, 'http'), livekit.apiKey, livekit.apiSecret);
  return { livekit, api, planePort };
}

/** A control plane using the rig's LiveKit, on the port its webhooks go to. */
export function startPlane(
  rig: SfuRig,
  config: ServerConfigInput = {},
  livekit: Partial<NonNullable<ServerConfigInput['livekit']>> = {},
): Promise<ControlPlane> {
  return startTestServer({
    port: rig.planePort,
    ...config,
    livekit: { url: rig.livekit.url, apiKey: rig.livekit.apiKey, apiSecret: rig.livekit.apiSecret, ...livekit },
  });
}

/**
 * Waits until `probe` is truthy, polling; fails naming `what`. `what` may be a function (async
 * too): it is read at the timeout, so it can say what was there instead.
 */
export async function eventually<T>(probe: () => T | Promise<T>, what: string | (() => string | Promise<string>), timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? await what() : what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Until LiveKit holds no rooms, so each test counts only its own. */
export async function untilNoRooms(api: RoomServiceClient): Promise<void> {
  await eventually(async () => (await api.listRooms()).length === 0, 'LiveKit to have no rooms left');
}

/** rtc-node participants, disconnected together at the end of a test. */
export class SfuClients {
  private readonly rooms: Room[] = [];

  /** A room not connected yet, for listeners that must be there before the connect. */
  room(): Room {
    const room = new Room();
    this.rooms.push(room);
    return room;
  }

  async connect(access: { url: string; token: string }): Promise<Room> {
    const room = this.room();
    await room.connect(access.url, access.token, { autoSubscribe: true, dynacast: false });
    return room;
  }

  /** Data messages a room receives: sender identity, topic, text. */
  static record(room: Room): Array<{ from: string | undefined; topic: string | undefined; text: string }> {
    const got: Array<{ from: string | undefined; topic: string | undefined; text: string }> = [];
    room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
      got.push({ from: participant?.identity, topic, text: Buffer.from(payload).toString('utf8') });
    });
    return got;
  }

  async disconnectAll(): Promise<void> {
    await Promise.all(this.rooms.splice(0).map((r) => r.disconnect().catch(() => undefined)));
  }
}

/**
 * The session-focus suites' common ground: one LiveKit for the suite (no webhooks: the focus is
 * what is tested), and after each test the clients closed, then the control planes, then no room
 * left on it. `connect` opens a signaling client that is closed with the others.
 */
export function focusSuite(): { readonly rig: SfuRig; planes: ControlPlane[]; clients: TestClient[]; connect(plane: { url: string }): Promise<TestClient> } {
  let rig: SfuRig | undefined;
  const planes: ControlPlane[] = [];
  const clients: TestClient[] = [];
  before(async () => {
    rig = await startSfuRig({ webhooks: false });
  });
  after(async () => {
    await rig?.livekit.stop();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of planes.splice(0)) await p.close();
    if (rig) await untilNoRooms(rig.api);
  });
  return {
    get rig() {
      if (!rig) throw new Error('the suite has not started its LiveKit yet');
      return rig;
    },
    planes,
    clients,
    async connect(plane) {
      const c = await TestClient.connect(plane.url);
      clients.push(c);
      return c;
    },
  };
}
