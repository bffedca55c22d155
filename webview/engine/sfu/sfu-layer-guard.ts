/**
 * Keeps the full-size simulcast layer on when the host's bandwidth estimate falls on a still
 * screen (issue 13: the SFU still-screen stall).
 *
 * libwebrtc's simulcast allocator turns the top layer on only when its estimate covers the lower
 * layers' targets plus the top layer's minimum (by resolution: 600 kbps at 720p, 800 at 1080p),
 * times 1.35 once the layer was off. One delay spike (a key frame through a busy machine or a
 * Wi-Fi hiccup) drops the estimate to 0.85 × what was just sent, which on a still screen is
 * little: measured here 3,462 → 582 kbps one second after publishing. The top layer then stops,
 * and a still screen sends too little for the estimate to climb back (it stayed at 582 for 4.6 s
 * until the screen changed). LiveKit keeps a full-size viewer on the stopped layer until its
 * stream tracker gives up (2-4 s for a screen share), so every change in between was lost.
 *
 * When the top layer is off for bandwidth while a lower one sends, the guard pauses the lower
 * layers: the allocator then gives the top layer whatever there is (a first active layer always
 * gets the estimate, down to the lowest layer's minimum), which is plenty for text that barely
 * moves. Viewers on the small layer are forwarded the full one meanwhile (LiveKit overshoots a
 * simulcast track when the layer asked for stops). The lower layers come back once the estimate
 * covers both again; a restore that the allocator undoes within a short while doubles the wait
 * before the next one, so the two never flap.
 */
import type { LayerStats } from '../stats';

/** libwebrtc's minimum bitrate for a simulcast layer of this size (kbit/s, its resolution table). */
export function simulcastMinKbps(width: number, height: number): number {
  const pixels = width * height;
  if (pixels >= 1920 * 1080) return 800;
  if (pixels >= 1280 * 720) return 600;
  if (pixels >= 960 * 540) return 350;
  if (pixels >= 480 * 270) return 150;
  return 30;
}

/** The allocator's hysteresis for a screen share's layer that was off (RateControlSettings). */
const SCREENSHARE_HYSTERESIS = 1.35;

/**
 * Estimate (kbit/s) above which both layers can run: the lower layers at their cap plus the top
 * layer's minimum with the allocator's hysteresis, and a margin so the restore holds.
 */
export function restoreKbps(top: { width: number; height: number }, lowerMaxKbps: number): number {
  return Math.round((lowerMaxKbps + SCREENSHARE_HYSTERESIS * simulcastMinKbps(top.width, top.height)) * 1.15);
}

export type GuardState = 'all-layers' | 'top-only';

export interface GuardReading {
  /** Layers as the sender reports them, largest first. */
  layers: LayerStats[];
  availableKbps: number;
  nowMs: number;
}

export interface GuardOptions {
  /** Estimate at or above which the lower layers are turned back on (see restoreKbps). */
  restoreKbps: number;
  /** Readings in a row at or above restoreKbps before turning them back on. */
  restoreReadings?: number;
  /** A restore undone within this many ms counts as failed and doubles the next wait. */
  failedRestoreMs?: number;
  /** Longest wait between restores after failed ones. */
  maxBackoffMs?: number;
}

export type GuardAction = 'pause-lower' | 'resume-lower' | 'none';

/** Whether the top layer stands turned off by the bandwidth estimate while a lower one encodes. */
function topStarved(layers: LayerStats[]): boolean {
  const [top, ...lower] = layers;
  if (!top || lower.length === 0) return false;
  return top.active && top.targetKbps === 0 && top.limited === 'bandwidth' && lower.some((l) => l.active && l.targetKbps > 0);
}

/** The decisions, free of any sender, so they are tested on readings alone. */
export class LayerGuardPolicy {
  state: GuardState = 'all-layers';
  private good = 0;
  private restoredAt = -Infinity;
  private backoffMs = 0;
  private notBefore = -Infinity;
  private readonly restoreReadings: number;
  private readonly failedRestoreMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: GuardOptions) {
    this.restoreReadings = options.restoreReadings ?? 2;
    this.failedRestoreMs = options.failedRestoreMs ?? 10_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
  }

  next(reading: GuardReading): GuardAction {
    const { layers, availableKbps, nowMs } = reading;
    if (this.state === 'all-layers') {
      if (!topStarved(layers)) return 'none';
      // Starved again soon after a restore: the estimate was not really enough; wait longer next time.
      this.backoffMs = nowMs - this.restoredAt < this.failedRestoreMs ? Math.min(this.maxBackoffMs, Math.max(2_000, this.backoffMs * 2)) : 0;
      this.notBefore = nowMs + this.backoffMs;
      this.state = 'top-only';
      this.good = 0;
      return 'pause-lower';
    }
    // Nobody watches the full size (LiveKit's dynacast paused it): the small layers must run.
    if (layers[0] && !layers[0].active) {
      this.state = 'all-layers';
      this.restoredAt = -Infinity;
      return 'resume-lower';
    }
    // Something (LiveKit's dynacast) turned a lower layer back on while the estimate cannot carry both.
    if (topStarved(layers)) {
      this.good = 0;
      return 'pause-lower';
    }
    this.good = availableKbps >= this.options.restoreKbps ? this.good + 1 : 0;
    if (this.good < this.restoreReadings || nowMs < this.notBefore) return 'none';
    this.state = 'all-layers';
    this.restoredAt = nowMs;
    return 'resume-lower';
  }
}

/** What the guard needs of the published track. */
export interface GuardedSender {
  readLayers(): Promise<{ layers: LayerStats[]; availableKbps: number }>;
  /** Turns every layer but the largest on or off. */
  setLowerLayersActive(active: boolean): Promise<void>;
}

export class SfuLayerGuard {
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private _closed = false;
  readonly policy: LayerGuardPolicy;
  /** Times the lower layers were paused / resumed (diagnostics, tests). */
  readonly counts = { paused: 0, resumed: 0 };

  constructor(
    private readonly sender: GuardedSender,
    options: GuardOptions & { intervalMs?: number },
    private readonly log: (level: 'info' | 'warn', message: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.policy = new LayerGuardPolicy(options);
    this.timer = setInterval(() => void this.check(), options.intervalMs ?? 500);
  }

  get closed(): boolean {
    return this._closed;
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One reading and whatever it calls for (the timer's step; tests call it directly). */
  async check(): Promise<GuardAction> {
    if (this._closed || this.busy) return 'none';
    this.busy = true;
    try {
      const { layers, availableKbps } = await this.sender.readLayers();
      if (this._closed) return 'none';
      const action = this.policy.next({ layers, availableKbps, nowMs: this.now() });
      if (action === 'pause-lower') {
        this.counts.paused++;
        this.log('info', `bandwidth estimate ${availableKbps} kbps is too low for every layer: sending the full-size layer alone`);
        await this.sender.setLowerLayersActive(false);
      } else if (action === 'resume-lower') {
        this.counts.resumed++;
        this.log('info', `bandwidth estimate ${availableKbps} kbps carries every layer again: smaller layers back on`);
        await this.sender.setLowerLayersActive(true);
      }
      return action;
    } catch (err) {
      this.log('warn', `layer guard: ${String(err)}`);
      return 'none';
    } finally {
      this.busy = false;
    }
  }
}

/** The guard's view of an RTCRtpSender that sends simulcast encodings. */
export function rtpSenderLayers(sender: RTCRtpSender, read: () => Promise<{ layers: LayerStats[]; availableKbps: number }>): GuardedSender {
  return {
    readLayers: read,
    async setLowerLayersActive(active: boolean): Promise<void> {
      const params = sender.getParameters();
      if (params.encodings.length < 2) return;
      // Largest = the encoding with the smallest downscale; LiveKit lists them smallest first.
      const scale = (e: RTCRtpEncodingParameters): number => e.scaleResolutionDownBy ?? 1;
      const top = params.encodings.reduce((a, b) => (scale(b) < scale(a) ? b : a));
      let changed = false;
      for (const e of params.encodings) {
        if (e === top || e.active === active) continue;
        e.active = active;
        changed = true;
      }
      if (changed) await sender.setParameters(params);
    },
  };
}
