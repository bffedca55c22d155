/** The SFU engines' retries: one at a time, each waiting twice the last up to a cap, back to the least after a success. */
import assert from 'node:assert/strict';
import { RetryTimer } from '../../webview/engine/retry-timer';

/** A clock the test runs by hand: what was asked to wait how long. */
function manualTimers() {
  const pending: Array<{ run: () => void; ms: number }> = [];
  const set = (run: () => void, ms: number) => {
    pending.push({ run, ms });
    return setTimeout(() => undefined, 0);
  };
  const fire = () => pending.shift()!.run();
  return { pending, set, fire };
}

describe('webview: retry timer', () => {
  it('doubles the wait up to the cap, keeps one retry pending, and waits the least again after reset', () => {
    const clock = manualTimers();
    const t = new RetryTimer(1000, 5000, clock.set);
    const waits: number[] = [];
    let runs = 0;
    for (let i = 0; i < 5; i++) {
      t.schedule(() => runs++);
      t.schedule(() => assert.fail('a second retry while one is pending'));
      assert.equal(clock.pending.length, 1, 'one pending');
      waits.push(clock.pending[0]!.ms);
      clock.fire();
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 5000, 5000]);
    assert.equal(runs, 5);
    t.reset();
    t.schedule(() => runs++);
    assert.equal(clock.pending[0]!.ms, 1000);
  });

  it('a cancelled retry never runs, and another can be scheduled', async () => {
    const t = new RetryTimer(10, 10);
    let ran = 0;
    t.schedule(() => ran++);
    t.cancel();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(ran, 0);
    await new Promise<void>((done) => t.schedule(done));
  });
});
