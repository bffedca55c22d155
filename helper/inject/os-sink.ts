/**
 * The OS as an input sink: robotjs for the pointer, keys and ASCII text, xmodmap + xdotool for
 * other text (X11). Every key and button it presses is tracked so `releaseAll` can lift them (revoke, a new
 * driver, shutdown): a driver who leaves mid-drag must not leave the host's button down.
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { InputEvent, Modifier, MouseButton } from '../../protocol/input';
import type { Robot } from '../native/robot';
import type { Rect } from '../capture/screen-capturer';
import type { InputSink } from './input-sink';
import type { Keymap } from './keymap';

export interface OsInputSinkOptions {
  robot: Robot;
  keymap: Keymap;
  /** The screen rectangle normalised coordinates map onto: the shared region or the whole screen. */
  target(): Rect;
  /** Types text outside ASCII (X11: x11-unicode.ts); without it robotjs types everything (macOS, Windows). */
  typeUnicode?: (text: string) => { done: Promise<void>; cancel(): void };
  /** Something failed after `inject` returned (xdotool). */
  onError?(message: string): void;
  /** Events held back while a slow text run types; past this they are refused. */
  maxQueued?: number;
}

/** The protocol's modifiers as robotjs names them. */
const MODIFIER_KEY: Record<Modifier, string> = { shift: 'shift', control: 'control', alt: 'alt', meta: 'command' };
const MODIFIER_KEYS = new Set(Object.values(MODIFIER_KEY));
/** Named keys robotjs spells differently; the rest are the same. */
const NAMED_KEY: Record<string, string> = { meta: 'command' };

// Anything outside printable ASCII (plus tab and newline, which robotjs types as keys).
const NON_ASCII_RUN = /[^\t\n\x20-\x7e]+/;

export class OsInputSink implements InputSink {
  readonly name = 'os';
  private readonly buttons = new Set<MouseButton>();
  /** robotjs names of the keys held down, in the order they went down. */
  private readonly keys = new Set<string>();
  private queue: InputEvent[] = [];
  private typing: { cancel(): void } | undefined;
  private readonly robot: Robot;

  constructor(private readonly options: OsInputSinkOptions) {
    this.robot = options.robot;
  }

  inject(event: InputEvent): void {
    if (this.typing) {
      // Order matters (a click after typed text must land after it): hold events back meanwhile.
      if (this.queue.length >= (this.options.maxQueued ?? 1000)) throw new PairuxError(ErrorCode.RateLimited, 'too many events while text is being typed');
      this.queue.push(event);
      return;
    }
    this.apply(event);
  }

  /** What is held down now, as `releaseAll` would name it. */
  held(): string[] {
    return [...[...this.buttons].map((b) => `mouse:${b}`), ...[...this.keys].map(keyLabel)];
  }

  releaseAll(): string[] {
    this.typing?.cancel();
    this.typing = undefined;
    this.queue = [];
    const released = this.held();
    for (const b of this.buttons) this.safely(() => this.robot.mouseToggle('up', b));
    this.buttons.clear();
    // Ordinary keys before modifiers, so nothing sees a stray Ctrl+key on the way out.
    const keys = [...this.keys];
    for (const k of [...keys.filter((k) => !MODIFIER_KEYS.has(k)), ...keys.filter((k) => MODIFIER_KEYS.has(k))]) {
      this.safely(() => this.robot.keyToggle(k, 'up'));
    }
    this.keys.clear();
    return released;
  }

  private apply(event: InputEvent): void {
    switch (event.t) {
      case 'move':
        this.moveTo(event.x, event.y);
        return;
      case 'down':
        this.moveTo(event.x, event.y);
        this.robot.mouseToggle('down', event.button);
        this.buttons.add(event.button);
        return;
      case 'up':
        this.moveTo(event.x, event.y);
        if (!this.buttons.has(event.button)) return;
        this.robot.mouseToggle('up', event.button);
        this.buttons.delete(event.button);
        return;
      case 'wheel':
        this.moveTo(event.x, event.y);
        // Events follow the DOM (dy > 0 scrolls down, dx > 0 right); robotjs on X11 maps
        // y > 0 to button 4 (up) and x < 0 to button 7 (right), so both flip.
        this.robot.scrollMouse(-event.dx, -event.dy);
        return;
      case 'keydown':
        this.keyDown(event.key, event.mods);
        return;
      case 'keyup': {
        const { key } = this.strokeFor(event.key);
        if (!this.keys.has(key)) return;
        this.robot.keyToggle(key, 'up');
        this.keys.delete(key);
        return;
      }
      case 'text':
        this.type(event.text, event.seq);
        return;
    }
  }

  private moveTo(nx: number, ny: number): void {
    const r = this.options.target();
    this.robot.moveMouse(r.x + toPixel(nx, r.width), r.y + toPixel(ny, r.height));
  }

  /**
   * `shift` is what the host's layout needs for a printable character (whatever the guest's
   * Shift was: the character is the intent), undefined for named keys (then `mods` decide).
   */
  private strokeFor(key: string): { key: string; shift: boolean | undefined } {
    if (key.length === 1) {
      const stroke = this.options.keymap.stroke(key);
      return stroke ?? { key, shift: undefined };
    }
    return { key: NAMED_KEY[key] ?? key, shift: undefined };
  }

  /**
   * Presses a key with the modifiers it needs at the moment it goes down (that is when X decides
   * the character and apps match shortcuts), then puts the modifiers back as the driver holds them.
   */
  private keyDown(name: string, mods: Modifier[]): void {
    const { key, shift } = this.strokeFor(name);
    if (MODIFIER_KEYS.has(key)) {
      this.robot.keyToggle(key, 'down');
      this.keys.add(key);
      return;
    }
    const added: string[] = [];
    const lifted: string[] = [];
    for (const m of mods) {
      const mk = MODIFIER_KEY[m];
      if (mk === 'shift' && shift !== undefined) continue;
      if (!this.keys.has(mk) && !added.includes(mk)) added.push(mk);
    }
    if (shift === true && !this.keys.has('shift')) added.push('shift');
    if (shift === false && this.keys.has('shift')) lifted.push('shift');
    for (const m of added) this.robot.keyToggle(m, 'down');
    for (const m of lifted) this.robot.keyToggle(m, 'up');
    try {
      this.robot.keyToggle(key, 'down');
      this.keys.add(key);
    } finally {
      for (const m of added.reverse()) this.robot.keyToggle(m, 'up');
      for (const m of lifted) this.robot.keyToggle(m, 'down');
    }
  }

  /**
   * Types text with the driver's held modifiers lifted: a paste sent while Ctrl is still down
   * from Ctrl+V must type letters, not fire Ctrl+letter shortcuts.
   */
  private type(text: string, seq: number): void {
    const typeUnicode = this.options.typeUnicode;
    const m = typeUnicode ? NON_ASCII_RUN.exec(text) : null;
    const ascii = m ? text.slice(0, m.index) : text;
    const lifted = [...this.keys].filter((k) => MODIFIER_KEYS.has(k));
    for (const k of lifted) this.robot.keyToggle(k, 'up');
    const restore = () => {
      for (const k of lifted) if (this.keys.has(k)) this.robot.keyToggle(k, 'down');
    };
    try {
      if (ascii) this.robot.typeString(ascii);
    } finally {
      if (!m || !typeUnicode) restore();
    }
    if (!m || !typeUnicode) return;
    const rest = text.slice(m.index + m[0].length);
    if (rest) this.queue.unshift({ t: 'text', seq, text: rest });
    const job = typeUnicode(m[0]);
    this.typing = job;
    job.done.then(
      () => this.typed(job, restore),
      (err: unknown) => {
        this.options.onError?.(`typing text failed: ${(err as Error).message}`);
        this.typed(job, restore);
      },
    );
  }

  /** A slow text run finished: put the modifiers back and catch up on what waited. */
  private typed(job: { cancel(): void }, restore: () => void): void {
    if (this.typing !== job) return; // cancelled by releaseAll
    this.typing = undefined;
    this.safely(restore);
    while (this.queue.length && !this.typing) {
      const next = this.queue.shift()!;
      try {
        this.apply(next);
      } catch (err) {
        this.options.onError?.(`injecting a queued ${next.t} failed: ${(err as Error).message}`);
      }
    }
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.onError?.(`releasing failed: ${(err as Error).message}`);
    }
  }
}

/**
 * The pixel a normalised coordinate falls in (1 is the last pixel). A hundredth of a pixel of
 * slack: a guest sends pixel p as p / size rounded to 6 decimals, and floor() of 311.9999 would
 * land one pixel short.
 */
export function toPixel(n: number, size: number): number {
  return Math.max(0, Math.min(size - 1, Math.floor(n * size + 0.01)));
}

function keyLabel(robotKey: string): string {
  return `key:${robotKey === 'command' ? 'meta' : robotKey}`;
}
