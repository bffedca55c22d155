/**
 * Starts code-server (installed by scripts/code-server.mjs) on loopback with no auth, every
 * file it writes under one per-run temp dir, no gallery or update calls, in its own process
 * group so stopping it also stops its extension host and whatever the extension spawned.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error plain .mjs without types; its exports are documented there
import { codeServerEntry, ensureCodeServer } from '../../../scripts/code-server.mjs';

export interface CodeServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  /** The per-run dir: user data, extensions, XDG dirs, TMPDIR, and a `workspace` folder to open. */
  readonly runDir: string;
  readonly workspace: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** Everything code-server printed, for failure messages. */
  output(): string;
  /** SIGTERM to the group, SIGKILL after 3 s; removes the run dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment for code-server and so for the extension host (e.g. PAIRUX_UI_DRIVER). */
  env?: Record<string, string>;
  /** Merged into the user settings.json. */
  settings?: Record<string, unknown>;
  /** Files to create in the workspace folder, path → content. */
  files?: Record<string, string>;
  startTimeoutMs?: number;
  /** .vsix files installed (`--install-extension`) into the extensions dir before the start. */
  vsixes?: string[];
  /** Runs code-server through this, e.g. inside a test machine's network namespace (its loopback is then that machine's). */
  argv?: (command: string, ...args: string[]) => [string, string[]];
  /** Runs code-server (and so the extension host and the helper) as this user, owner of its run directory: a desktop's user. */
  runAs?: { uid: number; gid: number };
}

const live = new Set<ChildProcess>();
// Mocha's --exit ends the process without running `after` hooks, and code-server's own process
// group does not get the terminal's Ctrl-C: the extension host would outlive the run. So every
// group still running is killed on exit, and on SIGINT/SIGTERM before the signal is re-raised.
process.once('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});
function onSignal(signal: NodeJS.Signals): void {
  for (const child of live) killGroup(child, 'SIGKILL');
  unwatchSignals();
  process.kill(process.pid, signal);
}
const onSigint = () => onSignal('SIGINT');
const onSigterm = () => onSignal('SIGTERM');
function watchSignals(): void {
  if (live.size !== 1) return;
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
}
function unwatchSignals(): void {
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export async function startCodeServer(options: StartOptions = {}): Promise<CodeServer> {
  const entry: string = ensureCodeServer() ?? codeServerEntry();
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'pairux-code-server-'));
  const dirs = {
    userDataDir: path.join(runDir, 'user-data'),
    extensionsDir: path.join(runDir, 'extensions'),
    workspace: path.join(runDir, 'workspace'),
    config: path.join(runDir, 'xdg-config'),
    data: path.join(runDir, 'xdg-data'),
    cache: path.join(runDir, 'xdg-cache'),
    tmp: path.join(runDir, 'tmp'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(path.join(dirs.userDataDir, 'User'), { recursive: true });
  writeFileSync(
    path.join(dirs.userDataDir, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
        'telemetry.telemetryLevel': 'off',
        'security.workspace.trust.enabled': false,
        ...options.settings,
      },
      null,
      2,
    ),
  );
  for (const [name, content] of Object.entries(options.files ?? {})) {
    const file = path.join(dirs.workspace, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }

  // This run's own config, data, cache and temp folders, no gallery; the outer mocha's own
  // settings (NODE_OPTIONS) must not leak into code-server's Node or the extension host's.
  const isolated: NodeJS.ProcessEnv = {
    ...process.env,
    EXTENSIONS_GALLERY: '{}',
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    TMPDIR: dirs.tmp,
    NODE_OPTIONS: '',
  };
  for (const vsix of options.vsixes ?? []) {
    // code-server's CLI installs as VS Code's does: unpacked into the extensions dir.
    const r = spawnSync(process.execPath, [entry, '--extensions-dir', dirs.extensionsDir, '--user-data-dir', dirs.userDataDir, '--install-extension', vsix], {
      cwd: runDir,
      encoding: 'utf8',
      timeout: 60_000,
      env: isolated,
    });
    if (r.status !== 0) {
      rmSync(runDir, { recursive: true, force: true });
      throw new Error(`code-server --install-extension ${vsix} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
    }
  }

  const runAs = options.runAs;
  if (runAs) chownTree(runDir, runAs.uid, runAs.gid);
  const asUser = (c: string, ...a: string[]): [string, string[]] =>
    runAs ? ['setpriv', [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups', c, ...a]] : [c, a];
  const [command, args] = (options.argv ?? asUser)(
    process.execPath,
    entry,
    '--auth',
    'none',
    '--bind-addr',
    '127.0.0.1:0',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--user-data-dir',
    dirs.userDataDir,
    '--extensions-dir',
    dirs.extensionsDir,
    dirs.workspace,
  );
  const child = spawn(command, args, {
    cwd: runDir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...isolated, ...options.env },
  });
  live.add(child);
  watchSignals();
  let output = '';
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      if (live.size === 0) unwatchSignals();
      resolve();
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`code-server did not listen within ${options.startTimeoutMs ?? 30_000} ms:\n${output.slice(-3000)}`)),
      options.startTimeoutMs ?? 30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 1_000_000) output = output.slice(-500_000);
      const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${code ?? signal}) before listening:\n${output.slice(-3000)}`));
    });
  }).catch(async (err) => {
    await stopChild(child, exited);
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  });

  let stopping: Promise<void> | undefined;
  return {
    url,
    runDir,
    workspace: dirs.workspace,
    userDataDir: dirs.userDataDir,
    extensionsDir: dirs.extensionsDir,
    output: () => output,
    stop: () =>
      (stopping ??= (async () => {
        await stopChild(child, exited);
        rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
      })()),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  killGroup(child, 'SIGTERM');
  const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), 3000).unref());
  if ((await Promise.race([exited.then(() => 'done' as const), timer])) === 'late') killGroup(child, 'SIGKILL');
  await exited;
  // The leader can exit before the rest of its group (the extension host, its children).
  killGroup(child, 'SIGKILL');
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
}
