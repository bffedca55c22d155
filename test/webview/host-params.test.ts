/**
 * The host page's parameters (webview/pages/host-params.ts) for the tier machinery: the
 * allocator switch bench:tiers compares against, and the busy generated screen it shares. A bad
 * value is refused with words, never taken as the default.
 */
import assert from 'node:assert/strict';
import { readHostParams } from '../../webview/pages/host-params';

const base = 'sid=s1&token=t1&name=Host';

describe('webview: the host page reads its allocator and busy-screen parameters', () => {
  it('by default the allocator caps RTP guests and the generated screen is quiet', () => {
    const r = readHostParams(base);
    assert.ok(r.ok);
    assert.equal(r.params.allocator, true);
    assert.equal(r.params.scroll, 0);
    assert.equal(r.params.simulcastLayers, 2);
  });

  it('layers=3 adds the standard tier’s simulcast layer (bench:tiers and bench:latency --layers compare them)', () => {
    const r = readHostParams(`${base}&layers=3`);
    assert.ok(r.ok);
    assert.equal(r.params.simulcastLayers, 3);
  });

  it('alloc=0 turns the allocator off; scroll=10 makes the generated screen busy, its code scrolling 10 lines a second', () => {
    const r = readHostParams(`${base}&alloc=0&scroll=10`);
    assert.ok(r.ok);
    assert.equal(r.params.allocator, false);
    assert.equal(r.params.scroll, 10);
  });

  it('anything else is refused, naming the parameter', () => {
    for (const [q, words] of [
      ['alloc=off', /alloc must be 0 or 1 \(got off\)/],
      ['scroll=yes', /scroll must be an integer from 0 to 240/],
      ['scroll=-1', /scroll must be an integer from 0 to 240/],
      ['layers=4', /layers must be 2 or 3 \(got 4\)/],
    ] as const) {
      const r = readHostParams(`${base}&${q}`);
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.message, words);
    }
  });
});
