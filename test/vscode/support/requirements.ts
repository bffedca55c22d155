/**
 * What an inner test needs from the run that hosts it, checked up front. A missing part fails
 * the test and names the part: a skip would let a test that never ran pass unseen, and every
 * mocha here runs with forbidPending.
 */
const PARTS = {
  ui: 'the workbench UI driver (PAIRUX_UI_DRIVER), which only the code-server harness test/vscode/workbench.test.ts provides (test:electron has none)',
  display:
    'a screen for the helper (an X display, DISPLAY, or a Wayland desktop, WAYLAND_DISPLAY), which test/vscode/workbench.test.ts starts (Xvfb, or headless sway)',
  livekit: 'a LiveKit server (PAIRUX_TEST_LIVEKIT), which test/vscode/workbench.test.ts starts',
} as const;

export type Part = keyof typeof PARTS;

/** Throws, naming every part that is missing: `requireParts({ ui: ui.available, display: Boolean(process.env.DISPLAY) })`. */
export function requireParts(have: Partial<Record<Part, boolean>>): void {
  const missing = (Object.keys(have) as Part[]).filter((part) => !have[part]).map((part) => PARTS[part]);
  if (missing.length) throw new Error(`this test cannot run here: it needs ${missing.join('; and ')}`);
}
