#!/usr/bin/env node
// Installs code-server (a real VS Code workbench + extension host) for the extension tests into a
// gitignored cache, not into the root node_modules: it is ≈ 300 MB and `npm run demo` must not pay
// for it. Idempotent: a stamp of the lockfile makes a rerun instant. Plain Node with no
// dependencies, like bootstrap.mjs, which calls it for `npm test`.
//
//   node scripts/code-server.mjs          install if needed, print the entry point's path
//   PAIRUX_CODE_SERVER_DIR=/x node …      keep the installs somewhere else (default .cache/code-server)
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const packageDir = path.join(root, 'test', 'vscode', 'code-server');

/** Debian packages: headers for the native modules code-server compiles (argon2, kerberos,
 * spdlog, node-pty, …: their prebuilt binaries cannot be fetched here), Debian's rg for
 * @vscode/ripgrep, Chromium to open the workbench. */
export const CODE_SERVER_APT = [
  'libkrb5-dev',
  'libxkbfile-dev',
  'libsecret-1-dev',
  'libx11-dev',
  'pkg-config',
  'ripgrep',
  'chromium',
  'build-essential',
  'python3',
];

/**
 * Dependencies of code-server's own lib/vscode and lib/vscode/extensions installs (its
 * postinstall runs `npm install` there) whose install scripts must run. npm 11.19's script
 * policy runs unreviewed scripts with a warning and skips only denied ones; the allowlists
 * (package.json's allowScripts for the top level, an .npmrc for the nested projects, which read
 * only their own) keep that quiet and keep working once unreviewed means skipped. Pinned to what
 * code-server 4.100.3's shrinkwraps hold. BUILT below catches a skipped build either way.
 */
const NESTED_ALLOWED_SCRIPTS = [
  '@parcel/watcher@2.5.1',
  '@vscode/deviceid@0.1.1',
  '@vscode/ripgrep@1.15.11',
  '@vscode/spdlog@0.15.1',
  'kerberos@2.1.1',
  'native-watchdog@1.4.2',
  'node-pty@1.1.0-beta33',
];

/** What a working install has built; a skipped install script leaves one of these missing. */
const BUILT = [
  'node_modules/code-server/out/node/entry.js',
  'node_modules/code-server/lib/vscode/node_modules/node-pty/build/Release/pty.node',
  'node_modules/code-server/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node',
  'node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg',
  'node_modules/code-server/lib/vscode/node_modules/kerberos/build/Release/kerberos.node',
  'node_modules/code-server/lib/vscode/extensions/node_modules',
];

// @vscode/ripgrep 1.15.11 downloads rg from GitHub, which is not reachable; it first looks for
// this archive in os.tmpdir(), so one made from Debian's /usr/bin/rg is put there.
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_TARGETS = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' };
const RIPGREP_ARCHIVE = (arch) => `ripgrep-v13.0.0-10-${RIPGREP_TARGETS[arch]}.tar.gz`;

/** Bump when the install steps below change, so existing caches are rebuilt. */
const RECIPE = 1;

function stampOf() {
  const h = createHash('sha256');
  h.update(`recipe ${RECIPE}\n`);
  h.update(readFileSync(path.join(packageDir, 'package.json')));
  h.update(readFileSync(path.join(packageDir, 'package-lock.json')));
  h.update(process.version.split('.')[0] ?? '');
  return h.digest('hex');
}

function cacheBase() {
  return process.env.PAIRUX_CODE_SERVER_DIR ? path.resolve(process.env.PAIRUX_CODE_SERVER_DIR) : path.join(root, '.cache', 'code-server');
}

/**
 * One directory per lockfile hash: a new lockfile installs beside the old one instead of over
 * it, so a workbench another run has open keeps its files until the new install is complete.
 */
export function codeServerDir() {
  return path.join(cacheBase(), stampOf().slice(0, 16));
}

/** The entry point to run with this Node: `node <entry> --auth none …`. */
export function codeServerEntry(dir = codeServerDir()) {
  return path.join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * Several `npm test` runs can share a checkout; the second waits for the first's install
 * instead of building into the same directory. A lock whose owner died is taken over.
 */
function withInstallLock(base, log, fn) {
  mkdirSync(base, { recursive: true });
  const lock = path.join(base, '.lock');
  let told = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let owner = 0;
      try {
        owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        /* being written */
      }
      if (owner && !alive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!told) {
        log(`waiting for another code-server install (pid ${owner || '?'})…`);
        told = true;
      }
      sleep(1000);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function missingDebianPackages(names) {
  if (!existsSync('/usr/bin/dpkg-query')) return [];
  return names.filter((name) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return !(r.status === 0 && r.stdout.includes('install ok installed'));
  });
}

function ensureDebianPackages(log) {
  const missing = missingDebianPackages(CODE_SERVER_APT);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`code-server needs system packages: ${missing.join(', ')}. Run:\n  sudo sh -c '${command}'`);
  }
  log(`installing system packages for code-server: ${missing.join(', ')}…`);
  const r = spawnSync('sh', ['-c', `${command} >/dev/null`], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const still = missingDebianPackages(missing);
  if (r.status !== 0 || still.length) throw new Error(`apt-get did not install: ${still.join(', ') || missing.join(', ')}`);
}

function seedRipgrep(tmp) {
  const archive = RIPGREP_TARGETS[process.arch] && RIPGREP_ARCHIVE(process.arch);
  if (!archive) throw new Error(`no ripgrep target for ${process.arch}`);
  if (!existsSync('/usr/bin/rg')) throw new Error('/usr/bin/rg is missing (Debian package ripgrep)');
  const dir = path.join(tmp, RIPGREP_CACHE);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('tar', ['-czf', path.join(dir, archive), '-C', '/usr/bin', 'rg']);
  if (r.status !== 0) throw new Error(`could not pack /usr/bin/rg: ${r.stderr}`);
}

function npmHasScriptPolicy(env) {
  return spawnSync('npm', ['install-scripts', '--help'], { env, stdio: 'ignore' }).status === 0;
}

function run(cmd, args, options, what) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${tail}`);
  }
  return r;
}

/**
 * Makes sure code-server is installed; returns the entry point. `log` gets progress lines.
 * Throws with the fix when it cannot (missing system packages as a non-root user, build failure).
 */
export function ensureCodeServer({ log = (m) => process.stderr.write(`[code-server] ${m}\n`) } = {}) {
  const base = cacheBase();
  const stamp = stampOf();
  const dir = codeServerDir();
  const stampFile = path.join(dir, '.pairux-stamp');
  const entry = codeServerEntry(dir);
  const installed = () => existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && existsSync(entry);
  if (installed()) return entry;

  ensureDebianPackages(log);
  return withInstallLock(base, log, () => {
    if (installed()) return entry;
    install(dir, log);
    writeFileSync(stampFile, stamp);
    // Older installs (another lockfile, another layout) go; only this one is used from now on.
    for (const name of readdirSync(base)) {
      if (name !== path.basename(dir) && name !== '.lock') rmSync(path.join(base, name), { recursive: true, force: true });
    }
    return entry;
  });
}

function install(dir, log) {
  const started = Date.now();
  log('installing code-server 4.100.3 for the VS Code tests (one-off, ~1 min)…');
  rmSync(dir, { recursive: true, force: true });
  const tmp = path.join(dir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  copyFileSync(path.join(packageDir, 'package.json'), path.join(dir, 'package.json'));
  copyFileSync(path.join(packageDir, 'package-lock.json'), path.join(dir, 'package-lock.json'));
  seedRipgrep(tmp);

  const env = {
    ...process.env,
    TMPDIR: tmp,
    // code-server's postinstall exits 1 as root without it.
    npm_config_unsafe_perm: 'true',
    // node-pty's install runs `npx node-gyp`, which waits for a "yes" otherwise.
    npm_config_yes: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  // Unpack everything first so the nested projects exist and can get their .npmrc before
  // code-server's postinstall installs into them; `npm rebuild` then runs the install scripts
  // (package.json's allowScripts approves them; all run on an npm without the policy).
  run('npm', ['ci', '--ignore-scripts', '--loglevel=error'], { cwd: dir, env }, 'npm ci (code-server)');
  if (npmHasScriptPolicy(env)) {
    const nested = path.join(dir, 'node_modules', 'code-server', 'lib', 'vscode');
    const npmrc = `allow-scripts=${NESTED_ALLOWED_SCRIPTS.join(',')}\n`;
    writeFileSync(path.join(nested, '.npmrc'), npmrc);
    writeFileSync(path.join(nested, 'extensions', '.npmrc'), npmrc);
  }
  log('building its native modules (argon2, node-pty, spdlog, kerberos, …)…');
  run('npm', ['rebuild', '--foreground-scripts', '--loglevel=error'], { cwd: dir, env }, 'npm rebuild (code-server native modules)');

  const missing = BUILT.filter((p) => !existsSync(path.join(dir, p)));
  if (missing.length) {
    throw new Error(`code-server installed without: ${missing.join(', ')} (an install script was skipped or failed; see ${dir})`);
  }
  rmSync(tmp, { recursive: true, force: true });
  log(`code-server installed in ${((Date.now() - started) / 1000).toFixed(0)} s (${dir})`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureCodeServer());
  } catch (err) {
    console.error(`[code-server] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
