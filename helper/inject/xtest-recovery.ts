/**
 * A helper SIGKILLed mid-drag leaves its button (or keys) down in the X server: nothing ran to
 * release them. The next helper asks X what the XTEST devices hold and releases it before anything
 * else, and says so in `helper.hello` (`releasedAtStart`).
 */
import { queryXtestState, type XtestState } from '../native/x11';
import type { Keymap } from './keymap';
import { xdotoolKeyUp, xdotoolMouseUp } from './xdotool';

const BUTTON_NAMES: Record<number, string> = { 1: 'left', 2: 'middle', 3: 'right' };

export interface Recovery {
  released: string[];
  /** What could not be checked or released, for the log. */
  problems: string[];
}

/** `state` is what `queryXtestState` found (queried in parallel with the other start-up probes). */
export async function releaseHeldXtest(state: XtestState | Error, keymap: Keymap | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Recovery> {
  if (state instanceof Error) return { released: [], problems: [`could not query held keys and buttons: ${state.message}`] };
  const released: string[] = [];
  const problems: string[] = [];
  for (const b of state.buttons) {
    const name = `mouse:${BUTTON_NAMES[b] ?? `button${b}`}`;
    if (await xdotoolMouseUp(b, env)) released.push(name);
    else problems.push(`could not release ${name}`);
  }
  for (const code of state.keys) {
    const keysym = keymap?.keysymOf(code);
    const name = `key:${keysym ?? `keycode${code}`}`.slice(0, 32);
    if (await xdotoolKeyUp(code, keysym, env)) released.push(name);
    else problems.push(`could not release ${name}`);
  }
  if (released.length || problems.length) {
    const after = await queryXtestState(env);
    if (!(after instanceof Error) && (after.buttons.length || after.keys.length)) {
      problems.push(`still held after release: buttons ${after.buttons.join(',') || '-'}, keys ${after.keys.join(',') || '-'}`);
    }
  }
  return { released: released.slice(0, 64), problems };
}
