/** A webview whose page never starts (VS Code's service worker did not serve its script) is loaded again, then the user is told. */
import assert from 'node:assert/strict';
import { watchPanelLoad } from '../../extension/core/panel-load-watch';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rig(visible = () => true) {
  const reloads: number[] = [];
  const failures: number[] = [];
  const watch = watchPanelLoad({ timeoutMs: 30, attempts: 2, visible, reload: (n) => reloads.push(n), failed: (n) => failures.push(n) });
  return { watch, reloads, failures };
}

describe('extension: panel load watch', () => {
  it('a page that speaks in time is never reloaded', async () => {
    const { watch, reloads, failures } = rig();
    await sleep(10);
    watch.heard();
    await sleep(120);
    assert.deepEqual([reloads, failures], [[], []]);
  });

  it('a silent page is reloaded, and the reload that speaks ends the watch', async () => {
    const { watch, reloads, failures } = rig();
    await sleep(45);
    assert.deepEqual(reloads, [1]);
    watch.heard();
    await sleep(120);
    assert.deepEqual([reloads, failures], [[1], []]);
  });

  it('after the last reload stays silent too, the user is told once', async () => {
    const { reloads, failures } = rig();
    await sleep(200);
    assert.deepEqual([reloads, failures], [[1, 2], [2]]);
  });

  it('time in a background tab does not count (such a webview may not load until shown)', async () => {
    let shown = false;
    const { watch, reloads } = rig(() => shown);
    await sleep(120);
    assert.deepEqual(reloads, []);
    shown = true;
    await sleep(45);
    assert.equal(reloads[0], 1, 'reloaded once shown');
    watch.dispose();
  });

  it('a closed panel is not reloaded', async () => {
    const { watch, reloads, failures } = rig();
    watch.dispose();
    await sleep(120);
    assert.deepEqual([reloads, failures], [[], []]);
  });
});
