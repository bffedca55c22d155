/**
 * Typing characters the keyboard layout lacks (é, €, 中 on a US layout), on X11.
 *
 * `xdotool type` binds one scratch keycode to each character in turn, presses it, and rebinds it
 * for the next. A client reads the mapping lazily, when it handles the key event; if xdotool has
 * rebound the keycode by then, the character comes out wrong or not at all. That happened here on
 * a loaded machine even at 8 ms per character. So instead each distinct character gets its own
 * spare keycode (one with no symbol on the layout), bound all at once with xmodmap, and the keys
 * are then pressed with `xdotool key`, which finds them bound and changes nothing. A binding is
 * reused while it is there and only taken back for another character once it has been idle long
 * enough for every client to have read it; all are undone when the helper stops.
 */
import { spawnSync } from 'node:child_process';
import { runCancelable, type Cancelable } from './xdotool';

/** A keycode is rebound to another character only after this long unused. */
const REBIND_AFTER_MS = 500;

/** X keysym name for a character: Unicode keysyms are "U" + hex code point. */
export function unicodeKeysym(char: string): string {
  return `U${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

export class X11UnicodeTyper {
  /** Character → the keycode bound to it and when it was last typed. */
  private readonly bound = new Map<string, { keycode: number; usedAt: number }>();
  private readonly free: number[];

  constructor(
    private readonly spares: readonly number[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.free = [...spares];
  }

  /** Whether there is anything to bind characters to; otherwise use `xdotool type`. */
  get usable(): boolean {
    return this.spares.length > 0;
  }

  type(text: string): Cancelable {
    let current: Cancelable | undefined;
    let cancelled = false;
    const done = (async () => {
      const chars = [...text];
      for (let at = 0; at < chars.length && !cancelled;) {
        // As many characters as have (or can get) a keycode of their own in this batch.
        const batch: string[] = [];
        const inBatch = new Set<string>();
        for (; at < chars.length; at++) {
          const c = chars[at]!;
          if (!inBatch.has(c) && inBatch.size >= this.spares.length) break;
          inBatch.add(c);
          batch.push(c);
        }
        const bind = [...inBatch].filter((c) => !this.bound.has(c));
        if (bind.length) {
          const lines = await this.assign(bind, inBatch);
          if (cancelled) return;
          current = runCancelable(
            'xmodmap',
            lines.flatMap((l) => ['-e', l]),
            this.env,
          );
          await current.done;
        }
        if (cancelled) return;
        current = runCancelable('xdotool', ['key', '--delay', '0', ...batch.map(unicodeKeysym)], this.env);
        await current.done;
        const now = performance.now();
        for (const c of inBatch) this.bound.get(c)!.usedAt = now;
      }
    })();
    return {
      done,
      cancel: () => {
        cancelled = true;
        current?.cancel();
      },
    };
  }

  /** Undoes every binding (at shutdown; synchronous so it can run at exit). */
  restore(): void {
    if (this.bound.size === 0) return;
    const args = [...this.bound.values()].flatMap(({ keycode }) => ['-e', `keycode ${keycode} =`]);
    this.bound.clear();
    this.free.splice(0, this.free.length, ...this.spares);
    spawnSync('xmodmap', args, { env: this.env, stdio: 'ignore', timeout: 2000 });
  }

  /** Picks keycodes for `chars` (free ones, else the longest unused outside `keep`); returns xmodmap lines. */
  private async assign(chars: string[], keep: Set<string>): Promise<string[]> {
    const lines: string[] = [];
    for (const c of chars) {
      let keycode = this.free.shift();
      if (keycode === undefined) {
        const [victim, entry] = [...this.bound].filter(([k]) => !keep.has(k)).sort((a, b) => a[1].usedAt - b[1].usedAt)[0]!;
        const idle = performance.now() - entry.usedAt;
        if (idle < REBIND_AFTER_MS) await new Promise((r) => setTimeout(r, REBIND_AFTER_MS - idle));
        this.bound.delete(victim);
        keycode = entry.keycode;
      }
      this.bound.set(c, { keycode, usedAt: performance.now() });
      const sym = unicodeKeysym(c);
      lines.push(`keycode ${keycode} = ${sym} ${sym}`);
    }
    return lines;
  }
}
