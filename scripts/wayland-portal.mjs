#!/usr/bin/env node
// Builds the xdg-desktop-portal-wlr the Wayland tests run (test/support/wayland-session.ts) into a
// gitignored cache. Debian's own 0.7.0 refuses ScreenCast on a machine without a GPU (this one,
// CI): its start demands a DMA-BUF format, which headless wlroots with the pixman renderer does
// not offer (upstream emersion/xdg-desktop-portal-wlr#289), and it copies a stream's first frame
// with damage tracking, so a new stream on a still screen never gets a frame. So the harness
// rebuilds Debian's source package (apt-get source, from the registry apt already uses) with two
// changes: a shared-memory-only format is accepted, and a stream's first frame is copied without
// waiting for damage. Users with a GPU run the stock portal; the tests that rely on this say so.
// Plain Node with no dependencies, called by bootstrap.mjs; idempotent (a built binary is kept).
//
//   node scripts/wayland-portal.mjs        build if needed, print the binary's path
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

export const PORTAL_PACKAGE = 'xdg-desktop-portal-wlr';
export const PORTAL_VERSION = '0.7.0-1';

/** The Debian packages the build needs (bootstrap installs them for `npm test`). */
export const PORTAL_BUILD_APT = [
  'dpkg-dev',
  'meson',
  'ninja-build',
  'gcc',
  'pkg-config',
  'libpipewire-0.3-dev',
  'libwayland-dev',
  'wayland-protocols',
  'libinih-dev',
  'libgbm-dev',
  'libdrm-dev',
  'libsystemd-dev',
];

/** Each change: the file, the text it must find (exactly once), and what replaces it. */
const PATCHES = [
  {
    file: 'src/screencast/screencast.c',
    find: `	if (cast->screencopy_frame_info[WL_SHM].format == DRM_FORMAT_INVALID ||
			(cast->ctx->state->screencast_version >= 3 &&
			 cast->screencopy_frame_info[DMABUF].format == DRM_FORMAT_INVALID)) {`,
    replace: `	if (cast->screencopy_frame_info[WL_SHM].format == DRM_FORMAT_INVALID) {`,
  },
  {
    file: 'src/screencast/screencast.c',
    find: `	cast->avoid_dmabufs = false;`,
    replace: `	cast->avoid_dmabufs = true;`,
  },
  {
    file: 'src/screencast/wlr_screencast.c',
    find: `	zwlr_screencopy_frame_v1_copy_with_damage(frame, cast->current_frame.xdpw_buffer->buffer);`,
    replace: `	if (cast->seq == 0) {
		zwlr_screencopy_frame_v1_copy(frame, cast->current_frame.xdpw_buffer->buffer);
	} else {
		zwlr_screencopy_frame_v1_copy_with_damage(frame, cast->current_frame.xdpw_buffer->buffer);
	}`,
  },
];

function patchHash() {
  return createHash('sha256')
    .update(JSON.stringify([PORTAL_VERSION, PATCHES]))
    .digest('hex')
    .slice(0, 12);
}

function cacheBase() {
  return process.env.PAIRUX_WAYLAND_DIR ? path.resolve(process.env.PAIRUX_WAYLAND_DIR) : path.join(root, '.cache', 'wayland');
}

/** Where the patched portal lives once built (whether or not it is there yet). */
export function waylandPortalBinary() {
  return path.join(cacheBase(), `${PORTAL_PACKAGE}-${PORTAL_VERSION}-${patchHash()}`, PORTAL_PACKAGE);
}

function run(command, args, cwd, what) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.error || r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${what} failed (${command} ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}`}):\n${output}`);
  }
  return r.stdout;
}

/** Returns the patched portal's path, building it first when needed; throws with what to do when it cannot. */
export function ensureWaylandPortal({ log = (msg) => process.stderr.write(`[wayland] ${msg}\n`) } = {}) {
  const binary = waylandPortalBinary();
  if (existsSync(binary)) return binary;
  if (!existsSync('/usr/bin/apt-get'))
    throw new Error(`the Wayland tests' portal is built from Debian's ${PORTAL_PACKAGE} source package, and this is not a Debian-like system`);
  mkdirSync(cacheBase(), { recursive: true });
  const work = mkdtempSync(path.join(cacheBase(), '.build-'));
  const started = Date.now();
  log(`building ${PORTAL_PACKAGE} ${PORTAL_VERSION} with the headless-screencast changes (seconds)…`);
  try {
    // A sources list of our own: the machine's may have no deb-src line, and is not ours to change.
    const lists = path.join(work, 'lists');
    mkdirSync(path.join(lists, 'partial'), { recursive: true });
    const sources = path.join(work, 'sources.list');
    const codename = /VERSION_CODENAME=(\w+)/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'bookworm';
    writeFileSync(sources, `deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${codename} main\n`);
    const apt = ['-o', `Dir::Etc::SourceList=${sources}`, '-o', 'Dir::Etc::SourceParts=/dev/null', '-o', `Dir::State::Lists=${lists}`];
    run('apt-get', [...apt, 'update'], work, 'reading the Debian source index');
    const src = path.join(work, 'src');
    mkdirSync(src);
    run('apt-get', [...apt, 'source', '--download-only', `${PORTAL_PACKAGE}=${PORTAL_VERSION}`], src, `downloading the ${PORTAL_PACKAGE} source package`);
    const orig = readdirSync(src).find((f) => f.endsWith('.orig.tar.xz') || f.endsWith('.orig.tar.gz'));
    if (!orig) throw new Error(`no upstream tarball in the ${PORTAL_PACKAGE} source package (${readdirSync(src).join(', ')})`);
    run('tar', ['xf', orig], src, 'unpacking the source');
    const tree = path.join(
      src,
      readdirSync(src).find((f) => f.startsWith(`${PORTAL_PACKAGE}-`) && !f.includes('.tar')),
    );
    for (const p of PATCHES) {
      const file = path.join(tree, p.file);
      const text = readFileSync(file, 'utf8');
      if (text.split(p.find).length !== 2) throw new Error(`${p.file} no longer has the text the harness changes: ${p.find.trim().split('\n')[0]}`);
      writeFileSync(file, text.replace(p.find, p.replace));
    }
    run('meson', ['setup', 'build', '-Dsd-bus-provider=libsystemd', '-Dman-pages=disabled', '--buildtype=release'], tree, 'configuring the portal (meson)');
    run('ninja', ['-C', 'build'], tree, 'compiling the portal');
    mkdirSync(path.dirname(binary), { recursive: true });
    renameSync(path.join(tree, 'build', PORTAL_PACKAGE), binary);
    log(`${PORTAL_PACKAGE} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(ensureWaylandPortal());
  } catch (err) {
    console.error(`[wayland] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
