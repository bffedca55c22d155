/**
 * `npm run bench:tiers`: what each role gets when the host's uplink is narrow: P2P with the
 * bandwidth allocator (webview/engine/p2p/peer-quality.ts) on and off, and SFU (the host sends one
 * simulcast stream to LiveKit, whose own allocator picks each guest's layer), in the same run
 * (issue 16).
 *
 * The host page runs in its own network namespace whose upload is shaped by a token bucket
 * (`tc tbf`, test/support/shaped-link.ts; root needed), sharing its generated screen (busy: its
 * code scrolling a line every frame) as RTP video
 * to one controller and --viewers viewers, real Chromium viewer pages beside the control plane
 * (and, for SFU rows, a real LiveKit on this side of the link, advertising the link's address).
 * Per setup one session; per uplink (uncapped first) the link is shaped, the session settles
 * (--settle), then for --seconds: per guest what the host sends it (P2P: that guest's encoder's
 * frames/s from outbound-rtp, its size, the bit rate from bytesSent; SFU: the published top
 * layer's frames/s, the size the guest decodes, the bit rate it receives), and at each guest's page the distinct
 * frames shown per second and glass-to-glass latency (the marker's capture time → the frame's
 * presentation, its first showing). One table; the controller's row says its frame rate and p50
 * against its own uncapped row (the target: within 10 % at 3 Mbit/s). Glass-to-glass here is the
 * generated screen's (no capture hop): what the tiers change, not the capture path.
 *
 * Options: --modes=p2p,sfu --viewers=4 --uplinks=none,3000,1000 (kbit/s) --allocator=1,0 (P2P)
 *          --layers=2,3 (SFU: the screen's simulcast layers, each a setup of its own; default 2)
 *          --seconds=10 --settle=15 --trace=1 (P2P: the allocator's decision every second, and the
 *          controller's receiver figures after each uplink)
 *          --size=1280x720 --fps=30 --codec=vp8 --scroll=<lines a second> (the generated screen's code
 *          scrolls by; default the frame rate, a line every frame: a busy screen; 0: quiet, only its
 *          clock, box and marker move)
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { findChromium, launchChromium } from '../demo/chromium';
import { startHeadlessHost } from '../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../demo/livekit-server';
import { startControlPlane } from '../server/control-plane';
import { TEST_PAGES } from '../test/support/test-pages';
import { createSession } from '../test/support/control-plane';
import { ViewerPage } from '../test/support/browser-viewer';
import { OUR_SIDE, startShapedMachine } from '../test/support/shaped-link';
import { expandCaptureTime } from '../webview/engine/frames/frame-marker';
import type { GuestStats } from '../webview/engine/engine-types';
import { CpuMeter, percentile, printTable } from './support/stats';
import { launchMeteredChromium } from './support/browsers';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const list = (name: string, fallback: string) => (args.get(name) ?? fallback).split(',').filter(Boolean);
const MODES = list('modes', 'p2p,sfu') as Array<'p2p' | 'sfu'>;
const VIEWERS = Number(args.get('viewers') ?? 4);
const UPLINKS = list('uplinks', 'none,3000,1000').map((u) => (u === 'none' ? null : Number(u)));
const ALLOCATOR = list('allocator', '1,0').map((a) => a !== '0');
const SECONDS = Number(args.get('seconds') ?? 10);
const SETTLE = Number(args.get('settle') ?? 15);
const [WIDTH, HEIGHT] = (args.get('size') ?? '1280x720').split('x').map(Number) as [number, number];
const FPS = Number(args.get('fps') ?? 30);
const CODEC = (args.get('codec') ?? 'vp8') as 'vp8' | 'vp9' | 'av1' | 'h264';
const SCROLL = Number(args.get('scroll') ?? FPS);
const TRACE = args.get('trace') === '1';
const LAYERS = list('layers', '2').map((l) => (l === '3' ? 3 : 2) as 2 | 3);
const HOST_KEY = randomBytes(18).toString('base64url');
const meanOf = (xs: number[]) => (xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : 0);
/** The value seen most often. */
const mostOf = (xs: string[]) => [...new Set(xs)].sort((a, b) => xs.filter((x) => x === b).length - xs.filter((x) => x === a).length)[0] ?? '?';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** P2P once per allocator setting; SFU once per simulcast layer count (LiveKit allocates). */
const SETUPS = MODES.flatMap((mode): Array<{ mode: 'p2p' | 'sfu'; allocator: boolean | null; layers: 2 | 3 }> =>
  mode === 'p2p' ? ALLOCATOR.map((allocator) => ({ mode, allocator, layers: 2 as const })) : LAYERS.map((layers) => ({ mode, allocator: null, layers })),
);

interface RoleFigures {
  sentFps: number;
  limited: string;
  estimateKbps: number;
  size: string;
  kbps: number;
  shownFps: number;
  p50: number;
  p95: number;
}

/** One guest as the host (P2P) or the guest itself (SFU) sees it: frames/s sent to it, size, bytes so far. */
interface GuestReading {
  fps: number;
  /** The encoder's qualityLimitationReason and its connection's outgoing estimate (kbit/s). */
  limited: string;
  estimateKbps: number;
  width: number;
  height: number;
  bytes: number;
}

const link = startShapedMachine();
// On the address the host's namespace reaches (and loopback), advertised for media.
const livekit: LocalLiveKit | undefined = MODES.includes('sfu')
  ? await startLocalLiveKit({ node: { address: OUR_SIDE, argv: (command, ...rest) => [command, rest] }, logLevel: 'warn' })
  : undefined;
const plane = await startControlPlane({
  host: '0.0.0.0',
  port: 0,
  ...TEST_PAGES,
  lobby: 'off',
  hostKey: HOST_KEY,
  ...(livekit ? { livekit: { url: livekit.url, apiKey: livekit.apiKey, apiSecret: livekit.apiSecret } } : {}),
});
const viewerBrowser = await launchChromium();
const hostBrowser = await launchMeteredChromium({ executablePath: link.wrapper(findChromium()) });
const rows: Array<Array<string | number>> = [];
try {
  for (const { mode, allocator, layers } of SETUPS) {
    const setup = mode === 'sfu' ? `SFU, ${layers} layers` : `P2P, allocator ${allocator ? 'on' : 'off'}`;
    console.log(`${setup}: a session of 1 controller and ${VIEWERS} viewers…`);
    link.shapeUp(null);
    const session = await createSession(plane, { name: 'bench:tiers', mode }, { authorization: `Bearer ${HOST_KEY}` });
    const host = await startHeadlessHost(`http://${OUR_SIDE}:${plane.port}`, session.sessionId, session.hostToken, {
      width: WIDTH,
      height: HEIGHT,
      fps: FPS,
      browser: hostBrowser.browser,
      name: 'Host',
      direct: false,
      codec: CODEC,
      ...(allocator === null ? {} : { allocator }),
      scroll: SCROLL,
      layers,
    });
    const guests = [await ViewerPage.open(viewerBrowser, session.links.controller.url, 'Driver')];
    for (let i = 1; i <= VIEWERS; i++) guests.push(await ViewerPage.open(viewerBrowser, session.links.viewer.url, `Viewer ${i}`));
    for (const g of guests) await g.waitForState('live', 60_000);
    const ids = await Promise.all(guests.map(async (g) => (await g.selfId())!));
    const hostRows = async () =>
      (await host.page.evaluate(() => (window as unknown as { pairuxHost: { stats(): Promise<GuestStats[]> } }).pairuxHost.stats())) as GuestStats[];
    const read = async (): Promise<GuestReading[]> => {
      const rs = await hostRows();
      if (mode === 'p2p')
        return ids.map((id) => {
          const r = rs.find((x) => x.guestId === id);
          return {
            fps: r?.fps ?? 0,
            limited: r?.qualityLimitationReason || '?',
            estimateKbps: r?.availableOutgoingKbps ?? 0,
            width: r?.frameWidth ?? 0,
            height: r?.frameHeight ?? 0,
            bytes: r?.bytesSent ?? 0,
          };
        });
      const published = rs[0];
      return Promise.all(
        guests.map(async (g) => {
          const v = await g.stats();
          return {
            fps: published?.fps ?? 0,
            limited: published?.qualityLimitationReason || '?',
            estimateKbps: published?.availableOutgoingKbps ?? 0,
            width: v.frameWidth ?? 0,
            height: v.frameHeight ?? 0,
            bytes: v.bytesReceived ?? 0,
          };
        }),
      );
    };
    let uncapped: RoleFigures | undefined;
    for (const uplink of UPLINKS) {
      link.shapeUp(uplink);
      console.log(`  uplink ${uplink === null ? 'uncapped' : `${uplink} kbit/s`}: settling ${SETTLE} s, measuring ${SECONDS} s…`);
      const tracer = TRACE && mode === 'p2p' ? traceAllocator(host.page, ids) : undefined;
      await sleep(SETTLE * 1000);
      const start = await read();
      const samples: GuestReading[][] = ids.map(() => []);
      const sampler = setInterval(() => {
        void read().then((rs) => rs.forEach((r, i) => samples[i]!.push(r)));
      }, 1000);
      const t0 = performance.now();
      const hostCpu = new CpuMeter(() => hostBrowser.cpuSeconds());
      // What the allocator decided by the end of the settling time: its budget and each guest's caps.
      const decision = mode === 'p2p' ? await host.page.evaluate(() => window.pairuxHost?.allocation?.()) : undefined;
      if (decision) {
        const caps = ids.map((id, i) => {
          const a = decision.peers.find((p) => p.id === id);
          return a
            ? `${i === 0 ? 'controller' : `viewer ${i}`} ${a.caps.maxBitrateKbps} kbit/s ${a.caps.maxFramerate} fps ÷${a.caps.scaleResolutionDownBy}${a.cause ? ` (cut: ${a.cause})` : ''}`
            : `${i === 0 ? 'controller' : `viewer ${i}`} –`;
        });
        console.log(
          `    allocator: budget ${decision.budgetKbps ?? '–'} kbit/s${decision.congested ? ', congested' : ''}${decision.saturated ? ', saturated' : ''}${decision.cpuLimited ? ', CPU-limited' : ''}; ${caps.join('; ')}`,
        );
      }
      const watched = await Promise.all(guests.map((g) => g.collectVisible(SECONDS * 1000)));
      clearInterval(sampler);
      if (tracer) clearInterval(tracer);
      const seconds = (performance.now() - t0) / 1000;
      const hostCores = hostCpu.cores();
      const end = await read();
      if (TRACE) {
        const v = await guests[0]!.stats();
        console.log(`    controller's receiver: ${JSON.stringify(v)}`);
      }
      const figures = ids.map((_, i): RoleFigures => {
        const a = start[i]!;
        const b = end[i]!;
        const firstShown = new Map<number, number>();
        for (const f of watched[i]!.frames)
          if (!firstShown.has(f.frame)) firstShown.set(f.frame, f.presentedAt - expandCaptureTime(f.captureTimeLow32, f.presentedAt));
        const latencies = [...firstShown.values()];
        const mine = samples[i]!;
        return {
          sentFps: meanOf(mine.map((r) => r.fps)),
          limited: mostOf(mine.map((r) => r.limited)),
          estimateKbps: meanOf(mine.map((r) => r.estimateKbps)),
          size: `${b.width}×${b.height}`,
          kbps: ((b.bytes - a.bytes) * 8) / 1000 / seconds,
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
      const on = mode === 'sfu' ? `SFU, ${layers} layers` : `P2P ${allocator ? 'on' : 'off'}`;
      rows.push([
        on,
        label,
        'controller',
        controller.sentFps,
        controller.size,
        controller.kbps,
        controller.limited,
        controller.estimateKbps,
        controller.shownFps,
        controller.p50,
        controller.p95,
        ratio(controller.shownFps, uncapped?.shownFps),
        ratio(controller.p50, uncapped?.p50),
        hostCores,
        loadavg()[0]!,
      ]);
      rows.push([
        on,
        label,
        `viewers (mean of ${viewers.length})`,
        mean((r) => r.sentFps),
        viewers.map((r) => r.size).join(' '),
        mean((r) => r.kbps),
        mostOf(viewers.map((r) => r.limited)),
        mean((r) => r.estimateKbps),
        mean((r) => r.shownFps),
        mean((r) => r.p50),
        mean((r) => r.p95),
        '',
        '',
        '',
        '',
      ]);
      rows.push([
        on,
        label,
        'worst viewer',
        worst.sentFps,
        worst.size,
        worst.kbps,
        worst.limited,
        worst.estimateKbps,
        worst.shownFps,
        worst.p50,
        worst.p95,
        '',
        '',
        '',
        '',
      ]);
    }
    for (const g of guests) await g.close();
    await host.close();
  }
} finally {
  await hostBrowser.close().catch(() => undefined);
  await viewerBrowser.close().catch(() => undefined);
  await plane.close();
  await livekit?.stop();
  link.close();
}

printTable(
  `Quality by role on a shaped host uplink (tc tbf): ${WIDTH}×${HEIGHT}@${FPS} generated screen (${SCROLL ? `code scrolling ${SCROLL} lines a second` : 'quiet'}), RTP video (${CODEC}; SFU: simulcast), 1 controller + ${VIEWERS} viewers; ${SECONDS} s per row after ${SETTLE} s to settle`,
  [
    'mode, allocator',
    'uplink',
    'role',
    'host sends fps',
    'size sent',
    'kbit/s',
    'limited by',
    'estimate kbit/s',
    'shown fps',
    'g2g p50 ms',
    'g2g p95 ms',
    'shown fps × uncapped',
    'p50 × uncapped',
    'host CPU (cores)',
    'load avg',
  ],
  rows,
);
console.log(
  'Target (issue 16): the controller within 10 % of its uncapped frame rate and latency at 3 Mbit/s, allocator on. "shown fps" = distinct frames presented per second at the guest; "limited by" = the encoder\'s qualityLimitationReason (most often seen), "estimate" = its connection\'s available outgoing bitrate; SFU rows: "host sends fps", "limited by" and "estimate" are the published track\'s, the size and kbit/s those the guest receives.',
);
process.exit(0);

/** --trace=1: the allocator's decision every second (budget; per guest cap kbit/s, fps, ÷scale, rung, cause). */
function traceAllocator(page: import('playwright-core').Page, ids: string[]): ReturnType<typeof setInterval> {
  const t0 = performance.now();
  return setInterval(() => {
    void page
      .evaluate(() => window.pairuxHost?.allocation?.())
      .then((d) => {
        if (!d) return;
        const guests = ids.map((id, i) => {
          const a = d.peers.find((p) => p.id === id);
          return a
            ? `${i === 0 ? 'C' : `v${i}`} ${a.caps.maxBitrateKbps}/${a.caps.maxFramerate}/${a.caps.scaleResolutionDownBy} L${a.level}${a.cause ? ` ${a.cause}` : ''}`
            : '–';
        });
        console.log(
          `    ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s budget ${d.budgetKbps ?? '–'}${d.congested ? ' congested' : ''}: ${guests.join(' | ')}`,
        );
      })
      .catch(() => undefined);
  }, 1000);
}
