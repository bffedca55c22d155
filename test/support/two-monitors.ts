/**
 * An X server with two monitors side by side (RandR 1.5 monitors on one Xvfb screen, see the
 * helper README's "Several monitors on Xvfb"), painted so a frame tells which one it shows: the
 * whole screen blue, and an orange band across the top of RIGHT only. The centre of each monitor
 * is bare root window, so a click there is seen by `watchRootButtons`.
 */
import { startXterm, startXvfb, waitFor, type Xterm, type Xvfb } from '../helper/support/xvfb';

export const LEFT = { name: 'LEFT', x: 0, y: 0, width: 800, height: 600, primary: true };
export const RIGHT = { name: 'RIGHT', x: 800, y: 0, width: 640, height: 480, primary: false };
/** The orange band: the top of RIGHT, clear of its centre. */
export const BAND = { x: RIGHT.x, y: 0, width: RIGHT.width, height: 200 };
export const BLUE = '#0000ff';
export const ORANGE = '#ff8000';

export interface TwoMonitors {
  x: Xvfb;
  band: Xterm;
  stop(): Promise<void>;
}

/** `xrandr --setmonitor` geometry: width/mm x height/mm + x + y (the millimetres only need to be non-zero). */
function geometry(m: { x: number; y: number; width: number; height: number }): string {
  return `${m.width}/${Math.round(m.width / 3.78)}x${m.height}/${Math.round(m.height / 3.78)}+${m.x}+${m.y}`;
}

export async function startTwoMonitors(): Promise<TwoMonitors> {
  const x = await startXvfb(LEFT.width + RIGHT.width, Math.max(LEFT.height, RIGHT.height));
  try {
    // LEFT takes the Xvfb output (whose own automatic monitor then disappears) and is primary
    // (the `*`); RIGHT is a monitor without an output, as a second screen the server was told of.
    x.run('xrandr', '--setmonitor', `*${LEFT.name}`, geometry(LEFT), 'screen');
    x.run('xrandr', '--setmonitor', RIGHT.name, geometry(RIGHT), 'none');
    x.run('xsetroot', '-solid', BLUE);
    const band = await startXterm(x, { geometry: '10x3+0+0', bg: ORANGE, command: 'sleep 3600' });
    x.run('xdotool', 'windowsize', '--sync', band.windowId, String(BAND.width), String(BAND.height));
    x.run('xdotool', 'windowmove', '--sync', band.windowId, String(BAND.x), String(BAND.y));
    await waitFor(() => /Monitors: 2/.test(x.run('xrandr', '--listmonitors')), 3000, 'the two monitors');
    return {
      x,
      band,
      async stop() {
        await band.stop();
        await x.stop();
      },
    };
  } catch (err) {
    await x.stop();
    throw err;
  }
}

/** The monitor's CRTC goes dark (`--output screen --off`: xrandr exits 1 after it, failing to shrink the screen). */
export function outputOff(x: Xvfb): void {
  try {
    x.run('xrandr', '--output', 'screen', '--off');
  } catch {
    // The CRTC is off by now; the error is about resizing the screen afterwards.
  }
}

/** BGRX pixel at (px, py) of a tightly packed frame, as #rrggbb. */
export function pixelAt(pixels: Buffer, width: number, px: number, py: number): string {
  const i = (py * width + px) * 4;
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `#${hex(pixels[i + 2]!)}${hex(pixels[i + 1]!)}${hex(pixels[i]!)}`;
}
