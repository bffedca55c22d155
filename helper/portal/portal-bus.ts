/**
 * The session bus, as the desktop portal (xdg-desktop-portal) is reached on it: method calls, the
 * portal's request/response pattern, and signals, over `@homebridge/dbus-native` (pure JS: no
 * native part to ship in the .vsix). A portal method answers at once with a Request object; the
 * result comes later as that object's `Response` signal, after the user has answered the
 * desktop's dialog. The request's path is known in advance (the caller's bus name and a token of
 * ours), so the signal is listened for before the call: a quick answer is never missed.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import dbus from '@homebridge/dbus-native';

export const PORTAL_SERVICE = 'org.freedesktop.portal.Desktop';
export const PORTAL_PATH = '/org/freedesktop/portal/desktop';

/** A D-Bus value as dbus-native writes it: a variant is [signature, value]. */
export type DBusValue = string | number | boolean | bigint | DBusValue[] | Buffer;
/** Plain options for an `a{sv}`: each value with its D-Bus signature. */
export type VariantMap = Record<string, [signature: string, value: DBusValue]>;

/** The portal's `response` codes (org.freedesktop.portal.Request). */
export const RESPONSE = { success: 0, cancelled: 1, other: 2 } as const;

export class PortalError extends Error {
  constructor(
    message: string,
    /** `cancelled`: the user said no in the dialog; `failed`: the portal could not; `unavailable`: no portal, no bus. */
    readonly code: 'cancelled' | 'failed' | 'unavailable',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PortalError';
  }
}

interface RawBus {
  connection: EventEmitter & { end(): void; stream?: net.Socket };
  name?: string;
  signals: EventEmitter;
  invoke(msg: Record<string, unknown>, cb: (err: { name?: string; message?: string } | null | undefined, ...body: unknown[]) => void): void;
  addMatch(rule: string, cb: (err: unknown) => void): void;
  mangle(path: string, iface: string, member: string): string;
}

/** A variant as dbus-native reads it, [signatureTree, [value]], to its plain value. */
function plain(v: unknown): unknown {
  if (Array.isArray(v) && v.length === 2 && Array.isArray(v[0]) && Array.isArray(v[1]) && v[0].every((t) => typeof t === 'object' && t && 'type' in t)) {
    return plain(v[1][0]);
  }
  return v;
}

/** An `a{sv}` as read, to an object of plain values. */
export function readVariantMap(entries: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(entries)) return out;
  for (const e of entries) if (Array.isArray(e) && typeof e[0] === 'string') out[e[0]] = plain(e[1]);
  return out;
}

function writeVariantMap(map: VariantMap): DBusValue[] {
  return Object.entries(map).map(([k, [sig, v]]) => [k, [sig, v]]);
}

/** The stream for a bus address: unix paths and (Linux) abstract sockets, which Node reaches without a native module. */
function busStream(address: string): net.Socket {
  for (const part of address.split(';')) {
    const [family, rest = ''] = part.split(':', 2) as [string, string?];
    const params = Object.fromEntries(rest.split(',').map((kv) => kv.split('=', 2) as [string, string]));
    if (family !== 'unix') continue;
    if (params.path) return net.createConnection(decodeURIComponent(params.path));
    if (params.abstract) return net.createConnection(`\0${decodeURIComponent(params.abstract)}`);
  }
  throw new PortalError(`the session bus address ${JSON.stringify(address)} names no unix socket this helper can use`, 'unavailable');
}

let tokens = 0;
/** A token for a request or session path: unique in this process, valid in an object path. */
export function portalToken(kind: string): string {
  return `pairux_${kind}_${process.pid}_${++tokens}`;
}

export class PortalBus {
  private closed = false;
  private readonly closedEvent = new EventEmitter();

  private constructor(
    private readonly bus: RawBus,
    /** Our unique name on the bus (":1.42"), which names our request paths. */
    readonly uniqueName: string,
  ) {
    bus.connection.on('end', () => this.markClosed());
    bus.connection.on('error', () => this.markClosed());
  }

  /** Connects to the session bus of `env` (DBUS_SESSION_BUS_ADDRESS, else the systemd default). */
  static async open(env: NodeJS.ProcessEnv, timeoutMs = 5000): Promise<PortalBus> {
    const address = env.DBUS_SESSION_BUS_ADDRESS || (env.XDG_RUNTIME_DIR ? `unix:path=${env.XDG_RUNTIME_DIR}/bus` : '');
    if (!address) throw new PortalError('there is no session bus (DBUS_SESSION_BUS_ADDRESS is not set)', 'unavailable');
    const stream = busStream(address);
    const bus = (dbus as unknown as { createClient(o: object): RawBus }).createClient({ stream });
    const name = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PortalError(`the session bus at ${address} did not answer in ${timeoutMs} ms`, 'unavailable')), timeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(new PortalError(`cannot reach the session bus at ${address}: ${err.message}`, 'unavailable', { cause: err }));
      };
      bus.connection.once('error', fail);
      // dbus-native sends Hello itself and names the bus when its answer comes.
      bus.connection.once('connect', () => {
        const check = setInterval(() => {
          if (!bus.name) return;
          clearInterval(check);
          clearTimeout(timer);
          bus.connection.off('error', fail);
          resolve(bus.name);
        }, 2);
        timer.unref?.();
      });
    });
    return new PortalBus(bus, name);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closedEvent.once('close', listener);
  }

  /** Calls a method; resolves with its reply's body. */
  call(o: { path?: string; iface: string; member: string; signature?: string; body?: DBusValue[]; destination?: string }): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new PortalError('the session bus connection is closed', 'unavailable'));
    return new Promise((resolve, reject) => {
      this.bus.invoke(
        {
          destination: o.destination ?? PORTAL_SERVICE,
          path: o.path ?? PORTAL_PATH,
          interface: o.iface,
          member: o.member,
          ...(o.signature ? { signature: o.signature, body: o.body ?? [] } : {}),
        },
        (err, ...body) => {
          if (err) {
            const unknown = /ServiceUnknown|UnknownMethod|UnknownInterface|UnknownObject/.test(err.name ?? '');
            reject(new PortalError(`${o.iface}.${o.member}: ${err.message || err.name}`, unknown ? 'unavailable' : 'failed'));
          } else resolve(body);
        },
      );
    });
  }

  /** A property of the portal (org.freedesktop.DBus.Properties.Get), or undefined when it has none. */
  async property(iface: string, name: string): Promise<unknown> {
    try {
      const [value] = await this.call({ iface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [iface, name] });
      return plain(value);
    } catch (err) {
      if ((err as PortalError).code === 'unavailable') throw err;
      return undefined;
    }
  }

  /** Listens for a signal; returns the function that stops listening. */
  async onSignal(path: string, iface: string, member: string, handler: (body: unknown[]) => void): Promise<() => void> {
    await new Promise<void>((resolve, reject) =>
      this.bus.addMatch(`type='signal',path='${path}',interface='${iface}',member='${member}'`, (err) =>
        err ? reject(new PortalError(`AddMatch: ${String(err)}`, 'failed')) : resolve(),
      ),
    );
    const key = this.bus.mangle(path, iface, member);
    const listener = (body: unknown[]) => handler(body ?? []);
    this.bus.signals.on(key, listener);
    return () => this.bus.signals.off(key, listener);
  }

  /**
   * Calls a portal method that answers through a Request: `options` gets our handle_token, the
   * call is made, and the Response's results come back; a cancelled dialog or a refusal rejects
   * with PortalError `cancelled` / `failed`. `timeoutMs` bounds the wait for the user's answer.
   */
  async request(iface: string, member: string, signature: string, args: DBusValue[], options: VariantMap, timeoutMs: number): Promise<Record<string, unknown>> {
    const token = portalToken('req');
    const requestPath = `${PORTAL_PATH}/request/${this.uniqueName.slice(1).replace(/\./g, '_')}/${token}`;
    let settle: (body: unknown[]) => void = () => undefined;
    const response = new Promise<unknown[]>((resolve) => (settle = resolve));
    // The match is in place before the call, or a quick Response would be lost.
    const stop = await this.onSignal(requestPath, 'org.freedesktop.portal.Request', 'Response', (body) => settle(body));
    let timer: NodeJS.Timeout | undefined;
    let onClosed = () => undefined as void;
    try {
      await this.call({ iface, member, signature, body: [...args, writeVariantMap({ ...options, handle_token: ['s', token] })] });
      const [code, results] = await Promise.race([
        response,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new PortalError(`${member}: no answer from the desktop in ${Math.round(timeoutMs / 1000)} s`, 'failed')), timeoutMs);
          onClosed = () => reject(new PortalError(`${member}: the session bus closed`, 'unavailable'));
          this.onClose(onClosed);
        }),
      ]);
      if (Number(code) === RESPONSE.success) return readVariantMap(results);
      if (Number(code) === RESPONSE.cancelled) throw new PortalError(`${member}: cancelled in the desktop's dialog`, 'cancelled');
      throw new PortalError(`${member}: the desktop portal refused (response ${String(code)})`, 'failed');
    } finally {
      clearTimeout(timer);
      this.closedEvent.off('close', onClosed);
      stop();
    }
  }

  close(): void {
    if (this.closed) return;
    try {
      this.bus.connection.end();
    } catch {
      /* already gone */
    }
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.closedEvent.emit('close');
  }
}
