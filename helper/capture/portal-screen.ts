/**
 * A Wayland desktop's screen cast as the damage capturer's screen (x11-damage-capturer.ts's
 * `DamageScreen`), so capture on Wayland gets everything capture on X11 has: patches, scrolls as
 * moves, the rate cap without a queue, idle pacing, resizes. PipeWire hands over whole pictures,
 * and only when something changed; what changed is found by comparing each with the one before
 * (the X server says it with DAMAGE instead), and a read copies from the newest picture.
 *
 * The desktop draws the pointer into the picture (the portal's embedded cursor mode), so this
 * screen has no pointer to look up.
 */
import type { PixelRect } from '../../protocol/helper-framing';
import type { DamageScreen } from './x11-damage-capturer';
import type { PipeWireFrames } from './pipewire-frames';

type DamageListener = (area: PixelRect, geometry: { width: number; height: number }) => void;

export class PortalScreen implements DamageScreen {
  private picture: Buffer | undefined;
  private width: number;
  private height: number;
  private listener: DamageListener | undefined;
  private readonly closeListeners: Array<(reason: string) => void> = [];
  private closedReason: string | undefined;
  private firstPicture: Array<() => void> = [];

  constructor(private readonly frames: PipeWireFrames) {
    ({ width: this.width, height: this.height } = frames.size);
    frames.on('frame', (picture, previous, width, height) => this.arrived(picture, previous, width, height));
    frames.on('resized', () => (this.picture = undefined));
    frames.on('close', (reason) => this.closed(reason));
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closedReason !== undefined) listener(this.closedReason);
    else this.closeListeners.push(listener);
  }

  size(): Promise<{ width: number; height: number }> {
    return Promise.resolve({ width: this.width, height: this.height });
  }

  pointer(): Promise<{ x: number; y: number }> {
    return Promise.reject(new Error('the desktop draws the pointer into the screen cast; there is none to look up'));
  }

  watchDamage(listener: DamageListener): void {
    this.listener = listener;
  }

  /** Pictures are snapshots: what changes after a read comes as the next picture's damage. */
  subtractDamage(): void {}

  unwatchDamage(): void {
    this.listener = undefined;
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  /** Copies rectangles of the newest picture (waiting for the first one after a start or resize). */
  async grab(rects: readonly PixelRect[], _screenBytes: number, into: ReadonlyArray<Buffer | undefined> = []): Promise<Buffer[]> {
    if (!this.picture)
      await new Promise<void>((resolve, reject) => {
        if (this.closedReason !== undefined) return reject(new Error(this.closedReason));
        this.firstPicture.push(resolve);
      });
    if (this.closedReason !== undefined) throw new Error(this.closedReason);
    const picture = this.picture!;
    const stride = this.width * 4;
    return rects.map((r, i) => {
      if (r.x < 0 || r.y < 0 || r.x + r.w > this.width || r.y + r.h > this.height) {
        throw new Error(`a read of ${r.w}x${r.h}+${r.x}+${r.y} is outside the ${this.width}x${this.height} screen cast`);
      }
      const row = r.w * 4;
      const out = into[i] && into[i]!.length >= row * r.h ? into[i]!.subarray(0, row * r.h) : Buffer.allocUnsafe(row * r.h);
      if (r.x === 0 && r.w === this.width) picture.copy(out, 0, r.y * stride, (r.y + r.h) * stride);
      else for (let k = 0; k < r.h; k++) picture.copy(out, k * row, (r.y + k) * stride + r.x * 4, (r.y + k) * stride + r.x * 4 + row);
      return out;
    });
  }

  close(): void {
    this.frames.close('capture stopped');
  }

  private arrived(picture: Buffer, previous: Buffer | undefined, width: number, height: number): void {
    const resized = width !== this.width || height !== this.height;
    this.width = width;
    this.height = height;
    this.picture = picture;
    for (const resolve of this.firstPicture.splice(0)) resolve();
    if (!this.listener) return;
    const geometry = { width, height };
    if (!previous || resized) return this.listener({ x: 0, y: 0, w: width, h: height }, geometry);
    for (const r of changedBands(picture, previous, width, height)) this.listener(r, geometry);
  }

  private closed(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const l of this.closeListeners.splice(0)) l(reason);
    for (const resolve of this.firstPicture.splice(0)) resolve();
  }
}

/** Changed rows less than this apart are one band. */
const BAND_GAP = 8;

/**
 * The bands of whole rows where `picture` differs from `previous`: one comparison per row. The
 * capturer then cuts each band down to what differs from its own copy (and finds scrolls in it),
 * so a finer look here would be the same work twice (measured: a page scrolling at 30 Hz cost the
 * helper 0.75 core with columns compared here too).
 */
export function changedBands(picture: Buffer, previous: Buffer, width: number, height: number): PixelRect[] {
  const stride = width * 4;
  const bands: PixelRect[] = [];
  let start = -1;
  let last = -1;
  for (let y = 0; y < height; y++) {
    const at = y * stride;
    if (picture.compare(previous, at, at + stride, at, at + stride) === 0) continue;
    if (start >= 0 && y - last > BAND_GAP) {
      bands.push({ x: 0, y: start, w: width, h: last - start + 1 });
      start = y;
    } else if (start < 0) start = y;
    last = y;
  }
  if (start >= 0) bands.push({ x: 0, y: start, w: width, h: last - start + 1 });
  return bands;
}
