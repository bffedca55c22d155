/**
 * Just enough of a Wayland client to drive a compositor's virtual input devices: the wire format
 * (a header of object id, size and opcode, then 32-bit arguments; strings length-prefixed and
 * padded; file descriptors out of band), the registry of globals, binding, requests, and a round
 * trip. Written here because the helper needs three requests of two protocols, not a toolkit, and
 * the one library that speaks Wayland (libwayland-client) would need per-protocol glue compiled
 * for each platform. Nothing is rendered, no surface is made.
 */
import path from 'node:path';
import { UnixSocket } from './unix-socket';

/** One argument of a request, by its wire type. */
export type WireArg = { uint: number } | { int: number } | { fixed: number } | { string: string } | { object: number | null } | { newId: number };

export interface Global {
  name: number;
  version: number;
}

/** An object's events: its opcode and argument bytes. */
export type EventHandler = (opcode: number, body: Buffer) => void;

const DISPLAY_ID = 1;
const HEADER_BYTES = 8;
/** The compositor's message size limit (wl_connection: 4096 bytes). */
const MAX_MESSAGE_BYTES = 4096;
/** Globals kept from the registry: a compositor offers a few dozen; a flood is not kept. */
const MAX_GLOBALS = 1024;

export class WaylandClient {
  /** Globals the compositor offered at connect time, by interface name (the first of each: see `all`). */
  readonly globals = new Map<string, Global>();
  /** Every global offered, in order: an interface may be offered more than once (one wl_output per monitor). */
  private readonly offered: Array<Global & { iface: string }> = [];
  private readonly handlers = new Map<number, EventHandler>();
  private nextId = 2;
  private registryId = 0;
  private inbox: Buffer = Buffer.alloc(0);
  private fatal: string | undefined;
  /** Sync callbacks sent and not yet answered, and those answered. */
  private readonly pendingCallbacks = new Set<number>();
  private readonly doneCallbacks = new Set<number>();

  private constructor(private readonly socket: UnixSocket) {}

  /** The compositor's socket for an environment: $XDG_RUNTIME_DIR/$WAYLAND_DISPLAY (or an absolute WAYLAND_DISPLAY). */
  static socketPath(env: NodeJS.ProcessEnv): string {
    const display = env.WAYLAND_DISPLAY || 'wayland-0';
    if (path.isAbsolute(display)) return display;
    if (!env.XDG_RUNTIME_DIR) throw new Error('XDG_RUNTIME_DIR is not set, so the Wayland socket cannot be found');
    return path.join(env.XDG_RUNTIME_DIR, display);
  }

  /** Connects and reads the registry (one round trip). */
  static connect(env: NodeJS.ProcessEnv, timeoutMs = 2000): WaylandClient {
    const client = new WaylandClient(UnixSocket.connect(WaylandClient.socketPath(env)));
    try {
      client.registryId = client.allocate();
      client.request(DISPLAY_ID, 1, [{ newId: client.registryId }]); // wl_display.get_registry
      client.roundtrip(timeoutMs);
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.socket.closed;
  }

  /** A protocol error the compositor sent (it disconnects after one), if any, reading what has arrived. */
  error(): string | undefined {
    if (!this.fatal && !this.socket.closed) {
      try {
        this.read(0);
      } catch (err) {
        this.fatal ??= (err as Error).message;
      }
    }
    return this.fatal;
  }

  /** Binds a global; throws when the compositor does not offer it. Returns the new object's id. */
  bind(iface: string, version: number): number {
    const g = this.globals.get(iface);
    if (!g) throw new Error(`the compositor offers no ${iface}`);
    return this.bindGlobal(iface, g, version);
  }

  /** Binds one particular global of an interface (one of `all(iface)`), at `version` or the compositor's if lower. */
  bindGlobal(iface: string, g: Global, version: number): number {
    const id = this.allocate();
    // wl_registry.bind(name, new_id of any interface: its name, version and id)
    this.request(this.registryId, 0, [{ uint: g.name }, { string: iface }, { uint: Math.min(version, g.version) }, { newId: id }]);
    return id;
  }

  /** Every global of an interface the compositor offers (still). */
  all(iface: string): Global[] {
    return this.offered.filter((g) => g.iface === iface).map(({ name, version }) => ({ name, version }));
  }

  /** Hands an object's events to `handler` (a bound global's: a monitor's name and size); undefined stops it. */
  listen(objectId: number, handler: EventHandler | undefined): void {
    if (handler) this.handlers.set(objectId, handler);
    else this.handlers.delete(objectId);
  }

  allocate(): number {
    return this.nextId++;
  }

  /** Sends a request; `fds` go with it out of band (their place in the argument list is implied by the protocol). */
  request(objectId: number, opcode: number, args: readonly WireArg[], fds: readonly number[] = []): void {
    if (this.fatal) throw new Error(`the Wayland connection failed: ${this.fatal}`);
    const body = encodeArgs(args);
    const size = HEADER_BYTES + body.length;
    if (size > MAX_MESSAGE_BYTES) throw new Error(`a Wayland request of ${size} bytes is over the protocol's ${MAX_MESSAGE_BYTES}`);
    const msg = Buffer.alloc(size);
    msg.writeUInt32LE(objectId, 0);
    msg.writeUInt32LE(((size << 16) | opcode) >>> 0, 4);
    body.copy(msg, HEADER_BYTES);
    this.socket.send(msg, fds);
  }

  /** Waits until the compositor has handled everything sent so far (wl_display.sync). */
  roundtrip(timeoutMs = 2000): void {
    const callback = this.allocate();
    this.pendingCallbacks.add(callback);
    this.request(DISPLAY_ID, 0, [{ newId: callback }]);
    const deadline = Date.now() + timeoutMs;
    while (!this.doneCallbacks.delete(callback)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the compositor did not answer within ${timeoutMs} ms`);
      this.read(left);
      if (this.fatal) throw new Error(`the compositor refused a request: ${this.fatal}`);
    }
  }

  close(): void {
    this.socket.close();
  }

  /** Reads and handles what has arrived (waiting up to `timeoutMs` for something). */
  private read(timeoutMs: number): void {
    const got = this.socket.receive(timeoutMs);
    if (!got.length) return;
    this.inbox = this.inbox.length ? Buffer.concat([this.inbox, got]) : got;
    while (this.inbox.length >= HEADER_BYTES) {
      const sender = this.inbox.readUInt32LE(0);
      const word = this.inbox.readUInt32LE(4);
      const size = word >>> 16;
      const opcode = word & 0xffff;
      if (size < HEADER_BYTES) throw new Error(`a malformed Wayland event (size ${size})`);
      if (this.inbox.length < size) break;
      this.event(sender, opcode, this.inbox.subarray(HEADER_BYTES, size));
      this.inbox = this.inbox.subarray(size);
    }
  }

  private event(sender: number, opcode: number, body: Buffer): void {
    if (sender === DISPLAY_ID && opcode === 0) {
      // wl_display.error(object, code, message)
      const [message] = readString(body, 8);
      this.fatal = `error ${body.readUInt32LE(4)} on object ${body.readUInt32LE(0)}: ${message}`;
    } else if (sender === this.registryId && opcode === 0) {
      // wl_registry.global(name, interface, version)
      const [iface, at] = readString(body, 4);
      const g = { name: body.readUInt32LE(0), version: body.readUInt32LE(at) };
      if (!this.globals.has(iface)) this.globals.set(iface, g);
      this.offered.push({ ...g, iface });
      if (this.offered.length > MAX_GLOBALS) this.offered.shift();
    } else if (sender === this.registryId && opcode === 1) {
      const name = body.readUInt32LE(0);
      const gone = this.offered.findIndex((g) => g.name === name);
      if (gone >= 0) {
        const [{ iface }] = this.offered.splice(gone, 1) as [Global & { iface: string }];
        const next = this.offered.find((g) => g.iface === iface);
        if (this.globals.get(iface)?.name === name) {
          if (next) this.globals.set(iface, { name: next.name, version: next.version });
          else this.globals.delete(iface);
        }
      }
    } else if (opcode === 0 && this.pendingCallbacks.delete(sender)) {
      // wl_callback.done: a sync's answer.
      this.doneCallbacks.add(sender);
    } else {
      // Events of objects nobody listens to (a seat's capabilities) are not needed.
      this.handlers.get(sender)?.(opcode, body);
    }
  }
}

function encodeArgs(args: readonly WireArg[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of args) {
    const word = Buffer.alloc(4);
    if ('uint' in a) word.writeUInt32LE(a.uint >>> 0, 0);
    else if ('int' in a) word.writeInt32LE(a.int | 0, 0);
    else if ('fixed' in a) word.writeInt32LE(Math.round(a.fixed * 256), 0);
    else if ('object' in a) word.writeUInt32LE(a.object ?? 0, 0);
    else if ('newId' in a) word.writeUInt32LE(a.newId, 0);
    else {
      const bytes = Buffer.from(`${a.string}\0`, 'utf8');
      const padded = Buffer.alloc(Math.ceil(bytes.length / 4) * 4);
      bytes.copy(padded);
      word.writeUInt32LE(bytes.length, 0);
      parts.push(word, padded);
      continue;
    }
    parts.push(word);
  }
  return Buffer.concat(parts);
}

/** A string argument at byte `at`: its text and where the next argument starts. */
export function readString(body: Buffer, at: number): [string, number] {
  const len = body.readUInt32LE(at);
  const text = body.toString('utf8', at + 4, at + 4 + Math.max(0, len - 1));
  return [text, at + 4 + Math.ceil(len / 4) * 4];
}
