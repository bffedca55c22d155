/**
 * Pure translations from what a browser reports to what `protocol/input.ts` allows: DOM keys to
 * allowlisted key names, pixels over the video to coordinates on the shared screen, wheel deltas
 * to notches. No DOM here, so every rule is tested in Node (test/webview/input-mapping.test.ts).
 */
import { KEY_ALLOWLIST, MAX_TEXT_CHARS, MAX_WHEEL_STEP, type Modifier, type MouseButton } from '../../../protocol/input';

// ---- keys ---------------------------------------------------------------------------------

/** The fields of a KeyboardEvent the mapping looks at. */
export interface KeyInput {
  key: string;
  code: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  /** `getModifierState('AltGraph')`: Windows reports AltGr as Ctrl+Alt, which is not a shortcut. */
  altGraph?: boolean;
  isComposing?: boolean;
  /** Legacy keyCode; 229 marks a key the IME is consuming. */
  keyCode?: number;
}

export type KeyMapping =
  /** An allowlisted key with the modifiers held. */
  | { kind: 'key'; key: string; mods: Modifier[] }
  /** A character the allowlist has no key for (é, ß, 你): typed as text on the host. */
  | { kind: 'text'; text: string }
  /** The IME owns this key: leave it to the browser so composition can happen. */
  | { kind: 'compose' }
  /** Nothing to send (a dead key, a key the host may not get); still consumed while driving. */
  | { kind: 'none' };

/** `KeyboardEvent.key` values with a name on the allowlist (legacy spellings included). */
const NAMED: Readonly<Record<string, string>> = {
  Enter: 'enter',
  Escape: 'escape',
  Esc: 'escape',
  Backspace: 'backspace',
  Tab: 'tab',
  ' ': 'space',
  Spacebar: 'space',
  Delete: 'delete',
  Del: 'delete',
  Insert: 'insert',
  Home: 'home',
  End: 'end',
  PageUp: 'pageup',
  PageDown: 'pagedown',
  ArrowUp: 'up',
  ArrowDown: 'down',
  ArrowLeft: 'left',
  ArrowRight: 'right',
  Up: 'up',
  Down: 'down',
  Left: 'left',
  Right: 'right',
  Shift: 'shift',
  Control: 'control',
  Alt: 'alt',
  Meta: 'meta',
  OS: 'meta',
  CapsLock: 'capslock',
  ContextMenu: 'menu',
  Apps: 'menu',
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`F${i + 1}`, `f${i + 1}`])),
};

/**
 * Physical key → US-layout key, used only for shortcuts typed on a layout whose `key` is not
 * ASCII (Ctrl+С on a Russian layout is still Ctrl+C to every program).
 */
const US_CODES: Readonly<Record<string, string>> = {
  Minus: '-',
  Equal: '=',
  BracketLeft: '[',
  BracketRight: ']',
  Backslash: '\\',
  Semicolon: ';',
  Quote: "'",
  Backquote: '`',
  Comma: ',',
  Period: '.',
  Slash: '/',
  NumpadAdd: '+',
  NumpadSubtract: '-',
  NumpadMultiply: '*',
  NumpadDivide: '/',
  NumpadDecimal: '.',
  NumpadEnter: 'enter',
};

function usKeyForCode(code: string): string | undefined {
  const letter = /^Key([A-Z])$/.exec(code);
  if (letter?.[1]) return letter[1].toLowerCase();
  const digit = /^(?:Digit|Numpad)([0-9])$/.exec(code);
  if (digit?.[1]) return digit[1];
  return US_CODES[code];
}

/** Held modifiers in a fixed order (shift, control, alt, meta), AltGr not counted as Ctrl+Alt. */
export function modifiersOf(e: Pick<KeyInput, 'shiftKey' | 'ctrlKey' | 'altKey' | 'metaKey' | 'altGraph'>): Modifier[] {
  const mods: Modifier[] = [];
  if (e.shiftKey) mods.push('shift');
  if (e.ctrlKey && !e.altGraph) mods.push('control');
  if (e.altKey && !e.altGraph) mods.push('alt');
  if (e.metaKey) mods.push('meta');
  return mods;
}

/** One printable character that is not a control character (a single code point). */
function singleCharacter(key: string): boolean {
  const points = [...key];
  if (points.length !== 1) return false;

  return !/[\u0000-\u001f\u007f-\u009f]/.test(key);
}

/**
 * What one keydown (or keyup) means for the host. Printable ASCII goes as the character the
 * guest's own layout produced ('A', '!', '@'), so the host types what the guest sees; the
 * modifiers ride along so shortcuts (Ctrl+P → 'p' + control) reach the host intact.
 */
export function mapKey(e: KeyInput): KeyMapping {
  if (e.isComposing || e.keyCode === 229 || e.key === 'Process') return { kind: 'compose' };
  if (e.key === 'Dead' || e.key === 'Unidentified' || e.key === '') return { kind: 'none' };
  const mods = modifiersOf(e);
  const named = NAMED[e.key];
  if (named) return { kind: 'key', key: named, mods };
  if (e.key.length === 1 && KEY_ALLOWLIST.has(e.key)) return { kind: 'key', key: e.key, mods };
  const shortcut = mods.some((m) => m !== 'shift');
  if (shortcut) {
    const us = usKeyForCode(e.code);
    if (us) return { kind: 'key', key: us, mods };
  }
  if (!shortcut && singleCharacter(e.key)) return { kind: 'text', text: e.key };
  return { kind: 'none' };
}

/** Splits text (a composition result or a paste) into pieces the protocol accepts, dropping control characters. */
export function textChunks(text: string): string[] {
  const clean = text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  const points = [...clean];
  const out: string[] = [];
  for (let i = 0; i < points.length; i += MAX_TEXT_CHARS) out.push(points.slice(i, i + MAX_TEXT_CHARS).join(''));
  return out.filter((s) => s.length > 0);
}

// ---- pointer ------------------------------------------------------------------------------

export function mapButton(button: number): MouseButton | undefined {
  switch (button) {
    case 0:
      return 'left';
    case 1:
      return 'middle';
    case 2:
      return 'right';
    default:
      // Back/forward buttons: nothing on the allowlist (and they must not navigate the guest).
      return undefined;
  }
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Where the picture is drawn inside a `<video>`'s box with `object-fit: contain`: the whole
 * frame, scaled to fit, centred, with bars on two sides. The viewer uses `contain` in both
 * views (in 1:1 the box has the frame's own aspect, so there are no bars), and a box that is
 * scrolled is already offset in its client rect, so this one rule covers Fit and 1:1.
 */
export function containedPicture(box: Box, frameWidth: number, frameHeight: number): Box | undefined {
  if (!(box.width > 0 && box.height > 0 && frameWidth > 0 && frameHeight > 0)) return undefined;
  const scale = Math.min(box.width / frameWidth, box.height / frameHeight);
  const width = frameWidth * scale;
  const height = frameHeight * scale;
  return { left: box.left + (box.width - width) / 2, top: box.top + (box.height - height) / 2, width, height };
}

export interface NormalisedPoint {
  x: number;
  y: number;
}

/**
 * Client pixels → 0..1 on the shared screen. Outside the picture (on a letterbox bar) is
 * undefined unless `clamp`, which a button release uses so a drag that ends outside still lets go.
 */
export function normalisePoint(clientX: number, clientY: number, picture: Box | undefined, clamp = false): NormalisedPoint | undefined {
  if (!picture || !(picture.width > 0 && picture.height > 0)) return undefined;
  let x = (clientX - picture.left) / picture.width;
  let y = (clientY - picture.top) / picture.height;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return undefined;
  if (clamp) {
    x = Math.min(1, Math.max(0, x));
    y = Math.min(1, Math.max(0, y));
  } else if (x < 0 || x > 1 || y < 0 || y > 1) {
    return undefined;
  }
  // Six decimals is far below a pixel even at 8K, and keeps messages short.
  return { x: Math.round(x * 1e6) / 1e6, y: Math.round(y * 1e6) / 1e6 };
}

// ---- wheel --------------------------------------------------------------------------------

/** WheelEvent.deltaMode values. */
export const DOM_DELTA_PIXEL = 0;
export const DOM_DELTA_LINE = 1;
export const DOM_DELTA_PAGE = 2;

export interface WheelNotchOptions {
  /** Pixels of scroll per notch: Chromium reports 100 (Windows) or 53–120 (Linux) for one click. */
  pixelsPerNotch?: number;
  linesPerNotch?: number;
  notchesPerPage?: number;
}

/**
 * Wheel deltas → whole notches, the unit the host's OS scrolls in. Fractions are carried over,
 * so a touchpad's stream of small deltas still scrolls; one wheel click of at least half a notch
 * is always one notch (some mice report less than the nominal step); a change of direction
 * drops what was carried; each event is clamped to ±MAX_WHEEL_STEP. Positive = right / down.
 */
export class WheelNotches {
  private readonly px: number;
  private readonly lines: number;
  private readonly pages: number;
  private carry = { x: 0, y: 0 };

  constructor(options: WheelNotchOptions = {}) {
    this.px = options.pixelsPerNotch ?? 100;
    this.lines = options.linesPerNotch ?? 3;
    this.pages = options.notchesPerPage ?? 10;
  }

  take(deltaX: number, deltaY: number, deltaMode: number): { dx: number; dy: number } {
    return { dx: this.axis('x', deltaX, deltaMode), dy: this.axis('y', deltaY, deltaMode) };
  }

  reset(): void {
    this.carry = { x: 0, y: 0 };
  }

  private axis(axis: 'x' | 'y', delta: number, mode: number): number {
    if (!Number.isFinite(delta) || delta === 0) return 0;
    // In notches (fractional), whatever unit the browser used.
    const amount = mode === DOM_DELTA_LINE ? delta / this.lines : mode === DOM_DELTA_PAGE ? delta * this.pages : delta / this.px;
    let carry = this.carry[axis];
    if (carry !== 0 && Math.sign(carry) !== Math.sign(amount)) carry = 0;
    carry += amount;
    // The epsilon keeps 0.08 × 25 from summing to 1.9999999 and losing a notch.
    let notches = Math.trunc(carry + Math.sign(carry) * 1e-9);
    if (notches === 0 && Math.abs(amount) >= 0.5) {
      notches = Math.sign(amount);
      carry = 0;
    } else {
      carry -= notches;
    }
    if (Math.abs(notches) > MAX_WHEEL_STEP) {
      notches = Math.sign(notches) * MAX_WHEEL_STEP;
      carry = 0;
    }
    this.carry[axis] = carry;
    return notches === 0 ? 0 : notches; // never -0
  }
}
