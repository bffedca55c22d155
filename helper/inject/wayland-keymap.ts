/**
 * The keymap the helper's virtual keyboard brings to a Wayland compositor. A virtual keyboard
 * sends its own XKB keymap, so instead of finding the host's layout (as X11 must, keymap.ts) it
 * gives every key it may press a keycode of its own whose only symbol is that key: 'A', '!' and
 * 'é' each have one, and none needs Shift. So a character lands as itself on any layout, and a
 * shortcut (Ctrl+P) is that key with the modifiers set. Text beyond the keymap (an 'é') gets a
 * keycode on first use, and the keymap is sent again (as wtype does).
 */
import type { Modifier } from '../../protocol/input';

/** XKB's real modifier bits, in the order every keymap has them. */
export const MOD_MASK: Record<Modifier | 'capslock', number> = { shift: 1, capslock: 2, control: 4, alt: 8, meta: 64 };

/** The protocol's named keys as XKB keysym names. */
const NAMED: Record<string, string> = {
  enter: 'Return',
  escape: 'Escape',
  backspace: 'BackSpace',
  tab: 'Tab',
  space: 'space',
  delete: 'Delete',
  insert: 'Insert',
  home: 'Home',
  end: 'End',
  pageup: 'Prior',
  pagedown: 'Next',
  up: 'Up',
  down: 'Down',
  left: 'Left',
  right: 'Right',
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i + 1}`, `F${i + 1}`])),
  shift: 'Shift_L',
  control: 'Control_L',
  alt: 'Alt_L',
  meta: 'Super_L',
  capslock: 'Caps_Lock',
  menu: 'Menu',
};
/** Which real modifier each modifier key drives. */
const MODIFIER_MAP: Record<string, string> = { shift: 'Shift', capslock: 'Lock', control: 'Control', alt: 'Mod1', meta: 'Mod4' };
/** Keysyms for text beyond the first keymap (keycodes stay under 256, which XWayland clients need); past this the oldest are reused. */
const MAX_EXTRA = 100;
/** Key n is XKB keycode 8 + n (evdev code n): 0 is reserved. */
const FIRST_KEY = 1;

export class WaylandKeymap {
  /** Keysym (as written in the keymap) by key number, and the number by what the protocol calls the key. */
  private readonly keysyms: string[] = [];
  private readonly byName = new Map<string, number>();
  private extraNext = 0;
  private extraStart = 0;
  private text = '';

  constructor() {
    for (const [name, sym] of Object.entries(NAMED)) this.add(name, sym);
    // Printable ASCII: a keysym's value is its code point.
    for (let c = 0x21; c <= 0x7e; c++) this.add(String.fromCharCode(c), `0x${c.toString(16)}`);
    this.add('\n', 'Return');
    this.add('\t', 'Tab');
    this.add(' ', 'space');
    this.extraStart = this.keysyms.length;
    this.text = this.render();
  }

  /** The keymap as XKB text (what the compositor compiles). */
  get source(): string {
    return this.text;
  }

  /**
   * The evdev code for a named key or a character, adding a character not there yet; `changed`
   * says the keymap must be sent again before the key is pressed.
   */
  code(key: string): { code: number; changed: boolean } {
    const known = this.byName.get(key);
    if (known !== undefined) return { code: known, changed: false };
    const cp = key.codePointAt(0);
    if (cp === undefined || [...key].length !== 1) throw new Error(`no key for ${JSON.stringify(key)}`);
    // A Unicode character's keysym is 0x1000000 + its code point (XKB's rule for those without a name).
    const sym = `0x${(0x1000000 + cp).toString(16)}`;
    if (this.keysyms.length < this.extraStart + MAX_EXTRA) this.add(key, sym);
    else {
      const n = this.extraStart + (this.extraNext++ % MAX_EXTRA);
      for (const [name, at] of this.byName) if (at === n + FIRST_KEY) this.byName.delete(name);
      this.keysyms[n] = sym;
      this.byName.set(key, n + FIRST_KEY);
    }
    this.text = this.render();
    return { code: this.byName.get(key)!, changed: true };
  }

  /** The modifier a modifier key drives, as a mask bit (0 for other keys). */
  static modifierOf(key: string): number {
    return key in MODIFIER_MAP ? MOD_MASK[key as Modifier | 'capslock'] : 0;
  }

  private add(name: string, sym: string): number {
    const n = this.keysyms.length;
    this.keysyms.push(sym);
    this.byName.set(name, n + FIRST_KEY);
    return n;
  }

  private render(): string {
    const names = this.keysyms.map((_, i) => `<K${i + FIRST_KEY}>`);
    const keycodes = names.map((k, i) => `    ${k} = ${i + FIRST_KEY + 8};`).join('\n');
    const symbols = names.map((k, i) => `    key ${k} { [ ${this.keysyms[i]} ] };`).join('\n');
    const modmap = Object.entries(MODIFIER_MAP)
      .map(([key, mod]) => `    modifier_map ${mod} { <K${this.byName.get(key)!}> };`)
      .join('\n');
    return [
      'xkb_keymap {',
      `  xkb_keycodes "pairux" {\n    minimum = 8;\n    maximum = ${Math.max(255, this.keysyms.length + FIRST_KEY + 8)};\n${keycodes}\n  };`,
      '  xkb_types "pairux" { include "complete" };',
      '  xkb_compatibility "pairux" { include "complete" };',
      `  xkb_symbols "pairux" {\n${symbols}\n${modmap}\n  };`,
      '};',
      '',
    ].join('\n');
  }
}
