/**
 * Paints on a real X server from this process (the `x11` package): a small window whose colour
 * changes on demand or at a set rate, for tests and benches of damage-driven capture. Each
 * paint is one PolyFillRectangle, so `paint()` returns as soon as the request is written and
 * `painted()` after a round trip, when the X server has drawn it.
 */
import x11, { type XClient } from 'x11';

export interface Painter {
  /** Fills the window (or part of it) with `rgb` (0xRRGGBB). */
  paint(rgb: number, rect?: { x: number; y: number; w: number; h: number }): void;
  /** Puts `bgrx` (tight rows, 4 bytes a pixel) at `rect` of the window, in one request. */
  image(bgrx: Buffer, rect: { x: number; y: number; w: number; h: number }): void;
  /** Copies a block of the window within it, as a terminal scrolls (CopyArea). */
  copy(from: { x: number; y: number; w: number; h: number }, to: { x: number; y: number }): void;
  /** Resolves once the server has processed every paint so far. */
  painted(): Promise<void>;
  /** Paints alternating colours `hz` times a second until the returned function is called. */
  storm(hz: number): () => void;
  close(): Promise<void>;
}

export function openPainter(display: string, at: { x: number; y: number; w: number; h: number }, rgb = 0x000000): Promise<Painter> {
  return new Promise((resolve, reject) => {
    const client = x11.createClient({ display, shm: false }, (err, d) => {
      if (err) return reject(err);
      const X: XClient = d.client;
      const screen = d.screen[0]!;
      const wid = X.AllocID();
      // Override-redirect: no window manager moves it, and it is mapped at once.
      X.CreateWindow(wid, screen.root, at.x, at.y, at.w, at.h, 0, 0, 1, 0, { backgroundPixel: rgb, overrideRedirect: 1 });
      X.MapWindow(wid);
      const gc = X.AllocID();
      X.CreateGC(gc, wid, { foreground: rgb });
      const round = () => new Promise<void>((ok) => X.GetInputFocus(() => (ok(), true)));
      const painter: Painter = {
        paint(color, rect) {
          X.ChangeGC(gc, { foreground: color });
          const r = rect ?? { x: 0, y: 0, w: at.w, h: at.h };
          X.PolyFillRectangle(wid, gc, [r.x, r.y, r.w, r.h]);
        },
        image(bgrx, r) {
          X.PutImage(2, wid, gc, r.w, r.h, r.x, r.y, 0, screen.root_depth, bgrx);
        },
        copy(from, to) {
          X.CopyArea(wid, wid, gc, from.x, from.y, to.x, to.y, from.w, from.h);
        },
        painted: round,
        storm(hz) {
          let n = 0;
          const timer = setInterval(() => painter.paint(n++ % 2 ? 0xff0000 : 0x0000ff), 1000 / hz);
          return () => clearInterval(timer);
        },
        async close() {
          X.DestroyWindow(wid);
          await round();
          X.terminate();
        },
      };
      // Mapped and drawn before anyone looks.
      void round().then(() => resolve(painter));
    });
    client.on('error', reject);
  });
}
