/**
 * The scenes of bench/pages/painter.ts painted full screen by a headed Chromium on an X display:
 * what the latency and capture benches capture. Its CPU is the "application's", not the host's.
 */
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../../demo/chromium';
import type { Xvfb } from '../../test/helper/support/xvfb';
import type { SceneName } from '../pages/scenes';
import { serveBenchPages } from './browsers';
import { treeCpuSeconds } from './stats';

/** What paints a scene on the X screen and logs its changes: this Chromium page, or x-painter.ts. */
export interface ScenePainter {
  /** Starts a scene from change 0; `rate` = changes per second for busy and scroll. */
  scene(name: SceneName, rate: number): Promise<void>;
  /** [change number, epoch ms painted] since the last call. */
  takePainted(): Promise<Array<[number, number]>>;
  /** CPU seconds of the painter so far (NaN when it cannot be told apart). */
  cpuSeconds(): number;
  close(): Promise<void>;
}

export interface PainterScreen extends ScenePainter {
  page: Page;
}

interface PainterApi {
  scene(name: SceneName, rate: number): void;
  takePainted(): Array<[number, number]>;
}

/**
 * `x` is the screen it paints on: an Xvfb, or a Wayland desktop (`wayland: true`: Chromium then
 * runs as a Wayland client, --ozone-platform=wayland, software-rendered like everything here).
 */
export async function startPainter(
  x: Pick<Xvfb, 'env'> & { wayland?: boolean },
  width: number,
  height: number,
  scene: SceneName = 'busy',
  rate = 30,
): Promise<PainterScreen> {
  const pages = await serveBenchPages();
  let browser: Browser | undefined;
  let server: BrowserServer | undefined;
  try {
    server = await chromium.launchServer({
      executablePath: findChromium(),
      headless: false,
      env: x.env as Record<string, string>,
      args: [...CHROMIUM_ARGS, `--window-size=${width},${height}`, '--window-position=0,0', ...(x.wayland ? ['--ozone-platform=wayland'] : [])],
    });
    const pid = server.process().pid!;
    browser = await chromium.connect(server.wsEndpoint());
    const page = await (await browser.newContext({ viewport: null })).newPage();
    await page.goto(`${pages.url}/page?fps=${rate}&scene=${scene}`);
    // --kiosk is not honoured under Playwright; full screen through the DevTools protocol is.
    const cdp = await page.context().newCDPSession(page);
    const { windowId } = (await cdp.send('Browser.getWindowForTarget')) as { windowId: number };
    await cdp.send('Browser.setWindowBounds', { windowId, bounds: { windowState: 'fullscreen' } });
    await page.addScriptTag({ url: `${pages.url}/painter.js`, type: 'module' });
    await page.waitForFunction(() => 'painter' in window);
    const b = browser;
    const s = server;
    return {
      page,
      scene: (name, r) => page.evaluate(([n, rr]) => (window as unknown as { painter: PainterApi }).painter.scene(n, rr), [name, r] as const),
      takePainted: () => page.evaluate(() => (window as unknown as { painter: PainterApi }).painter.takePainted()),
      cpuSeconds: () => treeCpuSeconds(pid),
      async close() {
        await b.close().catch(() => undefined);
        await s.close();
        await pages.close();
      },
    };
  } catch (err) {
    await browser?.close().catch(() => undefined);
    await server?.close();
    await pages.close();
    throw err;
  }
}
