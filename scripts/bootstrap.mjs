#!/usr/bin/env node
// Makes a fresh clone runnable: npm ci when node_modules is missing or stale, the Debian
// packages the demo and tests use (installed when root, otherwise the one command to run is
// printed), and the bundles. Idempotent and quick when everything is already in place.
// Plain Node with no dependencies: it runs before node_modules exists.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { CODE_SERVER_APT, ensureCodeServer } from './code-server.mjs';
import { ensureLiveKit } from './livekit.mjs';
import { ensureCascadeBridge } from './cascade-bridge.mjs';
import { PORTAL_BUILD_APT, ensureWaylandPortal } from './wayland-portal.mjs';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const log = (msg) => {
  if (!quiet) process.stderr.write(`[bootstrap] ${msg}\n`);
};

/** Debian packages by purpose. The demo needs a browser; the tests need the real TURN server too. */
// X packages: Xvfb gives the helper a screen when there is no display (CI, SSH), xdotool types
// what robotjs cannot, xterm/xinput/x11 utils are the real X clients the tests drive and query.
const X11 = ['xvfb', 'xdotool', 'x11-utils', 'x11-xserver-utils', 'xterm', 'xinput'];
// A headless Wayland desktop for the Wayland tests (test/helper/support/wayland.ts): sway, PipeWire,
// the portal, foot as the Wayland client they paint with, GStreamer's PipeWire source (what the
// helper captures through on Wayland), and what the patched portal backend is built with.
const WAYLAND = [
  'sway',
  'xdg-desktop-portal',
  'xdg-desktop-portal-wlr',
  'pipewire',
  'pipewire-bin',
  'wireplumber',
  'dbus',
  'foot',
  'gstreamer1.0-tools',
  'gstreamer1.0-pipewire',
  'gstreamer1.0-plugins-base',
  ...PORTAL_BUILD_APT,
];
export const APT_PACKAGES = {
  demo: ['chromium', 'fonts-dejavu-core', ...X11],
  // code-server's build headers and rg too, so one apt-get run covers the VS Code tests.
  // openssl makes the TLS tests' certificates, caddy fronts their deployment, iproute2 and iptables build their networks and NATs,
  // python3 runs the delay line that shapes their links (test/support/delay-line.py: this kernel has no netem).
  test: [
    ...new Set([
      'chromium',
      'fonts-dejavu-core',
      'coturn',
      'redis-server',
      'openssl',
      'iproute2',
      'iptables',
      'caddy',
      'python3',
      ...X11,
      ...WAYLAND,
      ...CODE_SERVER_APT,
    ]),
  ],
};

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function ensureNodeModules() {
  const lock = path.join(root, 'package-lock.json');
  const installed = path.join(root, 'node_modules', '.package-lock.json');
  if (existsSync(installed) && mtime(installed) >= mtime(lock)) return;
  log('installing npm dependencies (npm ci)…');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('[bootstrap] npm ci failed; see the output above.');
    process.exit(r.status ?? 1);
  }
}

function missingDebianPackages(names) {
  if (!existsSync('/usr/bin/dpkg-query')) return [];
  return names.filter((name) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return !(r.status === 0 && r.stdout.includes('install ok installed'));
  });
}

function ensureDebianPackages(purpose) {
  const missing = missingDebianPackages(APT_PACKAGES[purpose]);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!existsSync('/usr/bin/dpkg-query')) {
    console.error(`[bootstrap] this is not a Debian-like system; install these yourself: ${missing.join(', ')}`);
    process.exit(1);
  }
  if (process.getuid?.() !== 0) {
    console.error(`[bootstrap] missing system packages: ${missing.join(', ')}. Run:\n  sudo sh -c '${command}'`);
    process.exit(1);
  }
  log(`installing system packages: ${missing.join(', ')} (one-off, a minute or two)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('sh', ['-c', `${command} >/dev/null`], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const still = missingDebianPackages(missing);
  if (still.length) {
    console.error(`[bootstrap] apt-get did not install: ${still.join(', ')}`);
    process.exit(1);
  }
}

async function buildBundles() {
  const started = Date.now();
  const { build } = await import(path.join(root, 'esbuild.config.mjs'));
  await build();
  log(`bundles built in ${Date.now() - started} ms`);
}

/** The real VS Code workbench the extension tests run in; outside node_modules (see code-server.mjs). */
function ensureVsCode() {
  try {
    ensureCodeServer({ log });
  } catch (err) {
    console.error(`[bootstrap] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}

/** The Wayland tests' portal backend, rebuilt from Debian's source for a machine without a GPU (see wayland-portal.mjs). */
function ensureWaylandHarness() {
  try {
    ensureWaylandPortal({ log });
  } catch (err) {
    console.error(`[bootstrap] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}

/** The real LiveKit server the SFU tests start (see livekit.mjs), and the cascade bridge between two of them (cascade-bridge.mjs); the demo builds LiveKit itself, only for `--mode sfu`. */
function ensureSfu() {
  try {
    ensureLiveKit({ log });
    ensureCascadeBridge({ log });
  } catch (err) {
    console.error(`[bootstrap] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}

const forTests = process.env.npm_lifecycle_event === 'test';
ensureNodeModules();
if (!args.has('--build-only')) ensureDebianPackages(forTests ? 'test' : 'demo');
await buildBundles();
if (forTests && !args.has('--build-only')) {
  ensureVsCode();
  ensureSfu();
  ensureWaylandHarness();
}
