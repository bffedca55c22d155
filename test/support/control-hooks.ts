/**
 * Reading remote control's state off the real pages (their test hooks), for the end-to-end
 * tests: the host page's gate counts, the guest's own view of control and of refusals, and the
 * guest's raw-input hook that bypasses every check on the guest's side (what a hostile page can
 * send). A negative test uses these to prove the host received and refused the input before it
 * asserts that nothing landed.
 */
import type { Page } from 'playwright-core';
import type { HostControlSnapshot } from '../../webview/pages/host-page';
import type { ViewerControlSnapshot } from '../../webview/pages/viewer-control';
import type { ViewerPage } from './browser-viewer';
import { eventually } from './livekit';

type HostHook = { pairuxHost: { control(): HostControlSnapshot } };
type ViewerHook = { pairuxViewer: { control(): ViewerControlSnapshot; sendRawInput(raw: unknown): boolean } };

/** The host page's gate: who drives as far as it lets input through, and what it refused, by code. */
export function hostControl(host: Page): Promise<HostControlSnapshot> {
  return host.evaluate(() => (window as unknown as HostHook).pairuxHost.control());
}

/** The guest's control panel: phase, what it sent, and the refusals the host told it about. */
export function guestControl(v: ViewerPage): Promise<ViewerControlSnapshot> {
  return v.page.evaluate(() => (window as unknown as ViewerHook).pairuxViewer.control());
}

/** `document.body.dataset.control` of a guest page: 'driving', 'requesting', … */
export function controlPhase(v: ViewerPage): Promise<string | undefined> {
  return v.page.evaluate(() => document.body.dataset.control);
}

/** Puts raw events on the guest's input channel, bypassing the guest's own checks; true for each that left. */
export function forge(v: ViewerPage, ...events: unknown[]): Promise<boolean[]> {
  return v.page.evaluate((list) => list.map((e) => (window as unknown as ViewerHook).pairuxViewer.sendRawInput(e)), events);
}

/** How many events the host page's gate refused (all codes). */
export function refusedTotal(s: HostControlSnapshot): number {
  return Object.values(s.refused).reduce((a, b) => a + (b ?? 0), 0);
}

/**
 * Sends `events` from `v` and waits until the host page has refused every one of them (its gate's
 * count) and the guest has been told: proof the input reached the host and was refused there.
 */
export async function forgeAndSeeRefused(
  host: Page,
  v: ViewerPage,
  ...events: unknown[]
): Promise<{ host: HostControlSnapshot; guest: ViewerControlSnapshot }> {
  const hostBefore = refusedTotal(await hostControl(host));
  const guestBefore = (await guestControl(v)).refused;
  const sent = await forge(v, ...events);
  if (!sent.every(Boolean)) throw new Error(`not every forged event left the guest: ${JSON.stringify(sent)}`);
  const hostAfter = await eventually(async () => {
    const s = await hostControl(host);
    return refusedTotal(s) >= hostBefore + events.length ? s : undefined;
  }, `the host page to refuse ${events.length} forged event(s)`);
  const guestAfter = await eventually(async () => {
    const s = await guestControl(v);
    return s.refused > guestBefore ? s : undefined;
  }, 'the guest to be told of the refusal');
  return { host: hostAfter!, guest: guestAfter! };
}
