/**
 * A real host for the harnesses that need control to be real: Xvfb, the helper capturing and
 * injecting into it, the HostRunner behind its WebSocket bridge, the control plane, and the host
 * page in headless Chromium. The host's user answers control requests by name: only names in
 * `allow` are let in, so a rogue never gets a grant by asking. The lobby is the product's default
 * (controller links knock) and the runner lets everyone in from it: the harnesses are about what a
 * guest in the session can send, so admission must never be what stops a rogue.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../../demo/headless-host';
import { HelperProcess } from '../../../helper/client';
import type { CreateSessionResponse } from '../../../protocol/http-api';
import type { ServerConfigInput } from '../../../server/config';
import type { ControlPlane } from '../../../server/control-plane';
import { HostRunner } from '../../../runner/host-runner';
import { HostBridgeServer } from '../../../runner/websocket-bridge';
import { createSession, startTestServer } from '../../support/control-plane';
import { mouseLocation, startXvfb, waitFor, type Xvfb } from '../../helper/support/xvfb';

export interface HostRig {
  x: Xvfb;
  helper: HelperProcess;
  runner: HostRunner;
  plane: Pick<ControlPlane, 'url' | 'close'>;
  session: CreateSessionResponse;
  browser: Browser;
  host: HeadlessHost;
  /** Names the host's user was asked about, in order. */
  asked: string[];
  /** Names the host's user let in from the lobby, in order (everyone who knocked). */
  admitted: string[];
  /** The runner's bridge: how many host pages connected to it, to tell a reloaded page. */
  bridge: HostBridgeServer;
  close(): Promise<void>;
}

export interface HostRigOptions {
  allow: (name: string) => boolean;
  plane?: ServerConfigInput;
  /** Starts the plane another way (the LiveKit rig's port, its own process for the soak). */
  startPlane?: () => Promise<Pick<ControlPlane, 'url' | 'close'>>;
  mode?: 'p2p' | 'sfu' | 'auto';
  width?: number;
  height?: number;
}

export async function startHostRig(o: HostRigOptions): Promise<HostRig> {
  const width = o.width ?? 640;
  const height = o.height ?? 480;
  const asked: string[] = [];
  const admitted: string[] = [];
  const x = await startXvfb(width, height);
  const helper = new HelperProcess({ env: x.env });
  await helper.start();
  const capture = await helper.startCapture({ fps: 10, patches: true });
  const runner = new HostRunner({
    helper,
    capture,
    prompt: { ask: async (name) => (asked.push(name), o.allow(name) ? { allow: true, reason: 'allowed' } : { allow: false, reason: 'denied' }) },
    // Everyone who knocks is let in, the rogue too: what it can do once in is what is under test.
    lobby: { admit: async ({ name }) => (admitted.push(name), { admit: true, reason: 'allowed' }) },
    say: () => undefined,
    frames: 'bridge',
    controlRequests: true,
  });
  const bridge = new HostBridgeServer(runner);
  runner.attach(bridge);
  await bridge.listen();
  const plane = o.startPlane ? await o.startPlane() : await startTestServer(o.plane);
  const session = await createSession(plane, { mode: o.mode ?? 'p2p' });
  const browser = await launchChromium();
  const host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { browser, bridge: bridge.url, fps: 10 });
  return {
    x,
    helper,
    runner,
    plane,
    session,
    browser,
    host,
    asked,
    admitted,
    bridge,
    async close() {
      await host.close();
      await browser.close().catch(() => undefined);
      await plane.close();
      await bridge.close();
      await helper.stop();
      await x.stop();
    },
  };
}

/** The JS heap of a page after a full GC (Chromium's DevTools protocol), in MB. */
export async function pageHeapMb(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  await cdp.detach();
  return usedSize / 2 ** 20;
}

/**
 * A controller's viewer page drives: asks, is allowed, clicks the middle of the video, and the X
 * pointer ends up in the middle of the screen.
 */
export async function legitDriverLands(rig: HostRig, page: Page): Promise<void> {
  await page.click('#control-request');
  await page.waitForFunction(() => document.body.dataset.control === 'driving', null, { timeout: 15_000 });
  const box = await page.locator('video').boundingBox();
  if (!box) throw new Error('the legitimate viewer shows no video');
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await waitFor(
    () => {
      const at = mouseLocation(rig.x);
      return Math.abs(at.x - rig.x.width / 2) <= 4 && Math.abs(at.y - rig.x.height / 2) <= 4;
    },
    10_000,
    "the legitimate driver's click in the middle of the X screen",
  );
}
