/**
 * The tier tests' common ground, whichever engine carries the picture: a headless host page
 * sharing its generated screen and two browser viewers, one to be lowered and one kept beside
 * it; and the host page's own Set Quality Tier (what the editor's command calls).
 */
import type { Browser } from 'playwright-core';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { TierName } from '../../protocol/tiers';
import { ViewerPage } from './browser-viewer';

export interface TierPages {
  host: HeadlessHost;
  lowered: ViewerPage;
  kept: ViewerPage;
}

/** The host, then both viewers live. */
export async function openTierPages(
  browser: Browser,
  serverUrl: string,
  session: CreateSessionResponse,
  size: { width: number; height: number; fps: number },
): Promise<TierPages> {
  const host = await startHeadlessHost(serverUrl, session.sessionId, session.hostToken, { ...size, browser, name: 'Host' });
  const [lowered, kept] = await Promise.all([
    ViewerPage.open(browser, session.links.viewer.url, 'Lowered'),
    ViewerPage.open(browser, session.links.viewer.url, 'Kept'),
  ]);
  for (const v of [lowered, kept]) await v.waitForState('live', 30_000);
  return { host, lowered, kept };
}

/** The host page sets one guest's tier (null: back to its role's). */
export function setTierFromHost(host: HeadlessHost, participantId: string, tier: TierName | null): Promise<void> {
  return host.page.evaluate(([who, t]) => window.pairuxHostActions!.setTier(who as string, t as TierName | null), [participantId, tier] as const);
}
