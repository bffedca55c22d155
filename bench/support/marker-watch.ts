/**
 * Watches the helper's frames as the runner gets them: rebuilds the picture from whole frames and
 * patches, reads the marker the painter stamped (painted on X → grabbed, the first hop), and
 * counts how much of the screen each frame changed (a still screen must change only its small box).
 */
import type { HelperProcess } from '../../helper/client';
import { decodeMarker, expandCaptureTime, markerGeometry } from '../../webview/engine/frames/frame-marker';

/** Where one painted marker was first seen on the host side (epoch ms). */
export interface MarkerSeen {
  painted: number;
  /** captureTime of the first helper frame holding it: the key later hops are found by. */
  grabbed: number;
}

/** Frames from the helper and the screen area they changed, since the last take. */
export interface ChangeStats {
  frames: number;
  /** Whole frames (the first, a requested one, idle re-sends of robotjs). */
  whole: number;
  /** Pixels carried by patches (rows × width for a band, the rectangles' areas). */
  patchPixels: number;
  seconds: number;
}

export interface MarkerWatch {
  /** Painted on X → grabbed by the helper, ms, per distinct marker since the last call. */
  takePaintToGrab(): number[];
  /** [painted, grabbed] epoch ms per distinct marker since the last call (the same markers). */
  takePaintedGrabbed(): Array<[number, number]>;
  /** Grabbed by the helper → frame complete at the runner, ms (the stdout link), since the last call. */
  takeGrabToRunner(): number[];
  /** Markers first seen, and [captureTime, at] of every frame complete at the runner, since the last call. */
  takeSeen(): { markers: Map<number, MarkerSeen>; arrived: Array<[number, number]> };
  takeChanges(): ChangeStats;
  /** Frames the helper sent since the start. */
  total(): number;
  stop(): void;
}

const now = () => performance.timeOrigin + performance.now();

export function watchMarkers(helper: HelperProcess): MarkerWatch {
  let total = 0;
  let paintToGrab: number[] = [];
  let paintedGrabbed: Array<[number, number]> = [];
  let grabToRunner: number[] = [];
  let markers = new Map<number, MarkerSeen>();
  let arrived: Array<[number, number]> = [];
  let changes: ChangeStats = { frames: 0, whole: 0, patchPixels: 0, seconds: 0 };
  let changesFrom = now();
  let lastMarker = -1;
  // The marker's rows of the picture, as the relay rebuilds it: a change below row 0 can still touch the marker.
  let picture: Buffer | undefined;
  const onFrame = (f: Parameters<typeof applyFrame>[0]) => applyFrame(f);
  function applyFrame(f: {
    header: { width: number; height: number; captureTime: number };
    pixels: Buffer;
    band?: { firstRow: number; rows: number };
    rects?: Array<{ x: number; y: number; w: number; h: number }>;
  }): void {
    const at = now();
    total++;
    changes.frames++;
    grabToRunner.push(at - f.header.captureTime);
    arrived.push([f.header.captureTime, at]);
    const { width } = f.header;
    const stride = width * 4;
    const g = markerGeometry(width);
    const rows = Math.min(g.height, f.header.height);
    if (!f.band && !f.rects) {
      changes.whole++;
      picture = Buffer.from(f.pixels.subarray(0, rows * stride));
    } else if (!picture) return;
    else if (f.rects) {
      for (const r of f.rects) changes.patchPixels += r.w * r.h;
      // Only the marker's corner is read: the rest of the picture may go stale (copying whole-screen
      // patches here would load the runner's process, which the bench measures).
      if (!applyToCorner(picture, stride, f.rects, f.pixels, g.width, rows)) return;
    } else if (f.band) {
      changes.patchPixels += f.band.rows * width;
      if (f.band.rows === 0 || f.band.firstRow >= rows) return;
      f.pixels.copy(picture, f.band.firstRow * stride, 0, (Math.min(f.band.firstRow + f.band.rows, rows) - f.band.firstRow) * stride);
    }
    const m = decodeMarker(picture, width, rows);
    if (m && m.frame !== lastMarker) {
      lastMarker = m.frame;
      const painted = expandCaptureTime(m.captureTimeLow32, f.header.captureTime);
      paintToGrab.push(f.header.captureTime - painted);
      paintedGrabbed.push([painted, f.header.captureTime]);
      if (!markers.has(m.frame)) markers.set(m.frame, { painted, grabbed: f.header.captureTime });
    }
  }
  helper.on('frame', onFrame);
  return {
    takePaintToGrab: () => {
      const out = paintToGrab;
      paintToGrab = [];
      return out;
    },
    takePaintedGrabbed: () => {
      const out = paintedGrabbed;
      paintedGrabbed = [];
      return out;
    },
    takeGrabToRunner: () => {
      const out = grabToRunner;
      grabToRunner = [];
      return out;
    },
    takeSeen: () => {
      const out = { markers, arrived };
      markers = new Map();
      arrived = [];
      return out;
    },
    takeChanges: () => {
      const t = now();
      const out = { ...changes, seconds: (t - changesFrom) / 1000 };
      changes = { frames: 0, whole: 0, patchPixels: 0, seconds: 0 };
      changesFrom = t;
      return out;
    },
    total: () => total,
    stop: () => helper.off('frame', onFrame),
  };
}

/** applyRects (protocol/helper-framing.ts) clipped to the corner [0, w) × [0, h); whether any rectangle touched it. */
function applyToCorner(
  picture: Uint8Array,
  stride: number,
  rects: ReadonlyArray<{ x: number; y: number; w: number; h: number }>,
  pixels: Uint8Array,
  w: number,
  h: number,
): boolean {
  let at = 0;
  let touched = false;
  for (const r of rects) {
    const cols = Math.min(r.x + r.w, w) - r.x;
    if (cols > 0) {
      for (let y = r.y; y < Math.min(r.y + r.h, h); y++) {
        const from = at + (y - r.y) * r.w * 4;
        picture.set(pixels.subarray(from, from + cols * 4), y * stride + r.x * 4);
        touched = true;
      }
    }
    at += r.w * r.h * 4;
  }
  return touched;
}
