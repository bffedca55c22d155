#!/usr/bin/env node
// Builds the pinned LiveKit server (the SFU of `sfu` sessions) from the Go module proxy into a
// gitignored cache: LiveKit publishes no Debian package, and its release binaries come from
// GitHub, which is not reachable here, while `go install` is. Idempotent: an existing binary
// that reports the pinned version makes a rerun instant. Plain Node with no dependencies, like
// bootstrap.mjs, which calls it for `npm test` (and the demo for `--mode sfu`).
//
//   node scripts/livekit.mjs              build if needed, print the binary's path
//   PAIRUX_LIVEKIT_DIR=/x node …          keep the builds somewhere else (default .cache/livekit)
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

export const LIVEKIT_VERSION = '1.13.5';
const MODULE = `github.com/livekit/livekit-server/cmd/server@v${LIVEKIT_VERSION}`;
/** LiveKit 1.13's go.mod says `go 1.26`; a Go from 1.21 on fetches that toolchain itself (GOTOOLCHAIN=auto). */
const GO_INSTALL_HINT =
  'Install Go 1.26 (Debian 12 ships 1.19, too old): ' +
  'curl -fsSL https://go.dev/dl/go1.26.8.linux-amd64.tar.gz | sudo tar -C /usr/local -xzf - && export PATH="$PATH:/usr/local/go/bin"';

function cacheBase() {
  return process.env.PAIRUX_LIVEKIT_DIR ? path.resolve(process.env.PAIRUX_LIVEKIT_DIR) : path.join(root, '.cache', 'livekit');
}

/** Where the pinned server binary lives once built (whether or not it is there yet). */
export function liveKitBinary() {
  return path.join(cacheBase(), `v${LIVEKIT_VERSION}`, 'server');
}

function reportsPinnedVersion(binary) {
  if (!existsSync(binary)) return false;
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && r.stdout.trim().endsWith(` ${LIVEKIT_VERSION}`);
}

function goVersion() {
  const r = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  const m = /^go(\d+)\.(\d+)/.exec(r.stdout.trim());
  return m ? { text: r.stdout.trim(), major: Number(m[1]), minor: Number(m[2]) } : { text: r.stdout.trim(), major: 0, minor: 0 };
}

/**
 * Returns the path of a working LiveKit server binary of the pinned version, building it first
 * when needed (a few minutes cold; seconds with a warm Go build cache). Throws an Error whose
 * message says what to do when it cannot.
 */
export function ensureLiveKit({ log = (msg) => process.stderr.write(`[livekit] ${msg}\n`) } = {}) {
  const binary = liveKitBinary();
  if (reportsPinnedVersion(binary)) return binary;
  const go = goVersion();
  if (!go) throw new Error(`building the LiveKit server needs Go, and \`go\` is not on PATH. ${GO_INSTALL_HINT}`);
  if (go.major < 1 || (go.major === 1 && go.minor < 21)) {
    throw new Error(`building the LiveKit server needs Go 1.21 or newer (it then fetches the 1.26 toolchain itself); this is ${go.text}. ${GO_INSTALL_HINT}`);
  }
  const dir = path.dirname(binary);
  mkdirSync(path.dirname(dir), { recursive: true });
  // Built into a fresh directory and renamed into place, so concurrent runs never see half a
  // binary and a failed build leaves nothing behind that looks usable.
  const staging = mkdtempSync(path.join(path.dirname(dir), '.build-'));
  log(`building the LiveKit server v${LIVEKIT_VERSION} from the Go module proxy (one-off, a few minutes)…`);
  const started = Date.now();
  const env = {
    ...process.env,
    GOBIN: staging,
    // A go.work or vendor setting around the checkout must not leak into the module build.
    GOFLAGS: [process.env.GOFLAGS, '-mod=mod'].filter(Boolean).join(' '),
    GOWORK: 'off',
    GOTOOLCHAIN: process.env.GOTOOLCHAIN || 'auto',
  };
  const r = spawnSync('go', ['install', MODULE], { cwd: staging, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !existsSync(path.join(staging, 'server'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `\`go install ${MODULE}\` failed (exit ${r.status ?? r.signal}); see its output above. It needs the Go module proxy (${process.env.GOPROXY || 'proxy.golang.org'}).`,
    );
  }
  chmodSync(staging, 0o755);
  rmSync(dir, { recursive: true, force: true });
  try {
    renameSync(staging, dir);
  } catch (err) {
    // Another run finished first and put its build there: use that one.
    rmSync(staging, { recursive: true, force: true });
    if (!reportsPinnedVersion(binary)) throw err;
  }
  if (!reportsPinnedVersion(binary)) throw new Error(`the LiveKit server built at ${binary} does not report version ${LIVEKIT_VERSION}`);
  log(`LiveKit server v${LIVEKIT_VERSION} built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${binary}`);
  return binary;
}

// By file name, not import.meta.url: bundled into dist/demo.js, import.meta.url is the demo's.
if (process.argv[1] && path.basename(process.argv[1]) === 'livekit.mjs') {
  try {
    process.stdout.write(`${ensureLiveKit()}\n`);
  } catch (err) {
    console.error(`[livekit] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
