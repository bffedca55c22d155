/**
 * A ScreenCast session of the desktop portal (org.freedesktop.portal.ScreenCast): the one way to
 * capture the screen that GNOME, KDE and wlroots desktops all offer on Wayland. The user picks a
 * monitor in the desktop's own dialog (or the desktop picks without one, as wlroots can be set
 * to); the portal answers with a PipeWire node that carries the picture. A restore token, kept by
 * the runner, lets the next session skip the dialog (ScreenCast version 4 and later).
 */
import { PortalBus, PortalError, portalToken, readVariantMap, type VariantMap } from './portal-bus';

const IFACE = 'org.freedesktop.portal.ScreenCast';
const SOURCE_MONITOR = 1;
const CURSOR = { hidden: 1, embedded: 2, metadata: 4 } as const;
/** persist_mode 2: until the user revokes it, so a restore token outlives this login. */
const PERSIST_UNTIL_REVOKED = 2;

export interface ScreenCastStream {
  /** The PipeWire node that carries the picture. */
  nodeId: number;
  width: number;
  height: number;
  /** Its place in the desktop's layout (0,0 when the portal does not say). */
  x: number;
  y: number;
}

export interface ScreenCastOptions {
  /** A token from an earlier session: the desktop may share the same monitor without asking. */
  restoreToken?: string | undefined;
  /** The pointer in the picture (embedded) where the desktop can; else hidden. */
  drawCursor: boolean;
  /** How long the user may take in the dialog. */
  dialogTimeoutMs?: number;
  log?(line: string): void;
}

export class ScreenCastSession {
  private closed = false;
  private readonly closedListeners: Array<(reason: string) => void> = [];
  private stopListening: () => void = () => undefined;

  private constructor(
    private readonly bus: PortalBus,
    readonly handle: string,
    readonly stream: ScreenCastStream,
    /** What to keep for the next session (absent when the desktop gives none). */
    readonly restoreToken: string | undefined,
    /** Whether the pointer is drawn into the picture by the desktop. */
    readonly cursorEmbedded: boolean,
  ) {}

  /**
   * Asks the desktop for a monitor to share and starts its stream. Rejects with PortalError:
   * `unavailable` (no portal or no ScreenCast on this desktop), `cancelled` (the user said no),
   * `failed` (the desktop could not).
   */
  static async start(bus: PortalBus, o: ScreenCastOptions): Promise<ScreenCastSession> {
    const timeout = o.dialogTimeoutMs ?? 120_000;
    const version = Number(await bus.property(IFACE, 'version'));
    if (!Number.isFinite(version) || version < 1) {
      throw new PortalError('this desktop offers no ScreenCast portal (org.freedesktop.portal.ScreenCast), which Wayland screen capture needs', 'unavailable');
    }
    const cursorModes = Number(await bus.property(IFACE, 'AvailableCursorModes')) || 0;
    const created = await bus.request(IFACE, 'CreateSession', 'a{sv}', [], { session_handle_token: ['s', portalToken('session')] }, 10_000);
    const handle = String(created.session_handle ?? '');
    if (!handle.startsWith('/')) throw new PortalError(`CreateSession answered without a session (${JSON.stringify(created)})`, 'failed');
    let session: ScreenCastSession | undefined;
    try {
      const embedded = o.drawCursor && (cursorModes & CURSOR.embedded) !== 0;
      const select: VariantMap = {
        types: ['u', SOURCE_MONITOR],
        multiple: ['b', false],
        ...(cursorModes ? { cursor_mode: ['u', embedded ? CURSOR.embedded : CURSOR.hidden] } : {}),
        ...(version >= 4 ? { persist_mode: ['u', PERSIST_UNTIL_REVOKED] } : {}),
        ...(version >= 4 && o.restoreToken ? { restore_token: ['s', o.restoreToken] } : {}),
      };
      await bus.request(IFACE, 'SelectSources', 'oa{sv}', [handle], select, 10_000);
      o.log?.('screencast: waiting for the desktop (its dialog asks which screen to share, unless it already knows)');
      const started = await bus.request(IFACE, 'Start', 'osa{sv}', [handle, ''], {}, timeout);
      const stream = firstStream(started.streams);
      if (!stream) throw new PortalError(`the desktop started no stream (${JSON.stringify(started)})`, 'failed');
      const token = typeof started.restore_token === 'string' ? started.restore_token : undefined;
      session = new ScreenCastSession(bus, handle, stream, token, embedded);
      session.stopListening = await bus.onSignal(handle, 'org.freedesktop.portal.Session', 'Closed', () =>
        session!.ended('the desktop ended the screen cast (stopped from its sharing indicator?)'),
      );
      bus.onClose(() => session!.ended('the session bus closed'));
      return session;
    } catch (err) {
      if (!session) await bus.call({ path: handle, iface: 'org.freedesktop.portal.Session', member: 'Close' }).catch(() => undefined);
      throw err;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called once when the desktop ends the cast (or the bus goes); not after close(). */
  onEnded(listener: (reason: string) => void): void {
    this.closedListeners.push(listener);
  }

  /** Ends the cast at the desktop (its sharing indicator goes away). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    await this.bus.call({ path: this.handle, iface: 'org.freedesktop.portal.Session', member: 'Close' }).catch(() => undefined);
  }

  private ended(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    for (const l of this.closedListeners.splice(0)) l(reason);
  }
}

/** streams: a(ua{sv}) — [node id, {size: (ii), position: (ii), …}]. */
function firstStream(streams: unknown): ScreenCastStream | undefined {
  if (!Array.isArray(streams) || !Array.isArray(streams[0])) return undefined;
  const [nodeId, props] = streams[0] as [unknown, unknown];
  const p = readVariantMap(props);
  const pair = (v: unknown): [number, number] => (Array.isArray(v) && v.length === 2 ? [Number(v[0]), Number(v[1])] : [0, 0]);
  const [width, height] = pair(p.size);
  const [x, y] = pair(p.position);
  if (!Number.isInteger(Number(nodeId)) || width <= 0 || height <= 0) return undefined;
  return { nodeId: Number(nodeId), width, height, x, y };
}
