/**
 * Which physical key, with or without Shift, types a printable character on the host's layout.
 * robotjs's keyToggle/keyTap press the key a character's keysym sits on without Shift, so '!'
 * comes out as '1' and 'A' as 'a' (checked on Xvfb; typeString does add Shift, keyToggle does
 * not). A driver's keydown carries the character the guest meant, so the sink presses the key
 * for it and sets Shift to what this layout needs. On X11 the layout is read from the server
 * (`xmodmap -pke`); elsewhere a US layout is assumed (untested there).
 */
import { runTool } from '../native/x11';

export interface KeyStroke {
  /** The unshifted character of the key that types it: what robotjs is asked to press. */
  key: string;
  shift: boolean;
}

/** X keysym names of the printable ASCII characters that are not their own name. */
const KEYSYM_NAMES: Record<string, string> = {
  ' ': 'space',
  '!': 'exclam',
  '"': 'quotedbl',
  '#': 'numbersign',
  $: 'dollar',
  '%': 'percent',
  '&': 'ampersand',
  "'": 'apostrophe',
  '(': 'parenleft',
  ')': 'parenright',
  '*': 'asterisk',
  '+': 'plus',
  ',': 'comma',
  '-': 'minus',
  '.': 'period',
  '/': 'slash',
  ':': 'colon',
  ';': 'semicolon',
  '<': 'less',
  '=': 'equal',
  '>': 'greater',
  '?': 'question',
  '@': 'at',
  '[': 'bracketleft',
  '\\': 'backslash',
  ']': 'bracketright',
  '^': 'asciicircum',
  _: 'underscore',
  '`': 'grave',
  '{': 'braceleft',
  '|': 'bar',
  '}': 'braceright',
  '~': 'asciitilde',
};

const PRINTABLE = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));

function keysymName(c: string): string {
  return KEYSYM_NAMES[c] ?? c;
}

/** US layout: unshifted and shifted character on the same key. */
const US_PAIRS = '`~1!2@3#4$5%6^7&8*9(0)-_=+[{]}\\|;:\'",<.>/?';

export class Keymap {
  private constructor(
    private readonly strokes: Map<string, KeyStroke>,
    /** X keycode → its first keysym name (X11 only), for naming keys found held. */
    private readonly names: Map<number, string>,
    /** X keycodes with no symbol at all: free to bind characters the layout lacks. */
    readonly spareKeycodes: readonly number[] = [],
  ) {}

  static us(): Keymap {
    const strokes = new Map<string, KeyStroke>();
    for (let i = 0; i < US_PAIRS.length; i += 2) {
      strokes.set(US_PAIRS[i]!, { key: US_PAIRS[i]!, shift: false });
      strokes.set(US_PAIRS[i + 1]!, { key: US_PAIRS[i]!, shift: true });
    }
    for (let c = 0; c < 26; c++) {
      const lower = String.fromCharCode(0x61 + c);
      strokes.set(lower, { key: lower, shift: false });
      strokes.set(lower.toUpperCase(), { key: lower, shift: true });
    }
    return new Keymap(strokes, new Map());
  }

  /** The X server's current layout, as `xmodmap -pke` prints it. */
  static async fromXServer(env: NodeJS.ProcessEnv = process.env): Promise<Keymap | Error> {
    const r = await runTool('xmodmap', ['-pke'], env);
    return r.ok ? Keymap.parseXmodmap(r.stdout) : new Error(r.error ?? 'xmodmap failed');
  }

  static parseXmodmap(text: string): Keymap {
    const rows: Array<{ code: number; syms: string[] }> = [];
    const names = new Map<number, string>();
    const spare: number[] = [];
    for (const line of text.split('\n')) {
      const m = /^keycode\s+(\d+)\s*=\s*(.*)$/.exec(line.trim());
      if (!m) continue;
      const syms = m[2]!.split(/\s+/).filter(Boolean);
      const code = Number(m[1]);
      rows.push({ code, syms });
      if (syms[0] && syms[0] !== 'NoSymbol') names.set(code, syms[0]);
      // Keycode 8 is the lowest X allows and some toolkits treat it specially: leave it alone.
      if (code > 8 && code < 256 && syms.every((k) => k === 'NoSymbol')) spare.push(code);
    }
    const byName = new Map<string, string>(PRINTABLE.map((c) => [keysymName(c), c]));
    const strokes = new Map<string, KeyStroke>();
    // Level 0 everywhere first, then level 1: the order XKeysymToKeycode searches in, so the key
    // chosen here is the one robotjs will press for the unshifted character.
    for (const level of [0, 1]) {
      for (const { syms } of rows) {
        const c = byName.get(syms[level] ?? '');
        const base = byName.get(syms[0] ?? '');
        if (c === undefined || base === undefined || strokes.has(c)) continue;
        strokes.set(c, { key: base, shift: level === 1 });
      }
    }
    return new Keymap(strokes, names, spare);
  }

  /** How to type printable character `c`, or undefined when the layout has no key for it. */
  stroke(c: string): KeyStroke | undefined {
    return this.strokes.get(c);
  }

  keysymOf(keycode: number): string | undefined {
    return this.names.get(keycode);
  }
}
