/**
 * A Chromium page that joins a LiveKit room with livekit-client alone (no PairUX page), shows the
 * first video track it is sent in its one `<video>`, and reads the frame marker out of the
 * decoded pixels with the same probe as the viewer page: "pixels arrived" for rooms no PairUX
 * guest is placed in yet (a cascade's far room, reached with a token minted by the test).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Marker } from './browser-viewer';

const require = createRequire(import.meta.url);
const LIVEKIT_UMD = path.join(path.dirname(require.resolve('livekit-client')), 'livekit-client.umd.js');
const PROBE = path.resolve(import.meta.dirname, '../../dist/webview/probe.js');

export class RawLiveKitViewer {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  static async open(browser: Browser, url: string, token: string): Promise<RawLiveKitViewer> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.setContent('<!doctype html><body style="margin:0"><video muted autoplay playsinline style="width:100vw"></video></body>');
    await page.addScriptTag({ path: LIVEKIT_UMD });
    await page.addScriptTag({ path: PROBE, type: 'module' });
    await page.evaluate(
      async ({ url, token }) => {
        const lk = (window as unknown as { LivekitClient: typeof import('livekit-client') }).LivekitClient;
        const room = new lk.Room();
        const video = document.querySelector('video')!;
        room.on(lk.RoomEvent.TrackSubscribed, (track) => {
          if (track.kind === 'video') track.attach(video);
        });
        (window as unknown as { rawRoom: unknown }).rawRoom = room;
        await room.connect(url, token);
      },
      { url, token },
    );
    return new RawLiveKitViewer(context, page);
  }

  readMarker(): Promise<Marker | null> {
    return this.page.evaluate(() => (window as unknown as { pairuxProbe?: { read(): Marker | null } }).pairuxProbe?.read() ?? null);
  }

  /** A legible marker other than `after`, within `timeoutMs`. */
  async waitForMarker(timeoutMs = 20_000, after = -1): Promise<Marker> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = await this.readMarker();
      if (m && m.frame !== after) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no new legible frame marker in the raw LiveKit viewer within ${timeoutMs} ms`);
  }

  /** The marker read twice, `gapMs` apart: live if it advanced. */
  async markerAdvance(gapMs = 1000, timeoutMs = 20_000): Promise<[Marker, Marker]> {
    const first = await this.waitForMarker(timeoutMs);
    await new Promise((r) => setTimeout(r, gapMs));
    return [first, await this.waitForMarker(10_000, first.frame)];
  }

  /** The first inbound video's stats at the page's LiveKit subscriber. */
  inbound(): Promise<{ framesDecoded: number; frameWidth: number; keyFramesDecoded: number } | undefined> {
    return this.page.evaluate(async () => {
      const room = (window as unknown as { rawRoom: import('livekit-client').Room }).rawRoom;
      for (const p of room.remoteParticipants.values())
        for (const pub of p.trackPublications.values()) {
          const receiver = (pub.videoTrack as import('livekit-client').RemoteVideoTrack | undefined)?.receiver;
          if (!receiver) continue;
          let out;
          (await receiver.getStats()).forEach((s: Record<string, unknown>) => {
            if (s.type === 'inbound-rtp')
              out = { framesDecoded: Number(s.framesDecoded ?? 0), frameWidth: Number(s.frameWidth ?? 0), keyFramesDecoded: Number(s.keyFramesDecoded ?? 0) };
          });
          return out;
        }
      return undefined;
    });
  }

  close(): Promise<void> {
    return this.context.close().catch(() => undefined);
  }
}
