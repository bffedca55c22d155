/**
 * xdotool for what robotjs cannot do on X11: press keys by X keysym or keycode (text outside
 * ASCII, see x11-unicode.ts) and release keys/buttons by X number at start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { runTool } from '../native/x11';

/** A tool run that can be cut short (a revoke must stop typing at once). */
export interface Cancelable {
  done: Promise<void>;
  cancel(): void;
}

export function runCancelable(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Cancelable {
  let child: ChildProcess | undefined = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(0, 500);
  });
  const done = new Promise<void>((resolve, reject) => {
    child!.once('error', (err) => reject(new Error(`${command}: ${err.message}`)));
    child!.once('exit', (code, signal) => {
      child = undefined;
      if (code === 0 || signal === 'SIGKILL') resolve();
      else reject(new Error(`${command} exited with ${code ?? signal}: ${stderr.trim()}`));
    });
  });
  return { done, cancel: () => child?.kill('SIGKILL') };
}

/**
 * ms between characters for `xdotool type`, the fallback when the layout has no spare keycodes
 * (see x11-unicode.ts): it rebinds one scratch keycode per character, and a client that looks the
 * mapping up after it moved on gets the wrong character. 8 ms was clean on an idle machine, not
 * on a loaded one; hence the fallback only.
 */
export const XDOTOOL_TYPE_DELAY_MS = 8;

export function xdotoolType(text: string, env: NodeJS.ProcessEnv = process.env): Cancelable {
  return runCancelable('xdotool', ['type', '--delay', String(XDOTOOL_TYPE_DELAY_MS), '--', text], env);
}

export async function xdotoolMouseUp(button: number, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return (await runTool('xdotool', ['mouseup', String(button)], env)).ok;
}

/**
 * Releases X keycode `code`. xdotool reads a bare number as a keycode only when it is not a
 * keysym name, and "8"/"9" are (the digits): those go by name.
 */
export async function xdotoolKeyUp(code: number, keysym: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const arg = code >= 10 ? String(code) : keysym;
  return arg !== undefined && (await runTool('xdotool', ['keyup', arg], env)).ok;
}
