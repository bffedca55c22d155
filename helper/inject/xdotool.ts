/**
 * xdotool for what robotjs cannot do on X11: type text outside ASCII (it binds a spare keycode
 * to each character in turn) and release keys/buttons by X number at start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { runTool } from '../native/x11';

/**
 * ms between characters. xdotool rebinds a keycode per character and the client must see the
 * new mapping before the key event: at 0–2 ms Xvfb's xterm lost characters, from 4 ms none did.
 */
export const XDOTOOL_TYPE_DELAY_MS = 8;

/** Types `text` with xdotool; resolves when done. `cancel()` stops it at once (revoke). */
export function xdotoolType(text: string, env: NodeJS.ProcessEnv = process.env): { done: Promise<void>; cancel(): void } {
  let child: ChildProcess | undefined = spawn('xdotool', ['type', '--delay', String(XDOTOOL_TYPE_DELAY_MS), '--', text], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(0, 500);
  });
  const done = new Promise<void>((resolve, reject) => {
    child!.once('error', (err) => reject(new Error(`xdotool: ${err.message}`)));
    child!.once('exit', (code, signal) => {
      child = undefined;
      if (code === 0 || signal === 'SIGKILL') resolve();
      else reject(new Error(`xdotool type exited with ${code ?? signal}: ${stderr.trim()}`));
    });
  });
  return {
    done,
    cancel: () => {
      child?.kill('SIGKILL');
    },
  };
}

export function xdotoolMouseUp(button: number, env: NodeJS.ProcessEnv = process.env): boolean {
  return runTool('xdotool', ['mouseup', String(button)], env).ok;
}

/**
 * Releases X keycode `code`. xdotool reads a bare number as a keycode only when it is not a
 * keysym name, and "8"/"9" are (the digits): those go by name.
 */
export function xdotoolKeyUp(code: number, keysym: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const arg = code >= 10 ? String(code) : keysym;
  return arg !== undefined && runTool('xdotool', ['keyup', arg], env).ok;
}
