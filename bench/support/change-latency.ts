import { expandCaptureTime } from '../../webview/engine/frames/frame-marker';

/** A generated-screen frame as a viewer's probe collected it: its marker and when it was shown. */
export interface MarkedFrame {
  frame: number;
  captureTimeLow32: number;
  presentedAt: number;
  width: number;
  height: number;
}

/**
 * Frame grabbed → presented for each distinct frame a viewer showed (its first showing), with how
 * many there were and the size of the last: the generated screen's latency.
 */
export function grabToPresent(frames: MarkedFrame[]): { latencies: number[]; distinct: number; resolution: string } {
  const unique = new Set<number>();
  const latencies: number[] = [];
  let resolution = '';
  for (const f of frames) {
    if (unique.has(f.frame)) continue;
    unique.add(f.frame);
    latencies.push(f.presentedAt - expandCaptureTime(f.captureTimeLow32, f.presentedAt));
    resolution = `${f.width}×${f.height}`;
  }
  return { latencies, distinct: unique.size, resolution };
}

/**
 * Times each painted change to the moment a viewer showed it: the first presented frame whose
 * marker is this change or a later one (a later picture holds it too), so a change the pipeline
 * merged into the next frame still counts, with the wait it cost. A change not shown within
 * `missAfterMs` is a miss: its latency is Infinity, so it lands in the high percentiles too.
 */
export interface Presented {
  frame: number;
  presentedAt: number;
}

export interface ChangeTiming {
  /** One per change painted in the window, ms; Infinity for a miss. */
  latencies: number[];
  misses: Array<{ frame: number; painted: number }>;
  /** Distinct markers presented in the window, per second. */
  shownPerSecond: number;
}

export function timeChanges(painted: Array<[number, number]>, presented: Presented[], from: number, to: number, missAfterMs = 2000): ChangeTiming {
  const shown = new Map<number, number>();
  for (const p of presented) if (!shown.has(p.frame) || p.presentedAt < shown.get(p.frame)!) shown.set(p.frame, p.presentedAt);
  const inOrder = [...shown].map(([frame, presentedAt]) => ({ frame, presentedAt })).sort((a, b) => a.presentedAt - b.presentedAt);
  const latencies: number[] = [];
  const misses: ChangeTiming['misses'] = [];
  for (const [frame, at] of painted) {
    if (at < from || at >= to) continue;
    // A frame shown before the paint is another scene's (counters restart per scene).
    const first = inOrder.find((p) => p.frame >= frame && p.presentedAt > at);
    const ms = first ? first.presentedAt - at : Infinity;
    if (ms > missAfterMs) {
      misses.push({ frame, painted: at });
      latencies.push(Infinity);
    } else latencies.push(ms);
  }
  const distinct = inOrder.filter((p) => p.presentedAt >= from && p.presentedAt < to).length;
  return { latencies, misses, shownPerSecond: distinct / ((to - from) / 1000) };
}
