/**
 * A virtual keyboard and pointer on a wlroots compositor (sway, Hyprland, river, Wayfire…):
 * `zwp_virtual_keyboard_manager_v1` and `zwlr_virtual_pointer_manager_v1`, the protocols wtype
 * and wlrctl use. GNOME and KDE offer input through the RemoteDesktop portal instead (not yet).
 * Every request is answered by nothing, so errors are looked for after each (`check`).
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WaylandKeymap } from '../inject/wayland-keymap';
import { WaylandClient } from './wayland-client';
import { listOutputs, type WaylandOutput } from './wayland-outputs';

export const VIRTUAL_KEYBOARD = 'zwp_virtual_keyboard_manager_v1';
export const VIRTUAL_POINTER = 'zwlr_virtual_pointer_manager_v1';

/** Linux input event codes (linux/input-event-codes.h) for the buttons. */
export const BUTTON_CODE = { left: 0x110, right: 0x111, middle: 0x112 } as const;
const KEYMAP_FORMAT_XKB_V1 = 1;
/** One wheel notch, in the compositor's scroll units (libinput reports 15 per click). */
const NOTCH = 15;

/** Why input cannot be injected on this compositor, or undefined when it can. */
export function virtualInputMissing(client: WaylandClient): string | undefined {
  const missing = [VIRTUAL_KEYBOARD, VIRTUAL_POINTER, 'wl_seat'].filter((g) => !client.globals.has(g));
  if (!missing.length) return undefined;
  return `this compositor offers no ${missing.join(' or ')} (the wlroots virtual input protocols), and the RemoteDesktop portal of GNOME and KDE is not supported yet: guests can watch but not drive`;
}

export class WaylandVirtualInput {
  private readonly keyboard: number;
  private pointer: number;
  private readonly seat: number;
  private readonly ptrManager: number;
  /** The pointer manager's version: 2 can bind a pointer to one output. */
  private readonly ptrVersion: number;
  private readonly keymap = new WaylandKeymap();
  /** The compositor's monitors, as they were when the devices were made. */
  readonly outputs: readonly WaylandOutput[];
  private boundTo: WaylandOutput | undefined;

  private constructor(private readonly client: WaylandClient) {
    this.seat = client.bind('wl_seat', 1);
    const kbManager = client.bind(VIRTUAL_KEYBOARD, 1);
    this.ptrVersion = Math.min(2, client.globals.get(VIRTUAL_POINTER)!.version);
    this.ptrManager = client.bind(VIRTUAL_POINTER, 2);
    this.keyboard = client.allocate();
    client.request(kbManager, 0, [{ object: this.seat }, { newId: this.keyboard }]); // create_virtual_keyboard
    this.pointer = client.allocate();
    client.request(this.ptrManager, 0, [{ object: this.seat }, { newId: this.pointer }]); // create_virtual_pointer
    this.sendKeymap();
    client.roundtrip();
    this.outputs = listOutputs(client);
  }

  /** Connects to the compositor of `env` and makes the two devices; throws saying what is missing. */
  static open(env: NodeJS.ProcessEnv): WaylandVirtualInput {
    const client = WaylandClient.connect(env);
    const missing = virtualInputMissing(client);
    if (missing) {
      client.close();
      throw new Error(missing);
    }
    try {
      return new WaylandVirtualInput(client);
    } catch (err) {
      client.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.client.closed;
  }

  /** The output the pointer is bound to; undefined while it spans the whole layout. */
  get output(): WaylandOutput | undefined {
    return this.boundTo;
  }

  /**
   * Binds the pointer to one output (its absolute motion then spans that output alone, wherever
   * it sits in the layout), or to the whole layout again. A new pointer device replaces the old:
   * call it between drags, not in one. False when the compositor's pointer manager is too old
   * (version 1) to bind one.
   */
  pointTo(output: WaylandOutput | undefined): boolean {
    if (output?.id === this.boundTo?.id) return true;
    if (output && this.ptrVersion < 2) return false;
    this.client.request(this.pointer, 8, []); // zwlr_virtual_pointer_v1.destroy
    this.pointer = this.client.allocate();
    if (output) this.client.request(this.ptrManager, 2, [{ object: this.seat }, { object: output.id }, { newId: this.pointer }]);
    else this.client.request(this.ptrManager, 0, [{ object: this.seat }, { newId: this.pointer }]);
    this.client.roundtrip();
    this.boundTo = output;
    return true;
  }

  /** Moves the pointer to (x, y) of an area `width` × `height`: the bound output, or the whole layout. */
  moveTo(x: number, y: number, width: number, height: number): void {
    this.client.request(this.pointer, 1, [{ uint: now() }, { uint: Math.round(x) }, { uint: Math.round(y) }, { uint: width }, { uint: height }]);
    this.frame();
  }

  button(code: number, down: boolean): void {
    this.client.request(this.pointer, 2, [{ uint: now() }, { uint: code }, { uint: down ? 1 : 0 }]);
    this.frame();
  }

  /** Wheel notches: positive dy scrolls down, positive dx right. */
  wheel(dx: number, dy: number): void {
    this.client.request(this.pointer, 5, [{ uint: 0 }]); // axis_source: wheel
    for (const [axis, n] of [
      [0, dy],
      [1, dx],
    ] as const) {
      if (n) this.client.request(this.pointer, 7, [{ uint: now() }, { uint: axis }, { fixed: n * NOTCH }, { int: n }]); // axis_discrete
    }
    this.frame();
  }

  /** The evdev code for a named key or a character; a new character sends the keymap again first. */
  code(key: string): number {
    const { code, changed } = this.keymap.code(key);
    if (changed) this.sendKeymap();
    return code;
  }

  key(code: number, down: boolean): void {
    this.client.request(this.keyboard, 1, [{ uint: now() }, { uint: code }, { uint: down ? 1 : 0 }]);
  }

  /** The modifiers held, as XKB real-modifier bits (wayland-keymap.ts MOD_MASK). */
  modifiers(depressed: number): void {
    this.client.request(this.keyboard, 2, [{ uint: depressed }, { uint: 0 }, { uint: 0 }, { uint: 0 }]);
  }

  /**
   * Lets go of buttons and keys (a dead helper's, from its record) and clears the modifiers. A
   * button is pressed and released: a release alone, from a device that never pressed it, does
   * not reach the application (measured on sway 1.7: the seat still held the dead device's press).
   */
  release(buttons: readonly number[], keys: readonly number[]): void {
    for (const b of buttons) {
      this.button(b, true);
      this.button(b, false);
    }
    for (const k of keys) this.key(k, false);
    this.modifiers(0);
    this.client.roundtrip();
  }

  /** The compositor's protocol error, if it sent one (it then disconnects). */
  check(): string | undefined {
    return this.client.error();
  }

  close(): void {
    this.client.close();
  }

  private frame(): void {
    this.client.request(this.pointer, 4, []);
  }

  /** The keymap goes as a file descriptor: a file of its text (unlinked at once; the compositor maps it). */
  private sendKeymap(): void {
    const text = Buffer.from(`${this.keymap.source}\0`, 'utf8');
    const file = path.join(tmpdir(), `pairux-keymap-${process.pid}-${Date.now()}`);
    const fd = openSync(file, 'w+', 0o600);
    try {
      unlinkSync(file);
      writeSync(fd, text);
      this.client.request(this.keyboard, 0, [{ uint: KEYMAP_FORMAT_XKB_V1 }, { uint: text.length }], [fd]);
    } finally {
      closeSync(fd);
    }
  }
}

function now(): number {
  return Math.floor(performance.now()) >>> 0;
}
