/**
 * Whether this bundle carries the pages' test hooks (`window.pairuxHost`, `window.pairuxViewer`).
 * esbuild.config.mjs defines `__PAIRUX_TEST_HOOKS__`: false for every bundle the server serves or
 * the .vsix packs, so the hooks are dropped as dead code; true only for dist/test-pages.
 */
declare const __PAIRUX_TEST_HOOKS__: boolean | undefined;

export const TEST_HOOKS: boolean = typeof __PAIRUX_TEST_HOOKS__ === 'boolean' && __PAIRUX_TEST_HOOKS__;
