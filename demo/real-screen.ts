/**
 * Puts the real screen behind the demo's host page: picks the display (or starts a virtual
 * desktop), starts the helper on it, starts capture, and serves the bridge the page connects to.
 */
import { HelperProcess } from '../helper/client';
import { describeMonitors } from '../helper/capture/monitors';
import { ControlPrompt } from './control-prompt';
import { chooseDesktop, type Desktop } from './desktop';
import { loadScreencastToken, saveScreencastToken } from './screencast-token';
import { HostBridgeServer } from '../runner/websocket-bridge';
import { HostRunner } from '../runner/host-runner';

export interface RealScreen {
  bridgeUrl: string;
  /** One line for the banner: what is shared and why. */
  describe: string;
  width: number;
  height: number;
  stopAllControl(): Promise<void>;
  /** Ends the control audit (an open stint ends with the session) and returns it as lines. */
  controlAudit(): string[];
  close(): Promise<void>;
}

export interface RealScreenOptions {
  width: number;
  height: number;
  fps: number;
  forceVirtual: boolean;
  controlPolicy: 'ask' | 'allow' | 'deny';
  frames: 'bridge' | 'websocket';
  /** A RandR monitor to share, by name; the whole screen when absent. */
  monitor?: string | undefined;
  say(line: string): void;
}

export async function startRealScreen(o: RealScreenOptions): Promise<RealScreen> {
  const desktop: Desktop = await chooseDesktop(o.width, o.height, o.forceVirtual);
  const cleanups: Array<() => Promise<void>> = [() => desktop.stop()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    o.say(`${desktop.why}; starting the helper (screen capture and input)…`);
    const wayland = desktop.kind === 'wayland';
    const helper = new HelperProcess({ env: wayland ? process.env : { ...process.env, DISPLAY: desktop.display } });
    cleanups.push(() => helper.stop());
    const hello = await helper.start();
    if (!hello.capture.available) throw new Error(`screen capture is not available: ${hello.capture.reason ?? 'unknown reason'}`);
    if (!hello.inject.available) o.say(`remote control will not work here: ${hello.inject.reason ?? 'injection unavailable'}`);
    if (hello.releasedAtStart.length) o.say(`released input a previous helper left held: ${hello.releasedAtStart.join(', ')}`);
    if (wayland) {
      // The desktop's own dialog picks the monitor; --monitor names an X11 (RandR) one.
      if (o.monitor) o.say(`--monitor ${o.monitor} is for X11: on Wayland the desktop's dialog picks the screen`);
    } else {
      const monitors = await helper.listMonitors();
      o.say(`monitors: ${describeMonitors(monitors)}${monitors.length > 1 && !o.monitor ? ' (sharing them all; --monitor=NAME shares one)' : ''}`);
    }
    const restoreToken = wayland ? loadScreencastToken() : undefined;
    const capture = await helper.startCapture({
      fps: o.fps,
      deliver: o.frames === 'websocket' ? 'websocket' : 'link',
      patches: true,
      ...(o.monitor && !wayland ? { monitor: o.monitor } : {}),
      ...(restoreToken ? { restoreToken } : {}),
    });
    if (capture.restoreToken && capture.restoreToken !== restoreToken) {
      const problem = saveScreencastToken(capture.restoreToken);
      if (problem) o.say(problem);
    }
    let runner: HostRunner | undefined;
    const resume = () =>
      void runner
        ?.resumeCapture()
        .then((c) => o.say(`sharing again: ${c.width}×${c.height}`))
        .catch((err: Error) => o.say(`could not share again: ${err.message}`));
    const prompt = new ControlPrompt(o.say, () => void runner?.stopAllControl(), o.controlPolicy, undefined, resume);
    // The desktop ended the cast (its sharing indicator, the portal gone): the host may share again.
    helper.on('captureError', (e) => {
      if (e.fatal && /sharing stopped on the host/.test(e.message)) o.say('guests see the last picture; type r then Enter to share the screen again');
    });
    cleanups.push(async () => prompt.close());
    runner = new HostRunner({ helper, capture, prompt, lobby: prompt, say: o.say, frames: o.frames, controlRequests: o.controlPolicy !== 'deny' });
    const bridge = new HostBridgeServer(runner);
    runner.attach(bridge);
    const bridgeUrl = await bridge.listen();
    cleanups.push(() => bridge.close());
    return {
      bridgeUrl,
      width: capture.width,
      height: capture.height,
      describe: `The host shares ${
        wayland
          ? `its Wayland desktop (${desktop.display}, through the desktop portal)`
          : desktop.virtual
            ? `a virtual desktop (Xvfb ${desktop.display})`
            : `the X display ${desktop.display}`
      }${capture.monitor ? `, monitor ${capture.monitor.name}` : ''}: ${capture.width}×${capture.height} @ ${capture.fps} fps, captured by the helper.`,
      stopAllControl: () => runner!.stopAllControl(),
      controlAudit: () => runner!.closeControlAudit(),
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
