/**
 * Test/bench probe injected into viewer pages (`page.addScriptTag({url: '/dist/webview/probe.js',
 * type: 'module'})`): reads the frame marker out of the page's single `<video>` — now, or on every
 * presented frame for a while — so latency and frame delivery are measured on real pixels.
 */
import { decodeMarker, decodeMarkerLuma, markerGeometry, MARKER_MIN_FRAME_WIDTH, type MarkerValue } from '../engine/frame-marker';

export interface ProbeReading {
  frame: number;
  captureTimeLow32: number;
  width: number;
  height: number;
}

export interface PresentedReading extends ProbeReading {
  /** Epoch ms: performance.timeOrigin + metadata.expectedDisplayTime. */
  presentedAt: number;
}

export interface CollectSummary {
  /** Frames presented during the last collect(). */
  presented: number;
  /** Of those, how many had no readable marker. */
  unreadable: number;
}

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

function theVideo(): HTMLVideoElement {
  const videos = document.querySelectorAll('video');
  if (videos.length !== 1) throw new Error(`pairuxProbe expects exactly one <video>, found ${videos.length}`);
  return videos[0] as HTMLVideoElement;
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
    const video = theVideo();
    const out: PresentedReading[] = [];
    const pending: Array<Promise<void>> = [];
    const summary: CollectSummary = { presented: 0, unreadable: 0 };
    const record = (reading: ProbeReading | null, presentedAt: number): void => {
      if (reading) out.push({ ...reading, presentedAt });
      else summary.unreadable++;
    };
    return new Promise((resolve) => {
      let handle = 0;
      let done = false;
      const onFrame = (_now: number, metadata: VideoFrameCallbackMetadata): void => {
        if (done) return;
        summary.presented++;
        const presentedAt = performance.timeOrigin + metadata.expectedDisplayTime;
        const viaLuma = readLuma(video);
        if (viaLuma) pending.push(viaLuma.then((r) => record(r, presentedAt), () => record(null, presentedAt)));
        else record(readMarker(video), presentedAt);
        handle = video.requestVideoFrameCallback(onFrame);
      };
      handle = video.requestVideoFrameCallback(onFrame);
      setTimeout(() => {
        done = true;
        video.cancelVideoFrameCallback(handle);
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
