/**
 * One X connection for event-driven capture, through the pure-JS `x11` package (no native build:
 * it is bundled into dist/helper.js and ships in every .vsix): DAMAGE tells what changed on the
 * root window, and the changed rectangles are read with MIT-SHM (the server writes the pixels into
 * an unlinked /dev/shm file handed over with AttachFd, read back with pread: no pixels on the
 * socket) or, where the server has no MIT-SHM or will not attach, the core GetImage.
 *
 * Every request is asynchronous: a whole-screen read never blocks the event loop that injects
 * the driver's input (robotjs's XGetImage does, hence its strips).
 */
import { closeSync, ftruncateSync, openSync, readSync, unlinkSync } from 'node:fs';
import x11, { type DamageExt, type ShmExt, type XClient, type XDisplay, type XError } from 'x11';
import type { PixelRect } from '../../protocol/helper-framing';

const Z_PIXMAP = 2;
const ALL_PLANES = 0xffffffff;
/** Opening the display and asking for the extensions: a server that takes longer is not usable. */
const OPEN_TIMEOUT_MS = 3000;

export interface X11Options {
  /** Use MIT-SHM when the server offers it (default true); false forces the core GetImage. */
  shm?: boolean;
}

/** What the server offers, and why a part is missing (for the log and the StartCapture answer). */
export interface X11Features {
  damage: boolean;
  shm: boolean;
  /** Why MIT-SHM is not used, when it is not. */
  shmReason?: string;
}

/** A /dev/shm segment we own: the server maps it, we pread from it (the x11 package's provider contract). */
interface Segment {
  size: number;
  fd: number | null;
  buffer: Buffer;
}

function shmProvider() {
  let last: Segment | undefined;
  let n = 0;
  return {
    flavor: 'fd' as const,
    zeroCopy: false,
    get last() {
      return last;
    },
    create(size: number): Segment {
      const path = `/dev/shm/pairux-capture-${process.pid}-${n++}`;
      const fd = openSync(path, 'w+', 0o600);
      try {
        ftruncateSync(fd, size);
      } finally {
        // Anonymous from here on: gone when our fd and the server's mapping are.
        unlinkSync(path);
      }
      // The package never reads this buffer: we call the raw GetImage and pread ourselves.
      last = { size, fd, buffer: Buffer.alloc(0) };
      return last;
    },
    commit: () => undefined,
    sync: () => undefined,
    destroy(seg: Segment) {
      if (seg.fd !== null) closeSync(seg.fd);
      seg.fd = null;
    },
  };
}

export class X11Connection {
  private closed = false;
  private closeReason: string | undefined;
  private readonly closeListeners: Array<(reason: string) => void> = [];
  private damageListener: ((area: PixelRect, geometry: { width: number; height: number }, serverTime?: number) => void) | undefined;
  private damageId = 0;
  private segment: { xid: number; seg: Segment; detach(): void } | undefined;

  private constructor(
    private readonly X: XClient,
    readonly root: number,
    private readonly damageExt: DamageExt | undefined,
    private readonly shmExt: ShmExt | undefined,
    private readonly provider: ReturnType<typeof shmProvider>,
    readonly features: X11Features,
  ) {
    X.on('event', (ev) => {
      if (ev.name === 'DamageNotify' && ev.area && ev.geometry && this.damageListener) {
        this.damageListener({ x: ev.area.x, y: ev.area.y, w: ev.area.w, h: ev.area.h }, { width: ev.geometry.w, height: ev.geometry.h }, ev.time ?? 0);
      }
    });
    // Errors of requests with a callback reach that callback; these are the rest (void requests).
    X.on('error', () => undefined);
    X.on('end', () => this.markClosed('the X server closed the connection'));
  }

  /** Connects to `env.DISPLAY` and finds DAMAGE and MIT-SHM; rejects when the display cannot be used at all. */
  static open(env: NodeJS.ProcessEnv, options: X11Options = {}): Promise<X11Connection> {
    const provider = shmProvider();
    return withTimeout(
      new Promise<X11Connection>((resolve, reject) => {
        // With MIT-SHM the socket is built able to pass the segment's descriptor (see the x11 package's fdpass.js).
        const client = x11.createClient({ display: env.DISPLAY, shm: options.shm === false ? false : provider }, (err, display) => {
          if (err) return reject(err);
          X11Connection.setUp(display, provider, options).then(resolve, (e: unknown) => {
            client.terminate();
            reject(e as Error);
          });
        });
        client.on('error', (e) => reject(e));
      }),
      OPEN_TIMEOUT_MS,
      `the X display ${env.DISPLAY ?? ''} did not answer`,
    );
  }

  private static async setUp(display: XDisplay, provider: ReturnType<typeof shmProvider>, options: X11Options): Promise<X11Connection> {
    const X = display.client;
    const screen = display.screen[0];
    if (!screen) throw new Error('the X display has no screen');
    const format = display.format[String(screen.root_depth)];
    if (format?.bits_per_pixel !== 32 || display.image_byte_order !== 0) {
      throw new Error(`the screen is ${screen.root_depth}-bit at ${format?.bits_per_pixel ?? '?'} bits per pixel; only 24/32-bit little-endian is supported`);
    }
    const damage = await new Promise<DamageExt | undefined>((resolve) => X.require('damage', (err, ext) => resolve(err ? undefined : ext)));
    let shm: ShmExt | undefined;
    let shmReason: string | undefined;
    if (options.shm === false) shmReason = 'turned off';
    else if (!display.isLocalSocket) shmReason = 'the X connection is not a local socket';
    else {
      shm = await new Promise<ShmExt | undefined>((resolve) => X.require('shm', (err, ext) => resolve(err ? undefined : ext)));
      if (!shm) shmReason = 'the X server has no MIT-SHM';
      else if (!(await new Promise<boolean>((resolve) => shm!.usable((_e, ok) => resolve(ok))))) {
        shmReason = 'the X server would not attach a shared segment (AttachFd)';
        shm = undefined;
      }
    }
    const features: X11Features = { damage: !!damage, shm: !!shm, ...(shmReason ? { shmReason } : {}) };
    return new X11Connection(X, screen.root, damage, shm, provider, features);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called once when the connection drops (not after close()). */
  onClose(listener: (reason: string) => void): void {
    if (this.closed && this.closeReason) listener(this.closeReason);
    else this.closeListeners.push(listener);
  }

  /** The root window's size now (it changes with RandR). */
  size(): Promise<{ width: number; height: number }> {
    return this.request<{ width: number; height: number }>((cb) => this.X.GetGeometry(this.root, cb)).then((g) => ({ width: g.width, height: g.height }));
  }

  pointer(): Promise<{ x: number; y: number }> {
    return this.request<{ rootX: number; rootY: number }>((cb) => this.X.QueryPointer(this.root, cb)).then((p) => ({ x: p.rootX, y: p.rootY }));
  }

  /**
   * Reports every area of the root window that changes, as the server coalesces it
   * (DeltaRectangles: an area already damaged and not yet subtracted is not reported again, so a
   * storm costs few events). `subtractDamage()` clears what was reported, before it is read.
   * `serverTime` is the X server's millisecond clock when it damaged the area.
   */
  watchDamage(listener: (area: PixelRect, geometry: { width: number; height: number }, serverTime?: number) => void): void {
    if (!this.damageExt) throw new Error('the X server has no DAMAGE extension');
    this.unwatchDamage();
    this.damageListener = listener;
    this.damageId = this.X.AllocID();
    this.damageExt.Create(this.damageId, this.root, this.damageExt.ReportLevel.DeltaRectangles);
  }

  /** A round trip: every event caused by the requests sent so far has arrived when it resolves. */
  sync(): Promise<void> {
    return this.request<unknown>((cb) => this.X.GetInputFocus(cb)).then(() => undefined);
  }

  subtractDamage(): void {
    if (this.damageId && this.damageExt) this.damageExt.Subtract(this.damageId, 0, 0);
  }

  unwatchDamage(): void {
    this.damageListener = undefined;
    if (!this.damageId || !this.damageExt || this.closed) return;
    this.damageExt.Destroy(this.damageId);
    this.X.ReleaseID(this.damageId);
    this.damageId = 0;
  }

  /**
   * The pixels of each rectangle (BGRX, rows of w × 4 bytes), read in one batch of pipelined
   * requests; with MIT-SHM into `into[i]` where given (exactly w × h × 4 bytes). Rejects with the X
   * error (BadMatch when a rectangle is off a screen that shrank).
   */
  async grab(rects: readonly PixelRect[], screenBytes: number, into: ReadonlyArray<Buffer | undefined> = []): Promise<Buffer[]> {
    if (this.closed) throw new Error(this.closeReason ?? 'the X connection is closed');
    if (!this.shmExt) return Promise.all(rects.map((r) => this.coreGrab(r)));
    const seg = await this.segmentOf(screenBytes);
    const out: Buffer[] = [];
    // Rectangles are laid out one after another in the segment; a batch that would overflow it
    // waits for the previous one to be read back.
    let batch: Array<Promise<void>> = [];
    let offset = 0;
    for (const r of rects) {
      const bytes = r.w * r.h * 4;
      if (bytes > seg.seg.size) throw new Error(`a ${r.w}x${r.h} rectangle is larger than the shared segment`);
      if (offset + bytes > seg.seg.size) {
        await Promise.all(batch);
        batch = [];
        offset = 0;
      }
      const at = offset;
      const index = out.length;
      out.push(Buffer.alloc(0));
      offset += bytes;
      batch.push(
        this.request<{ size: number }>((cb) => this.shmExt!.GetImage(this.root, r.x, r.y, r.w, r.h, ALL_PLANES, Z_PIXMAP, seg.xid, at, cb)).then(() => {
          // Straight into the caller's buffer when it gave one (no copy of a whole screen).
          const px = into[index] ?? Buffer.allocUnsafe(bytes);
          readSync(seg.seg.fd!, px, 0, bytes, at);
          out[index] = px;
        }),
      );
    }
    await Promise.all(batch);
    return out;
  }

  private async coreGrab(r: PixelRect): Promise<Buffer> {
    const img = await this.request<{ data: Buffer }>((cb) => this.X.GetImage(Z_PIXMAP, this.root, r.x, r.y, r.w, r.h, ALL_PLANES, cb));
    return img.data.length === r.w * r.h * 4 ? img.data : img.data.subarray(0, r.w * r.h * 4);
  }

  /** The shared segment, at least `bytes` large (a larger screen after a resize gets a new one). */
  private async segmentOf(bytes: number): Promise<{ xid: number; seg: Segment; detach(): void }> {
    if (this.segment && this.segment.seg.size >= bytes) return this.segment;
    this.segment?.detach();
    this.segment = undefined;
    const api = await new Promise<{ shmseg: number; detach(): void }>((resolve, reject) =>
      this.shmExt!.createSegment(bytes, (err, s) => (err ? reject(err) : resolve(s))),
    );
    const seg = this.provider.last;
    if (!seg || seg.fd === null) throw new Error('the shared segment has no file');
    this.segment = { xid: api.shmseg, seg, detach: () => api.detach() };
    return this.segment;
  }

  private request<T>(send: (cb: (err: XError | null, value: T) => unknown) => void): Promise<T> {
    if (this.closed) return Promise.reject(new Error(this.closeReason ?? 'the X connection is closed'));
    return new Promise<T>((resolve, reject) => {
      const onClose = (reason: string) => reject(new Error(reason));
      this.closeListeners.push(onClose);
      send((err, value) => {
        const i = this.closeListeners.indexOf(onClose);
        if (i >= 0) this.closeListeners.splice(i, 1);
        if (err) reject(new Error(`${err.message ?? 'X error'} (X error ${err.error}, request ${err.majorOpcode}.${err.minorOpcode})`));
        else resolve(value);
        return true;
      });
    });
  }

  private markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    const listeners = this.closeListeners.splice(0);
    for (const l of listeners) l(reason);
  }

  close(): void {
    if (this.closed) return;
    this.unwatchDamage();
    this.segment?.detach();
    this.segment = undefined;
    this.closed = true;
    this.closeReason = 'closed';
    this.closeListeners.splice(0);
    this.X.terminate();
  }
}

/** Rejects with `${what} within ${ms} ms` when `p` has not settled by then. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
      timer.unref?.();
    }),
  ]);
}
