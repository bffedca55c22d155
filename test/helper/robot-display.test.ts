/**
 * robotjs talks to the X display the helper was given. Left to itself it opens ":0.0" first and
 * $DISPLAY only when that fails, so a helper for a virtual desktop (the demo's Xvfb) on a machine
 * whose own screen is :0 would capture and type into the user's screen.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startXvfb, type Xvfb } from './support/xvfb';

/** What robotjs, as the helper loads it, says in a fresh process with this environment. */
function robotIn(env: NodeJS.ProcessEnv): { display: string; width: number; colour: string } {
  const script = `
    import { loadRobot } from './helper/native/robot.ts';
    const robot = loadRobot();
    if (robot instanceof Error) throw robot;
    const size = robot.getScreenSize();
    console.log(JSON.stringify({ display: robot.getXDisplayName(), width: size.width, colour: robot.getPixelColor(5, 5) }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8' }).trim()) as {
    display: string;
    width: number;
    colour: string;
  };
}

describe('helper: robotjs on the display it was given', function () {
  this.timeout(30_000);
  let x: Xvfb | undefined;
  after(() => x?.stop());

  it("names $DISPLAY to robotjs, not robotjs's own default :0.0, and reads that screen", async () => {
    x = await startXvfb(640, 360);
    x.run('xsetroot', '-solid', '#20c040');
    const seen = robotIn(x.env);
    assert.equal(seen.display, x.env.DISPLAY);
    assert.equal(seen.width, 640);
    assert.equal(seen.colour, '20c040');
  });
});
