/**
 * A real Wayland desktop for one suite, headless (../shared/design/TESTING.md, "Wayland, checked
 * headless here"): sway on wlroots' headless backend with the pixman renderer (this machine has
 * no GPU), a private session bus, PipeWire with WirePlumber, xdg-desktop-portal and its wlroots
 * backend. sway refuses to run as root, so the desktop runs as `nobody` in a directory of its own;
 * the tests' own processes (the helper among them) stay root and reach its sockets all the same.
 *
 * The portal backend is the one `scripts/wayland-portal.mjs` builds from Debian's source with two
 * changes (a shared-memory-only format accepted, a stream's first frame copied at once): the stock
 * one refuses ScreenCast without a GPU. Everything else is Debian's own. `stop()` ends it all.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HelperCommand } from '../../../helper/client';
import { waylandPortalBinary } from '../../../scripts/wayland-portal.mjs';
import { waitFor } from './xvfb';

/** The desktop's user: every Debian has it, and it owns nothing else the tests use. */
const USER = 65534;
export const WAYLAND_OUTPUT = 'HEADLESS-1';
/** The second monitor, when a suite asks for one: right of the first. */
export const SECOND_OUTPUT = 'HEADLESS-2';

export interface WaylandSession {
  width: number;
  height: number;
  /** What a process of this desktop runs with (the helper too): no DISPLAY, the Wayland and bus addresses. */
  env: NodeJS.ProcessEnv;
  /** Starts a client of the desktop as its user (a terminal, a painter); stopped with the desktop. */
  spawnClient(command: string, args: string[], extraEnv?: NodeJS.ProcessEnv): ChildProcess;
  /**
   * The helper's command run as the desktop's user, as on a real desktop: the portal refuses a
   * caller it cannot inspect (a root process, from the desktop user's side).
   */
  asUser(command: HelperCommand): HelperCommand;
  /**
   * Starts the portal backend again (after a fault test killed it, or to change its picker):
   * `cancel` gives it a picker that returns nothing, as a user closing the dialog does.
   */
  restartPortalBackend(o?: { cancel?: boolean }): Promise<void>;
  /** Asks sway (swaymsg); throws with its answer on failure. */
  swaymsg(...args: string[]): string;
  /** The portal processes (fault tests end them). */
  processes: Record<'bus' | 'pipewire' | 'wireplumber' | 'sway' | 'portalBackend' | 'portal', ChildProcess>;
  /** Every line the desktop's processes wrote (for a failing test's message). */
  log: string[];
  stop(): Promise<void>;
}

export function waylandPrerequisites(): string | undefined {
  for (const tool of ['sway', 'pipewire', 'wireplumber', 'dbus-daemon', 'foot', 'gst-launch-1.0', 'setpriv']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0)
      return `${tool} is not installed: run \`npm test\` (its bootstrap installs the Wayland packages)`;
  }
  if (!existsSync('/usr/libexec/xdg-desktop-portal')) return 'xdg-desktop-portal is not installed';
  if (!existsSync(waylandPortalBinary())) return `the patched portal backend is not built: node scripts/wayland-portal.mjs`;
  return undefined;
}

/**
 * `second`: a second monitor of that size right of the first (HEADLESS-2); `shared`: the monitor
 * the portal's picker shares (the first unless named).
 */
export async function startWayland(
  o: { width?: number; height?: number; maxFps?: number; second?: { width: number; height: number }; shared?: string } = {},
): Promise<WaylandSession> {
  const missing = waylandPrerequisites();
  if (missing) throw new Error(missing);
  const width = o.width ?? 1280;
  const height = o.height ?? 720;
  const base = mkdtempSync('/tmp/pairux-wayland-');
  chmodSync(base, 0o755);
  const run = path.join(base, 'run');
  const home = path.join(base, 'home');
  for (const dir of [run, home]) {
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, USER, USER);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    XDG_RUNTIME_DIR: run,
    XDG_CURRENT_DESKTOP: 'sway',
    XDG_SESSION_TYPE: 'wayland',
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${run}/bus`,
  };
  const log: string[] = [];
  const children: ChildProcess[] = [];
  const spawnAs = (name: string, command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const child = spawn('setpriv', [`--reuid=${USER}`, `--regid=${USER}`, '--clear-groups', command, ...args], {
      env: { ...env, ...extraEnv },
      // A pipe in: a test types into a client's terminal (the demo under script(1)).
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    for (const s of [child.stdout, child.stderr])
      s.on('data', (d: Buffer) =>
        log.push(
          ...d
            .toString()
            .trimEnd()
            .split('\n')
            .map((l) => `${name}: ${l}`),
        ),
      );
    child.on('exit', (code, signal) => log.push(`${name}: exited (${code ?? signal})`));
    children.push(child);
    return child;
  };
  const stop = async () => {
    for (const c of children.reverse()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  };
  const busName = (name: string) =>
    spawnSync(
      'dbus-send',
      ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${name}`],
      {
        env,
        encoding: 'utf8',
      },
    ).stdout?.includes('boolean true');
  const busOwnerPid = (name: string) =>
    Number(
      /uint32 (\d+)/.exec(
        spawnSync(
          'dbus-send',
          [
            '--session',
            '--print-reply',
            '--dest=org.freedesktop.DBus',
            '/org/freedesktop/DBus',
            'org.freedesktop.DBus.GetConnectionUnixProcessID',
            `string:${name}`,
          ],
          { env, encoding: 'utf8' },
        ).stdout ?? '',
      )?.[1] ?? 0,
    );
  const step = async (check: () => boolean, what: string) => {
    try {
      await waitFor(check, 10_000, what);
    } catch (err) {
      await stop();
      throw new Error(`${(err as Error).message}; the desktop said:\n${log.slice(-20).join('\n')}`, { cause: err });
    }
  };
  try {
    // Debian's session bus admits its own user only; the tests (root) call the portal on it too.
    // Its own service directory comes first, so a portal backend that crashed (xdg-desktop-portal-wlr
    // 0.7 can, when a cast's client is killed) is started again as the patched one, as D-Bus
    // activation restarts the stock one on a real desktop.
    const services = path.join(base, 'services');
    mkdirSync(services);
    const busConfig = path.join(base, 'bus.conf');
    writeFileSync(
      busConfig,
      '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n' +
        `<busconfig><servicedir>${services}</servicedir><include>/usr/share/dbus-1/session.conf</include><policy context="default"><allow user="root"/></policy></busconfig>\n`,
    );
    const bus = spawnAs('dbus', 'dbus-daemon', [`--config-file=${busConfig}`, '--nofork', '--nosyslog', `--address=${env.DBUS_SESSION_BUS_ADDRESS}`]);
    await step(() => existsSync(path.join(run, 'bus')), 'the session bus');
    const pipewire = spawnAs('pipewire', 'pipewire', []);
    await step(() => existsSync(path.join(run, 'pipewire-0')), 'PipeWire');
    const wireplumber = spawnAs('wireplumber', 'wireplumber', []);
    const swayConfig = path.join(base, 'sway.conf');
    // A plain desktop: no bar, no borders or gaps, so a client's pixels sit where the test puts them.
    const outputs = [`output ${WAYLAND_OUTPUT} mode ${width}x${height} position 0 0`];
    if (o.second) outputs.push(`output ${SECOND_OUTPUT} mode ${o.second.width}x${o.second.height} position ${width} 0`);
    writeFileSync(swayConfig, `${outputs.join('\n')}\ndefault_border none\nfocus_follows_mouse no\nxwayland disable\n`);
    const sway = spawnAs('sway', 'sway', ['-c', swayConfig], {
      WLR_BACKENDS: 'headless',
      WLR_HEADLESS_OUTPUTS: o.second ? '2' : '1',
      WLR_LIBINPUT_NO_DEVICES: '1',
      WLR_RENDERER: 'pixman',
    });
    let display = '';
    let swaySock = '';
    await step(() => {
      const names = readdirSync(run);
      display = names.find((n) => /^wayland-\d+$/.test(n)) ?? '';
      swaySock = names.find((n) => n.startsWith('sway-ipc.') && n.endsWith('.sock')) ?? '';
      return !!display && !!swaySock;
    }, 'sway');
    env.WAYLAND_DISPLAY = display;
    env.SWAYSOCK = path.join(run, swaySock);
    // Written now that the display is known: an activated service gets the bus's environment, which has none.
    writeFileSync(
      path.join(services, 'org.freedesktop.impl.portal.desktop.wlr.service'),
      `[D-BUS Service]\nName=org.freedesktop.impl.portal.desktop.wlr\nExec=/usr/bin/env WAYLAND_DISPLAY=${display} ${waylandPortalBinary()} -r -c ${path.join(base, 'xdpw.conf')} -l WARN\n`,
    );
    const portalConfig = path.join(base, 'xdpw.conf');
    const startBackend = async (cancel: boolean) => {
      // The one output, picked without a dialog (chooser_type=none): what a user's click in the
      // picker does. A picker that prints nothing is the user closing it.
      const chooser = cancel ? 'chooser_type=simple\nchooser_cmd=true\n' : `output_name=${o.shared ?? WAYLAND_OUTPUT}\nchooser_type=none\n`;
      writeFileSync(portalConfig, `[screencast]\n${chooser}max_fps=${o.maxFps ?? 30}\n`);
      const child = spawnAs('portal-wlr', waylandPortalBinary(), ['-r', '-c', portalConfig, '-l', 'WARN']);
      await step(() => busName('org.freedesktop.impl.portal.desktop.wlr'), 'the wlroots portal backend');
      return child;
    };
    const processes = { bus, pipewire, wireplumber, sway, portalBackend: await startBackend(false) } as WaylandSession['processes'];
    processes.portal = spawnAs('portal', '/usr/libexec/xdg-desktop-portal', ['-r']);
    await step(() => busName('org.freedesktop.portal.Desktop'), 'xdg-desktop-portal');
    const swaymsg = (...args: string[]) => {
      const r = spawnSync('swaymsg', args, { env, encoding: 'utf8', timeout: 10_000 });
      if (r.status !== 0) throw new Error(`swaymsg ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    return {
      width,
      height,
      env,
      spawnClient: (command, args, extraEnv) => spawnAs(path.basename(command), command, args, extraEnv),
      asUser: (c) => ({ ...c, command: 'setpriv', args: [`--reuid=${USER}`, `--regid=${USER}`, '--clear-groups', c.command, ...c.args] }),
      swaymsg,
      processes,
      async restartPortalBackend(r = {}) {
        const old = processes.portalBackend;
        if (old.exitCode === null && old.signalCode === null) {
          old.kill('SIGTERM');
          await new Promise((resolve) => old.once('exit', resolve));
        }
        // D-Bus may have started another (activation after a crash or a kill): it goes too, so the new config is read.
        const deadline = Date.now() + 5000;
        while (busName('org.freedesktop.impl.portal.desktop.wlr')) {
          if (Date.now() > deadline) throw new Error('the old portal backend did not leave the bus within 5 s');
          const pid = busOwnerPid('org.freedesktop.impl.portal.desktop.wlr');
          if (pid) spawnSync('kill', [String(pid)]);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        processes.portalBackend = await startBackend(!!r.cancel);
      },
      log,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
