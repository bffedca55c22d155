/**
 * robotjs, loaded on demand: it is a native addon (a prebuilt N-API binary per platform), so a
 * missing or broken binary must become "capture/injection unavailable" in `helper.hello`, not a
 * crash at import time. CommonJS, hence `createRequire` (an ESM namespace import would not see
 * its functions), which also keeps it external and resolvable from a bundle in dist/.
 */
import { createRequire } from 'node:module';

export type Robot = typeof import('robotjs');

let loaded: Robot | Error | undefined;

export function loadRobot(): Robot | Error {
  if (loaded === undefined) {
    try {
      const robot = createRequire(import.meta.url)('robotjs') as Robot;
      // Its default is a 10 ms sleep after every mouse and keyboard event.
      robot.setMouseDelay(0);
      robot.setKeyboardDelay(0);
      loaded = robot;
    } catch (err) {
      loaded = new Error(`robotjs could not be loaded: ${(err as Error).message}`);
    }
  }
  return loaded;
}
