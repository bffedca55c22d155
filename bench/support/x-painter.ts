/**
 * The benches' scenes painted straight onto the X server from this process (the `x11` package),
 * as a terminal does: a full-screen window of "text", the marker box top-left written with one
 * PutImage per change, characters as small fills, a scroll as a CopyArea plus the new line. Its
 * "painted" time is when the request was written, so painted → grabbed is X and the capture alone,
 * where the Chromium painter's (painter-screen.ts) also holds Chromium's own frame production.
 */
import x11, { type XClient } from 'x11';
import type { Xvfb } from '../../test/helper/support/xvfb';
import { captureTimeLow32, markerGeometry, paintMarker } from '../../webview/engine/frames/frame-marker';
import type { SceneName } from '../pages/scenes';
import type { ScenePainter } from './painter-screen';

/** Core requests the helper's declaration of the module leaves out. */
type Client = XClient & {
  PutImage(format: number, drawable: number, gc: number, w: number, h: number, x: number, y: number, leftPad: number, depth: number, data: Buffer): void;
  CopyArea(src: number, dst: number, gc: number, srcX: number, srcY: number, dstX: number, dstY: number, w: number, h: number): void;
};

const BG = 0x1e1e1e;
const FG = 0xb4b4b4;
const LINE = 19;
const CHAR = 10;
const BAND = 14;
const now = () => performance.timeOrigin + performance.now();

export async function startXPainter(x: Xvfb, width: number, height: number, scene: SceneName = 'busy', rate = 30): Promise<ScenePainter> {
  const { X, wid, gc, depth } = await new Promise<{ X: Client; wid: number; gc: number; depth: number }>((resolve, reject) => {
    const client = x11.createClient({ display: x.env.DISPLAY as string, shm: false }, (err, d) => {
      if (err) return reject(err);
      const X = d.client as Client;
      const screen = d.screen[0]!;
      const wid = X.AllocID();
      X.CreateWindow(wid, screen.root, 0, 0, width, height, 0, 0, 1, 0, { backgroundPixel: BG, overrideRedirect: 1 });
      X.MapWindow(wid);
      const gc = X.AllocID();
      X.CreateGC(gc, wid, { foreground: FG, graphicsExposures: 0 });
      X.GetInputFocus(() => resolve({ X, wid, gc, depth: screen.root_depth }));
    });
    client.on('error', reject);
  });
  const g = markerGeometry(width);
  const box = { w: g.width, h: g.height + BAND };
  const top = box.h + 10;
  const image = Buffer.alloc(box.w * box.h * 4);
  let frame = 0;
  let painted: Array<[number, number]> = [];
  let stop: () => void = () => undefined;

  const fill = (rgb: number, rects: number[]) => {
    X.ChangeGC(gc, { foreground: rgb });
    X.PolyFillRectangle(wid, gc, rects);
  };
  /** One line of "text": word-like runs of glyph boxes, different per line number. */
  const textLine = (row: number, y: number) => {
    const rects: number[] = [];
    let col = 6;
    for (let word = 0; col < 150; word++) {
      const len = 2 + ((row * 7 + word * 13) % 9);
      rects.push(40 + col * CHAR, y + 4, len * CHAR - 2, LINE - 8);
      col += len + 1;
    }
    fill(FG, rects);
  };
  const stamp = () => {
    const hue = (frame * 47) % 360;
    // A colour per change (BGRX), the marker over it: the "small window changing colour".
    const [r, gg, b] = [hue, (hue + 120) % 360, (hue + 240) % 360].map((h) => 60 + Math.round((140 * h) / 360));
    for (let i = 0; i < image.length; i += 4) {
      image[i] = b!;
      image[i + 1] = gg!;
      image[i + 2] = r!;
    }
    const at = now();
    paintMarker(image, width, g.height, { frame: frame & 0xffff, captureTimeLow32: captureTimeLow32(at) }, box.w * 4);
    X.PutImage(2, wid, gc, box.w, box.h, 0, 0, 0, depth, image);
    painted.push([frame, at]);
    frame++;
  };
  const every = (ms: () => number, change: () => void) => {
    let timer = setTimeout(function tick() {
      change();
      timer = setTimeout(tick, ms());
    }, ms());
    return () => clearTimeout(timer);
  };
  const page = () => {
    fill(BG, [0, top, width, height - top]);
    for (let row = 0; top + (row + 1) * LINE <= height; row++) textLine(row, top + row * LINE);
  };

  const scenes: Record<SceneName, (r: number) => () => void> = {
    idle: () => () => undefined,
    still: () => every(() => 1000, stamp),
    busy: (r) => every(() => 1000 / r, stamp),
    typing: () => {
      const cols = 120;
      const rows = Math.floor((height - top) / LINE);
      fill(BG, [0, top, width, height - top]);
      let col = 0;
      let row = 0;
      return every(
        () => 70 + Math.random() * 60,
        () => {
          if (col === cols) {
            col = 0;
            row = (row + 1) % rows;
            fill(BG, [0, top + row * LINE, width, LINE]);
          }
          fill(FG, [40 + col * CHAR, top + row * LINE + 4, CHAR - 2, LINE - 8]);
          col++;
          stamp();
        },
      );
    },
    scroll: (r) => {
      let next = Math.floor((height - top) / LINE);
      const bottom = top + (next - 1) * LINE;
      return every(
        () => 1000 / r,
        () => {
          X.CopyArea(wid, wid, gc, 0, top + LINE, 0, top, width, bottom - top);
          fill(BG, [0, bottom, width, LINE]);
          textLine(next++, bottom);
          stamp();
        },
      );
    },
  };

  const start = (name: SceneName, r: number) => {
    stop();
    frame = 0;
    painted = [];
    page();
    stamp();
    stop = scenes[name](r);
  };
  start(scene, rate);
  return {
    async scene(name, r) {
      start(name, r);
    },
    async takePainted() {
      const out = painted;
      painted = [];
      return out;
    },
    // This process: not told apart from the bench's own work.
    cpuSeconds: () => Number.NaN,
    async close() {
      stop();
      X.DestroyWindow(wid);
      await new Promise<void>((ok) => X.GetInputFocus(() => ok()));
      X.terminate();
    },
  };
}
