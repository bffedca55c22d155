/**
 * A real X server for one suite: Xvfb on a free display (:90 and up), and the X clients the
 * helper tests drive and query (xterm, xdotool, xinput, xsetroot). Everything started here is
 * stopped by `stop()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Xvfb {
  display: string;
  /** The Xvfb process (benches read its CPU). */
  pid: number;
  width: number;
  height: number;
  /** process.env with DISPLAY set and any Wayland hints removed: what the helper runs with. */
  env: NodeJS.ProcessEnv;
  /** Runs an X tool against this display; throws with its stderr on failure. */
  run(command: string, ...args: string[]): string;
  stop(): Promise<void>;
}

export async function waitFor(check: () => boolean, ms: number, what: string, everyMs = 25): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function displayFree(n: number): boolean {
  return !existsSync(`/tmp/.X11-unix/X${n}`) && !existsSync(`/tmp/.X${n}-lock`);
}

/** `extraArgs` go to Xvfb, e.g. `['-extension', 'DAMAGE']` for a server without DAMAGE. */
export async function startXvfb(width = 1280, height = 720, extraArgs: string[] = []): Promise<Xvfb> {
  if (!existsSync('/usr/bin/Xvfb')) throw new Error('Xvfb is not installed: run `npm run bootstrap` as root, or apt-get install xvfb xdotool xinput xterm');
  // Another process may take the same free number between the check and the start: try the next.
  for (let n = 90 + Math.floor(Math.random() * 20), tries = 0; tries < 40; n++, tries++) {
    if (!displayFree(n)) continue;
    const child = spawn('Xvfb', [`:${n}`, '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp', '-noreset', ...extraArgs], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Ours only when the lock names our pid: another process may have taken :n meanwhile.
    const ours = () => {
      try {
        return Number(readFileSync(`/tmp/.X${n}-lock`, 'utf8').trim()) === child.pid && existsSync(`/tmp/.X11-unix/X${n}`);
      } catch {
        return false;
      }
    };
    try {
      await waitFor(() => ours() || child.exitCode !== null, 5000, `Xvfb :${n}`);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    if (child.exitCode !== null) continue;
    const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: `:${n}` };
    delete env.WAYLAND_DISPLAY;
    delete env.XDG_SESSION_TYPE;
    const run = (command: string, ...args: string[]) => {
      const r = spawnSync(command, args, { env, encoding: 'utf8', timeout: 10_000 });
      if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
      return r.stdout;
    };
    await waitFor(() => spawnSync('xdpyinfo', [], { env, stdio: 'ignore' }).status === 0, 5000, `Xvfb :${n} answering`);
    return {
      display: `:${n}`,
      pid: child.pid!,
      width,
      height,
      env,
      run,
      async stop() {
        if (child.exitCode !== null) return;
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      },
    };
  }
  throw new Error('no free X display number from :90 on');
}

export function mouseLocation(x: Xvfb): { x: number; y: number } {
  const out = x.run('xdotool', 'getmouselocation');
  const m = /x:(\d+) y:(\d+)/.exec(out);
  if (!m) throw new Error(`unexpected xdotool output: ${out}`);
  return { x: Number(m[1]), y: Number(m[2]) };
}

/** Buttons and keycodes the XTEST devices (robotjs, xdotool) hold down. */
export function xtestHeld(x: Xvfb): { buttons: number[]; keys: number[] } {
  const down = (device: string, what: string) =>
    [...x.run('xinput', 'query-state', device).matchAll(new RegExp(`${what}\\[(\\d+)\\]=down`, 'g'))].map((m) => Number(m[1]));
  return { buttons: down('Virtual core XTEST pointer', 'button'), keys: down('Virtual core XTEST keyboard', 'key') };
}

export interface Xterm {
  /** What was typed into the terminal, as `cat` wrote it. */
  file: string;
  windowId: string;
  read(): string;
  stop(): Promise<void>;
}

/**
 * An xterm running `cat > FILE`, focused, so typed text ends up in FILE (line by line: the tty
 * hands `cat` a line at Enter). Options place it and colour it for capture tests.
 */
export async function startXterm(x: Xvfb, opts: { geometry?: string; bg?: string; command?: string } = {}): Promise<Xterm> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pairux-xterm-'));
  const file = path.join(dir, 'typed.txt');
  const title = `pairux-test-${path.basename(dir)}`;
  const args = ['-T', title, '-geometry', opts.geometry ?? '120x40+0+0'];
  if (opts.bg) args.push('-bg', opts.bg, '-fg', opts.bg, '-cr', opts.bg, '-b', '0', '-bw', '0');
  args.push('-e', 'sh', '-c', opts.command ?? `cat > '${file}'`);
  const child: ChildProcess = spawn('xterm', args, { env: x.env, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let windowId = '';
  await waitFor(
    () => {
      const r = spawnSync('xdotool', ['search', '--onlyvisible', '--name', title], { env: x.env, encoding: 'utf8' });
      windowId = r.stdout.trim().split('\n')[0] ?? '';
      return windowId !== '';
    },
    10_000,
    'the xterm window',
  );
  if (!opts.command) await waitFor(() => existsSync(file), 5000, 'cat starting in the xterm');
  x.run('xdotool', 'windowfocus', '--sync', windowId);
  return {
    file,
    windowId,
    read: () => (existsSync(file) ? readFileSync(file, 'utf8') : ''),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export interface ButtonEvent {
  type: 'press' | 'release';
  button: number;
  x: number;
  y: number;
}

/**
 * Button events on the root window as an X client sees them (xev, line-buffered through stdbuf):
 * a click must land where it was sent, not merely move the pointer there. Only sees clicks on
 * the bare root window, so use it on a screen with no windows at the clicked places.
 */
export async function watchRootButtons(x: Xvfb): Promise<{ events: ButtonEvent[]; stop(): void }> {
  const child = spawn('stdbuf', ['-oL', 'xev', '-root', '-event', 'button'], { env: x.env, stdio: ['ignore', 'pipe', 'ignore'] });
  const events: ButtonEvent[] = [];
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    text += d;
    for (;;) {
      const m = /Button(Press|Release) event[\s\S]*?root:\((\d+),(\d+)\)[\s\S]*?button (\d+)/.exec(text);
      if (!m) break;
      events.push({ type: m[1] === 'Press' ? 'press' : 'release', x: Number(m[2]), y: Number(m[3]), button: Number(m[4]) });
      text = text.slice(m.index + m[0].length);
    }
  });
  // xev has selected its events once it has mapped nothing and printed nothing: give it a moment.
  await new Promise((r) => setTimeout(r, 300));
  return { events, stop: () => child.kill('SIGKILL') };
}
