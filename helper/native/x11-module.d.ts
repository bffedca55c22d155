/**
 * The few parts of the `x11` package (a pure-JS X protocol client, no types of its own) the
 * helper uses: the core requests of x11-connection.ts and the DAMAGE and MIT-SHM extensions.
 */
declare module 'x11' {
  export interface XError extends Error {
    error: number;
    seq: number;
    badParam: number;
    majorOpcode: number;
    minorOpcode: number;
  }
  /** Reply callbacks return true when they handled an error (else it is also emitted as 'error'). */
  type Reply<T> = (err: XError | null, value: T) => unknown;
  export interface XEvent {
    name?: string;
    type: number;
    area?: { x: number; y: number; w: number; h: number };
    geometry?: { x: number; y: number; w: number; h: number };
    /** DamageNotify: the server's millisecond clock. */
    time?: number;
    [key: string]: unknown;
  }
  export interface DamageExt {
    major: number;
    minor: number;
    ReportLevel: { RawRectangles: number; DeltaRectangles: number; BoundingBox: number; NonEmpty: number };
    Create(damage: number, drawable: number, level: number): void;
    Destroy(damage: number): void;
    Subtract(damage: number, repair: number, parts: number): void;
  }
  export interface ShmSegment {
    shmseg: number;
    size: number;
    buffer: Buffer;
    getImage(
      drawable: number,
      x: number,
      y: number,
      w: number,
      h: number,
      planeMask: number,
      format: number,
      offset: number,
      cb: Reply<{ size: number }>,
    ): void;
    detach(cb?: () => void): void;
  }
  export interface ShmExt {
    major: number;
    minor: number;
    GetImage(
      drawable: number,
      x: number,
      y: number,
      w: number,
      h: number,
      planeMask: number,
      format: number,
      shmseg: number,
      offset: number,
      cb: Reply<{ depth: number; size: number }>,
    ): void;
    usable(cb: (err: Error | null, ok: boolean) => void): void;
    createSegment(size: number, cb: (err: Error | null, seg: ShmSegment) => void): void;
  }
  export interface XClient {
    on(event: 'event', listener: (ev: XEvent) => void): this;
    on(event: 'error', listener: (err: XError) => void): this;
    on(event: 'end', listener: () => void): this;
    removeAllListeners(event?: string): this;
    AllocID(): number;
    ReleaseID(id: number): void;
    require(name: 'damage', cb: (err: Error | null, ext: DamageExt) => void): void;
    require(name: 'shm', cb: (err: Error | null, ext: ShmExt) => void): void;
    GetImage(format: number, drawable: number, x: number, y: number, w: number, h: number, planeMask: number, cb: Reply<{ depth: number; data: Buffer }>): void;
    GetGeometry(drawable: number, cb: Reply<{ width: number; height: number; depth: number }>): void;
    QueryPointer(window: number, cb: Reply<{ rootX: number; rootY: number; sameScreen: number }>): void;
    GetInputFocus(cb: Reply<unknown>): void;
    terminate(): void;
    /** Used by the tests' painter only. */
    CreateWindow(
      id: number,
      parent: number,
      x: number,
      y: number,
      w: number,
      h: number,
      border: number,
      depth: number,
      cls: number,
      visual: number,
      values: object,
    ): void;
    MapWindow(id: number): void;
    DestroyWindow(id: number): void;
    CreateGC(id: number, drawable: number, values: object): void;
    ChangeGC(id: number, values: object): void;
    PolyFillRectangle(drawable: number, gc: number, coords: number[]): void;
    PutImage(format: number, drawable: number, gc: number, w: number, h: number, x: number, y: number, leftPad: number, depth: number, data: Buffer): void;
    CopyArea(src: number, dst: number, gc: number, srcX: number, srcY: number, dstX: number, dstY: number, w: number, h: number): void;
    stream: { destroyed: boolean; destroy(): void };
  }
  export interface XScreen {
    root: number;
    pixel_width: number;
    pixel_height: number;
    root_depth: number;
  }
  export interface XDisplay {
    client: XClient;
    screen: XScreen[];
    format: Record<string, { bits_per_pixel: number; scanline_pad: number }>;
    image_byte_order: number;
    isLocalSocket: boolean;
  }
  export function createClient(options: { display?: string; shm?: false | object }, cb: (err: Error | null, display: XDisplay) => void): XClient;
  const x11: { createClient: typeof createClient };
  export default x11;
}
