/**
 * The helper's Xlib error handler (helper/native/x-error-handler.ts): an X error in robotjs is an
 * exception, not the end of the process. Each case runs in a child process on a real Xvfb, so
 * the error that would end it without the handler ends only the child: the screen shrinks (RandR)
 * and robotjs, whose connection still believes the old size, grabs the old rectangle: BadMatch on
 * X_GetImage, every time, not only when a grab races a resize.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startXvfb, type Xvfb } from './support/xvfb';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The child: robotjs grabs the whole screen, the screen shrinks, robotjs grabs the old size again. */
const CHILD = (handler: boolean) => `
  import { execFileSync } from 'node:child_process';
  import { loadRobot } from './helper/native/robot.ts';
  import { installXErrorHandler } from './helper/native/x-error-handler.ts';
  const robot = loadRobot();
  if (robot instanceof Error) throw robot;
  const state = ${handler} ? installXErrorHandler() : undefined;
  robot.screen.capture(0, 0, 320, 240);
  try { execFileSync('xrandr', ['--output', 'screen', '--off'], { stdio: 'ignore' }); } catch {}
  execFileSync('xrandr', ['--fb', '200x100'], { stdio: 'ignore' });
  let threw = '';
  try { robot.screen.capture(0, 0, 320, 240); } catch (e) { threw = e.message; }
  const small = robot.screen.capture(0, 0, 200, 100);
  console.log(JSON.stringify({ threw, installed: state?.installed, count: state?.count, last: state?.last, small: [small.width, small.height] }));
`;

describe('helper: an X error in robotjs is an exception, not an exit', function () {
  this.timeout(30_000);
  let x: Xvfb;

  beforeEach(async () => {
    x = await startXvfb(320, 240);
  });
  afterEach(async () => {
    await x?.stop();
  });

  const runChild = (handler: boolean) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD(handler)], { cwd: ROOT, env: x.env, encoding: 'utf8', timeout: 20_000 });

  it('without the handler, a grab past the shrunk screen ends the process (what the handler is for)', () => {
    const r = runChild(false);
    assert.notEqual(r.status, 0, `status ${r.status}, signal ${r.signal}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /X Error of failed request:\s+BadMatch[\s\S]*X_GetImage/);
    assert.equal(r.stdout, '', 'it never got past the grab');
  });

  it('with it, that grab throws, the handler counts BadMatch on X_GetImage, and the next grab at the new size works', () => {
    const r = runChild(true);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      threw: string;
      installed: boolean;
      count: number;
      last: { errorCode: number; requestCode: number };
      small: number[];
    };
    assert.equal(out.installed, true);
    assert.match(out.threw, /Failed to capture the requested screen rect/);
    assert.equal(out.count, 1);
    // BadMatch is X error 8; X_GetImage is request 73.
    assert.deepEqual([out.last.errorCode, out.last.requestCode], [8, 73]);
    assert.deepEqual(out.small, [200, 100]);
  });
});
