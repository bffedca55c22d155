/**
 * `npm run bench:tiers`: what each role gets when the P2P host's uplink is narrow, with the
 * bandwidth allocator (webview/engine/p2p/peer-quality.ts) on and off in the same run (issue 16).
 *
 * The host page runs in its own network namespace whose upload is shaped by a token bucket
 * (`tc tbf`, test/support/shaped-link.ts; root needed), sharing its generated screen (busy: its
 * code scrolling a line every frame) as RTP video
 * to one controller and --viewers viewers, real Chromium viewer pages beside the control plane.
 * Per allocator setting one session; per uplink (uncapped first) the link is shaped, the session
 * settles (--settle), then for --seconds: per guest the host's encoder output (frames/s from
 * outbound-rtp, its size, the bit rate from bytesSent), and at each guest's page the distinct
 * frames shown per second and glass-to-glass latency (the marker's capture time → the frame's
 * presentation, its first showing). One table; the controller's row says its frame rate and p50
 * against its own uncapped row (the target: within 10 % at 3 Mbit/s). Glass-to-glass here is the
 * generated screen's (no capture hop): what the tiers change, not the capture path.
 *
 * Options: --viewers=4 --uplinks=none,3000,1000 (kbit/s) --allocator=1,0 --seconds=10 --settle=15
 *          --size=1280x720 --fps=30 --codec=vp8 --scene=scroll|quiet (scroll: the generated screen's
 *          code scrolls a line every frame, a busy screen; quiet: only its clock, box and marker move)
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { findChromium, launchChromium } from '../demo/chromium';
import { startHeadlessHost } from '../demo/headless-host';
import { startControlPlane } from '../server/control-plane';
import { TEST_PAGES } from '../test/support/test-pages';
import { createSession } from '../test/support/control-plane';
import { ViewerPage } from '../test/support/browser-viewer';
import { OUR_SIDE, startShapedMachine } from '../test/support/shaped-link';
import { expandCaptureTime } from '../webview/engine/frames/frame-marker';
import type { GuestStats } from '../webview/engine/engine-types';
import { percentile, printTable } from './support/stats';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const list = (name: string, fallback: string) => (args.get(name) ?? fallback).split(',').filter(Boolean);
const VIEWERS = Number(args.get('viewers') ?? 4);
const UPLINKS = list('uplinks', 'none,3000,1000').map((u) => (u === 'none' ? null : Number(u)));
const ALLOCATOR = list('allocator', '1,0').map((a) => a !== '0');
const SECONDS = Number(args.get('seconds') ?? 10);
const SETTLE = Number(args.get('settle') ?? 15);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1280x720').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);
const CODEC = (args.get('codec') ?? 'vp8') as 'vp8' | 'vp9' | 'av1' | 'h264';
const SCROLL = (args.get('scene') ?? 'scroll') === 'scroll';
const HOST_KEY = randomBytes(18).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RoleFigures {
  sentFps: number;
  size: string;
  kbps: number;
  shownFps: number;
  p50: number;
  p95: number;
}

const link = startShapedMachine();
const plane = await startControlPlane({ host: '0.0.0.0', port: 0, ...TEST_PAGES, lobby: 'off', hostKey: HOST_KEY });
const viewerBrowser = await launchChromium();
const hostBrowser = await launchChromium({ executablePath: link.wrapper(findChromium()) });
const rows: Array<Array<string | number>> = [];
try {
  for (const allocator of ALLOCATOR) {
    console.log(`allocator ${allocator ? 'on' : 'off'}: a session of 1 controller and ${VIEWERS} viewers…`);
    link.shapeUp(null);
    const session = await createSession(plane, { name: 'bench:tiers', mode: 'p2p' }, { authorization: `Bearer ${HOST_KEY}` });
    const host = await startHeadlessHost(`http://${OUR_SIDE}:${plane.port}`, session.sessionId, session.hostToken, {
      width: WIDTH,
      height: HEIGHT,
      fps: FPS,
      browser: hostBrowser,
      name: 'Host',
      direct: false,
      codec: CODEC,
      allocator,
      scroll: SCROLL,
    });
    const guests = [await ViewerPage.open(viewerBrowser, session.links.controller.url, 'Driver')];
    for (let i = 1; i <= VIEWERS; i++) guests.push(await ViewerPage.open(viewerBrowser, session.links.viewer.url, `Viewer ${i}`));
    for (const g of guests) await g.waitForState('live', 60_000);
    const ids = await Promise.all(guests.map(async (g) => (await g.selfId())!));
    const hostRows = async () =>
      (await host.page.evaluate(() => (window as unknown as { pairuxHost: { stats(): Promise<GuestStats[]> } }).pairuxHost.stats())) as GuestStats[];
    let uncapped: RoleFigures | undefined;
    for (const uplink of UPLINKS) {
      link.shapeUp(uplink);
      console.log(`  uplink ${uplink === null ? 'uncapped' : `${uplink} kbit/s`}: settling ${SETTLE} s, measuring ${SECONDS} s…`);
      await sleep(SETTLE * 1000);
      const start = await hostRows();
      const fpsSamples = new Map<string, number[]>();
      const sampler = setInterval(() => {
        void hostRows().then((rs) => {
          for (const r of rs) fpsSamples.set(r.guestId, [...(fpsSamples.get(r.guestId) ?? []), r.fps]);
        });
      }, 1000);
      const t0 = performance.now();
      const watched = await Promise.all(guests.map((g) => g.collectVisible(SECONDS * 1000)));
      clearInterval(sampler);
      const seconds = (performance.now() - t0) / 1000;
      const end = await hostRows();
      const figures = ids.map((id, i): RoleFigures => {
        const a = start.find((r) => r.guestId === id);
        const b = end.find((r) => r.guestId === id);
        const firstShown = new Map<number, number>();
        for (const f of watched[i]!.frames)
          if (!firstShown.has(f.frame)) firstShown.set(f.frame, f.presentedAt - expandCaptureTime(f.captureTimeLow32, f.presentedAt));
        const latencies = [...firstShown.values()];
        const samples = fpsSamples.get(id) ?? [];
        return {
          sentFps: samples.length ? samples.reduce((x, y) => x + y, 0) / samples.length : 0,
          size: b ? `${b.frameWidth}×${b.frameHeight}` : '?',
          kbps: a && b ? ((b.bytesSent - a.bytesSent) * 8) / 1000 / seconds : 0,
          shownFps: firstShown.size / seconds,
          p50: percentile(latencies, 50),
          p95: percentile(latencies, 95),
        };
      });
      const controller = figures[0]!;
      if (uplink === null) uncapped = controller;
      const viewers = figures.slice(1);
      const mean = (f: (r: RoleFigures) => number) => viewers.reduce((x, r) => x + f(r), 0) / viewers.length;
      const worst = viewers.reduce((w, r) => (r.shownFps < w.shownFps ? r : w), viewers[0]!);
      const ratio = (x: number, base: number | undefined) => (base ? `×${(x / base).toFixed(2)}` : '–');
      const label = uplink === null ? 'uncapped' : `${uplink} kbit/s`;
      const on = allocator ? 'on' : 'off';
      rows.push([
        on,
        label,
        'controller',
        controller.sentFps,
        controller.size,
        controller.kbps,
        controller.shownFps,
        controller.p50,
        controller.p95,
        ratio(controller.shownFps, uncapped?.shownFps),
        ratio(controller.p50, uncapped?.p50),
        loadavg()[0]!,
      ]);
      rows.push([
        on,
        label,
        `viewers (mean of ${viewers.length})`,
        mean((r) => r.sentFps),
        viewers.map((r) => r.size).join(' '),
        mean((r) => r.kbps),
        mean((r) => r.shownFps),
        mean((r) => r.p50),
        mean((r) => r.p95),
        '',
        '',
        '',
      ]);
      rows.push([on, label, 'worst viewer', worst.sentFps, worst.size, worst.kbps, worst.shownFps, worst.p50, worst.p95, '', '', '']);
    }
    for (const g of guests) await g.close();
    await host.close();
  }
} finally {
  await hostBrowser.close().catch(() => undefined);
  await viewerBrowser.close().catch(() => undefined);
  await plane.close();
  link.close();
}

printTable(
  `P2P quality by role on a shaped host uplink (tc tbf): ${WIDTH}×${HEIGHT}@${FPS} generated screen (${SCROLL ? 'code scrolling a line a frame' : 'quiet'}), RTP video (${CODEC}), 1 controller + ${VIEWERS} viewers; ${SECONDS} s per row after ${SETTLE} s to settle`,
  [
    'allocator',
    'uplink',
    'role',
    'host sends fps',
    'size sent',
    'kbit/s',
    'shown fps',
    'g2g p50 ms',
    'g2g p95 ms',
    'shown fps × uncapped',
    'p50 × uncapped',
    'load avg',
  ],
  rows,
);
console.log(
  'Target (issue 16): the controller within 10 % of its uncapped frame rate and latency at 3 Mbit/s, allocator on. "shown fps" = distinct frames presented per second at the guest.',
);
process.exit(0);
