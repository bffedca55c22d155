/**
 * A screen for the helper to share. With a working X display the demo shares it; without one
 * (SSH, CI, a container) it starts Xvfb with a small desktop — a shell and an editor-like
 * window — so a new user still sees and drives something real. A Wayland session is shared as it
 * is, through the desktop's screen-sharing portal (the helper's `portal` capture), which may ask
 * the user which screen to share.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Desktop {
  /** X11: the helper captures `display`; Wayland: the desktop portal shares the user's screen. */
  kind: 'x11' | 'wayland';
  display: string;
  /** True when we started Xvfb (and so must stop it). */
  virtual: boolean;
  /** Why the demo chose this screen, for the user. */
  why: string;
  stop(): Promise<void>;
}

function displayWorks(display: string): boolean {
  const r = spawnSync('xdpyinfo', ['-display', display], { stdio: 'ignore', timeout: 3000 });
  return r.status === 0;
}

function freeDisplayNumber(from = 90): number {
  for (let n = from; n < from + 100; n++) {
    if (!existsSync(`/tmp/.X11-unix/X${n}`) && !existsSync(`/tmp/.X${n}-lock`)) return n;
  }
  throw new Error('no free X display number between :90 and :189');
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startVirtualDesktop(width: number, height: number, withApps = true): Promise<Desktop> {
  if (!existsSync('/usr/bin/Xvfb')) {
    throw new Error('There is no display to share and Xvfb is not installed. Run `npm run bootstrap` as root, or: sudo apt-get install -y xvfb xterm');
  }
  const n = freeDisplayNumber();
  const display = `:${n}`;
  const children: ChildProcess[] = [];
  // Own process groups: a Ctrl-C in the terminal reaches only the demo, which stops these in
  // order; and if the demo dies, the exit hook still takes them down.
  const killAll = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  };
  process.once('exit', killAll);
  const xvfb = spawn('Xvfb', [display, '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp', '-noreset'], { stdio: 'ignore', detached: true });
  children.push(xvfb);
  await waitFor(() => existsSync(`/tmp/.X11-unix/X${n}`) || xvfb.exitCode !== null, 5000, `Xvfb on ${display}`);
  if (xvfb.exitCode !== null) throw new Error(`Xvfb on ${display} exited with ${xvfb.exitCode}`);
  const env = { ...process.env, DISPLAY: display };
  if (withApps) {
    spawnSync('xsetroot', ['-solid', '#22384f'], { env, stdio: 'ignore' });
    const font = ['-fa', 'DejaVu Sans Mono', '-fs', '12'];
    const source = fileURLToPath(new URL('../server/session-service.ts', import.meta.url));
    // DejaVu Sans Mono at 12 pt is about 10 × 19 px per cell.
    const editorCols = Math.floor((width * 0.55) / 10);
    const rows = Math.floor((height - 60) / 19);
    children.push(
      spawn(
        'xterm',
        [
          ...font,
          '-geometry',
          `${editorCols}x${rows}+10+10`,
          '-bg',
          '#1e1e1e',
          '-fg',
          '#d4d4d4',
          '-T',
          'editor - session-service.ts',
          '-e',
          'less',
          '-N',
          '-S',
          source,
        ],
        { env, stdio: 'ignore', detached: true },
      ),
      spawn(
        'xterm',
        [
          ...font,
          '-geometry',
          `${Math.floor((width * 0.4) / 10)}x${Math.floor(rows * 0.6)}-10+10`,
          '-bg',
          '#0c0c0c',
          '-fg',
          '#cccccc',
          '-T',
          'terminal',
          '-e',
          'bash',
          '-c',
          'echo "PairUX demo desktop (Xvfb ' + display + '). A granted guest types here."; exec bash --norc -i',
        ],
        { env, stdio: 'ignore', detached: true },
      ),
    );
  }
  return {
    kind: 'x11',
    display,
    virtual: true,
    why: `started a virtual desktop (Xvfb ${display}, ${width}×${height}) with a terminal and an editor-like window`,
    async stop() {
      process.off('exit', killAll);
      for (const c of [...children].reverse()) if (c.exitCode === null) c.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
    },
  };
}

/** The screen the demo shares: the user's Wayland or X desktop if there is one, else a virtual desktop. */
export async function chooseDesktop(width: number, height: number, forceVirtual: boolean): Promise<Desktop> {
  const wayland = process.env.WAYLAND_DISPLAY || (process.env.XDG_SESSION_TYPE === 'wayland' ? 'wayland' : '');
  const display = process.env.DISPLAY;
  if (!forceVirtual && wayland) {
    return {
      kind: 'wayland',
      display: wayland,
      virtual: false,
      why: `sharing your Wayland desktop (${wayland}) through its screen-sharing portal: it may ask which screen to share`,
      stop: async () => undefined,
    };
  }
  if (!forceVirtual && display && displayWorks(display)) {
    return { kind: 'x11', display, virtual: false, why: `sharing your X display ${display}`, stop: async () => undefined };
  }
  const desktop = await startVirtualDesktop(width, height);
  if (!display) desktop.why = `there is no X display here, so the demo ${desktop.why}`;
  else if (!forceVirtual) desktop.why = `DISPLAY=${display} does not answer, so the demo ${desktop.why}`;
  return desktop;
}
