/**
 * The host's side of remote control with every real part, for end-to-end tests that assert what
 * was or was not injected: an X server (Xvfb) with a terminal that writes what it is typed into a
 * file, the helper injecting into it (and capturing it), and the real HostRunner behind the host
 * page's bridge, asking an asker the test controls. What a test asserts is what X shows: the text
 * the terminal received, where the X pointer is, which buttons and keys XTEST holds.
 *
 * One rig per test file (`before`), reset between tests: the grant goes back to nobody, held
 * input is released, the terminal has the focus and the pointer is parked in a corner.
 */
import assert from 'node:assert/strict';
import type { ParamsOf, ResultOf } from '../../protocol/rpc';
import type { BridgeHello } from '../../protocol/host-bridge';
import { sanitizeInputEvent } from '../../protocol/input';
import { HelperProcess, type CaptureResult } from '../../helper/client';
import { HostRunner, type HostRunnerOptions, type PromptAnswer } from '../../runner/host-runner';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import { mouseLocation, startXterm, startXvfb, waitFor, watchRootButtons, xtestHeld, type ButtonEvent, type Xterm, type Xvfb } from '../helper/support/xvfb';

export type { ButtonEvent, PromptAnswer };

/** Where the orange patch is drawn on the X screen: guests find it in their decoded video. */
export const PATCH = { x: 900, y: 400, width: 120, height: 104, centre: { x: 960, y: 450 } };
/** Where reset() parks the X pointer: a corner no test clicks. */
export const PARKED = { x: 1, y: 1 };

export interface RealHostRigOptions {
  /** The X screen (default 1280×720). */
  width?: number;
  height?: number;
  fps?: number;
  /**
   * Absent: the host page shows the X screen the helper captures. Given: the page draws its own
   * marker screen of this size (for tests that read the frame marker back) while input still
   * goes through the real runner and helper into X (normalised coordinates: the centre of the
   * picture is the centre of the X screen).
   */
  generated?: { width: number; height: number; fps: number };
}

/** The real runner, noting what the host page handed it before passing it on unchanged. */
class ObservedRunner extends HostRunner {
  readonly forwarded: Array<{ controllerId: string; event: unknown }> = [];

  constructor(
    options: HostRunnerOptions,
    private readonly generated: { width: number; height: number; fps: number } | undefined,
  ) {
    super(options);
  }

  override hello(params: ParamsOf<typeof BridgeHello>): ResultOf<typeof BridgeHello> {
    if (!this.generated) return super.hello(params);
    return { frames: { via: 'generated' }, screen: { ...this.generated, source: 'generated' }, controlRequests: true };
  }

  override input(controllerId: string, event: unknown): void {
    this.forwarded.push({ controllerId, event });
    super.input(controllerId, event);
  }
}

export class RealHostRig {
  /** The host's answer to the next control requests (the asker is the host's own decision). */
  answer: PromptAnswer = { allow: true, reason: 'allowed' };
  /** Names the host was asked about, in order. */
  readonly asked: string[] = [];
  private typedMark = 0;
  private readonly watchers: Array<{ stop(): void }> = [];

  private constructor(
    readonly x: Xvfb,
    /** The terminal whose typed text lands in a file; it has the keyboard focus. */
    readonly xterm: Xterm,
    private readonly patch: Xterm,
    readonly helper: HelperProcess,
    private readonly observed: ObservedRunner,
    readonly bridge: HostBridgeServer,
  ) {}

  static async start(o: RealHostRigOptions = {}): Promise<RealHostRig> {
    const width = o.width ?? 1280;
    const height = o.height ?? 720;
    const fps = o.fps ?? 20;
    const x = await startXvfb(width, height);
    const parts: Array<{ stop(): Promise<void> }> = [x];
    try {
      // The terminal over the left part; the orange patch on the right, for pixel checks.
      const patch = await startXterm(x, { geometry: `20x8+${PATCH.x}+${PATCH.y}`, bg: '#ff8000', command: 'sleep 3600' });
      parts.push(patch);
      const xterm = await startXterm(x, { geometry: '80x30+0+0' });
      parts.push(xterm);
      const helper = new HelperProcess({ env: x.env });
      parts.push(helper);
      const hello = await helper.start();
      if (!hello.inject.available) throw new Error(`the helper cannot inject on ${x.display}: ${hello.inject.reason ?? 'no reason given'}`);
      // Capture only when the page shows the X screen; a generated screen needs none.
      const capture: CaptureResult = o.generated ? { width, height, fps } : await helper.startCapture({ fps, patches: true });
      let rig: RealHostRig | undefined;
      const runner = new ObservedRunner(
        {
          helper,
          capture,
          prompt: { ask: async (name: string) => (rig!.asked.push(name), rig!.answer) },
          // The host lets everyone in the lobby in: these rigs are about control, not who may join.
          lobby: { admit: async () => ({ admit: true, reason: 'allowed' }) },
          say: () => undefined,
          frames: 'bridge',
          controlRequests: true,
        },
        o.generated,
      );
      const bridge = new HostBridgeServer(runner);
      runner.attach(bridge);
      await bridge.listen();
      rig = new RealHostRig(x, xterm, patch, helper, runner, bridge);
      return rig;
    } catch (err) {
      for (const p of parts.reverse()) await p.stop().catch(() => undefined);
      throw err;
    }
  }

  /** ws:// URL for the host page's `bridge` option. */
  get url(): string {
    return this.bridge.url;
  }

  get runner(): HostRunner {
    return this.observed;
  }

  /** Every event the host page handed the runner, in order (the helper then decides). */
  get forwarded(): ReadonlyArray<{ controllerId: string; event: unknown }> {
    return this.observed.forwarded;
  }

  /** Events the page forwarded that the runner's sanitizer refuses: the page must never send one. */
  unsanitary(): unknown[] {
    return this.observed.forwarded.filter((f) => !sanitizeInputEvent(f.event).ok).map((f) => f.event);
  }

  /** What the terminal received since the last reset() or mark(). */
  typed(): string {
    return this.xterm.read().slice(this.typedMark);
  }

  mark(): void {
    this.typedMark = this.xterm.read().length;
  }

  pointer(): { x: number; y: number } {
    return mouseLocation(this.x);
  }

  /**
   * Button presses and releases on the bare root window as an X client sees them (xev): a click
   * must land where it was sent, not merely move the pointer there. Only one at a time (X lets
   * one client select root button presses): a new one stops the previous, as reset() and close() do.
   */
  async watchRootClicks(): Promise<{ events: ButtonEvent[]; stop(): void }> {
    // One at a time: a watcher a failed test left running would keep the new one from selecting.
    for (const w of this.watchers.splice(0)) w.stop();
    const watch = await watchRootButtons(this.x);
    this.watchers.push(watch);
    // Proven live before it is trusted to have seen nothing: a click of our own in the bare corner.
    const { x: cx, y: cy } = { x: this.x.width - 1, y: this.x.height - 1 };
    const was = this.pointer();
    this.x.run('xdotool', 'mousemove', String(cx), String(cy), 'click', '1');
    await waitFor(() => watch.events.some((e) => e.type === 'release' && e.x === cx && e.y === cy), 3000, 'the root-window watcher to see a test click');
    watch.events.length = 0;
    this.x.run('xdotool', 'mousemove', String(was.x), String(was.y));
    return watch;
  }

  /** Buttons and keys XTEST holds down right now. */
  held(): { buttons: number[]; keys: number[] } {
    return xtestHeld(this.x);
  }

  /** The helper's own count of injected and refused events. */
  async helperStats(): Promise<{ injected: number; refused: Record<string, number>; granted: string | null }> {
    const s = await this.helper.inputStats();
    return { injected: s.injected, refused: s.refused, granted: s.granted };
  }

  /** Between tests: nobody granted, nothing held, the terminal focused, the pointer parked. */
  async reset(): Promise<void> {
    // X lets one client at a time select button presses on the root window.
    for (const w of this.watchers.splice(0)) w.stop();
    await this.helper.revoke('revoked').catch(() => undefined);
    this.x.run('xdotool', 'mousemove', String(PARKED.x), String(PARKED.y));
    assert.deepEqual(this.pointer(), PARKED, 'the pointer parked');
    this.x.run('xdotool', 'windowfocus', '--sync', this.xterm.windowId);
    assert.deepEqual(this.held(), { buttons: [], keys: [] }, 'nothing held after the reset');
    this.answer = { allow: true, reason: 'allowed' };
    this.asked.length = 0;
    this.observed.forwarded.length = 0;
    this.mark();
  }

  async close(): Promise<void> {
    for (const w of this.watchers.splice(0)) w.stop();
    await this.bridge.close().catch(() => undefined);
    await this.helper.stop().catch(() => undefined);
    await this.xterm.stop();
    await this.patch.stop();
    await this.x.stop();
  }
}

/** Where a point of the X screen appears on a guest's page, in a <video> box showing it letterboxed (Fit). */
export function pointOnVideo(
  box: { x: number; y: number; width: number; height: number },
  screen: { width: number; height: number },
  sx: number,
  sy: number,
): { x: number; y: number } {
  const scale = Math.min(box.width / screen.width, box.height / screen.height);
  return { x: box.x + (box.width - screen.width * scale) / 2 + sx * scale, y: box.y + (box.height - screen.height * scale) / 2 + sy * scale };
}

/** A left-button press within 2 px of (x, y) among the root window's button events. */
export function pressedAt(events: readonly ButtonEvent[], x: number, y: number): boolean {
  return events.some((e) => e.type === 'press' && e.button === 1 && Math.abs(e.x - x) <= 2 && Math.abs(e.y - y) <= 2);
}
