/**
 * Asks the X server for its monitors (RandR 1.5 GetMonitors) and says when they may have changed,
 * over an X connection of its own (the pure-JS `x11` package). The package has no GetMonitors, so
 * that request is packed here. Asked when capture starts and when the server reports a change
 * (a root ConfigureNotify, which SetMonitor/DeleteMonitor send, or a RandR screen, CRTC or output
 * change): never per frame or per input event, and a still layout costs nothing.
 */
import x11 from 'x11';
import type { MonitorInfo } from '../../protocol/helper-link';
import { tidyMonitors, wholeScreenMonitor, type MonitorLayout } from './monitors';
import { withTimeout } from '../native/x11-connection';

/** The parts of the x11 client used here that its type declarations do not name. */
interface RawClient {
  seq_num: number;
  replies: Record<number, [(buf: Buffer, opt: number) => unknown, (err: Error | null, value: unknown) => unknown]>;
  pack_stream: { put(b: Buffer): void; submit(expectsReply?: boolean): void };
  eventParsers: Record<number, (type: number, seq: number, extra: number, code: number, raw: Buffer) => unknown>;
  require(name: 'randr', cb: (err: Error | null, ext: RandrExt) => void): void;
  GetAtomName(atom: number, cb: (err: Error | null, name: string) => void): void;
  GetGeometry(drawable: number, cb: (err: Error | null, g: { width: number; height: number }) => void): void;
  ChangeWindowAttributes(window: number, values: { eventMask: number }): void;
  on(event: 'event', listener: (ev: { name?: string }) => void): void;
  on(event: 'error' | 'end', listener: (err?: unknown) => void): void;
  terminate(): void;
}

interface RandrExt {
  majorOpcode: number;
  firstEvent: number;
  major_version: number;
  minor_version: number;
  NotifyMask: { ScreenChange: number; CrtcChange: number; OutputChange: number };
  SelectInput(window: number, mask: number): void;
}

const STRUCTURE_NOTIFY = 0x00020000;
const RR_GET_MONITORS = 42;
const OPEN_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 3000;

export class RandrMonitors {
  private readonly atoms = new Map<number, string>();
  private readonly listeners: Array<() => void> = [];
  private watching = false;
  private closedReason: string | undefined;

  private constructor(
    private readonly X: RawClient,
    private readonly root: number,
    /** Undefined when the server has no RandR 1.5: the whole screen is then the one monitor. */
    private readonly randr: RandrExt | undefined,
  ) {
    X.on('event', (ev) => {
      if (ev.name === 'ConfigureNotify' || ev.name === 'RRScreenChangeNotify' || ev.name === 'RRNotify') for (const l of this.listeners) l();
    });
    // Errors of requests with a callback reach the callback; a void request's error has nobody to tell.
    X.on('error', () => undefined);
    X.on('end', () => {
      this.closedReason ??= 'the X server closed the connection';
    });
  }

  /** Connects to `env.DISPLAY`; rejects when it cannot be opened. */
  static open(env: NodeJS.ProcessEnv): Promise<RandrMonitors> {
    return withTimeout(
      new Promise<RandrMonitors>((resolve, reject) => {
        const client = x11.createClient({ display: env.DISPLAY }, (err, display) => {
          if (err) return reject(err);
          const X = display.client as unknown as RawClient;
          const root = display.screen[0]?.root;
          if (root === undefined) return reject(new Error('the X display has no screen'));
          X.require('randr', (e, ext) => {
            const usable = !e && (ext.major_version > 1 || ext.minor_version >= 5);
            resolve(new RandrMonitors(X, root, usable ? ext : undefined));
          });
        });
        client.on('error', (e) => reject(e));
      }),
      OPEN_TIMEOUT_MS,
      `the X display ${env.DISPLAY ?? ''} did not answer`,
    );
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** The screen's size and its active monitors, the primary first. */
  async list(): Promise<MonitorLayout> {
    const screen = await this.request<{ width: number; height: number }>((cb) => this.X.GetGeometry(this.root, cb));
    const size = { width: screen.width, height: screen.height };
    if (!this.randr) return { screen: size, monitors: [wholeScreenMonitor(size)] };
    const raw = await this.getMonitors(this.randr);
    const named = await Promise.all(raw.map(async (m) => ({ ...m, name: await this.atomName(m.atom) })));
    return { screen: size, monitors: tidyMonitors(size, named) };
  }

  /** Calls `listener` whenever the server reports something that may have changed the layout (bursts are the caller's to coalesce). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
    if (this.watching) return;
    this.watching = true;
    this.X.ChangeWindowAttributes(this.root, { eventMask: STRUCTURE_NOTIFY });
    const r = this.randr;
    if (!r) return;
    // RRNotify (CRTC and output changes) has no parser in the package: it only needs a name here.
    this.X.eventParsers[r.firstEvent + 1] = () => ({ name: 'RRNotify' });
    r.SelectInput(this.root, r.NotifyMask.ScreenChange | r.NotifyMask.CrtcChange | r.NotifyMask.OutputChange);
  }

  offChange(listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  close(): void {
    if (this.closedReason) return;
    this.closedReason = 'closed';
    this.listeners.splice(0);
    this.X.terminate();
  }

  /** RRGetMonitors(root, get_active = true): 24 bytes per monitor plus its outputs. */
  private getMonitors(r: RandrExt): Promise<Array<Omit<MonitorInfo, 'name'> & { atom: number }>> {
    return this.request((cb) => {
      const X = this.X;
      X.seq_num++;
      const b = Buffer.alloc(12);
      b.writeUInt8(r.majorOpcode, 0);
      b.writeUInt8(RR_GET_MONITORS, 1);
      b.writeUInt16LE(3, 2);
      b.writeUInt32LE(this.root, 4);
      b.writeUInt8(1, 8);
      X.pack_stream.put(b);
      // The reply after its 8-byte header: timestamp, nmonitors, noutputs, 12 bytes of padding.
      X.replies[X.seq_num] = [
        (buf) => {
          const n = buf.readUInt32LE(4);
          const out: Array<Omit<MonitorInfo, 'name'> & { atom: number }> = [];
          let p = 24;
          for (let i = 0; i < n && p + 24 <= buf.length; i++) {
            const outputs = buf.readUInt16LE(p + 6);
            out.push({
              atom: buf.readUInt32LE(p),
              primary: buf[p + 4] !== 0,
              x: buf.readInt16LE(p + 8),
              y: buf.readInt16LE(p + 10),
              width: buf.readUInt16LE(p + 12),
              height: buf.readUInt16LE(p + 14),
            });
            p += 24 + 4 * outputs;
          }
          return out;
        },
        cb as (err: Error | null, value: unknown) => unknown,
      ];
      X.pack_stream.submit(true);
    });
  }

  private async atomName(atom: number): Promise<string> {
    const known = this.atoms.get(atom);
    if (known !== undefined) return known;
    const name = (await this.request<string>((cb) => this.X.GetAtomName(atom, cb))).slice(0, 64);
    this.atoms.set(atom, name);
    return name;
  }

  private request<T>(send: (cb: (err: Error | null, value: T) => void) => void): Promise<T> {
    if (this.closedReason) return Promise.reject(new Error(this.closedReason));
    return withTimeout(
      new Promise<T>((resolve, reject) => send((err, value) => (err ? reject(new Error(`X error: ${err.message}`)) : resolve(value)))),
      REQUEST_TIMEOUT_MS,
      'the X server did not answer about its monitors',
    );
  }
}
