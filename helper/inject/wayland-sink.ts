/**
 * A wlroots compositor as the input sink: the driver's pointer and keys through a virtual pointer
 * and keyboard (native/wayland-virtual-input.ts). Same contract as the X11 sink (os-sink.ts): what
 * it presses is tracked so `releaseAll` lifts it, a key goes down with the driver's modifiers set
 * at that moment, and text is typed with the held modifiers lifted (a paste after Ctrl+V types
 * letters). Each character has a keycode of its own (wayland-keymap.ts), so none needs Shift.
 */
import type { InputEvent, Modifier, MouseButton } from '../../protocol/input';
import type { Rect } from '../capture/capturer';
import { BUTTON_CODE, type WaylandVirtualInput } from '../native/wayland-virtual-input';
import type { InputSink } from './input-sink';
import type { HeldRecord } from './wayland-held';
import { MOD_MASK, WaylandKeymap } from './wayland-keymap';

export interface WaylandInputSinkOptions {
  devices: WaylandVirtualInput;
  /** The layout rectangle normalised coordinates map onto (the shared output). */
  target(): Rect;
  /** The whole layout's size: a virtual pointer's absolute motion is relative to it. */
  layout(): { width: number; height: number };
  /** Where what is held is written, so a helper started after this one dies can let go of it. */
  record?: HeldRecord;
  onError?(message: string): void;
}

export class WaylandInputSink implements InputSink {
  readonly name = 'wayland';
  private readonly buttons = new Set<MouseButton>();
  /** Keys held down, by what the protocol calls them, with their codes. */
  private readonly keys = new Map<string, number>();

  constructor(private readonly o: WaylandInputSinkOptions) {}

  inject(event: InputEvent): void {
    const d = this.o.devices;
    switch (event.t) {
      case 'move':
        this.moveTo(event.x, event.y);
        break;
      case 'down':
        this.moveTo(event.x, event.y);
        this.buttons.add(event.button);
        this.remember();
        d.button(BUTTON_CODE[event.button], true);
        break;
      case 'up':
        this.moveTo(event.x, event.y);
        if (!this.buttons.delete(event.button)) return;
        d.button(BUTTON_CODE[event.button], false);
        this.remember();
        break;
      case 'wheel':
        this.moveTo(event.x, event.y);
        d.wheel(event.dx, event.dy);
        break;
      case 'keydown':
        this.keyDown(event.key, event.mods);
        break;
      case 'keyup': {
        const code = this.keys.get(event.key);
        if (code === undefined) return;
        this.keys.delete(event.key);
        d.key(code, false);
        if (WaylandKeymap.modifierOf(event.key)) d.modifiers(this.heldMask());
        this.remember();
        break;
      }
      case 'text':
        this.type(event.text);
        break;
    }
    const error = d.check();
    if (error) throw new Error(`the compositor refused the input: ${error}`);
  }

  held(): string[] {
    return [...[...this.buttons].map((b) => `mouse:${b}`), ...this.keys.keys()];
  }

  releaseAll(): string[] {
    const released = this.held();
    const d = this.o.devices;
    if (d.closed) {
      this.buttons.clear();
      this.keys.clear();
      return released;
    }
    try {
      for (const b of this.buttons) d.button(BUTTON_CODE[b], false);
      for (const code of this.keys.values()) d.key(code, false);
      d.modifiers(0);
    } catch (err) {
      this.o.onError?.(`releasing held input failed: ${(err as Error).message}`);
    }
    this.buttons.clear();
    this.keys.clear();
    this.remember();
    return released;
  }

  /** Written before a press goes out and after a release: a kill in between leaves it named. */
  private remember(): void {
    this.o.record?.save({ buttons: [...this.buttons].map((b) => BUTTON_CODE[b]), keys: [...this.keys.values()], names: this.held() });
  }

  private moveTo(nx: number, ny: number): void {
    const r = this.o.target();
    const layout = this.o.layout();
    const x = r.x + Math.min(r.width - 1, Math.floor(nx * r.width));
    const y = r.y + Math.min(r.height - 1, Math.floor(ny * r.height));
    this.o.devices.moveTo(x, y, layout.width, layout.height);
  }

  private heldMask(): number {
    let mask = 0;
    for (const k of this.keys.keys()) mask |= WaylandKeymap.modifierOf(k);
    return mask;
  }

  private keyDown(key: string, mods: Modifier[]): void {
    const d = this.o.devices;
    const code = d.code(key);
    if (WaylandKeymap.modifierOf(key)) {
      this.keys.set(key, code);
      this.remember();
      d.key(code, true);
      d.modifiers(this.heldMask());
      return;
    }
    // The modifiers the driver holds at this key (a shortcut), then back to the keys held.
    const withMods = mods.reduce((m, mod) => m | MOD_MASK[mod], this.heldMask());
    if (withMods !== this.heldMask()) d.modifiers(withMods);
    this.keys.set(key, code);
    this.remember();
    d.key(code, true);
    if (withMods !== this.heldMask()) d.modifiers(this.heldMask());
  }

  private type(text: string): void {
    const d = this.o.devices;
    const held = this.heldMask();
    if (held) d.modifiers(0);
    try {
      for (const ch of text) {
        const code = d.code(ch);
        d.key(code, true);
        d.key(code, false);
      }
    } finally {
      if (held) d.modifiers(held);
    }
  }
}
