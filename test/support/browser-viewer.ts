/**
 * Opens share links in real Chromium pages and reads what the viewer actually shows: the page's
 * state hooks and, for video, the frame marker decoded from the pixels of the `<video>`.
 */
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { visibleFrames, type CollectSummary, type PresentedReading } from '../../webview/probe/readings';

export interface Marker {
  frame: number;
  captureTimeLow32: number;
  width: number;
  height: number;
}

export interface ViewerStats {
  localCandidateType?: string;
  remoteCandidateType?: string;
  framesDecoded?: number;
  frameWidth?: number;
  frameHeight?: number;
  fps?: number;
  codec?: string;
  bytesReceived?: number;
  packetsLost?: number;
  freezeCount?: number;
  /** P2P: 'rtp' or 'direct' (WebCodecs over a data channel). */
  path?: string;
}

export class ViewerPage {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly origin: string,
  ) {}

  /** `initScript` runs in the page before its own scripts (a test's fault injection). */
  static async open(browser: Browser, link: string, name = 'Viewer', contextOptions: BrowserContextOptions = {}, initScript?: string): Promise<ViewerPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...contextOptions });
    if (initScript) await context.addInitScript(initScript);
    const page = await context.newPage();
    const url = new URL(link);
    if (!url.hash.includes('name=')) url.hash = `${url.hash.replace(/^#/, '')}&name=${encodeURIComponent(name)}`;
    await page.goto(url.toString());
    return new ViewerPage(context, page, url.origin);
  }

  state(): Promise<string | undefined> {
    return this.page.evaluate(() => document.body.dataset.state);
  }

  async waitForState(state: string, timeoutMs = 15_000): Promise<void> {
    try {
      await this.page.waitForFunction((s) => document.body.dataset.state === s, state, { timeout: timeoutMs });
    } catch {
      throw new Error(`viewer never reached '${state}' (it is '${await this.state()}': ${await this.message()})`);
    }
  }

  message(): Promise<string> {
    return this.page.evaluate(() => document.querySelector('#message')?.textContent?.trim() ?? '');
  }

  errorCode(): Promise<string | undefined> {
    return this.page.evaluate(() => document.body.dataset.errorCode);
  }

  selfId(): Promise<string | undefined> {
    return this.page.evaluate(() => (window as unknown as { pairuxViewer?: { selfId?: string } }).pairuxViewer?.selfId);
  }

  /**
   * The decoded colour at (x, y) of the video, in the picture's own pixels, when it is within 12
   * of `rgb` on each channel; undefined otherwise (or before a picture). Needs no test hook.
   */
  colourAt(x: number, y: number, rgb: [number, number, number]): Promise<[number, number, number] | undefined> {
    return this.page.evaluate(
      ({ x, y, rgb }) => {
        const v = document.querySelector('video');
        if (!v || v.videoWidth === 0) return undefined;
        const c = document.createElement('canvas');
        c.width = v.videoWidth;
        c.height = v.videoHeight;
        const g = c.getContext('2d')!;
        g.drawImage(v, 0, 0);
        const [r = 0, gr = 0, b = 0] = g.getImageData(x, y, 1, 1).data;
        return Math.abs(r - rgb[0]) < 12 && Math.abs(gr - rgb[1]) < 12 && Math.abs(b - rgb[2]) < 12 ? ([r, gr, b] as [number, number, number]) : undefined;
      },
      { x, y, rgb },
    );
  }

  stats(): Promise<ViewerStats> {
    return this.page.evaluate(() => (window as unknown as { pairuxViewer: { stats(): Promise<ViewerStats> } }).pairuxViewer.stats());
  }

  private async probe(): Promise<void> {
    const has = await this.page.evaluate(() => 'pairuxProbe' in window);
    if (!has) await this.page.addScriptTag({ url: `${this.origin}/dist/webview/probe.js`, type: 'module' });
    await this.page.waitForFunction(() => 'pairuxProbe' in window);
  }

  /** The marker in the video's current picture, read from its pixels; null if none is legible. */
  async readMarker(): Promise<Marker | null> {
    await this.probe();
    return this.page.evaluate(() => (window as unknown as { pairuxProbe: { read(): Marker | null } }).pairuxProbe.read());
  }

  /** Waits until the decoded video shows a legible marker, returning it. */
  async waitForMarker(timeoutMs = 20_000, after = -1): Promise<Marker> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const last = await this.readMarker();
      if (last && last.frame !== after) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no legible frame marker in the viewer's video within ${timeoutMs} ms (state ${await this.state()}: ${await this.message()})`);
  }

  /** Reads the marker twice, `gapMs` apart, and returns both: the video is live if it advanced. */
  async markerAdvance(gapMs = 1000): Promise<[Marker, Marker]> {
    const first = await this.waitForMarker();
    await new Promise((r) => setTimeout(r, gapMs));
    const second = await this.waitForMarker(10_000, first.frame);
    return [first, second];
  }

  /** Presented frames over a stretch of time, each with its marker (requestVideoFrameCallback). */
  async collect(ms: number): Promise<Array<Marker & { presentedAt: number }>> {
    await this.probe();
    return this.page.evaluate(
      (d) => (window as unknown as { pairuxProbe: { collect(ms: number): Promise<Array<Marker & { presentedAt: number }>> } }).pairuxProbe.collect(d),
      ms,
    );
  }

  /**
   * Like `collect`, across a move of the media: the frames that were on screen (the page's video,
   * or the move's stage while it covered it), in order.
   */
  async collectVisible(ms: number): Promise<{ frames: PresentedReading[]; all: PresentedReading[]; summary: CollectSummary }> {
    const all = (await this.collect(ms)) as PresentedReading[];
    const summary = await this.page.evaluate(() => (window as unknown as { pairuxProbe: { lastCollect: CollectSummary } }).pairuxProbe.lastCollect);
    return { frames: visibleFrames(all, summary), all, summary };
  }

  close(): Promise<void> {
    return this.context.close().catch(() => undefined);
  }
}

/** The longest time between two on-screen frames that showed a new picture (a new marker). */
export function longestFreeze(frames: Array<{ frame: number; presentedAt: number }>): { ms: number; at: number } {
  let worst = { ms: 0, at: 0 };
  let last: { frame: number; presentedAt: number } | undefined;
  for (const f of frames) {
    if (last && f.frame === last.frame) continue;
    if (last && f.presentedAt - last.presentedAt > worst.ms) worst = { ms: f.presentedAt - last.presentedAt, at: last.presentedAt };
    last = f;
  }
  return worst;
}

/** Frame numbers are 16-bit and wrap; this is how far `b` is ahead of `a`. */
export function framesBetween(a: Marker, b: Marker): number {
  return (b.frame - a.frame + 65_536) % 65_536;
}
