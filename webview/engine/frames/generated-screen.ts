/**
 * GeneratedScreenSource: a GENERATED STAND-IN for the native helper's screen capture. It draws a
 * dark code-editor-like screen with a sweeping clock hand, a moving box and the frame marker,
 * then hands out RGBX bytes read with getImageData, the same raw-bytes shape the helper delivers.
 *
 * CPU at 1080p30: the static editor is rendered once into its own canvas; each frame only the
 * regions that change are restored from it, redrawn, and read back into one persistent pixel
 * buffer (a full-frame getImageData per frame would cost ≈ 250 MB/s of copies).
 */
import { captureTimeLow32, markerGeometry, paintMarker, type Rect } from './frame-marker';
import { CODE_LINES, THEME, tokenize } from './generated-code';
import { epochNow, type FrameSink, type FrameSource, type FrameSourceInfo } from './frame-source';

export interface GeneratedScreenOptions {
  width: number;
  height: number;
  fps: number;
  /** Paint the frame marker (default true). */
  marker?: boolean;
  /**
   * Lines a second the editor's code scrolls by (a busy screen: most of it changes with each line,
   * as a log or a build scrolling by); at the frame rate, a line every frame. By default 0: only a
   * clock, a box and the marker move.
   */
  scroll?: number;
}

type Ctx = OffscreenCanvasRenderingContext2D;

interface Layout {
  s: number;
  font: number;
  lineHeight: number;
  titleH: number;
  statusH: number;
  activityW: number;
  tabH: number;
  gutterW: number;
  panel: Rect;
  clock: { cx: number; cy: number; r: number };
  clockText: Rect;
  box: number;
}

function union(a: Rect | undefined, b: Rect): Rect {
  if (!a) return b;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

function clip(r: Rect, width: number, height: number): Rect | undefined {
  const x = Math.max(0, Math.floor(r.x));
  const y = Math.max(0, Math.floor(r.y));
  const w = Math.min(width, Math.ceil(r.x + r.w)) - x;
  const h = Math.min(height, Math.ceil(r.y + r.h)) - y;
  return w > 0 && h > 0 ? { x, y, w, h } : undefined;
}

export class GeneratedScreenSource implements FrameSource {
  readonly info: FrameSourceInfo;
  private readonly marker: boolean;
  private readonly canvas: OffscreenCanvas;
  private readonly ctx: Ctx;
  private readonly background: OffscreenCanvas;
  private readonly layout: Layout;
  private readonly pixels: Uint8ClampedArray;
  private readonly bytes: Uint8Array;
  private sink: FrameSink | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private seq = 0;
  private nextDue = 0;
  private lastBox: Rect | undefined;
  /** With `scroll`: the code, a whole cycle of its lines and a screenful more, drawn once. */
  private readonly code: { canvas: OffscreenCanvas; area: Rect; cycle: number } | undefined;
  /** Lines the code moves a frame (at most one), and the line shown last. */
  private readonly linesPerFrame: number;
  private lastLine = -1;
  /** Frames skipped because the page could not keep up with the nominal rate. */
  framesSkipped = 0;

  constructor(options: GeneratedScreenOptions) {
    const { width, height, fps } = options;
    if (!(width >= 16 && height >= 16 && fps > 0)) throw new RangeError(`bad generated screen size ${width}x${height}@${fps}`);
    this.info = { width, height, fps, name: 'generated' };
    this.marker = options.marker ?? true;
    this.layout = this.computeLayout();
    this.background = new OffscreenCanvas(width, height);
    this.drawStatic(this.background.getContext('2d') as Ctx);
    this.code = options.scroll ? this.drawScrollingCode() : undefined;
    this.linesPerFrame = Math.min(1, (options.scroll ?? 0) / Math.max(1, options.fps));
    this.canvas = new OffscreenCanvas(width, height);
    // willReadFrequently keeps the canvas in CPU memory: getImageData becomes a plain copy.
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true, alpha: false }) as Ctx;
    this.ctx.drawImage(this.background, 0, 0);
    this.pixels = this.ctx.getImageData(0, 0, width, height).data;
    this.bytes = new Uint8Array(this.pixels.buffer, this.pixels.byteOffset, this.pixels.byteLength);
  }

  get running(): boolean {
    return this.sink !== undefined;
  }

  get framesProduced(): number {
    return this.seq;
  }

  start(sink: FrameSink): void {
    const wasRunning = this.running;
    this.sink = sink;
    if (wasRunning) return;
    this.nextDue = performance.now();
    this.schedule();
  }

  stop(): void {
    this.sink = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const interval = 1000 / this.info.fps;
    const now = performance.now();
    this.nextDue += interval;
    if (this.nextDue < now - interval) {
      // Fell more than a frame behind (tab stalled, CPU starved): skip instead of bursting.
      const behind = Math.floor((now - this.nextDue) / interval);
      this.framesSkipped += behind;
      this.nextDue += behind * interval;
    }
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.nextDue - now));
  }

  private tick(): void {
    const sink = this.sink;
    if (!sink) return;
    const captureTime = epochNow();
    this.renderFrame(captureTime);
    const seq = this.seq++;
    if (this.marker) {
      paintMarker(this.bytes, this.info.width, this.info.height, { frame: seq & 0xffff, captureTimeLow32: captureTimeLow32(captureTime) });
    }
    try {
      sink({
        format: 'RGBX',
        width: this.info.width,
        height: this.info.height,
        data: this.bytes,
        timestamp: Math.round((captureTime - performance.timeOrigin) * 1000),
        captureTime,
        seq,
      });
    } catch (err) {
      console.error('[pairux] frame sink threw', err);
    }
    if (this.sink) this.schedule();
  }

  private computeLayout(): Layout {
    const { width: w, height: h } = this.info;
    const s = h / 1080;
    const font = Math.max(8, Math.round(16 * s));
    const geometry = markerGeometry(w);
    const titleH = Math.max(Math.round(font * 1.8), Math.ceil(geometry.height + geometry.cell / 2));
    const statusH = Math.max(10, Math.round(24 * s));
    const activityW = Math.round(48 * s);
    const tabH = Math.round(36 * s);
    const panelH = Math.round(150 * s);
    const r = Math.round(70 * s);
    const panelTop = h - statusH - panelH;
    return {
      s,
      font,
      lineHeight: Math.round(font * 1.45),
      titleH,
      statusH,
      activityW,
      tabH,
      gutterW: Math.round(font * 4),
      panel: { x: activityW, y: panelTop, w: w - activityW, h: panelH },
      clock: { cx: w - r - Math.round(40 * s), cy: titleH + tabH + r + Math.round(24 * s), r },
      clockText: { x: Math.ceil(geometry.width + font), y: 0, w: Math.round(font * 22), h: titleH },
      box: Math.max(6, Math.round(48 * s)),
    };
  }

  private drawStatic(ctx: Ctx): void {
    const { width: w, height: h, fps } = this.info;
    const L = this.layout;
    const mono = `${L.font}px "DejaVu Sans Mono", Menlo, Consolas, monospace`;
    ctx.fillStyle = THEME.background;
    ctx.fillRect(0, 0, w, h);
    ctx.textBaseline = 'middle';

    ctx.fillStyle = THEME.titleBar;
    ctx.fillRect(0, 0, w, L.titleH);
    ctx.font = mono;
    ctx.fillStyle = THEME.titleText;
    ctx.textAlign = 'right';
    ctx.fillText(`PairUX generated screen (stand-in for the helper) ${w}×${h}@${fps}`, w - L.font, L.titleH / 2);
    ctx.textAlign = 'left';

    ctx.fillStyle = THEME.activityBar;
    ctx.fillRect(0, L.titleH, L.activityW, h - L.titleH - L.statusH);
    ctx.fillStyle = THEME.activityIcon;
    for (let i = 0; i < 5; i++) {
      const size = L.activityW * 0.5;
      ctx.fillRect(L.activityW * 0.25, L.titleH + L.activityW * (0.25 + i * 1.1), size, size);
    }

    const editorX = L.activityW;
    ctx.fillStyle = THEME.tabStrip;
    ctx.fillRect(editorX, L.titleH, w - editorX, L.tabH);
    ctx.fillStyle = THEME.activeTab;
    ctx.fillRect(editorX, L.titleH, L.font * 10, L.tabH);
    ctx.fillStyle = THEME.tabText;
    ctx.fillText('participants.ts', editorX + L.font, L.titleH + L.tabH / 2);

    const codeTop = L.titleH + L.tabH + Math.round(L.lineHeight / 2);
    const visible = Math.max(0, Math.floor((L.panel.y - codeTop) / L.lineHeight));
    this.drawCodeLines(ctx, editorX, codeTop, 0, visible);

    ctx.fillStyle = THEME.panel;
    ctx.fillRect(L.panel.x, L.panel.y, L.panel.w, L.panel.h);
    ctx.fillStyle = THEME.panelBorder;
    ctx.fillRect(L.panel.x, L.panel.y, L.panel.w, Math.max(1, Math.round(L.s)));
    ctx.fillStyle = THEME.titleText;
    ctx.fillText('TERMINAL', L.panel.x + L.font, L.panel.y + L.lineHeight);

    ctx.fillStyle = THEME.statusBar;
    ctx.fillRect(0, h - L.statusH, w, L.statusH);
    ctx.fillStyle = THEME.statusText;
    ctx.font = `${Math.max(8, Math.round(L.font * 0.8))}px sans-serif`;
    ctx.fillText('PairUX  ●  sharing  —  main  ⟳  UTF-8  LF  TypeScript', L.font, h - L.statusH / 2);

    const { cx, cy, r } = L.clock;
    ctx.fillStyle = THEME.clockFace;
    ctx.beginPath();
    ctx.arc(cx, cy, r, 0, Math.PI * 2);
    ctx.fill();
    ctx.strokeStyle = THEME.clockTick;
    ctx.lineWidth = Math.max(1, 2 * L.s);
    for (let i = 0; i < 12; i++) {
      const a = (i / 12) * Math.PI * 2;
      ctx.beginPath();
      ctx.moveTo(cx + Math.sin(a) * r * 0.82, cy - Math.cos(a) * r * 0.82);
      ctx.lineTo(cx + Math.sin(a) * r * 0.95, cy - Math.cos(a) * r * 0.95);
      ctx.stroke();
    }
  }

  /** `count` lines of code from line `first` (numbered from 1), the first at `top`. */
  private drawCodeLines(ctx: Ctx, editorX: number, top: number, first: number, count: number): void {
    const L = this.layout;
    ctx.font = `${L.font}px "DejaVu Sans Mono", Menlo, Consolas, monospace`;
    ctx.textBaseline = 'middle';
    const textX = editorX + L.gutterW + L.font;
    const charW = ctx.measureText('M').width;
    for (let i = 0; i < count; i++) {
      const n = first + i;
      const y = top + i * L.lineHeight + L.lineHeight / 2;
      ctx.fillStyle = THEME.gutterText;
      ctx.textAlign = 'right';
      ctx.fillText(String((n % CODE_LINES.length) + 1), editorX + L.gutterW, y);
      ctx.textAlign = 'left';
      let x = textX;
      for (const token of tokenize(CODE_LINES[n % CODE_LINES.length] ?? '')) {
        ctx.fillStyle = token.color;
        ctx.fillText(token.text, x, y);
        x += charW * token.text.length;
      }
    }
  }

  /** The scrolling code's strip: one cycle of the listing and a screenful after it, so any offset within a cycle is a plain copy. */
  private drawScrollingCode(): { canvas: OffscreenCanvas; area: Rect; cycle: number } {
    const L = this.layout;
    const editorX = L.activityW;
    const top = L.titleH + L.tabH;
    const area: Rect = { x: editorX, y: top, w: this.info.width - editorX, h: L.panel.y - top };
    const visible = Math.ceil(area.h / L.lineHeight) + 1;
    const cycle = CODE_LINES.length;
    const canvas = new OffscreenCanvas(area.w, (cycle + visible) * L.lineHeight);
    const ctx = canvas.getContext('2d') as Ctx;
    ctx.fillStyle = THEME.background;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    this.drawCodeLines(ctx, 0, 0, 0, cycle + visible);
    return { canvas, area, cycle };
  }

  /** Redraws the changing regions into the canvas and copies them into the pixel buffer. */
  private renderFrame(captureTime: number): void {
    const ctx = this.ctx;
    const L = this.layout;
    const { width: w, height: h } = this.info;
    const dirty: Rect[] = [];
    const restore = (r: Rect): void => ctx.drawImage(this.background, r.x, r.y, r.w, r.h, r.x, r.y, r.w, r.h);

    const line = Math.floor(this.seq * this.linesPerFrame);
    if (this.code && line !== this.lastLine) {
      // A line further: the whole code area changes.
      this.lastLine = line;
      const { canvas, area, cycle } = this.code;
      const offset = (line % cycle) * L.lineHeight;
      ctx.drawImage(canvas, 0, offset, area.w, area.h, area.x, area.y, area.w, area.h);
      dirty.push(area);
    }

    // Clock: a smooth second hand, so every frame differs even when nothing else moves.
    const { cx, cy, r } = L.clock;
    const clockRect = clip({ x: cx - r, y: cy - r, w: 2 * r, h: 2 * r }, w, h);
    if (clockRect) {
      restore(clockRect);
      const a = ((captureTime % 60_000) / 60_000) * Math.PI * 2;
      ctx.strokeStyle = THEME.clockHand;
      ctx.lineWidth = Math.max(1, 3 * L.s);
      ctx.beginPath();
      ctx.moveTo(cx, cy);
      ctx.lineTo(cx + Math.sin(a) * r * 0.8, cy - Math.cos(a) * r * 0.8);
      ctx.stroke();
      dirty.push(clockRect);
    }

    // Digital time and frame number beside the marker: readable by a person looking at a viewer.
    const textRect = clip(L.clockText, w, h);
    if (textRect) {
      restore(textRect);
      ctx.font = `${L.font}px "DejaVu Sans Mono", monospace`;
      ctx.fillStyle = THEME.tabText;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'left';
      const t = new Date(captureTime);
      const hms = `${t.toTimeString().slice(0, 8)}.${String(t.getMilliseconds()).padStart(3, '0')}`;
      ctx.fillText(`${hms}  #${this.seq}`, textRect.x, textRect.y + textRect.h / 2);
      dirty.push(textRect);
    }

    // A box sweeping across the terminal panel: motion for the encoder's motion search.
    const travel = Math.max(1, L.panel.w - L.box - 2 * L.font);
    const phase = (captureTime % 4000) / 4000;
    const pos = phase < 0.5 ? phase * 2 : 2 - phase * 2;
    const box = clip({ x: L.panel.x + L.font + pos * travel, y: L.panel.y + L.panel.h - L.box - L.font, w: L.box, h: L.box }, w, h);
    if (box) {
      if (this.lastBox) restore(this.lastBox);
      ctx.fillStyle = THEME.accent;
      ctx.fillRect(box.x, box.y, box.w, box.h);
      const area = clip(union(this.lastBox, box), w, h);
      if (area) dirty.push(area);
      this.lastBox = box;
    }

    for (const rect of dirty) this.copyToBuffer(rect);
  }

  private copyToBuffer(r: Rect): void {
    const src = this.ctx.getImageData(r.x, r.y, r.w, r.h).data;
    const rowBytes = r.w * 4;
    const stride = this.info.width * 4;
    for (let row = 0; row < r.h; row++) {
      const from = row * rowBytes;
      this.pixels.set(src.subarray(from, from + rowBytes), (r.y + row) * stride + r.x * 4);
    }
  }
}
