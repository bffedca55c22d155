/**
 * Quality tiers peer-to-peer (issue 16): the host puts one viewer on the `low` tier (every
 * participant list says so) and that viewer leaves the shared direct-video encoder for RTP video capped at the low tier (10 frames a
 * second, 600 kbit/s), while the viewer beside it keeps direct video at full rate; put back on
 * its role's tier, the same RTP encoder is raised to the standard tier's frame rate. Real
 * Chromium pages, the real control plane; the caps are set by the host page's bandwidth
 * allocator (webview/engine/p2p/peer-quality.ts) through setParameters.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import type { HeadlessHost } from '../../demo/headless-host';
import type { TierName } from '../../protocol/tiers';
import type { ControlPlane } from '../../server/control-plane';
import type { GuestStats } from '../../webview/engine/engine-types';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, NO_LOBBY, startTestServer } from '../support/control-plane';
import { eventually } from '../support/livekit';
import { openTierPages, setTierFromHost } from '../support/tier-pages';

const SIZE = { width: 1280, height: 720, fps: 30 };

describe('end to end: quality tiers peer-to-peer', function () {
  this.timeout(120_000);
  let browser: Browser;
  let plane: ControlPlane;
  let host: HeadlessHost | undefined;
  const viewers: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
    plane = await startTestServer({ ...NO_LOBBY });
  });
  after(async () => {
    for (const v of viewers) await v.close();
    await host?.close();
    await plane?.close();
    await browser?.close();
  });

  const setTier = (id: string, tier: TierName | null) => setTierFromHost(host!, id, tier);
  const hostRow = async (id: string) => {
    const rows = await host!.page.evaluate(() => (window as unknown as { pairuxHost: { stats(): Promise<GuestStats[]> } }).pairuxHost.stats());
    return rows.find((r) => r.guestId === id);
  };
  /** The host's RTP encoder for this guest once its frame rate settles where `want` says. */
  const hostSends = (id: string, want: (r: GuestStats) => boolean, what: string) =>
    eventually(
      async () => {
        const r = await hostRow(id);
        return r && want(r) ? r : undefined;
      },
      what,
      30_000,
    );

  it('the host puts one viewer on the low tier: RTP video at 10 fps for it, direct video at full rate for the other; raised again, its rate comes back', async () => {
    const session = await createSession(plane, { name: 'Tiers P2P' });
    const pages = await openTierPages(browser, plane.url, session, SIZE);
    host = pages.host;
    const { lowered, kept } = pages;
    viewers.push(lowered, kept);
    for (const v of viewers) await eventually(async () => (await v.stats()).path === 'direct', 'direct video at first', 20_000);
    const id = (await lowered.selfId())!;
    const keptId = (await kept.selfId())!;

    await setTier(id, 'low');
    const low = (await hostSends(id, (r) => r.path === 'rtp' && r.fps > 0 && r.fps <= 11, 'the lowered viewer on RTP video at the low tier'))!;
    await eventually(async () => (await lowered.stats()).path === 'rtp', 'the lowered viewer shows RTP video', 20_000);
    const [a, b] = await lowered.markerAdvance(2000);
    assert.ok(b.frame !== a.frame, 'its picture still advances');
    assert.equal((await hostRow(keptId))?.path, 'direct', 'the other viewer keeps direct video');
    // Everyone's participant list says so: the other viewer's page shows the lowered one's tier, and why.
    const row = kept.page.locator(`#participants li[data-id="${id}"] .role`);
    await eventually(async () => (await row.textContent()) === 'viewer · low', "the lowered viewer's tier in the other's list");
    assert.equal(await row.getAttribute('title'), 'Quality tier: low, set by the host');
    assert.equal(await kept.page.locator(`#participants li[data-id="${keptId}"] .role`).textContent(), 'viewer · standard');
    const [k0, k1] = await kept.markerAdvance(1000);
    const keptFps = framesBetween(k0, k1);
    console.log(`      lowered: host sends ${low.fps} fps over RTP (${low.frameWidth}×${low.frameHeight}); kept: ${keptFps} new frames in 1 s, direct`);
    assert.ok(keptFps >= 20, `the other viewer shows ${keptFps} new frames in 1 s`);

    await setTier(id, null);
    const back = (await hostSends(id, (r) => r.path === 'rtp' && r.fps >= 15, "the viewer's rate back on its role's tier"))!;
    console.log(`      raised: host sends ${back.fps} fps`);
  });
});
