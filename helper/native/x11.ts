/**
 * Questions the helper asks the X server through the Debian X tools (x11-utils, xinput,
 * xdotool, x11-xserver-utils): one-off processes at start, run in parallel (a restart's budget is
 * a second, and each tool costs 10–40 ms on a busy machine), never on a per-event path.
 */
import { execFile } from 'node:child_process';

export interface ToolResult {
  ok: boolean;
  stdout: string;
  /** Why it failed: the tool is missing, timed out or exited non-zero (with its stderr). */
  error?: string;
}

export function runTool(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 3000): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ ok: true, stdout });
      const e = err as NodeJS.ErrnoException & { code?: unknown; signal?: unknown };
      if (e.code === 'ENOENT') return resolve({ ok: false, stdout: '', error: `${command} is not installed` });
      const how = typeof e.code === 'number' ? `exited with ${e.code}` : e.signal ? `was stopped by ${String(e.signal)}` : e.message;
      resolve({ ok: false, stdout, error: `${command} ${how}: ${stderr.trim().slice(0, 200)}` });
    });
  });
}

export type XDisplayProbe = { ok: true; width: number; height: number; xwayland: boolean } | { ok: false; reason: string };

/** Whether DISPLAY answers, its size, and whether it is XWayland (whose root window is black). */
export async function probeXDisplay(env: NodeJS.ProcessEnv = process.env): Promise<XDisplayProbe> {
  const info = await runTool('xdpyinfo', [], env);
  if (info.ok) {
    const size = /dimensions:\s+(\d+)x(\d+) pixels/.exec(info.stdout);
    return { ok: true, width: Number(size?.[1] ?? 0), height: Number(size?.[2] ?? 0), xwayland: /\bXWAYLAND\b/.test(info.stdout) };
  }
  if (info.error?.endsWith('not installed')) {
    // Without x11-utils, xdotool can still tell whether the display answers.
    const geometry = await runTool('xdotool', ['getdisplaygeometry'], env);
    const size = /^(\d+) (\d+)/.exec(geometry.stdout);
    if (geometry.ok && size) return { ok: true, width: Number(size[1]), height: Number(size[2]), xwayland: false };
  }
  return { ok: false, reason: `cannot open X display ${env.DISPLAY ?? '(DISPLAY is not set)'}: ${info.error ?? 'unknown error'}` };
}

export async function hasXdotool(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return (await runTool('xdotool', ['version'], env)).ok;
}

export interface XtestState {
  /** X button numbers (1 left, 2 middle, 3 right) held down on the XTEST pointer. */
  buttons: number[];
  /** X keycodes held down on the XTEST keyboard. */
  keys: number[];
}

/**
 * What the XTEST devices (the ones robotjs and xdotool drive) hold down right now: after a
 * helper is SIGKILLed mid-drag the X server still has its button down.
 */
export async function queryXtestState(env: NodeJS.ProcessEnv = process.env): Promise<XtestState | Error> {
  const [pointer, keyboard] = await Promise.all([
    runTool('xinput', ['query-state', 'Virtual core XTEST pointer'], env),
    runTool('xinput', ['query-state', 'Virtual core XTEST keyboard'], env),
  ]);
  if (!pointer.ok || !keyboard.ok) return new Error(pointer.error ?? keyboard.error ?? 'xinput failed');
  const down = (text: string, what: string) => [...text.matchAll(new RegExp(`${what}\\[(\\d+)\\]=down`, 'g'))].map((m) => Number(m[1]));
  return { buttons: down(pointer.stdout, 'button'), keys: down(keyboard.stdout, 'key') };
}
