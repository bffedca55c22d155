/**
 * Light SFU viewers that decode nothing: N livekit-client Rooms in ONE headless Chromium page,
 * each joined to the PairUX session as a viewer through the signaling WebSocket (a bare protocol
 * client in Node, test/support TestClient; its join result's `sfu` access is the Room's URL and
 * token), auto-subscribed to the host's screen share.
 *
 * Why not rtc-node: a subscribed rtc-node track is decoded by its libwebrtc even with no
 * VideoStream (its inbound-rtp shows framesDecoded growing, decoderImplementation libvpx,
 * ≈2 ms a 1080p frame), so 100 of them would be ≈7 cores of VP8 decoding on a 2-core machine.
 *
 * Here every RTCPeerConnection the page makes is created with `encodedInsertableStreams`, and
 * each video receiver's encoded frames are read off its readable side, counted (frames,
 * keyframes, bytes, size from the keyframes' metadata) and dropped: never decoded. `nack pli` /
 * `ccm fir` are stripped from every description so a receiver whose decoder never gets a frame
 * cannot keep asking for keyframes (the bench reads the host's keyFramesEncoded / pliCount to
 * show none came). The SFU still sees a normal subscriber: transport-cc feedback, NACKs, RTX.
 */
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { LightJoins, type LightJoin } from './light-joins';

/** Installed before any page script: every RTCPeerConnection records and drops its encoded video. */
const INIT_SCRIPT = `
(() => {
  const Original = window.RTCPeerConnection;
  const strip = (sdp) => sdp.split('\\r\\n').filter((l) => !/^a=rtcp-fb:\\S+ (nack pli|ccm fir)\\s*$/.test(l)).join('\\r\\n');
  const counters = new Map();
  const pcs = [];
  class Light extends Original {
    constructor(config, ...rest) {
      super({ ...(config || {}), encodedInsertableStreams: true }, ...rest);
      pcs.push(this);
      this.addEventListener('track', (e) => {
        // A renegotiation can fire 'track' again for the same receiver: its streams exist already.
        if (counters.has(e.receiver)) return;
        const c = { frames: 0, keyFrames: 0, bytes: 0, width: 0, height: 0, error: '' };
        counters.set(e.receiver, c);
        let streams;
        try { streams = e.receiver.createEncodedStreams(); } catch (err) { c.error = String(err); return; }
        if (e.track.kind !== 'video') { streams.readable.pipeTo(streams.writable).catch(() => undefined); return; }
        streams.readable.pipeTo(new WritableStream({
          write(frame) {
            c.frames++;
            c.bytes += frame.data.byteLength;
            if (frame.type === 'key') {
              c.keyFrames++;
              const m = frame.getMetadata();
              if (m.width) { c.width = m.width; c.height = m.height; }
            }
          },
        })).catch(() => undefined);
      });
    }
    setConfiguration(config) {
      return super.setConfiguration({ ...(config || {}), encodedInsertableStreams: true });
    }
    setLocalDescription(d) {
      return d && d.sdp ? super.setLocalDescription({ type: d.type, sdp: strip(d.sdp) }) : super.setLocalDescription(d);
    }
    setRemoteDescription(d) {
      return d && d.sdp ? super.setRemoteDescription({ type: d.type, sdp: strip(d.sdp) }) : super.setRemoteDescription(d);
    }
  }
  window.RTCPeerConnection = Light;
  window.__lightCounters = counters;
  window.__lightPcs = pcs;
})();
`;

/** Runs after livekit-client is loaded (window.LK). */
const PAGE_SCRIPT = `
window.benchSfu = (() => {
  const subs = new Map();
  return {
    async join(i, url, token, timeoutMs) {
      const room = new LK.Room({ adaptiveStream: false, dynacast: false });
      const sub = { room, receiver: undefined };
      subs.set(i, sub);
      const t0 = performance.now();
      const video = new Promise((resolve) => {
        room.on(LK.RoomEvent.TrackSubscribed, (track) => {
          if (track.kind === 'video') { sub.receiver = track.receiver; sub.track = track; resolve(); }
        });
      });
      await room.connect(url, token, { autoSubscribe: true });
      const connectedMs = performance.now() - t0;
      let timer;
      await Promise.race([video, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no video track within ' + timeoutMs + ' ms')), timeoutMs); })]).finally(() => clearTimeout(timer));
      return { connectedMs, subscribedMs: performance.now() - t0 };
    },
    async counts() {
      const out = {};
      // Every frame counter is copied at one instant (the RTP stats below take a while for 100).
      const snap = new Map();
      for (const [i, s] of subs) {
        const c = s.receiver && window.__lightCounters.get(s.receiver);
        snap.set(i, c ? { ...c } : { frames: 0, keyFrames: 0, bytes: 0, width: 0, height: 0 });
      }
      for (const [i, s] of subs) {
        const c = snap.get(i);
        const rtp = { packets: 0, rtpBytes: 0 };
        if (s.receiver) {
          const r = await s.receiver.getStats().catch(() => undefined);
          if (r) r.forEach((x) => { if (x.type === 'inbound-rtp') { rtp.packets += x.packetsReceived || 0; rtp.rtpBytes += x.bytesReceived || 0; } });
        }
        out[i] = { ...c, ...rtp, counted: Boolean(s.receiver && window.__lightCounters.get(s.receiver)), streamState: s.track ? s.track.streamState : 'none', state: s.room.state };
      }
      return out;
    },
    async decoded() {
      const n = { framesDecoded: 0, pliCount: 0, firCount: 0, nackCount: 0 };
      for (const pc of window.__lightPcs) {
        if (pc.connectionState === 'closed') continue;
        const r = await pc.getStats().catch(() => undefined);
        if (r) r.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') for (const k of Object.keys(n)) n[k] += s[k] || 0; });
      }
      return n;
    },
    async close() {
      await Promise.all([...subs.values()].map((s) => s.room.disconnect().catch(() => undefined)));
      subs.clear();
    },
  };
})();
`;

let bundled: string | undefined;
async function livekitClientBundle(): Promise<string> {
  if (bundled) return bundled;
  const result = await build({
    stdin: {
      contents: "import { Room, RoomEvent } from 'livekit-client'; window.LK = { Room, RoomEvent };",
      resolveDir: fileURLToPath(new URL('../..', import.meta.url)),
      loader: 'js',
    },
    bundle: true,
    format: 'iife',
    write: false,
    logLevel: 'silent',
  });
  bundled = result.outputFiles[0]!.text;
  return bundled;
}

export interface LightCounts {
  /** RTP packets / payload bytes the receiver got (inbound-rtp), whatever the transform saw. */
  packets: number;
  rtpBytes: number;
  /** Whether the receiver's transform was found (false: its frames are not counted). */
  counted: boolean;
  /** LiveKit's view of the subscription: 'active' or 'paused' (by its bandwidth allocation). */
  streamState: string;
  frames: number;
  keyFrames: number;
  bytes: number;
  width: number;
  height: number;
  state: string;
}

export interface ReceiverTotals {
  framesDecoded: number;
  pliCount: number;
  firCount: number;
  nackCount: number;
}

export type { LightJoin } from './light-joins';

/** How subscribers join: `concurrency` at a time, each within `timeoutMs`; `region`, the join's region hint (a cascaded session places the subscriber on that region's SFU). */
export interface SubscriberJoinOptions {
  concurrency?: number;
  timeoutMs?: number;
  region?: string;
}

export class BrowserSfuSubscribers {
  private timeoutMs = 30_000;
  private readonly joiner = new LightJoins((j, sfu) =>
    this.page
      .evaluate(
        ([i, url, tok, ms]) =>
          (window as unknown as { benchSfu: { join(i: number, u: string, t: string, ms: number): Promise<unknown> } }).benchSfu.join(i, url, tok, ms),
        [j.index, sfu.url, sfu.token, this.timeoutMs] as const,
      )
      .then(() => undefined),
  );

  private constructor(private readonly page: Page) {}

  static async open(browser: Browser, pageUrl: string): Promise<BrowserSfuSubscribers> {
    const context = await browser.newContext();
    await context.addInitScript(INIT_SCRIPT);
    const page = await context.newPage();
    await page.goto(pageUrl);
    await page.addScriptTag({ content: await livekitClientBundle() });
    await page.evaluate(PAGE_SCRIPT);
    return new BrowserSfuSubscribers(page);
  }

  get joins(): LightJoin[] {
    return this.joiner.joins;
  }

  get count(): number {
    return this.joins.length;
  }

  /** Joins `n` more, `concurrency` at a time; failures are recorded in `joins`, not thrown. */
  async add(n: number, planeUrl: string, sessionId: string, token: string, options: SubscriberJoinOptions = {}): Promise<void> {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    await this.joiner.add(n, planeUrl, sessionId, token, options);
  }

  async counts(): Promise<LightCounts[]> {
    const byIndex = await this.page.evaluate(() => (window as unknown as { benchSfu: { counts(): Promise<Record<string, LightCounts>> } }).benchSfu.counts());
    return this.joins.map(
      (j) =>
        byIndex[j.index] ?? {
          packets: 0,
          rtpBytes: 0,
          counted: false,
          streamState: 'none',
          frames: 0,
          keyFrames: 0,
          bytes: 0,
          width: 0,
          height: 0,
          state: 'none',
        },
    );
  }

  /** inbound-rtp framesDecoded (0 when nothing was decoded) and the keyframe requests / NACKs sent, summed over the page's connections. */
  decoded(): Promise<ReceiverTotals> {
    return this.page.evaluate(() => (window as unknown as { benchSfu: { decoded(): Promise<ReceiverTotals> } }).benchSfu.decoded());
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as { benchSfu: { close(): Promise<void> } }).benchSfu.close()).catch(() => undefined);
    this.joiner.close();
    await this.page
      .context()
      .close()
      .catch(() => undefined);
  }
}
