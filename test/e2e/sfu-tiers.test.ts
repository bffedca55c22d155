/**
 * Quality tiers through the real LiveKit SFU (issue 16): the host lowers one viewer to the `low`
 * tier and that viewer's picture drops to the small simulcast layer, while another viewer beside
 * it keeps the full one; putting it back on its role's tier brings the full layer back. Whoever
 * drives is pinned to the full layer whatever its window, where a viewer's small window takes the
 * small one.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { TierName } from '../../protocol/tiers';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage } from '../support/browser-viewer';
import { createSession, NO_LOBBY } from '../support/control-plane';
import { eventually, startPlane, startSfuRig, type SfuRig } from '../support/livekit';
import { openTierPages, setTierFromHost } from '../support/tier-pages';

const SIZE = { width: 1280, height: 720, fps: 15 };

describe('end to end: quality tiers through the real LiveKit SFU', function () {
  this.timeout(120_000);
  let browser: Browser;
  let rig: SfuRig;
  let plane: ControlPlane;
  let host: HeadlessHost | undefined;
  const viewers: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
    rig = await startSfuRig();
    plane = await startPlane(rig, { ...NO_LOBBY });
  });
  after(async () => {
    for (const v of viewers) await v.close();
    await host?.close();
    await plane?.close();
    await rig?.livekit.stop();
    await browser?.close();
  });

  const setTier = (id: string, tier: TierName | null) => setTierFromHost(host!, id, tier);
  /** The width of the frames this viewer decodes, once it has settled on `want`. */
  const settlesOn = (v: ViewerPage, want: (w: number) => boolean, what: string) =>
    eventually(
      async () => {
        const w = (await v.stats()).frameWidth ?? 0;
        return want(w) ? w : undefined;
      },
      what,
      20_000,
    );

  it('the host puts one viewer on the low tier: its picture drops to the small layer, the other viewer keeps the full one, and back', async () => {
    const session = await createSession(plane, { mode: 'sfu', name: 'Tiers' });
    const pages = await openTierPages(browser, plane.url, session, SIZE);
    host = pages.host;
    const { lowered, kept } = pages;
    viewers.push(lowered, kept);
    for (const v of viewers) await settlesOn(v, (w) => w === SIZE.width, 'the full layer at first');
    const id = (await lowered.selfId())!;

    await setTier(id, 'low');
    const small = await settlesOn(lowered, (w) => w > 0 && w <= SIZE.width / 2, 'the lowered viewer on the small layer');
    assert.ok(small !== undefined && small <= 640, `${small} px wide`);
    await lowered.markerAdvance(1000);
    assert.equal((await kept.stats()).frameWidth, SIZE.width, 'the other viewer keeps the full layer');

    await setTier(id, null);
    await settlesOn(lowered, (w) => w === SIZE.width, 'the full layer again on its role’s tier');
  });

  it('whoever drives keeps the full layer in a small window, where a viewer in the same window gets the small one', async () => {
    await host?.close();
    const session = await createSession(plane, { mode: 'sfu', name: 'Pinned' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Host' });
    // A window this small: adaptive stream asks for under 400 pixels of height (its video element
    // is ~140 CSS pixels tall, pixel density 2), and LiveKit, comparing heights, picks the 360-line layer.
    const small = { viewport: { width: 320, height: 180 } };
    const driver = await ViewerPage.open(browser, session.links.controller.url, 'Driver', small);
    const viewer = await ViewerPage.open(browser, session.links.viewer.url, 'Small', small);
    viewers.push(driver, viewer);
    for (const v of [driver, viewer]) await v.waitForState('live', 30_000);
    // The viewer first: it shows that this window does take the small layer.
    await settlesOn(viewer, (w) => w > 0 && w <= SIZE.width / 2, 'the small-window viewer on the small layer');
    await settlesOn(driver, (w) => w === SIZE.width, 'the driver on the full layer in the same window');
    await driver.markerAdvance(1000);
    assert.equal((await driver.stats()).frameWidth, SIZE.width, 'still the full layer a second later');
  });
});
