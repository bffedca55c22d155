/**
 * Keeps capture on a monitor (or a region) that still exists: when the X server reports a layout
 * change, the shared rectangle is checked against the new layout. The shared monitor unplugged →
 * capture moves to the primary (or the one left) and the runner hears why, not fatally; nothing
 * left to share → capture stops with the reason. A region of the whole screen that the screen
 * shrank away from stops likewise. Whole-screen capture follows a resize in the capturer itself.
 */
import type { CaptureRegion, MonitorInfo } from '../../protocol/helper-link';
import { describeMonitor, monitorRegion, replacementMonitor, sameRect, unknownMonitor, type MonitorLayout } from './monitors';

/** What is being shared: `region` as asked (relative to `monitor` when there is one), `rect` on the screen. */
export interface Shared {
  monitor?: MonitorInfo | undefined;
  region?: CaptureRegion | undefined;
  rect: CaptureRegion;
}

export type MonitorDecision = { kind: 'keep' } | { kind: 'move'; shared: Shared; message: string } | { kind: 'stop'; message: string };

/** Layout change events come in bursts (a monitor removed: ConfigureNotify, RRNotify ×2, …): one look after the last. */
const SETTLE_MS = 50;

/**
 * What `capture.start` shares: the named monitor (the region relative to it), or the region of
 * the whole screen. Throws BAD_MESSAGE naming the monitors there are for a name that is none.
 */
export function captureTarget(layout: MonitorLayout, monitor: string | undefined, region: CaptureRegion | undefined): Shared {
  if (monitor === undefined) return { region, rect: region ?? { x: 0, y: 0, ...layout.screen } };
  const m = layout.monitors.find((x) => x.name === monitor);
  if (!m) throw unknownMonitor(monitor, layout.monitors);
  return { monitor: m, region, rect: monitorRegion(m, region) };
}

export function decide(shared: Shared, layout: MonitorLayout): MonitorDecision {
  const { screen, monitors } = layout;
  const was = shared.monitor;
  if (!was) {
    const r = shared.region;
    if (!r || (r.x + r.width <= screen.width && r.y + r.height <= screen.height)) return { kind: 'keep' };
    return {
      kind: 'stop',
      message: `the screen is now ${screen.width}×${screen.height} and the shared region ${r.width}×${r.height} at ${r.x},${r.y} is no longer on it: capture stopped`,
    };
  }
  const now = monitors.find((m) => m.name === was.name);
  if (now) {
    if (sameRect(now, was)) return { kind: 'keep' };
    const fits = shared.region && shared.region.x + shared.region.width <= now.width && shared.region.y + shared.region.height <= now.height;
    const region = fits ? shared.region : undefined;
    return {
      kind: 'move',
      shared: { monitor: now, region, rect: monitorRegion(now, region) },
      message: `the shared monitor changed: now ${describeMonitor(now)}${shared.region && !fits ? ' (the region no longer fits: sharing all of it)' : ''}`,
    };
  }
  const next = replacementMonitor(monitors);
  if (!next) return { kind: 'stop', message: `the shared monitor ${was.name} is gone (unplugged?) and no monitor is left to share: capture stopped` };
  return {
    kind: 'move',
    shared: { monitor: next, rect: monitorRegion(next) },
    message: `the shared monitor ${was.name} is gone (unplugged?): sharing ${describeMonitor(next)} instead`,
  };
}

export interface MonitorSource {
  list(): Promise<MonitorLayout>;
  onChange(listener: () => void): void;
  offChange(listener: () => void): void;
}

/**
 * Watches one capture: `apply` moves or stops it (and tells the runner). Looks are serialised, and
 * a change seen while one is applied is looked at again afterwards, so the last layout wins.
 */
export class MonitorWatch {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;
  private again = false;
  private stopped = false;
  private readonly listener = () => this.schedule();

  constructor(
    private readonly source: MonitorSource,
    private shared: Shared,
    private readonly apply: (d: Exclude<MonitorDecision, { kind: 'keep' }>) => Promise<void>,
    private readonly log: (line: string) => void,
  ) {
    source.onChange(this.listener);
  }

  get current(): Shared {
    return this.shared;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.source.offChange(this.listener);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.look(), SETTLE_MS);
  }

  private async look(): Promise<void> {
    this.busy = true;
    try {
      const d = decide(this.shared, await this.source.list());
      if (this.stopped || d.kind === 'keep') return;
      if (d.kind === 'move') this.shared = d.shared;
      else this.stop();
      await this.apply(d);
    } catch (err) {
      this.log(`monitor check failed: ${(err as Error).message}`);
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }
}
