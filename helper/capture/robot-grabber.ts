/** robotjs as the capture loop's screen: X11 XGetImage on Linux, BGRX bytes, no pointer. */
import type { Robot } from '../native/robot';
import type { ScreenGrabber } from './screen-capturer';

export function robotGrabber(robot: Robot): ScreenGrabber {
  return {
    screenSize: () => robot.getScreenSize(),
    grab: (r) => robot.screen.capture(r.x, r.y, r.width, r.height),
    pointer: () => robot.getMousePos(),
  };
}
