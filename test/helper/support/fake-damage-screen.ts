/**
 * A fake X connection for the damage capturer's unit tests (helper/capture/x11-damage-capturer.ts):
 * damage is reported when the test says so, the pointer is where the test puts it, and reads are
 * whatever the subclass paints.
 */
import type { PixelRect } from '../../../protocol/helper-framing';
import type { DamageScreen } from '../../../helper/capture/x11-damage-capturer';

export abstract class FakeDamageScreen implements DamageScreen {
  isClosed = false;
  pointerAt = { x: 0, y: 0 };
  private listener: ((area: PixelRect, geometry: { width: number; height: number }) => void) | undefined;

  constructor(
    public width: number,
    public height: number,
  ) {}

  onClose(): void {}
  size() {
    return Promise.resolve({ width: this.width, height: this.height });
  }
  pointer() {
    return Promise.resolve({ ...this.pointerAt });
  }
  watchDamage(l: (area: PixelRect, geometry: { width: number; height: number }) => void) {
    this.listener = l;
  }
  subtractDamage() {}
  unwatchDamage() {
    this.listener = undefined;
  }
  sync() {
    return Promise.resolve();
  }
  abstract grab(rects: readonly PixelRect[]): Promise<Buffer[]>;
  /** The X server reports `area` as changed. */
  damage(area: PixelRect) {
    this.listener?.(area, { width: this.width, height: this.height });
  }
}
