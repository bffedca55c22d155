/**
 * bench:modes' early-upgrade row (issue 16): an `auto` session whose host shares a busy screen
 * (its generated code scrolling a line every frame) to --early real browser viewers, well under
 * the 10 that move a session by count. The host page judges whether it keeps up and tells the
 * control plane, which moves the session to the SFU early; the row says each guest's frame rate
 * in P2P before the move and through the SFU after it, the host's CPU in both, when the move
 * came and the host page's last verdict. If no move comes within --move-timeout seconds, the
 * row says so (the host kept up: nothing to move for). Once with P2P guests on direct video (one
 * shared encoder, the default) and once on RTP video (an encoder per guest).
 *
 * The viewers are real viewer pages (they must follow the move, which the light viewers of the
 * other rows cannot), in one Chromium of their own: they decode and render on the same two
 * cores, which is part of what the host meets here.
 */
import { loadavg } from 'node:os';
import { launchChromium } from '../../demo/chromium';
import type { ControlPlane } from '../../server/control-plane';
import { ViewerPage } from '../../test/support/browser-viewer';
import { launchMeteredChromium } from './browsers';
import { BenchHostPage } from './modes-host';
import { CpuMeter } from './stats';

export interface EarlyUpgradeOptions {
  plane: ControlPlane;
  viewers: number;
  width: number;
  height: number;
  fps: number;
  codec?: 'vp9' | 'vp8' | 'av1' | 'h264';
  /** P2P guests on direct video (one shared encoder), or on RTP video (an encoder each). */
  direct: boolean;
  seconds: number;
  settle: number;
  moveTimeoutS: number;
  progress: (line: string) => void;
}

export interface EarlyUpgradePhase {
  mode: 'p2p' | 'sfu';
  hostCores: number;
  /** Frames decoded per second, per viewer, over the window. */
  fps: number[];
  /** Load average (1 min) at the window's end. */
  load: number;
}

export interface EarlyUpgradeResult {
  viewers: number;
  direct: boolean;
  phases: EarlyUpgradePhase[];
  /** Seconds from the last viewer live to the session on the SFU; null: no move within the timeout. */
  movedAfterS: number | null;
  /** The host page's verdict when the move came (or at the timeout). */
  verdict: string;
}

/** The P2P window, taken as soon as every viewer is live: the move may come seconds later. */
const P2P_WINDOW_S = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureEarlyUpgrade(o: EarlyUpgradeOptions): Promise<EarlyUpgradeResult> {
  const hostBrowser = await launchMeteredChromium();
  const viewerBrowser = await launchChromium();
  const pages: ViewerPage[] = [];
  try {
    const session = await o.plane.service.createSession({ mode: 'auto' });
    const host = await BenchHostPage.open(hostBrowser.browser, o.plane.url, session.sessionId, session.hostToken, {
      width: o.width,
      height: o.height,
      fps: o.fps,
      scroll: o.fps,
      direct: o.direct,
      ...(o.codec ? { codec: o.codec } : {}),
    });
    const mode = () => host.page.evaluate(() => window.pairuxHost!.media().mode);
    for (let i = 1; i <= o.viewers; i++) pages.push(await ViewerPage.open(viewerBrowser, session.links.viewer.url, `Viewer ${i}`));
    for (const p of pages) await p.waitForState('live', 60_000);
    const liveAt = performance.now();
    o.progress(`early upgrade (${o.direct ? 'direct video' : 'RTP video'}): ${o.viewers} viewers live on a busy screen, session ${await mode()}`);

    const phases: EarlyUpgradePhase[] = [];
    const measure = async (seconds: number): Promise<EarlyUpgradePhase> => {
      const m = (await mode()) === 'sfu' ? 'sfu' : 'p2p';
      const cpu = new CpuMeter(() => hostBrowser.cpuSeconds());
      const before = await Promise.all(pages.map((p) => p.stats()));
      const t0 = performance.now();
      await sleep(seconds * 1000);
      const after = await Promise.all(pages.map((p) => p.stats()));
      const dt = (performance.now() - t0) / 1000;
      return {
        mode: m,
        hostCores: cpu.cores(),
        load: loadavg()[0]!,
        fps: after.map((a, i) => Math.max(0, (a.framesDecoded ?? 0) - (before[i]!.framesDecoded ?? 0)) / dt),
      };
    };

    // At once: a host that cannot keep up is judged so within about 10 s, and then moves.
    if ((await mode()) !== 'sfu') phases.push(await measure(Math.min(o.seconds, P2P_WINDOW_S)));

    let movedAfterS: number | null = null;
    let verdict = 'no verdict yet';
    const deadline = liveAt + o.moveTimeoutS * 1000;
    while (performance.now() < deadline) {
      const load = await host.page.evaluate(() => window.pairuxHost!.load());
      const s = load.sample;
      // The page forgets its verdict once on the SFU: the last one from P2P is the one that counts.
      if (s && (load.overloaded || !verdict.startsWith('overloaded')))
        verdict = `${load.overloaded ? 'overloaded' : 'keeping up'}${load.overloaded && s.reason ? ` (${s.reason})` : ''}: sends ${s.sentFps.toFixed(1)} of ${s.expectedFps.toFixed(1)} fps`;
      if ((await mode()) === 'sfu') {
        movedAfterS = (performance.now() - liveAt) / 1000;
        break;
      }
      await sleep(250);
    }
    o.progress(
      `early upgrade: ${movedAfterS === null ? `no move within ${o.moveTimeoutS} s` : `moved to the SFU ${movedAfterS.toFixed(1)} s after the last viewer joined`}; host page: ${verdict}`,
    );
    if (movedAfterS !== null) {
      await host.waitForSfuPublished();
      // The viewers follow the move (make-before-break) and settle on the SFU's stream.
      await sleep(o.settle * 1000);
      phases.push(await measure(o.seconds));
    }
    for (const p of pages.splice(0)) await p.close();
    await host.close();
    return { viewers: o.viewers, direct: o.direct, phases, movedAfterS, verdict };
  } finally {
    for (const p of pages) await p.close().catch(() => undefined);
    await viewerBrowser.close().catch(() => undefined);
    await hostBrowser.close();
  }
}
