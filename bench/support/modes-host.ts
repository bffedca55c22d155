/**
 * The host page for bench:modes / bench:sfu: the control plane's real host page (as
 * demo/headless-host.ts opens it, generated 1080p screen when no bridge), with every
 * RTCPeerConnection the page makes recorded by an init script, so the bench reads the host's
 * egress straight from WebRTC whatever the mode: outbound-rtp bytesSent summed over every
 * connection (P2P: one per guest) and every encoding (SFU: the simulcast layers).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { hostPageUrl, type HostPageOptions } from '../../demo/headless-host';

const RECORD_PCS = `
(() => {
  const Original = window.RTCPeerConnection;
  const pcs = [];
  class Recorded extends Original {
    constructor(...args) {
      super(...args);
      pcs.push(this);
    }
  }
  window.RTCPeerConnection = Recorded;
  window.__benchPcs = pcs;
  const n = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  window.__benchOutbound = async () => {
    const open = pcs.filter((pc) => pc.connectionState !== 'closed');
    const out = { bytesSent: 0, retransmittedBytesSent: 0, framesEncoded: 0, keyFramesEncoded: 0, pliCount: 0, firCount: 0, nackCount: 0, streams: 0, connections: open.length };
    for (const pc of open) {
      const report = await pc.getStats().catch(() => undefined);
      if (!report) continue;
      report.forEach((r) => {
        if (r.type !== 'outbound-rtp' || r.kind !== 'video') return;
        out.streams++;
        out.bytesSent += n(r.bytesSent);
        out.retransmittedBytesSent += n(r.retransmittedBytesSent);
        out.framesEncoded += n(r.framesEncoded);
        out.keyFramesEncoded += n(r.keyFramesEncoded);
        out.pliCount += n(r.pliCount);
        out.firCount += n(r.firCount);
        out.nackCount += n(r.nackCount);
      });
    }
    return out;
  };
})();
`;

export interface HostOutbound {
  /** outbound-rtp (video) bytesSent, summed over connections and encodings. */
  bytesSent: number;
  /** The same for retransmissions (RTX), counted separately by WebRTC. */
  retransmittedBytesSent: number;
  framesEncoded: number;
  keyFramesEncoded: number;
  pliCount: number;
  firCount: number;
  nackCount: number;
  /** outbound-rtp streams (connections × encodings). */
  streams: number;
  /** Open peer connections. */
  connections: number;
}

export class BenchHostPage {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  static async open(browser: Browser, serverUrl: string, sessionId: string, hostToken: string, options: HostPageOptions = {}): Promise<BenchHostPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(RECORD_PCS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(hostPageUrl(serverUrl, sessionId, hostToken, options));
      await page.waitForFunction(() => Boolean((window as unknown as { pairuxHost?: { selfId?: string } }).pairuxHost?.selfId), null, { timeout: 30_000 });
    } catch (err) {
      await context.close().catch(() => undefined);
      throw new Error(`the host page did not join: ${errors.join('; ') || String(err)}`, { cause: err });
    }
    return new BenchHostPage(context, page);
  }

  /** SFU mode: until the host has published its screen to LiveKit. */
  async waitForSfuPublished(timeoutMs = 30_000): Promise<void> {
    await this.page.waitForFunction(
      () => (window as unknown as { pairuxHost: { media(): { sfu?: { publishedTracks?: number } } } }).pairuxHost.media().sfu?.publishedTracks === 1,
      null,
      { timeout: timeoutMs, polling: 200 },
    );
  }

  outbound(): Promise<HostOutbound> {
    return this.page.evaluate(() => (window as unknown as { __benchOutbound(): Promise<HostOutbound> }).__benchOutbound());
  }

  close(): Promise<void> {
    return this.context.close().catch(() => undefined);
  }
}

/** The difference of two readings (counters only). */
export function outboundDelta(a: HostOutbound, b: HostOutbound): HostOutbound {
  return {
    bytesSent: b.bytesSent - a.bytesSent,
    retransmittedBytesSent: b.retransmittedBytesSent - a.retransmittedBytesSent,
    framesEncoded: b.framesEncoded - a.framesEncoded,
    keyFramesEncoded: b.keyFramesEncoded - a.keyFramesEncoded,
    pliCount: b.pliCount - a.pliCount,
    firCount: b.firCount - a.firCount,
    nackCount: b.nackCount - a.nackCount,
    streams: b.streams,
    connections: b.connections,
  };
}
