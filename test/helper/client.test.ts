/**
 * HelperProcess, the runner's handle on the helper: how it starts, fails to start, stops, and
 * comes back after the helper dies — with what the runner had asked for put back, requests made
 * meanwhile answered by the new helper, and input never queued across the gap.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { HelperProcess, resolveHelperCommand, type HelperExitInfo, type RestartInfo } from '../../helper/client';
import { helperOn } from './support/helper';
import { startXvfb, waitFor, type Xvfb } from './support/xvfb';

describe('helper client: resolving the command', () => {
  it('runs the TypeScript entry through tsx from source, and the bundle when asked for one that is there', () => {
    const source = resolveHelperCommand();
    assert.equal(source.from, 'source');
    assert.deepEqual(source.args.slice(0, 2), ['--import', 'tsx']);
    assert.match(source.args[2]!, /helper\/main\.ts$/);
    assert.equal(source.command, process.execPath);
    const noBundle = resolveHelperCommand({ from: 'bundle', root: source.cwd });
    assert.ok(
      noBundle.from === 'bundle' ? /dist\/helper\.js$/.test(noBundle.args[0]!) : noBundle.args[0] === '--import',
      'the bundle when built, else the source',
    );
  });
});

describe('helper client: HelperProcess', function () {
  this.timeout(60_000);
  let x: Xvfb;

  before(async () => {
    x = await startXvfb(800, 600);
  });
  after(async () => {
    await x?.stop();
  });

  it("rejects start() with CLOSED and the helper's last words when it cannot start", async () => {
    const helper = new HelperProcess({
      env: x.env,
      command: { command: process.execPath, args: ['-e', 'console.error("no such helper"); process.exit(3)'], cwd: process.cwd(), env: {}, from: 'source' },
      startTimeoutMs: 3000,
    });
    const err = await helper.start().catch((e: unknown) => e);
    assert.ok(err instanceof PairuxError);
    assert.equal(err.code, ErrorCode.Closed);
    assert.match(err.message, /did not start.*no such helper/);
    await helper.stop();
  });

  it('refuses requests before start() and after stop(), and drops input rather than queueing it', async () => {
    const helper = helperOn(x);
    await assert.rejects(helper.inputStats(), (e: unknown) => e instanceof PairuxError && e.code === ErrorCode.Closed);
    assert.equal(helper.sendInput('a', { t: 'move', seq: 1, x: 0, y: 0 }), false);
    await helper.start();
    const exits: HelperExitInfo[] = [];
    helper.on('exit', (e) => exits.push(e));
    await helper.stop();
    await assert.rejects(helper.inputStats(), (e: unknown) => e instanceof PairuxError && e.code === ErrorCode.Closed);
    await waitFor(() => exits.length === 1, 3000, 'the exit event');
    assert.equal(exits[0]!.reason, 'stopped');
    assert.equal(exits[0]!.code, 0);
  });

  it('does not restart when told not to: says the helper is gone', async () => {
    const helper = helperOn(x, { autoRestart: false });
    await helper.start();
    const exits: HelperExitInfo[] = [];
    helper.on('exit', (e) => exits.push(e));
    process.kill(helper.pid!, 'SIGKILL');
    await waitFor(() => exits.length === 1, 3000, 'the exit event');
    assert.match(exits[0]!.reason, /killed by SIGKILL/);
    await assert.rejects(helper.inputStats(), (e: unknown) => e instanceof PairuxError && e.code === ErrorCode.Closed);
    await helper.stop();
  });

  it('answers requests made while it restarts from the new helper, and takes over from the warm standby quickly', async () => {
    const helper = helperOn(x);
    const restarts: RestartInfo[] = [];
    helper.on('restarted', (r) => restarts.push(r));
    try {
      await helper.start();
      await helper.grant('g');
      await waitFor(() => helper.standbyReady, 20_000, 'the standby to load');
      const old = helper.pid!;
      process.kill(old, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 20));
      const stats = await helper.inputStats(); // issued mid-restart
      assert.equal(stats.granted, 'g');
      assert.notEqual(helper.pid, old);
      assert.equal(restarts.length, 1);
      assert.ok(restarts[0]!.downtimeMs < 1000, `downtime ${restarts[0]!.downtimeMs.toFixed(0)} ms`);
      assert.ok(
        restarts[0]!.stderrTail.some((l) => l.includes(`[helper ${old}]`)),
        "the dead helper's last log lines come along",
      );
    } finally {
      await helper.stop();
    }
  });

  it('a request already sent to a helper that dies is answered by the restarted one, not lost', async () => {
    const helper = helperOn(x);
    try {
      await helper.start();
      await helper.grant('g');
      const old = helper.pid!;
      process.kill(old, 'SIGKILL');
      // No pause: this goes down the dying helper's link before anyone knows it is dead.
      const stats = await helper.inputStats();
      assert.equal(stats.granted, 'g');
      assert.notEqual(helper.pid, old);
    } finally {
      await helper.stop();
    }
  });

  it('backs off when the helper keeps dying soon after starting (at once, then 100 ms, 200 ms, … at most 1 s)', async () => {
    const helper = helperOn(x, { standby: false });
    const restarts: RestartInfo[] = [];
    const exits: HelperExitInfo[] = [];
    helper.on('restarted', (r) => restarts.push(r));
    helper.on('exit', (e) => exits.push(e));
    try {
      await helper.start();
      for (let i = 0; i < 3; i++) {
        process.kill(helper.pid!, 'SIGKILL');
        await waitFor(() => restarts.length === i + 1, 5000, `restart ${i + 1}`);
      }
      assert.deepEqual(
        restarts.map((r) => r.attempt),
        [1, 2, 3],
        'quick deaths in a row count up',
      );
      assert.ok(restarts[2]!.downtimeMs >= 200, 'the third restart waited (100 ms, then 200 ms)');
      assert.deepEqual(exits, []);
    } finally {
      await helper.stop();
    }
  });
});
