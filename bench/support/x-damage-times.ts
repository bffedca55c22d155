/**
 * When each change to the frame marker's box reached the X server: a DAMAGE watcher of the
 * bench's own on the root window, that subtracts after every report so each later paint is
 * reported again. Times are the server's own (its millisecond clock, put on the epoch by the
 * smallest receive − server gap seen), so this busy process reading reports late does not count. It splits painted → grabbed into the application's part (painted → on X: a
 * browser's own frame production) and capture's (on X → grabbed), which is what the helper can
 * shorten.
 */
import { X11Connection } from '../../helper/native/x11-connection';
import { markerGeometry } from '../../webview/engine/frames/frame-marker';

export interface MarkerDamage {
  /** Epoch ms of every damage report touching the marker's box since the last call, in order. */
  take(): number[];
  close(): void;
}

export async function watchMarkerDamage(env: NodeJS.ProcessEnv, width: number): Promise<MarkerDamage> {
  const conn = await X11Connection.open(env, { shm: false });
  const g = markerGeometry(width);
  let serverTimes: number[] = [];
  let offset = Infinity;
  conn.watchDamage((area, _geometry, serverTime = 0) => {
    offset = Math.min(offset, performance.timeOrigin + performance.now() - serverTime);
    if (area.x < g.width && area.y < g.height) serverTimes.push(serverTime);
    conn.subtractDamage();
  });
  return {
    take() {
      const out = serverTimes.map((t) => t + offset);
      serverTimes = [];
      return out;
    },
    close: () => conn.close(),
  };
}

/**
 * Per marker [painted, grabbed] (epoch ms), the time it reached X: the first damage report at or
 * after it was painted. Returns [painted → on X, on X → grabbed] lists, ms.
 */
export function splitAtX(markers: ReadonlyArray<readonly [number, number]>, damage: readonly number[]): { paintToX: number[]; xToGrab: number[] } {
  const paintToX: number[] = [];
  const xToGrab: number[] = [];
  for (const [painted, grabbed] of markers) {
    // Clocks of two processes on one machine: a report a fraction of a millisecond "before" the paint is the paint.
    const at = damage.find((t) => t >= painted - 1);
    if (at === undefined || at > grabbed + 1) continue;
    paintToX.push(Math.max(0, at - painted));
    xToGrab.push(Math.max(0, grabbed - at));
  }
  return { paintToX, xToGrab };
}
