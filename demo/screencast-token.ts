/**
 * The Wayland desktop's restore token between demo runs: the portal gives one with every screen
 * cast, and sending it back lets the desktop share the same monitor without asking again. Kept in
 * the user's state directory ($XDG_STATE_HOME/pairux, else ~/.local/state/pairux), readable by
 * the user alone. A missing or unreadable file only means the desktop asks.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export function screencastTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME || path.join(env.HOME || homedir(), '.local', 'state');
  return path.join(state, 'pairux', 'wayland-screencast-token');
}

export function loadScreencastToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const token = readFileSync(screencastTokenFile(env), 'utf8').trim();
    return /^[\w.:-]{1,256}$/.test(token) ? token : undefined;
  } catch {
    return undefined;
  }
}

/** Saves the token; says why not when it cannot (the next run then asks again). */
export function saveScreencastToken(token: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = screencastTokenFile(env);
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    return undefined;
  } catch (err) {
    return `the desktop's restore token could not be kept in ${file} (${(err as Error).message}): it will ask again next time`;
  }
}
