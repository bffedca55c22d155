#!/usr/bin/env node
// `npm run package`: the bundles, then the .vsix for this platform with @vscode/vsce. The helper
// carries robotjs's native binary, so the package is per platform (`--target linux-x64`, …);
// everything else is bundled, so npm dependencies are not packed (only robotjs and its loader, and
// koffi on Linux, listed in .vscodeignore). Prints the file and its size.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const target =
  process.argv.find((a) => a.startsWith('--target='))?.slice('--target='.length) ??
  `${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch}`;
const { version } = JSON.parse((await import('node:fs')).readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.join(root, `pairux-${target}-${version}.vsix`);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[package] ${cmd} ${args.join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

run(process.execPath, ['scripts/bootstrap.mjs', '--build-only', '--quiet']);
// What the webviews load at run time, not through an import: a package without one of them installs
// and then fails only when a session needs it (the E2EE workers: only in an encrypted session).
for (const file of ['dist/webview/e2ee-worker.js', 'dist/webview/livekit-e2ee-worker.js', 'dist/webview/vscode-host.js', 'dist/webview/vscode-guest.js']) {
  if (!existsSync(path.join(root, file))) {
    console.error(`[package] ${file} was not built; see esbuild.config.mjs`);
    process.exit(1);
  }
}
// The helper (dist/helper.js) loads robotjs with require, which looks in dist/node_modules first:
// only the prebuilt binary for this target goes in, with its loader.
const vendor = path.join(root, 'dist', 'node_modules');
rmSync(vendor, { recursive: true, force: true });
const robot = path.join(root, 'node_modules', 'robotjs');
const prebuilt = path.join(robot, 'prebuilds', target);
if (!existsSync(prebuilt)) {
  console.error(`[package] robotjs has no prebuilt binary for ${target} (it has: ${readdirSync(path.join(robot, 'prebuilds')).join(', ')})`);
  process.exit(1);
}
for (const file of ['package.json', 'index.js', 'LICENSE.md']) cpSync(path.join(robot, file), path.join(vendor, 'robotjs', file));
cpSync(prebuilt, path.join(vendor, 'robotjs', 'prebuilds', target), { recursive: true });
cpSync(path.join(root, 'node_modules', 'node-gyp-build'), path.join(vendor, 'node-gyp-build'), { recursive: true });
// koffi sets the helper's Xlib error handler (helper/native/x-error-handler.ts): X11 targets only,
// with only this target's binary (koffi names platforms its own way; Alpine is musl).
const koffiDir = {
  'linux-x64': 'linux_x64',
  'linux-arm64': 'linux_arm64',
  'linux-armhf': 'linux_armhf',
  'alpine-x64': 'musl_x64',
  'alpine-arm64': 'musl_arm64',
}[target];
if (koffiDir) {
  const koffi = path.join(root, 'node_modules', 'koffi');
  for (const file of ['package.json', 'index.js', 'LICENSE.txt']) cpSync(path.join(koffi, file), path.join(vendor, 'koffi', file));
  cpSync(path.join(koffi, 'build', 'koffi', koffiDir), path.join(vendor, 'koffi', 'build', 'koffi', koffiDir), { recursive: true });
}
const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
run(process.execPath, [
  vsce,
  'package',
  '--target',
  target,
  '--no-dependencies',
  '--readme-path',
  'extension/README.md',
  '--skip-license',
  '--allow-missing-repository',
  '--no-update-package-json',
  '--out',
  out,
]);
const bytes = statSync(out).size;
console.log(`[package] ${path.relative(root, out)}: ${(bytes / 1024 / 1024).toFixed(2)} MiB (${bytes} bytes), target ${target}`);
