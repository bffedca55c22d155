// One config building every bundle. `node esbuild.config.mjs` builds once; `--watch` rebuilds.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Node programs: dependencies stay in node_modules (the extension bundle will inline them). */
const node = {
  platform: 'node',
  format: 'esm',
  target: 'node20',
  bundle: true,
  packages: 'external',
  sourcemap: 'linked',
  absWorkingDir: root,
  logLevel: 'warning',
};

/** Code that runs in Chromium: the browser viewer, the host page, VS Code webviews. */
const browser = {
  platform: 'browser',
  format: 'esm',
  target: 'chrome120',
  bundle: true,
  // zod + lit make the pages ≈ 850 KB unminified; the viewer should open fast over a real network.
  minify: true,
  // The server serves these bundles to anyone with a link: no `sourceMappingURL` in them and no
  // sources in the maps (which stay beside them on disk for a developer's own debugger).
  sourcemap: 'external',
  sourcesContent: false,
  // The pages' test hooks (window.pairuxHost, window.pairuxViewer: raw input that skips the
  // guest's own checks) are compiled out of everything served or packed; see testPages below.
  define: { __PAIRUX_TEST_HOOKS__: 'false' },
  absWorkingDir: root,
  logLevel: 'warning',
};

/**
 * The VS Code extension host loads CommonJS; the server code it embeds reads `import.meta.url`
 * to find the page bundles, so that is mapped to the bundle's own file URL.
 */
const extensionHost = {
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  bundle: true,
  external: ['vscode', 'robotjs'],
  sourcemap: 'linked',
  absWorkingDir: root,
  logLevel: 'warning',
  banner: { js: "const __pairuxImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__pairuxImportMetaUrl' },
  outExtension: { '.js': '.cjs' },
};

export const bundles = [
  ...(existsSync(`${root}extension/extension.ts`) ? [{ ...extensionHost, entryPoints: { extension: 'extension/extension.ts' }, outdir: 'dist' }] : []),
  // Extension tests run inside the extension host (test/vscode/README.md): mocha comes from node_modules there.
  ...(existsSync(`${root}test/vscode/suite/index.ts`)
    ? [
        {
          ...extensionHost,
          external: ['vscode', 'mocha'],
          entryPoints: ['test/vscode/suite/index.ts', 'test/vscode/suite/**/*.test.ts'],
          outbase: 'test/vscode/suite',
          outdir: 'dist/vscode-suite',
        },
      ]
    : []),
  { ...node, entryPoints: { server: 'server/main.ts', demo: 'demo/main.ts' }, outdir: 'dist' },
  // The helper ships inside the .vsix without node_modules: everything is inlined but robotjs and
  // koffi (native addons, shipped beside it). Bundled CommonJS packages need a real `require`.
  {
    ...node,
    packages: undefined,
    external: ['robotjs', 'koffi'],
    banner: { js: "import { createRequire as __pairuxCreateRequire } from 'node:module'; const require = __pairuxCreateRequire(import.meta.url);" },
    entryPoints: { helper: 'helper/main.ts' },
    outdir: 'dist',
  },
  {
    ...browser,
    entryPoints: {
      viewer: 'webview/pages/viewer.ts',
      host: 'webview/pages/host.ts',
      probe: 'webview/probe/probe.ts',
      // The same pages inside VS Code webviews, booted by the extension over postMessage.
      'vscode-host': 'webview/vscode/host-panel.ts',
      'vscode-guest': 'webview/vscode/guest-panel.ts',
      // End-to-end encryption's encoded-transform worker, loaded beside the page; LiveKit's own for the SFU path.
      'e2ee-worker': 'webview/engine/e2ee/e2ee-worker.ts',
      'livekit-e2ee-worker': 'livekit-client/e2ee-worker',
    },
    outdir: 'dist/webview',
  },
  // The same browser pages with their test hooks, for tests and benches only: a server serves this
  // folder instead of dist/webview when told to (`webviewDist` / PAIRUX_PAGES_DIR); .vscodeignore
  // never packs it. Not minified: quicker to build and to read in a failing test.
  {
    ...browser,
    minify: false,
    define: { __PAIRUX_TEST_HOOKS__: 'true' },
    entryPoints: {
      viewer: 'webview/pages/viewer.ts',
      host: 'webview/pages/host.ts',
      probe: 'webview/probe/probe.ts',
      'e2ee-worker': 'webview/engine/e2ee/e2ee-worker.ts',
      'livekit-e2ee-worker': 'livekit-client/e2ee-worker',
      'e2ee-probe': 'webview/probe/e2ee-probe.ts',
    },
    outdir: 'dist/test-pages',
  },
  { entryPoints: ['webview/pages/*.html'], loader: { '.html': 'copy' }, outdir: 'dist/test-pages', absWorkingDir: root, logLevel: 'warning' },
  // Bench-only page code (the bare WebRTC floor), served by the bench itself.
  { ...browser, entryPoints: { floor: 'bench/pages/floor.ts', quality: 'bench/pages/quality.ts', painter: 'bench/pages/painter.ts' }, outdir: 'dist/bench' },
  // The pages' HTML shells are copied as they are; their scripts and CSS come from the bundles above.
  { entryPoints: ['webview/pages/*.html'], loader: { '.html': 'copy' }, outdir: 'dist/webview', absWorkingDir: root, logLevel: 'warning' },
];

export async function build({ watch = false } = {}) {
  if (watch) {
    for (const b of bundles) await (await esbuild.context(b)).watch();
    return;
  }
  await Promise.all(bundles.map((b) => esbuild.build(b)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await build({ watch: process.argv.includes('--watch') });
}
