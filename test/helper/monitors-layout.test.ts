/**
 * The choices about monitors, without an X server: how the server's report is tidied, what a
 * name and a region mean, and what a layout change does to a capture (keep, move, stop).
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { captureTarget, decide } from '../../helper/capture/monitor-watch';
import { tidyMonitors, type MonitorLayout } from '../../helper/capture/monitors';

const A = { name: 'A', x: 0, y: 0, width: 1920, height: 1080, primary: false };
const B = { name: 'B', x: 1920, y: 0, width: 1280, height: 1024, primary: true };
const layout = (screen: { width: number; height: number }, ...monitors: (typeof A)[]): MonitorLayout => ({ screen, monitors: tidyMonitors(screen, monitors) });
const both = layout({ width: 3200, height: 1080 }, A, B);

describe('helper: monitor choices', () => {
  it('tidies the report: primary first, clipped to the screen, slivers dropped, one primary', () => {
    const twoPrimaries = tidyMonitors({ width: 3200, height: 1080 }, [A, B, { ...A, name: 'C', primary: true }]);
    assert.deepEqual(
      twoPrimaries.map((m) => [m.name, m.primary]),
      [
        ['B', true],
        ['A', false],
        ['C', false],
      ],
    );
    // B reaches 24 rows below a 1080-row screen; a monitor wholly past the edge is none.
    const clipped = tidyMonitors({ width: 3200, height: 1000 }, [B, { ...A, name: 'OFF', x: 3195 }]);
    assert.deepEqual(clipped, [{ ...B, height: 1000 }]);
  });

  it('a monitor and a region relative to it become one screen rectangle', () => {
    assert.deepEqual(captureTarget(both, 'B', undefined).rect, { x: 1920, y: 0, width: 1280, height: 1024 });
    assert.deepEqual(captureTarget(both, 'B', { x: 100, y: 50, width: 640, height: 480 }).rect, { x: 2020, y: 50, width: 640, height: 480 });
    assert.deepEqual(captureTarget(both, undefined, undefined).rect, { x: 0, y: 0, width: 3200, height: 1080 });
    assert.throws(
      () => captureTarget(both, 'C', undefined),
      (e: unknown) => e instanceof PairuxError && e.code === ErrorCode.BadMessage && (e.data?.monitors as string[]).join() === 'B,A',
    );
  });

  it('a layout change keeps, moves or stops the capture', () => {
    const onB = captureTarget(both, 'B', { x: 0, y: 0, width: 1280, height: 1000 });
    assert.deepEqual(decide(onB, both), { kind: 'keep' });
    // B now smaller: the region no longer fits, so all of B is shared.
    const smaller = decide(onB, layout({ width: 3200, height: 1080 }, A, { ...B, height: 720 }));
    assert.equal(smaller.kind, 'move');
    assert.deepEqual(smaller.kind === 'move' && smaller.shared.rect, { x: 1920, y: 0, width: 1280, height: 720 });
    assert.match(smaller.kind === 'move' ? smaller.message : '', /no longer fits: sharing all of it/);
    // B unplugged: A takes over (the primary is gone, so the first left).
    const gone = decide(onB, layout({ width: 1920, height: 1080 }, A));
    assert.deepEqual(gone.kind === 'move' && gone.shared.rect, { x: 0, y: 0, width: 1920, height: 1080 });
    assert.deepEqual(decide(onB, layout({ width: 1920, height: 1080 })).kind, 'stop');
    // A region of the whole screen: kept while it fits, stopped when the screen shrinks under it.
    const region = captureTarget(both, undefined, { x: 2000, y: 0, width: 800, height: 600 });
    assert.deepEqual(decide(region, both), { kind: 'keep' });
    assert.equal(decide(region, layout({ width: 1920, height: 1080 }, A)).kind, 'stop');
    // The whole screen follows a resize in the capturer itself.
    assert.deepEqual(decide(captureTarget(both, undefined, undefined), layout({ width: 1920, height: 1080 }, A)), { kind: 'keep' });
  });
});
