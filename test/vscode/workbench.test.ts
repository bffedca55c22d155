/**
 * The extension tests (test/vscode/suite/) inside a real VS Code workbench: code-server +
 * Debian's Chromium. The inner suite runs once in `before`; each inner test then becomes one
 * test here, so npm test counts (and fails on) every one of them. See test/vscode/README.md.
 */
import assert from 'node:assert/strict';
import Mocha from 'mocha';
import { runInnerSuite, type InnerRun } from './support/workbench';
import { startXvfb, type Xvfb } from '../helper/support/xvfb';
import { startLocalLiveKit } from '../../demo/livekit-server';
import type { TestResult } from './support/ui-protocol';

function innerTest(result: TestResult): Mocha.Test {
  return new Mocha.Test(result.fullTitle, function (this: Mocha.Context) {
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
