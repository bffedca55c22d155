/**
 * Test/bench probe injected into viewer pages (`page.addScriptTag({url: '/dist/webview/probe.js',
 * type: 'module'})`): reads the frame marker out of the page's `<video>` — now, or on every
 * presented frame for a while — so latency and frame delivery are measured on real pixels.
 *
 * During a move of the media (video-stage.ts) a second `<video>`, the stage, lies over the page's
 * own: what the person sees is the stage from its first frame until it is removed. `read()` reads
 * the visible one; `collect()` records both, each reading tagged, with the stage's lifetime, so
 * `visibleFrames()` can tell exactly which frames were on screen.
 */
import { decodeMarker, decodeMarkerLuma, markerGeometry, MARKER_MIN_FRAME_WIDTH, type MarkerValue } from '../engine/frames/frame-marker';

import type { CollectSummary, PresentedReading, ProbeReading } from './readings';

export { visibleFrames, type CollectSummary, type PresentedReading, type ProbeReading } from './readings';

export interface PairuxProbe {
  read(): ProbeReading | null;
  collect(ms: number): Promise<PresentedReading[]>;
  /** [r, g, b, a] of the current frame at video pixel (x, y), or null without a picture. */
  pixelAt(x: number, y: number): [number, number, number, number] | null;
  /** What the last finished collect() saw, including frames that could not be read. */
  lastCollect: CollectSummary | null;
}

declare global {
  interface Window {
    pairuxProbe?: PairuxProbe;
  }
}

let canvas: OffscreenCanvas | undefined;
let ctx: OffscreenCanvasRenderingContext2D | undefined;

function context(width: number, height: number): OffscreenCanvasRenderingContext2D {
  if (!canvas || !ctx) {
    canvas = new OffscreenCanvas(width, height);
    // CPU-backed: every read is a getImageData, which would otherwise stall on GPU readback.
    ctx = canvas.getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D;
  }
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  return ctx;
}

const isStage = (v: HTMLVideoElement): boolean => v.dataset.pairuxStage !== undefined;

function mainVideo(): HTMLVideoElement {
  const videos = [...document.querySelectorAll('video')].filter((v) => !isStage(v));
  if (videos.length !== 1) throw new Error(`pairuxProbe expects exactly one <video> besides a stage, found ${videos.length}`);
  return videos[0] as HTMLVideoElement;
}

/** The video on screen: a move's stage once it has a picture, else the page's own. */
function theVideo(): HTMLVideoElement {
  const stage = [...document.querySelectorAll('video')].find(isStage);
  return stage && stage.videoWidth > 0 ? stage : mainVideo();
}

/** Reads the marker from the video's current frame; only the marker's rows are copied. */
function readMarker(video: HTMLVideoElement): ProbeReading | null {
  const width = video.videoWidth;
  const height = video.videoHeight;
  if (width < MARKER_MIN_FRAME_WIDTH || height === 0) return null;
  const rows = Math.min(height, markerGeometry(width).height + 1);
  const c = context(width, rows);
  c.drawImage(video, 0, 0, width, rows, 0, 0, width, rows);
  const marker = decodeMarker(c.getImageData(0, 0, width, rows).data, width, rows);
  return marker ? { ...marker, width, height } : null;
}

/** Planar YUV formats whose first plane is luma: the marker can be read without an RGB conversion. */
const LUMA_FIRST = new Set(['I420', 'I420A', 'I422', 'I444', 'NV12']);

/**
 * Reads the marker of the frame being presented by copying only the Y plane of the marker's rows
 * out of it (a few kB) instead of converting the whole frame to RGB through a canvas, which at
 * 720p and up costs enough CPU to lower the very frame rate being measured. Undefined when this
 * frame cannot be read that way (the caller falls back to the canvas).
 */
function readLuma(video: HTMLVideoElement): Promise<ProbeReading | null> | undefined {
  let frame: VideoFrame;
  try {
    frame = new VideoFrame(video);
  } catch {
    return undefined;
  }
  const visible = frame.visibleRect;
  if (!frame.format || !LUMA_FIRST.has(frame.format) || !visible || visible.width < MARKER_MIN_FRAME_WIDTH) {
    frame.close();
    return undefined;
  }
  const width = visible.width;
  const height = visible.height;
  // Chroma-subsampled formats need an even rect.
  const need = markerGeometry(width).height;
  const rows = Math.min(height - (height % 2), need + (need % 2));
  const rect = { x: visible.x, y: visible.y, width: width - (width % 2), height: rows };
  let buffer: Uint8Array;
  try {
    buffer = new Uint8Array(frame.allocationSize({ rect }));
  } catch {
    frame.close();
    return undefined;
  }
  return frame
    .copyTo(buffer, { rect })
    .then((layout) => {
      const y = layout[0];
      if (!y) return null;
      const marker: MarkerValue | null = decodeMarkerLuma(buffer.subarray(y.offset), width, rows, y.stride);
      return marker ? { ...marker, width, height } : null;
    })
    .finally(() => frame.close());
}

const probe: PairuxProbe = {
  lastCollect: null,

  read() {
    return readMarker(theVideo());
  },

  collect(ms) {
    const out: PresentedReading[] = [];
    const pending: Array<Promise<void>> = [];
    const summary: CollectSummary = { presented: 0, unreadable: 0 };
    const watched = new Map<HTMLVideoElement, number>();
    let done = false;
    const watch = (video: HTMLVideoElement): void => {
      if (watched.has(video)) return;
      const tag = isStage(video) ? 'stage' : 'main';
      const record = (reading: ProbeReading | null, presentedAt: number): void => {
        if (reading) out.push({ ...reading, presentedAt, video: tag });
        else summary.unreadable++;
      };
      const onFrame = (_now: number, metadata: VideoFrameCallbackMetadata): void => {
        if (done) return;
        summary.presented++;
        const presentedAt = performance.timeOrigin + metadata.expectedDisplayTime;
        const viaLuma = readLuma(video);
        if (viaLuma)
          pending.push(
            viaLuma.then(
              (r) => record(r, presentedAt),
              () => record(null, presentedAt),
            ),
          );
        else record(readMarker(video), presentedAt);
        watched.set(video, video.requestVideoFrameCallback(onFrame));
      };
      watched.set(video, video.requestVideoFrameCallback(onFrame));
    };
    watch(mainVideo());
    for (const v of document.querySelectorAll('video')) if (isStage(v)) watch(v);
    const observer = new MutationObserver((changes) => {
      for (const change of changes) {
        for (const n of change.addedNodes) if (n instanceof HTMLVideoElement && isStage(n)) watch(n);
        for (const n of change.removedNodes)
          if (n instanceof HTMLVideoElement && isStage(n)) summary.stageRemovedAt = performance.timeOrigin + performance.now();
      }
    });
    observer.observe(document.body, { childList: true, subtree: true });
    return new Promise((resolve) => {
      setTimeout(() => {
        done = true;
        observer.disconnect();
        for (const [video, handle] of watched) video.cancelVideoFrameCallback(handle);
        void Promise.all(pending).then(() => {
          probe.lastCollect = summary;
          resolve(out.sort((a, b) => a.presentedAt - b.presentedAt));
        });
      }, ms);
    });
  },

  pixelAt(x, y) {
    const video = theVideo();
    if (video.videoWidth === 0 || x < 0 || y < 0 || x >= video.videoWidth || y >= video.videoHeight) return null;
    const c = context(1, 1);
    c.drawImage(video, Math.floor(x), Math.floor(y), 1, 1, 0, 0, 1, 1);
    const d = c.getImageData(0, 0, 1, 1).data;
    return [d[0] ?? 0, d[1] ?? 0, d[2] ?? 0, d[3] ?? 0];
  },
};

window.pairuxProbe = probe;
