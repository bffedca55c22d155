/**
 * The page bundles with their test hooks (`window.pairuxHost`, `window.pairuxViewer`), which
 * `npm run build` puts in dist/test-pages beside the product's dist/webview (which has none; see
 * esbuild.config.mjs). Every server a test, bench or fuzz rig starts for pages it reads through
 * those hooks serves this folder: these settings, or the same as PAIRUX_* variables.
 */
import { fileURLToPath } from 'node:url';

export const TEST_PAGES_DIR = fileURLToPath(new URL('../../dist/test-pages', import.meta.url));

/** For `startControlPlane` (spread before a test's own settings). */
export const TEST_PAGES = { webviewDist: TEST_PAGES_DIR } as const;

/** For a server started as its own process (server/main.ts, dist/server.js). */
export const TEST_PAGES_ENV = { PAIRUX_PAGES_DIR: TEST_PAGES_DIR } as const;
