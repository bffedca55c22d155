/**
 * Direct video (WebCodecs over the `pairux-video` data channel) between a real host page and real
 * viewers in Chromium, on the host's generated screen: a guest that can decode it gets it, and
 * when either codec fails the guest is back on RTP video by itself, with pixels still arriving.
 * The faults are real codec errors raised inside the page (WebCodecs' own error callback, from an
 * init script that wraps the browser's VideoDecoder or VideoEncoder); everything else is the
 * product as shipped. "Pixels arriving" means the host's frame counter, read back from the
 * viewer's decoded video, advanced.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, startTestServer, NO_LOBBY } from '../support/control-plane';
import { eventually } from '../support/livekit';

const SIZE = { width: 640, height: 360, fps: 15 };

/** In-page: after `window.pairuxFail<Kind> = true`, every call of `method` ends in the codec's error callback. */
function failingCodec(kind: 'VideoDecoder' | 'VideoEncoder', method: 'decode' | 'encode'): string {
  return `(() => {
    const Real = window.${kind};
    window.${kind} = class extends Real {
      constructor(init) {
        super(init);
        this.pairuxError = init.error;
      }
      ${method}(...args) {
        if (window.pairuxFail${kind}) {
          setTimeout(() => this.pairuxError(new DOMException('injected ${kind} failure', 'EncodingError')));
          return;
        }
        return super.${method}(...args);
      }
    };
  })();`;
}

type HostGuestStats = Array<{ name: string; path: string; framesEncoded: number; direct?: { framesEncoded: number } }>;

async function hostStats(host: HeadlessHost): Promise<HostGuestStats> {
  return host.page.evaluate(() => (window as unknown as { pairuxHost: { stats(): Promise<HostGuestStats> } }).pairuxHost.stats());
}

async function assertPixelsArrive(viewer: ViewerPage, what: string): Promise<void> {
  const [a, b] = await viewer.markerAdvance(1000);
  assert.ok(framesBetween(a, b) >= 3, `${what}: frame ${a.frame} → ${b.frame} in 1 s`);
}

describe('end to end: direct video, and back to RTP video when a codec fails', function () {
  this.timeout(120_000);
  let browser: Browser;
  let plane: ControlPlane;
  let host: HeadlessHost | undefined;
  const viewers: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    plane = await startTestServer({ ...NO_LOBBY, reconnectGraceMs: 5000 });
  });
  afterEach(async () => {
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    host = undefined;
    await plane?.close();
  });

  async function openViewer(link: string, name: string, initScript?: string): Promise<{ viewer: ViewerPage; logs: string[] }> {
    const viewer = await ViewerPage.open(browser, link, name, {}, initScript);
    viewers.push(viewer);
    const logs: string[] = [];
    viewer.page.on('console', (m) => logs.push(m.text()));
    await viewer.waitForState('live', 30_000);
    return { viewer, logs };
  }

  it("the guest's decoder failing: the guest tells the host, the host sends RTP video again, the picture goes on", async () => {
    const session = await createSession(plane, { name: 'Direct video, decoder fault' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Host' });
    const { viewer, logs } = await openViewer(session.links.viewer.url, 'Vera', failingCodec('VideoDecoder', 'decode'));
    await eventually(async () => (await viewer.stats()).path === 'direct', 'the guest on direct video', 15_000);
    await assertPixelsArrive(viewer, 'on direct video');
    const before = (await hostStats(host)).find((g) => g.name === 'Vera');
    assert.equal(before?.path, 'direct');
    const rtpFramesBefore = before.framesEncoded;

    await viewer.page.evaluate(() => ((window as unknown as { pairuxFailVideoDecoder: boolean }).pairuxFailVideoDecoder = true));
    await eventually(async () => (await viewer.stats()).path === 'rtp', 'the guest back on RTP video', 15_000);
    assert.ok(
      logs.some((l) => /direct video off: .*injected VideoDecoder failure/.test(l)),
      `the guest says why it left direct video (log: ${logs.filter((l) => l.includes('direct')).join(' | ')})`,
    );
    await eventually(async () => (await hostStats(host!)).find((g) => g.name === 'Vera')?.path === 'rtp', 'the host sees the guest on RTP', 10_000);
    await assertPixelsArrive(viewer, 'on RTP video after the decoder failed');
    const after = (await hostStats(host)).find((g) => g.name === 'Vera');
    assert.ok((after?.framesEncoded ?? 0) > rtpFramesBefore + 10, `the host's RTP encoder runs again (${rtpFramesBefore} → ${after?.framesEncoded})`);
  });

  it("the host's encoder failing: every direct guest is told and goes back to RTP video", async () => {
    const session = await createSession(plane, { name: 'Direct video, encoder fault' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, {
      ...SIZE,
      browser,
      name: 'Host',
      initScript: failingCodec('VideoEncoder', 'encode'),
    });
    const { viewer: one, logs } = await openViewer(session.links.viewer.url, 'Uno');
    const { viewer: two } = await openViewer(session.links.viewer.url, 'Duo');
    for (const v of [one, two]) await eventually(async () => (await v.stats()).path === 'direct', 'both guests on direct video', 15_000);

    await host.page.evaluate(() => ((window as unknown as { pairuxFailVideoEncoder: boolean }).pairuxFailVideoEncoder = true));
    for (const v of [one, two]) await eventually(async () => (await v.stats()).path === 'rtp', 'both guests back on RTP video', 15_000);
    assert.ok(
      logs.some((l) => /direct video off: the host stopped it: .*injected VideoEncoder failure/.test(l)),
      `the guest says the host stopped it, and why (log: ${logs.filter((l) => l.includes('direct')).join(' | ')})`,
    );
    for (const v of [one, two]) await assertPixelsArrive(v, 'on RTP video after the host encoder failed');
    assert.deepEqual(
      (await hostStats(host)).map((g) => g.path),
      ['rtp', 'rtp'],
    );
  });

  it('a guest that cannot decode direct video (no WebCodecs) gets RTP video from a host that offers it', async () => {
    const session = await createSession(plane, { name: 'Direct video, no WebCodecs' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Host' });
    const { viewer, logs } = await openViewer(session.links.viewer.url, 'Olga', 'delete window.VideoDecoder;');
    await assertPixelsArrive(viewer, 'on RTP video');
    assert.equal((await viewer.stats()).path, 'rtp');
    assert.ok(
      logs.some((l) => /direct video off: this browser cannot decode it/.test(l)),
      `the guest says why (log: ${logs.filter((l) => l.includes('direct')).join(' | ')})`,
    );
    assert.equal((await hostStats(host)).find((g) => g.name === 'Olga')?.path, 'rtp');
  });
});
