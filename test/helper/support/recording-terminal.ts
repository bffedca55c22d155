/**
 * A real Wayland terminal (foot) on the desktop's focused output whose program records every byte
 * it gets, raw and silent, with the mouse reported in SGR mode: the keys that landed, and the
 * terminal's own report of the character cell under a click.
 */
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { WaylandSession } from './wayland';
import { waitFor } from './xvfb';

export interface RecordingTerminal {
  /** The character cell in pixels, from the terminal's own log ("cell width=7, height=14"). */
  cell: { w: number; h: number };
  /** Everything the terminal's program got so far. */
  got(): string;
  /** Removes the recording (the terminal goes with the desktop). */
  remove(): void;
}

export async function startRecordingTerminal(wl: WaylandSession, name: string): Promise<RecordingTerminal> {
  const dir = mkdtempSync(`/tmp/pairux-${name}-`);
  // The desktop's user (nobody) writes the recording.
  chownSync(dir, 65534, 65534);
  const out = path.join(dir, 'typed');
  const program = `stty raw -echo; printf '\\033[?1000h\\033[?1006h'; exec cat > ${out}`;
  wl.spawnClient('foot', ['-o', 'pad=0x0', 'sh', '-c', program]);
  await waitFor(() => wl.log.some((l) => /cell width=\d+, height=\d+/.test(l)), 10_000, 'the terminal');
  const m = /cell width=(\d+), height=(\d+)/.exec(wl.log.filter((l) => l.includes('cell width')).at(-1)!)!;
  const read = () => {
    try {
      return readFileSync(out, 'utf8');
    } catch {
      return undefined;
    }
  };
  await waitFor(() => read() === '', 10_000, 'the recorder running');
  return {
    cell: { w: Number(m[1]), h: Number(m[2]) },
    got: () => read() ?? '',
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
