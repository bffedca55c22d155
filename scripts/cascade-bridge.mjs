#!/usr/bin/env node
// Builds the cascade bridge (cascade/, Go: it forwards the host's screen between LiveKit rooms
// without decoding it) into a gitignored cache, keyed by a hash of its sources, so a rerun with
// unchanged sources is instant and a changed source rebuilds. Go and the module proxy as for the
// LiveKit server (livekit.mjs); plain Node with no dependencies, called by bootstrap.mjs.
//
//   node scripts/cascade-bridge.mjs           build if needed, print the binary's path
//   PAIRUX_CASCADE_DIR=/x node …              keep the builds somewhere else (default .cache/cascade)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const SOURCE = path.join(root, 'cascade');
export const CASCADE_BRIDGE_NAME = 'pairux-cascade-bridge';

function sourceHash() {
  const h = createHash('sha256');
  // Its tests are not part of the binary: changing them needs no new build.
  for (const f of readdirSync(SOURCE)
    .filter((n) => (n.endsWith('.go') && !n.endsWith('_test.go')) || n === 'go.mod' || n === 'go.sum')
    .sort()) {
    h.update(f)
      .update('\0')
      .update(readFileSync(path.join(SOURCE, f)))
      .update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function cacheBase() {
  return process.env.PAIRUX_CASCADE_DIR ? path.resolve(process.env.PAIRUX_CASCADE_DIR) : path.join(root, '.cache', 'cascade');
}

/** Where the bridge built from the current sources lives (whether or not it is built yet). */
export function cascadeBridgeBinary() {
  return path.join(cacheBase(), sourceHash(), CASCADE_BRIDGE_NAME);
}

/** Returns the bridge's path, building it first when its sources changed; throws with what to do when it cannot. */
export function ensureCascadeBridge({ log = (msg) => process.stderr.write(`[cascade] ${msg}\n`) } = {}) {
  const binary = cascadeBridgeBinary();
  if (existsSync(binary)) return binary;
  const go = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (go.error || go.status !== 0)
    throw new Error('building the cascade bridge needs Go 1.26 or newer, and `go` is not on PATH (see the LiveKit server build: the same Go builds both).');
  const dir = path.dirname(binary);
  mkdirSync(cacheBase(), { recursive: true });
  const staging = mkdtempSync(path.join(cacheBase(), '.build-'));
  log('building the cascade bridge (Go; a minute or two the first time, seconds with a warm Go cache)…');
  const started = Date.now();
  const env = {
    ...process.env,
    GOFLAGS: [process.env.GOFLAGS, '-mod=mod'].filter(Boolean).join(' '),
    GOWORK: 'off',
    GOTOOLCHAIN: process.env.GOTOOLCHAIN || 'auto',
  };
  const r = spawnSync('go', ['build', '-trimpath', '-o', path.join(staging, CASCADE_BRIDGE_NAME), '.'], {
    cwd: SOURCE,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0 || !existsSync(path.join(staging, CASCADE_BRIDGE_NAME))) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `\`go build\` of the cascade bridge failed (exit ${r.status ?? r.signal}); see its output above. It needs the Go module proxy (${process.env.GOPROXY || 'proxy.golang.org'}).`,
    );
  }
  try {
    renameSync(staging, dir);
  } catch (err) {
    // Another run finished first and put its build there: use that one.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(binary)) throw err;
  }
  log(`cascade bridge built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${binary}`);
  return binary;
}

if (process.argv[1] && path.basename(process.argv[1]) === 'cascade-bridge.mjs') {
  try {
    process.stdout.write(`${ensureCascadeBridge()}\n`);
  } catch (err) {
    console.error(`[cascade] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
