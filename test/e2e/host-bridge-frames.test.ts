/**
 * The host page's bridge as a frame path, with real parts: the real control plane, the host page
 * in headless Chromium connected to a HostBridgeServer whose stand-in runner pumps synthetic BGRX
 * frames (the frame marker painted), and viewers in Chromium reading the marker back from the
 * pixels they decoded. Topology only, so the stand-in runner (test/support/recording-runner.ts,
 * which grants nobody): remote control through the bridge is test/e2e/control.test.ts, with the
 * real runner, helper and Xvfb.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import type { HostBridgeSnapshot } from '../../webview/pages/host-page';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, startTestServer } from '../support/control-plane';
import { eventually } from '../support/livekit';
import { startRecordingRunner, type RecordingRunner } from '../support/recording-runner';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("end to end: frames through the host page's bridge", function () {
  this.timeout(120_000);
  let browser: Browser;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let runner: RecordingRunner;
  let host: HeadlessHost & { bridge(): Promise<HostBridgeSnapshot | null> };
  const viewers: ViewerPage[] = [];

  /** The host page, up once its runner has answered hello. */
  const startHost = async () => {
    const h = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, {
      browser,
      name: 'Hana',
      bridge: runner.url,
      width: 640,
      height: 360,
      fps: 10,
    });
    return { ...h, bridge: () => h.page.evaluate(() => (window as unknown as { pairuxHost: { bridge(): HostBridgeSnapshot | null } }).pairuxHost.bridge()) };
  };

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    plane = await startTestServer({ reconnectGraceMs: 5000 });
    session = await createSession(plane, { name: 'Frames E2E' });
    // Topology only: the stand-in runner, which grants nobody.
    runner = await startRecordingRunner({ width: 640, height: 360, fps: 10 }, 'bridge');
    runner.pump(10);
    host = await startHost();
  });
  afterEach(async () => {
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    await runner?.close();
    await plane?.close();
  });

  async function open(name: string): Promise<ViewerPage> {
    const v = await ViewerPage.open(browser, session.links.viewer.url, name);
    viewers.push(v);
    await v.waitForState('live', 20_000);
    return v;
  }

  it('frames the runner sends through the bridge are what viewers decode, through garbage and a resize', async () => {
    const vic = await open('Vic');
    const [a, b] = await vic.markerAdvance(1000);
    assert.ok(framesBetween(a, b) >= 4, `frame ${a.frame} → ${b.frame} in 1 s`);
    assert.deepEqual([b.width, b.height], [640, 360]);
    const screen = await vic.page.evaluate(() => (window as unknown as { pairuxViewer: { screen?: { width: number; source: string } } }).pairuxViewer.screen);
    assert.deepEqual([screen?.width, screen?.source], [640, 'test-runner']);

    // Garbage between frames is counted and dropped; the picture keeps moving.
    runner.garbageEvery = 3;
    await sleep(1500);
    const [c, d] = await vic.markerAdvance(1000);
    assert.ok(framesBetween(c, d) >= 2, `frame ${c.frame} → ${d.frame} with garbage`);
    const bridge = (await host.bridge())!;
    assert.ok(bridge.framesBad >= 3, `bad frames ${bridge.framesBad}`);
    assert.match(bridge.lastBadReason ?? '', /./);
    runner.garbageEvery = 0;

    // The screen changes size: the picture and the reported screen follow.
    runner.screen = { width: 800, height: 448, fps: 10 };
    const resized = await eventually(
      async () => {
        const m = await vic.readMarker();
        return m && m.width === 800 ? m : undefined;
      },
      'the viewer to decode the new size',
      20_000,
    );
    assert.equal(resized!.height, 448);
    await eventually(
      async () => (await vic.page.evaluate(() => (window as unknown as { pairuxViewer: { screen?: { width: number } } }).pairuxViewer.screen?.width)) === 800,
      'peer.screen to report it',
    );
    assert.ok((await host.bridge())!.framesDelivered > 20);
  });

  it("the runner may instead point the page at a helper's own frame socket, or at the generated screen", async () => {
    // A stand-in for the helper's loopback frame socket: kind-first messages, as helper/capture sends.
    const sockets = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => sockets.once('listening', () => resolve()));
    try {
      const url = `ws://127.0.0.1:${(sockets.address() as AddressInfo).port}/frames/test-key`;
      runner.sink = (frame) => {
        for (const ws of sockets.clients) ws.send(frame, { binary: true });
      };
      runner.via = { url };
      runner.screen = { width: 480, height: 270, fps: 10 };
      await host.close();
      session = await createSession(plane, { name: 'Frames via socket' });
      host = await startHost();
      assert.equal((await host.bridge())?.via, 'websocket');
      const vic = await open('Vic');
      const [a, b] = await vic.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 4, `frame ${a.frame} → ${b.frame} in 1 s`);
      assert.deepEqual([b.width, b.height], [480, 270]);
      assert.equal(sockets.clients.size, 1, 'the page opened the frame socket');
    } finally {
      runner.sink = undefined;
      for (const ws of sockets.clients) ws.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
    }

    // 'generated': the page draws its own stand-in screen at the size the runner gave.
    runner.via = 'generated';
    runner.screen = { width: 640, height: 360, fps: 10 };
    await host.close();
    session = await createSession(plane, { name: 'Generated' });
    host = await startHost();
    const vic2 = await open('Vic again');
    const [c, d] = await vic2.markerAdvance(1000);
    assert.ok(framesBetween(c, d) >= 4);
    const screen = await vic2.page.evaluate(() => (window as unknown as { pairuxViewer: { screen?: { width: number; source: string } } }).pairuxViewer.screen);
    assert.deepEqual([screen?.width, screen?.source], [640, 'generated']);
  });
});
