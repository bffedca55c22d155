/**
 * robotjs, loaded on demand: it is a native addon (a prebuilt N-API binary per platform), so a
 * missing or broken binary must become "capture/injection unavailable" in `helper.hello`, not a
 * crash at import time. CommonJS, hence `createRequire` (an ESM namespace import would not see
 * its functions), which also keeps it external and resolvable from a bundle in dist/.
 */
import { createRequire } from 'node:module';

/** Its Linux-only display functions are in the binary but missing from its type declarations. */
export type Robot = typeof import('robotjs') & {
  getXDisplayName?(): string;
  setXDisplayName?(name: string): void;
};

let loaded: Robot | Error | undefined;

export function loadRobot(): Robot | Error {
  if (loaded === undefined) {
    try {
      const robot = createRequire(import.meta.url)('robotjs') as Robot;
      // Its default is a 10 ms sleep after every mouse and keyboard event.
      robot.setMouseDelay(0);
      robot.setKeyboardDelay(0);
      // On X11 robotjs opens ":0.0" first and $DISPLAY only when that fails: a helper meant for a
      // virtual desktop (the demo's Xvfb) on a machine whose own screen is :0 would capture and
      // type into the user's screen instead. The display the helper was given is the one it uses.
      if (process.env.DISPLAY && robot.setXDisplayName) robot.setXDisplayName(process.env.DISPLAY);
      loaded = robot;
    } catch (err) {
      loaded = new Error(`robotjs could not be loaded: ${(err as Error).message}`);
    }
  }
  return loaded;
}

/**
 * On X11 robotjs knows the screen's size only as Xlib recorded it when robotjs's connection
 * opened: Xlib never updates it by itself after a RandR resize, and robotjs checks grabs (and
 * answers `getScreenSize`) against it. Naming the display again makes robotjs close that
 * connection and open a fresh one on its next call, which learns the size of now. The same name
 * as before, so which server robotjs talks to does not change. A no-op elsewhere (macOS and
 * Windows ask the OS each time).
 */
export function reopenRobotDisplay(robot: Robot): void {
  if (!robot.setXDisplayName || !robot.getXDisplayName) return;
  robot.setXDisplayName(robot.getXDisplayName());
}
