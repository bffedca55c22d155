/**
 * Light P2P viewers for bench:modes: ONE Chromium page holds N RTCPeerConnections, each the
 * answer to the host's offer for one PairUX guest; each guest's signaling (join, hello, offer /
 * answer / ICE relay, heartbeats) is a bare protocol client in Node (test/support TestClient).
 *
 * Light = no page, no <video>, no rendering or compositing per viewer: the received track is
 * kept but never attached. libwebrtc still DECODES it (a receiver decodes whether or not anything
 * draws the frames), and that is on purpose: a receiver that does not decode keeps asking for
 * keyframes (VideoReceiveStream2 requests one every 200 ms while no frame is decodable, and PLI
 * is always on whatever the SDP says), which in P2P makes the host's encoder for that guest
 * produce keyframes several times a second; the host's numbers would then be wrong. Frames are
 * counted from each connection's inbound-rtp (framesDecoded, framesReceived, bytesReceived).
 */
import type { Browser, Page } from 'playwright-core';
import { SendSignal, Signal, type SignalPayload } from '../../protocol/signaling';
import { TestClient } from '../../test/support/signaling-client';

/** Runs in the page (a plain script: no bundler helpers inside page functions). */
const PAGE_SCRIPT = `
window.benchP2p = (() => {
  const peers = new Map();
  return {
    async answer(i, pcId, sdp) {
      const old = peers.get(i);
      if (old && old.pc) old.pc.close();
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      const peer = { pc, pcId, tracks: [], early: old && old.nextPcId === pcId ? old.early : [] };
      peers.set(i, peer);
      // Kept, never attached to an element: decoded by libwebrtc, not rendered.
      pc.ontrack = (e) => peer.tracks.push(e.track);
      pc.onicecandidate = (e) => window.benchP2pSignal(i, { kind: 'ice', pc: pcId, candidate: e.candidate ? e.candidate.toJSON() : null });
      await pc.setRemoteDescription({ type: 'offer', sdp });
      for (const c of peer.early) await pc.addIceCandidate(c).catch(() => undefined);
      peer.early = [];
      await pc.setLocalDescription(await pc.createAnswer());
      return pc.localDescription.sdp;
    },
    ice(i, pcId, candidate) {
      if (!candidate) return;
      const peer = peers.get(i);
      if (peer && peer.pc && peer.pcId === pcId && peer.pc.remoteDescription) { peer.pc.addIceCandidate(candidate).catch(() => undefined); return; }
      // Ahead of its offer: kept for it.
      const holder = peer ?? { early: [] };
      if (holder.nextPcId !== pcId) { holder.nextPcId = pcId; holder.early = []; }
      holder.early.push(candidate);
      if (!peer) peers.set(i, holder);
    },
    async counts() {
      const out = {};
      for (const [i, p] of peers) {
        const c = { framesDecoded: 0, framesReceived: 0, bytes: 0, width: 0, height: 0, pliCount: 0, state: p.pc ? p.pc.connectionState : 'none' };
        if (p.pc && p.pc.connectionState !== 'closed') {
          const r = await p.pc.getStats().catch(() => undefined);
          if (r) r.forEach((s) => {
            if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
            c.framesDecoded += s.framesDecoded || 0;
            c.framesReceived += s.framesReceived || 0;
            c.bytes += s.bytesReceived || 0;
            c.pliCount += s.pliCount || 0;
            c.width = s.frameWidth || c.width;
            c.height = s.frameHeight || c.height;
          });
        }
        out[i] = c;
      }
      return out;
    },
    close() { for (const p of peers.values()) if (p.pc) p.pc.close(); peers.clear(); },
  };
})();
`;

export interface P2pViewerCounts {
  framesDecoded: number;
  framesReceived: number;
  bytes: number;
  /** Keyframe requests this viewer sent. */
  pliCount: number;
  width: number;
  height: number;
  state: string;
}

export class LightP2pViewers {
  readonly clients: TestClient[] = [];
  private readonly timers: NodeJS.Timeout[] = [];

  private constructor(
    private readonly page: Page,
    private readonly planeUrl: string,
    private readonly sessionId: string,
    private readonly token: string,
  ) {}

  /** A page for the viewers (in `browser`, which should not be the host's). */
  static async open(browser: Browser, pageUrl: string, planeUrl: string, sessionId: string, viewerToken: string): Promise<LightP2pViewers> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const viewers = new LightP2pViewers(page, planeUrl, sessionId, viewerToken);
    await page.exposeFunction('benchP2pSignal', (i: number, payload: SignalPayload) => viewers.toHost(i, payload));
    await page.goto(pageUrl);
    await page.evaluate(PAGE_SCRIPT);
    return viewers;
  }

  get count(): number {
    return this.clients.length;
  }

  private hostId = '';

  private toHost(i: number, payload: SignalPayload): void {
    this.clients[i]?.request(SendSignal, { to: this.hostId, payload }).catch(() => undefined);
  }

  /** Joins `n` more guests and has each say hello; resolves once their connections are up. */
  async add(n: number, timeoutMs = 60_000): Promise<void> {
    const first = this.clients.length;
    for (let k = 0; k < n; k++) {
      const i = first + k;
      const client = await TestClient.connect(this.planeUrl);
      this.clients.push(client);
      const joined = await client.join(this.sessionId, this.token, `Light ${i + 1}`, { client: { kind: 'bench' } });
      this.hostId = joined.session.hostId;
      this.timers.push(setInterval(() => client.heartbeat(), Math.max(1000, joined.heartbeatIntervalMs / 2)));
      client.endpoint.onNotification(Signal, ({ from, payload }) => {
        if (from !== this.hostId) return;
        if (payload.kind === 'offer') {
          this.page
            .evaluate(
              ([j, pc, sdp]) =>
                (window as unknown as { benchP2p: { answer(i: number, pc: string, sdp: string): Promise<string> } }).benchP2p.answer(j, pc, sdp),
              [i, payload.pc, payload.sdp] as const,
            )
            .then((sdp) => client.request(SendSignal, { to: from, payload: { kind: 'answer', pc: payload.pc, sdp } }))
            .catch((err: unknown) => process.stderr.write(`  light viewer ${i + 1}: could not answer: ${String(err)}\n`));
        } else if (payload.kind === 'ice') {
          void this.page
            .evaluate(([j, pc, c]) => (window as unknown as { benchP2p: { ice(i: number, pc: string, c: unknown): void } }).benchP2p.ice(j, pc, c), [
              i,
              payload.pc,
              payload.candidate,
            ] as const)
            .catch(() => undefined);
        }
      });
      await client.request(SendSignal, { to: this.hostId, payload: { kind: 'hello', reason: 'join' } });
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await this.counts();
      const live = counts.filter((c) => c.state === 'connected' && c.framesDecoded > 0).length;
      if (live === this.clients.length) return;
      if (Date.now() > deadline) throw new Error(`only ${live} of ${this.clients.length} light P2P viewers receive frames after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async counts(): Promise<P2pViewerCounts[]> {
    const byIndex = await this.page.evaluate(() =>
      (window as unknown as { benchP2p: { counts(): Promise<Record<string, P2pViewerCounts>> } }).benchP2p.counts(),
    );
    return this.clients.map((_, i) => byIndex[i] ?? { framesDecoded: 0, framesReceived: 0, bytes: 0, pliCount: 0, width: 0, height: 0, state: 'none' });
  }

  async close(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    await this.page.evaluate(() => (window as unknown as { benchP2p: { close(): void } }).benchP2p.close()).catch(() => undefined);
    for (const c of this.clients.splice(0)) c.close();
    await this.page
      .context()
      .close()
      .catch(() => undefined);
  }
}
