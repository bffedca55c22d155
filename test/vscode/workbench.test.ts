/**
 * The extension tests (test/vscode/suite/) inside a real VS Code workbench: code-server +
 * Debian's Chromium. The inner suite runs once in `before`; each inner test then becomes one
 * test here, so npm test counts (and fails on) every one of them. See test/vscode/README.md.
 */
import assert from 'node:assert/strict';
import Mocha from 'mocha';
import { runInnerSuite, type InnerRun } from './support/workbench';
import { startXvfb, type Xvfb } from '../helper/support/xvfb';
import { startWayland } from '../helper/support/wayland';
import { startLocalLiveKit } from '../../demo/livekit-server';
import { INNER_GREP_ENV, type TestResult } from './support/ui-protocol';

function innerTest(result: TestResult, prefix = ''): Mocha.Test {
  return new Mocha.Test(`${prefix}${result.fullTitle}`, function (this: Mocha.Context) {
    if (result.state === 'pending') this.skip();
    if (result.state === 'failed') {
      const err = new Error(result.error?.message ?? 'failed (no message)');
      // The inner stack points into the bundle; it is still the best location there is.
      err.stack = result.error?.stack ?? err.message;
      throw err;
    }
  });
}

describe('VS Code workbench (code-server)', function () {
  // The inner run's tests are added to this suite from inside a hook, where `this` is the hook's context.
  // eslint-disable-next-line @typescript-eslint/no-this-alias
  const suite = this;
  let run: InnerRun | undefined;
  let screen: Xvfb | undefined;

  before(async function () {
    this.timeout(Number(process.env.PAIRUX_VSCODE_TIMEOUT_MS ?? 10 * 60_000) + 60_000);
    // The host's screen for the session tests: the helper the extension spawns captures it and
    // injects into it; the inner tests put X clients on it and read back what landed.
    screen = await startXvfb(1280, 720);
    // A real LiveKit for the SFU tests; they configure the extension with it through its UI.
    const livekit = await startLocalLiveKit();
    try {
      run = await runInnerSuite({
        grep: process.env[INNER_GREP_ENV] ?? NOT_WAYLAND_ONLY,
        env: { DISPLAY: screen.display, PAIRUX_TEST_LIVEKIT: JSON.stringify({ url: livekit.url, apiKey: livekit.apiKey, apiSecret: livekit.apiSecret }) },
      });
    } finally {
      await livekit.stop();
      await screen.stop();
    }
    for (const r of run.results) suite.addTest(innerTest(r));
  });

  // The one test defined up front: mocha skips a suite with no tests before its hooks run.
  it('runs the extension tests in the workbench and gets an exit code that matches their results', () => {
    assert.ok(run, 'the inner suite did not run');
    const failed = run.results.filter((r) => r.state === 'failed');
    const tail = run.log.slice(-30).join('\n');
    assert.ok(run.results.length > 0, `no inner test reported a result (grep matched none, or the suite did not load); log ${run.logFile}:\n${tail}`);
    assert.equal(run.exitCode, failed.length ? 1 : 0, `workbench exit ${run.exitCode} with ${failed.length} failed; log ${run.logFile}:\n${tail}`);
  });
});

/**
 * The hosting tests again on a Wayland desktop (headless sway, test/helper/support/wayland.ts):
 * code-server, and so the extension host and the helper it spawns, run as the desktop's user,
 * as they would on a real one (the portal will not serve a process it cannot inspect). Start
 * from the palette shares through the portal, and a browser viewer sees the desktop's terminal
 * (no X server runs and DISPLAY is empty: the portal is the only way that picture can come).
 */
const WAYLAND_HOSTING = 'PairUX sessions in VS Code (before a session|Start from the palette|a browser viewer opening the link|\\[Wayland\\])';
/** The X11 pass: every inner test but those for Wayland only. */
const NOT_WAYLAND_ONLY = '^(?!.*\\[Wayland\\])';

describe('VS Code workbench on a Wayland desktop (code-server as its user)', function () {
  // eslint-disable-next-line @typescript-eslint/no-this-alias
  const suite = this;
  let run: InnerRun | undefined;

  before(async function () {
    this.timeout(Number(process.env.PAIRUX_VSCODE_TIMEOUT_MS ?? 10 * 60_000) + 60_000);
    const desktop = await startWayland({ width: 1280, height: 720 });
    try {
      const env = Object.fromEntries(Object.entries(desktop.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
      run = await runInnerSuite({ grep: WAYLAND_HOSTING, env: { ...env, DISPLAY: '' }, codeServer: { runAs: { uid: 65534, gid: 65534 } } });
    } finally {
      await desktop.stop();
    }
    for (const r of run.results) suite.addTest(innerTest(r, 'on Wayland: '));
  });

  it('runs the hosting tests in the workbench on Wayland, and gets an exit code that matches their results', () => {
    assert.ok(run, 'the inner suite did not run');
    const failed = run.results.filter((r) => r.state === 'failed');
    const tail = run.log.slice(-30).join('\n');
    assert.equal(run.results.length, 4, `the four hosting tests ran (grep ${WAYLAND_HOSTING}); log ${run.logFile}:\n${tail}`);
    assert.equal(run.exitCode, failed.length ? 1 : 0, `workbench exit ${run.exitCode} with ${failed.length} failed; log ${run.logFile}:\n${tail}`);
  });
});
