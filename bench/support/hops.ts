/**
 * Where a real-screen frame's time goes, hop by hop: painted on X → grabbed by the helper → at
 * the runner → handed to the page's WebSocket → at the page → patch applied → written to the
 * track → presented at the viewer. Every stage is an epoch-ms reading of the machine's one clock
 * (performance.timeOrigin + now in each process).
 *
 * A frame is followed by its capture time. Past the runner, messages merge frames (the relay
 * accumulates changes while the page is busy, and a message carries the newest header), so a
 * stage's time for a frame is the first event at that stage whose capture time is at least the
 * frame's: when its pixels got there, inside whatever message carried them.
 */
import type { Page } from 'playwright-core';
import type { RunnerTrace } from './real-screen';
import { percentile } from './stats';

export const HOPS = ['painted→grab', 'grab→runner', 'runner→sent', 'sent→page', 'page→applied', 'applied→track', 'track→viewer'] as const;
export type Hop = (typeof HOPS)[number];

type PageStage = 'page' | 'applied' | 'track' | 'accepted';
type PageTrace = Record<PageStage, Array<[number, number]>>;

/** Installs the page's trace hook (webview/engine/frames/track-from-frames.ts `traceFrame`). */
export async function startPageTrace(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { pairuxTraceLog: Array<[string, number, number]>; pairuxFrameTrace: (s: string, c: number, t: number) => void };
    w.pairuxTraceLog = [];
    w.pairuxFrameTrace = (s, c, t) => {
      w.pairuxTraceLog.push([s, c, t]);
    };
  });
}

/** What the page recorded since the last call (and forgets it). */
export async function takePageTrace(page: Page): Promise<PageTrace> {
  const log = await page.evaluate(() => {
    const w = window as unknown as { pairuxTraceLog: Array<[string, number, number]> };
    const out = w.pairuxTraceLog;
    w.pairuxTraceLog = [];
    return out;
  });
  const trace: PageTrace = { page: [], applied: [], track: [], accepted: [] };
  for (const [s, c, t] of log) trace[s as PageStage]?.push([c, t]);
  return trace;
}

/** Viewer-side timing of each presented frame (requestVideoFrameCallback metadata), epoch ms. */
export interface ViewerTiming {
  presentedAt: number;
  /** The frame's last packet arrived (WebRTC sources only). */
  receivedAt: number;
  /** Receipt → decoded, ms (rVFC processingDuration). */
  processingMs: number;
}

/** Records the viewer's rVFC metadata for `ms`, beside the probe's own collect(). */
export async function viewerTimings(page: Page, ms: number): Promise<ViewerTiming[]> {
  // A string, not a function: tsx's name-keeping helper (__name) does not exist in the page.
  return page.evaluate(`new Promise((resolve) => {
    const video = document.querySelector('video');
    const out = [];
    let handle = 0;
    const onFrame = (_now, m) => {
      out.push({
        presentedAt: performance.timeOrigin + m.expectedDisplayTime,
        receivedAt: m.receiveTime === undefined ? NaN : performance.timeOrigin + m.receiveTime,
        processingMs: (m.processingDuration ?? NaN) * 1000,
      });
      handle = video.requestVideoFrameCallback(onFrame);
    };
    handle = video.requestVideoFrameCallback(onFrame);
    setTimeout(() => {
      video.cancelVideoFrameCallback(handle);
      resolve(out);
    }, ${ms});
  })`);
}

/** The first event at or after capture time `c` (events are in time order, capture times rise). */
function firstFrom(events: Array<[number, number]>, c: number): number | undefined {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid]![0] < c) lo = mid + 1;
    else hi = mid;
  }
  return events[lo]?.[1];
}

export interface HopTable {
  hops: Record<Hop, number[]>;
  /** Frames followed through every stage. */
  followed: number;
  /** Written to the track → the generator took it (its queue), ms: part of track→viewer. */
  accepted: number[];
  /** track→viewer split at the viewer: track → last packet received, → decoded, → displayed. */
  viewer: { received: number[]; decoded: number[]; displayed: number[] };
  /** The slowest frames end to end, hop by hop (ms), for the tail. */
  slowest: Array<{ total: number; hops: number[]; viewer?: [number, number, number] }>;
}

/** Per presented marker (frame number → epoch ms presented), the time spent in each hop. */
export function splitHops(presented: Map<number, number>, runner: RunnerTrace, page: PageTrace, timings: ViewerTiming[] = []): HopTable {
  const viewer = { received: [] as number[], decoded: [] as number[], displayed: [] as number[] };
  const hops = Object.fromEntries(HOPS.map((h) => [h, [] as number[]])) as Record<Hop, number[]>;
  let followed = 0;
  const accepted: number[] = [];
  const all: HopTable['slowest'] = [];
  for (const [frame, viewerAt] of presented) {
    const m = runner.markers.get(frame);
    if (!m) continue;
    const stages = [
      m.painted,
      m.grabbed,
      firstFrom(runner.arrived, m.grabbed),
      firstFrom(runner.sent, m.grabbed),
      firstFrom(page.page, m.grabbed),
      firstFrom(page.applied, m.grabbed),
      firstFrom(page.track, m.grabbed),
      viewerAt,
    ];
    if (stages.some((t) => t === undefined)) continue;
    followed++;
    const acc = firstFrom(page.accepted, m.grabbed);
    if (acc !== undefined) accepted.push(acc - stages[6]!);
    const v = timings.find((t) => Math.abs(t.presentedAt - viewerAt) < 0.01);
    let split: [number, number, number] | undefined;
    if (v && Number.isFinite(v.receivedAt)) {
      split = [v.receivedAt - stages[6]!, v.processingMs, viewerAt - v.receivedAt - v.processingMs];
      viewer.received.push(split[0]);
      viewer.decoded.push(split[1]);
      viewer.displayed.push(split[2]);
    }
    const each = HOPS.map((_, i) => stages[i + 1]! - stages[i]!);
    HOPS.forEach((h, i) => hops[h].push(each[i]!));
    all.push({ total: stages[7]! - stages[0]!, hops: each, viewer: split });
  }
  const slowest = all.sort((a, b) => b.total - a.total).slice(0, 3);
  return { hops, followed, accepted, viewer, slowest };
}

/** One line per hop: p50 / p95 ms. */
export function formatHops(t: HopTable): string {
  const lines = HOPS.map(
    (h) => `    ${h.padEnd(14)} p50 ${percentile(t.hops[h], 50).toFixed(1).padStart(6)}  p95 ${percentile(t.hops[h], 95).toFixed(1).padStart(6)} ms`,
  );
  const pp = (v: number[]) => `p50 ${percentile(v, 50).toFixed(1)} p95 ${percentile(v, 95).toFixed(1)}`;
  lines.push(
    `    (of track→viewer: in the track's queue ${pp(t.accepted)}; track → packet at the viewer ${pp(t.viewer.received)}; → decoded ${pp(t.viewer.decoded)}; → displayed ${pp(t.viewer.displayed)} ms)`,
  );
  for (const f of t.slowest) {
    const v = f.viewer ? ` (${f.viewer.map((x) => x.toFixed(0)).join(' / ')})` : '';
    lines.push(`    slow frame ${f.total.toFixed(0)} ms: ${f.hops.map((x) => x.toFixed(0)).join(' + ')}${v}`);
  }
  return `  per hop (${t.followed} frames followed end to end):\n${lines.join('\n')}\n`;
}
