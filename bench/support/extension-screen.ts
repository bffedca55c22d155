/**
 * The changing screen both cases of `npm run bench:extension` share: Xvfb and a headed Chromium
 * painting bench/pages/painter.ts full screen on it (code text, and the frame marker band across
 * the top repainted at `fps`), the same painter bench/support/real-screen.ts uses. No helper:
 * each case starts its own (the extension's, the demo's).
 */
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../../demo/chromium';
import { startXvfb, type Xvfb } from '../../test/helper/support/xvfb';
import { serveBenchPages } from './browsers';

export interface PaintedScreen {
  display: string;
  xvfbPid: number;
  /** The painter Chromium's browser process (its tree is the painter). */
  painterPid: number;
  /** Marker frames painted so far. */
  painted(): Promise<number>;
  close(): Promise<void>;
}

export async function startPaintedScreen(width: number, height: number, fps: number): Promise<PaintedScreen> {
  const x: Xvfb = await startXvfb(width, height);
  let pages: Awaited<ReturnType<typeof serveBenchPages>> | undefined;
  let painter: Awaited<ReturnType<typeof chromium.launchServer>> | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await painter?.close().catch(() => undefined);
    await pages?.close().catch(() => undefined);
    await x.stop();
  };
  try {
    pages = await serveBenchPages();
    // launchServer, not launch: its pid is known, so the painter can be kept out of the sums.
    painter = await chromium.launchServer({
      executablePath: findChromium(),
      headless: false,
      env: x.env as Record<string, string>,
      args: [...CHROMIUM_ARGS, `--window-size=${width},${height}`, '--window-position=0,0'],
    });
    browser = await chromium.connect(painter.wsEndpoint());
    const page = await (await browser.newContext({ viewport: null })).newPage();
    await page.goto(`${pages.url}/page?fps=${fps}`);
    // --kiosk is not honoured under Playwright; full screen through the DevTools protocol is.
    const cdp = await page.context().newCDPSession(page);
    const { windowId } = (await cdp.send('Browser.getWindowForTarget')) as { windowId: number };
    await cdp.send('Browser.setWindowBounds', { windowId, bounds: { windowState: 'fullscreen' } });
    await page.addScriptTag({ url: `${pages.url}/painter.js`, type: 'module' });
    await page.waitForFunction(() => 'painterFrames' in window);
    return {
      display: x.display,
      xvfbPid: x.pid,
      painterPid: painter.process().pid!,
      painted: () => page.evaluate(() => (window as unknown as { painterFrames(): number }).painterFrames()),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
