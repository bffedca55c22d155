/**
 * What the helper holds down on a Wayland compositor, kept in a file so the next helper can let
 * go of it. X11 can be asked what XTEST holds (xtest-recovery.ts); a compositor cannot, and when a
 * helper dies mid-drag its virtual pointer goes but the seat still counts its button as pressed
 * (measured on sway 1.7: the application never hears the release). So every press and release
 * rewrites this small record (in $XDG_RUNTIME_DIR: the user's own tmpfs), and the next helper
 * releases exactly what it names, then clears it.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Held {
  /** Linux button codes (BTN_LEFT = 0x110, …) and evdev key codes of the helper's keymap. */
  buttons: number[];
  keys: number[];
  /** What they are, for the log and `releasedAtStart` ("mouse:left", "shift"). */
  names: string[];
}

export class HeldRecord {
  constructor(readonly file: string) {}

  /** The record for this user's Wayland display. */
  static forDisplay(env: NodeJS.ProcessEnv): HeldRecord {
    const display = (env.WAYLAND_DISPLAY || 'wayland-0').replace(/[^\w.-]/g, '_');
    return new HeldRecord(path.join(env.XDG_RUNTIME_DIR || tmpdir(), `pairux-held-${display}.json`));
  }

  /** Writes what is held now (nothing held: the file goes). Written whole and renamed: a kill mid-write leaves the old one. */
  save(held: Held): void {
    try {
      if (!held.buttons.length && !held.keys.length) {
        rmSync(this.file, { force: true });
        return;
      }
      const tmp = `${this.file}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify(held), { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch {
      // Without the record a crash may leave a button held until the user clicks; input goes on.
    }
  }

  /** What a previous helper left held (undefined: nothing, or an unreadable record). */
  read(): Held | undefined {
    try {
      const v = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<Held>;
      const codes = (a: unknown) => (Array.isArray(a) ? a.filter((n): n is number => Number.isInteger(n) && n > 0 && n < 0x300).slice(0, 64) : []);
      const names = Array.isArray(v.names)
        ? v.names
            .filter((n): n is string => typeof n === 'string')
            .map((n) => n.slice(0, 32))
            .slice(0, 64)
        : [];
      const held = { buttons: codes(v.buttons), keys: codes(v.keys), names };
      return held.buttons.length || held.keys.length ? held : undefined;
    } catch {
      return undefined;
    }
  }

  clear(): void {
    rmSync(this.file, { force: true });
  }
}
