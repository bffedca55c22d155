/**
 * SFU deployments in regions for the cascade tests: real LiveKit servers (`a1` in region a, `b1`
 * in b, …), each sending its webhooks to the control plane started with them, whose pools list
 * them with a quick health check (a SIGKILL is noticed in about 0.5 s).
 */
import { RoomServiceClient } from 'livekit-server-sdk';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import type { ControlPlane } from '../../server/control-plane';
import type { ServerConfigInput } from '../../server/config';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/sfu/webhooks';
import { httpUrlOf } from '../../server/sfu/rooms';
import { startTestServer, NO_LOBBY } from './control-plane';
import { freePort } from './livekit';

export interface RegionRig {
  plane: ControlPlane;
  /** By deployment id. */
  lk: Map<string, LocalLiveKit>;
  /** Identities LiveKit lists in every room of that deployment now. */
  inRooms(deploymentId: string): Promise<string[]>;
  close(): Promise<void>;
}

/** `ids`: deployment ids, each a region's letters and a number; the first one's region is the default. */
export async function startRegionRig(ids: string[], config: ServerConfigInput = {}): Promise<RegionRig> {
  const port = await freePort();
  const webhookUrl = `http://127.0.0.1:${port}${LIVEKIT_WEBHOOK_PATH}`;
  const lk = new Map<string, LocalLiveKit>();
  const regionOf = (id: string) => id.replace(/\d+$/, '');
  try {
    for (const id of ids) lk.set(id, await startLocalLiveKit({ logLevel: 'warn', webhookUrl }));
    const plane = await startTestServer({
      port,
      ...NO_LOBBY,
      ...config,
      sfuPools: {
        deployments: [...lk].map(([id, l]) => ({ id, region: regionOf(id), url: l.url, apiKey: l.apiKey, apiSecret: l.apiSecret })),
        defaultRegion: regionOf(ids[0]!),
        checkIntervalMs: 250,
        failuresToDown: 2,
      },
    });
    return {
      plane,
      lk,
      async inRooms(id) {
        const l = lk.get(id)!;
        const api = new RoomServiceClient(httpUrlOf(l.url), l.apiKey, l.apiSecret);
        const rooms = await api.listRooms().catch(() => []);
        const all = await Promise.all(rooms.map((r) => api.listParticipants(r.name).catch(() => [])));
        return all.flat().map((p) => p.identity);
      },
      async close() {
        await plane.close();
        for (const l of lk.values()) await l.stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const l of lk.values()) await l.stop().catch(() => undefined);
    throw err;
  }
}
