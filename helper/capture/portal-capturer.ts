/**
 * Capture on Wayland: a screen cast of the desktop portal (portal/screencast.ts), its PipeWire
 * pictures (pipewire-frames.ts) seen as a damage screen (portal-screen.ts), and the damage
 * capturer on top, as on X11. One cast per capture: stopping the capture ends the cast, so the
 * desktop's "sharing" indicator goes when sharing stops; the restore token the desktop gave makes
 * the next start skip its dialog.
 */
import { PortalBus } from '../portal/portal-bus';
import { ScreenCastSession } from '../portal/screencast';
import type { CaptureSettings, CaptureStats, Capturer, FrameOutlet, Rect } from './capturer';
import { PipeWireFrames } from './pipewire-frames';
import { PortalScreen } from './portal-screen';
import { X11DamageCapturer } from './x11-damage-capturer';

export interface PortalCastOptions {
  env: NodeJS.ProcessEnv;
  outlet: FrameOutlet;
  onError(message: string, fatal: boolean): void;
  log(line: string): void;
  restoreToken?: string | undefined;
  drawCursor: boolean;
}

export class PortalCapturer implements Capturer {
  private ended = false;

  private constructor(
    private readonly bus: PortalBus,
    private readonly cast: ScreenCastSession,
    private readonly frames: PipeWireFrames,
    private readonly inner: X11DamageCapturer,
  ) {}

  /** Asks the desktop for a cast (its dialog, unless the token lets it skip one) and readies its frames. */
  static async open(o: PortalCastOptions): Promise<PortalCapturer> {
    const bus = await PortalBus.open(o.env);
    let cast: ScreenCastSession;
    try {
      cast = await ScreenCastSession.start(bus, { restoreToken: o.restoreToken, drawCursor: o.drawCursor, log: o.log });
    } catch (err) {
      bus.close();
      throw err;
    }
    const { stream } = cast;
    o.log(
      `capture: the desktop shares a ${stream.width}x${stream.height} screen (PipeWire node ${stream.nodeId}${cast.cursorEmbedded ? ', pointer drawn by the desktop' : ''})`,
    );
    const frames = new PipeWireFrames({ nodeId: stream.nodeId, width: stream.width, height: stream.height, env: o.env, log: o.log });
    const screen = new PortalScreen(frames);
    const inner = new X11DamageCapturer(screen, o.outlet, o.onError, o.log);
    const capturer = new PortalCapturer(bus, cast, frames, inner);
    cast.onEnded((reason) => frames.close(`sharing stopped on the host: ${reason}`));
    frames.once('close', () => capturer.end());
    return capturer;
  }

  /** What to keep for the next session's capture.start. */
  get restoreToken(): string | undefined {
    return this.cast.restoreToken;
  }

  get running(): boolean {
    return this.inner.running;
  }

  /** In the desktop's layout: the cast's output where the portal says it is. */
  get target(): Rect | undefined {
    const t = this.inner.target;
    return t && { ...t, x: t.x + this.cast.stream.x, y: t.y + this.cast.stream.y };
  }

  async start(settings: CaptureSettings): Promise<{ width: number; height: number; fps: number }> {
    // The desktop draws the pointer (or was asked not to); there is none to look up here.
    return this.inner.start({ ...settings, drawCursor: false });
  }

  stop(): CaptureStats {
    const stats = this.inner.stop();
    this.end();
    return stats;
  }

  requestFrame(): void {
    this.inner.requestFrame();
  }

  setPaused(paused: boolean): void {
    this.inner.setPaused(paused);
  }

  stats(): CaptureStats {
    return this.inner.stats();
  }

  /** Ends the cast at the desktop and lets go of the bus. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.frames.close('capture stopped');
    void this.cast.close().finally(() => this.bus.close());
  }
}
