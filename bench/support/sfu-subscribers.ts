/**
 * Light SFU viewers for the benches: each one joins the PairUX session like a guest (a bare
 * signaling client, test/support TestClient: `session.join` with the viewer link's token), takes
 * the `sfu` access from the join result, and connects an @livekit/rtc-node Room with it,
 * auto-subscribing to the host's screen share. No VideoStream is ever made on the track, so no
 * frame is handed to the application; what the subscription receives is read from the
 * connection's own stats (`room.getRtcStats()`, inbound-rtp: framesReceived,
 * framesDecoded, bytesReceived, frameWidth/Height), which also shows whether libwebrtc decoded.
 */
import '../../test/support/livekit-quiet';
import { Room, RoomEvent, TrackKind, type RemoteTrack } from '@livekit/rtc-node';
import { TestClient } from '../../test/support/signaling-client';

export interface SubscriberStats {
  framesReceived: number;
  framesDecoded: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  width: number;
  height: number;
}

export interface SubscriberTimes {
  /** session.join over the signaling WebSocket (connect + join). */
  signalingMs: number;
  /** rtc-node Room.connect with the join's LiveKit token. */
  liveKitMs: number;
  /** From the start of the join to the host's video track subscribed. */
  subscribedMs: number;
}

export class LightSfuSubscriber {
  readonly times: Partial<SubscriberTimes> = {};
  room: Room | undefined;
  client: TestClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private subscribed = false;
  error: string | undefined;

  constructor(readonly index: number) {}

  get hasVideo(): boolean {
    return this.subscribed;
  }

  /** Joins; resolves once the host's video is subscribed (or rejects, recording the error). */
  async join(planeUrl: string, sessionId: string, token: string, timeoutMs = 30_000): Promise<void> {
    const t0 = performance.now();
    try {
      const client = await TestClient.connect(planeUrl);
      this.client = client;
      const joined = await client.join(sessionId, token, `Sub ${this.index + 1}`, { client: { kind: 'bench' } });
      this.timer = setInterval(() => client.heartbeat(), Math.max(1000, joined.heartbeatIntervalMs / 2));
      this.times.signalingMs = performance.now() - t0;
      if (!joined.sfu) throw new Error('the join result has no sfu access (not an SFU session?)');
      const room = new Room();
      this.room = room;
      const video = new Promise<void>((resolve) => {
        room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
          if (track.kind === TrackKind.KIND_VIDEO) {
            this.subscribed = true;
            resolve();
          }
        });
      });
      const t1 = performance.now();
      await room.connect(joined.sfu.url, joined.sfu.token, { autoSubscribe: true, dynacast: false });
      this.times.liveKitMs = performance.now() - t1;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        video,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no video track within ${timeoutMs} ms`)), timeoutMs))),
      ]).finally(() => clearTimeout(timer));
      this.times.subscribedMs = performance.now() - t0;
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  async stats(): Promise<SubscriberStats> {
    const out: SubscriberStats = { framesReceived: 0, framesDecoded: 0, bytesReceived: 0, packetsReceived: 0, packetsLost: 0, width: 0, height: 0 };
    if (!this.room?.isConnected) return out;
    const result = await this.room.getRtcStats().catch(() => undefined);
    // LiveKit v1.13 with this rtc-node can carry both directions on one connection: its
    // inbound-rtp then sits under publisherStats. Both are read.
    for (const s of [...(result?.subscriberStats ?? []), ...(result?.publisherStats ?? [])]) {
      if (s.stats.case !== 'inboundRtp') continue;
      const r = s.stats.value;
      if (r.stream?.kind !== 'video') continue;
      out.framesReceived += Number(r.inbound?.framesReceived ?? 0);
      out.framesDecoded += Number(r.inbound?.framesDecoded ?? 0);
      out.bytesReceived += Number(r.inbound?.bytesReceived ?? 0);
      out.packetsReceived += Number(r.received?.packetsReceived ?? 0);
      out.packetsLost += Number(r.received?.packetsLost ?? 0);
      out.width = Math.max(out.width, r.inbound?.frameWidth ?? 0);
      out.height = Math.max(out.height, r.inbound?.frameHeight ?? 0);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.room?.disconnect().catch(() => undefined);
    this.client?.close();
  }
}

/** Joins `count` subscribers, `concurrency` at a time; failures are recorded on each, not thrown. */
export async function joinSubscribers(
  planeUrl: string,
  sessionId: string,
  token: string,
  count: number,
  options: { concurrency?: number; firstIndex?: number; timeoutMs?: number } = {},
): Promise<LightSfuSubscriber[]> {
  const subs = Array.from({ length: count }, (_, k) => new LightSfuSubscriber((options.firstIndex ?? 0) + k));
  let next = 0;
  const worker = async () => {
    while (next < subs.length) {
      const s = subs[next++]!;
      await s.join(planeUrl, sessionId, token, options.timeoutMs).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 10, count) }, worker));
  return subs;
}
