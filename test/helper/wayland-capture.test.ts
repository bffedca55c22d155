/**
 * The helper on a real Wayland desktop (test/helper/support/wayland.ts: sway headless, PipeWire,
 * xdg-desktop-portal). The portal's wlroots backend here is Debian's, rebuilt with two changes
 * (scripts/wayland-portal.mjs): the stock one refuses ScreenCast on a machine without a GPU. It
 * picks the one output without a dialog (chooser_type=none), as a user's click in the desktop's
 * picker would. The helper runs as the desktop's user, as on a real desktop.
 */
import assert from 'node:assert/strict';
import { HelperProcess, resolveHelperCommand, type CaptureErrorNotice, type HelperFrame } from '../../helper/client';
import { PairuxError } from '../../protocol/errors';
import { recorder, rgbAt } from './support/frame-pixels';
import { startWayland, type WaylandSession } from './support/wayland';
import { waitFor } from './support/xvfb';

const RED = [255, 0, 0];
/** Where the painter's window goes: a floating window of exactly this place and size. */
const PATCH = { x: 400, y: 300, w: 200, h: 120 };

describe('helper capture on Wayland: the desktop portal and PipeWire (sway headless)', function () {
  this.timeout(60_000);
  let wl: WaylandSession;
  let helper: HelperProcess;
  const logLines: string[] = [];
  const errors: CaptureErrorNotice[] = [];

  before(async () => {
    wl = await startWayland({ width: 1280, height: 720 });
    // A painter's window lands where the test says, borderless.
    wl.swaymsg(`for_window [app_id="pairux-patch"] "floating enable, border none, resize set ${PATCH.w} ${PATCH.h}, move position ${PATCH.x} ${PATCH.y}"`);
    helper = new HelperProcess({ env: wl.env, command: wl.asUser(resolveHelperCommand()), autoRestart: false });
    helper.on('log', (l) => logLines.push(l));
    helper.on('captureError', (e) => errors.push(e));
  });
  after(async () => {
    await helper?.stop().catch(() => undefined);
    await wl?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`helper log:\n${logLines.slice(-30).join('\n')}\ndesktop:\n${wl.log.slice(-30).join('\n')}`);
  });

  const redAt = (f: HelperFrame, x: number, y: number) => JSON.stringify(rgbAt(f, x, y)) === JSON.stringify(RED);

  it('says it found Wayland; a colour patch a Wayland client paints on a still screen arrives at its place, as a patch; then nothing is sent', async () => {
    const hello = await helper.start();
    assert.equal(hello.desktop, 'wayland');
    assert.equal(hello.capture.available, true, hello.capture.reason);
    assert.equal(hello.inject.available, true, hello.inject.reason);

    const frames = recorder(helper);
    const started = await helper.startCapture({ fps: 30, patches: true });
    assert.equal(started.backend, 'portal');
    assert.deepEqual([started.width, started.height], [1280, 720]);
    assert.ok(started.restoreToken, 'the desktop gives a token for the next session');
    await waitFor(() => frames.length > 0, 10_000, 'the first (whole) frame');
    assert.equal(frames[0]!.rects, undefined, 'the first frame is whole');
    assert.ok(!redAt(frames[0]!, PATCH.x + 100, PATCH.y + 60), 'no red before the painter runs');
    await new Promise((r) => setTimeout(r, 500));
    const still = frames.length;

    const painter = wl.spawnClient('foot', [
      '--app-id',
      'pairux-patch',
      '-o',
      'colors.background=ff0000',
      '-o',
      'colors.foreground=ff0000',
      '-o',
      'pad=0x0',
      'sleep',
      '600',
    ]);
    try {
      await waitFor(() => frames.some((f) => redAt(f, PATCH.x + 100, PATCH.y + 60)), 10_000, 'the red patch in a frame');
      const patch = frames.find((f) => redAt(f, PATCH.x + 100, PATCH.y + 60))!;
      assert.ok(patch.rects, 'it came as a patch, not a whole frame');
      for (const [x, y] of [
        [PATCH.x + 2, PATCH.y + 2],
        [PATCH.x + PATCH.w - 3, PATCH.y + PATCH.h - 3],
      ] as const) {
        assert.ok(
          frames.some((f) => redAt(f, x, y)),
          `red at (${x}, ${y}), inside the patch`,
        );
      }
      const outside = frames.filter((f) => redAt(f, PATCH.x - 4, PATCH.y + 60) || redAt(f, PATCH.x + 100, PATCH.y + PATCH.h + 4));
      assert.equal(outside.length, 0, 'no red outside the patch');
      assert.equal(still, 1, `a still screen sent nothing after the first frame (${still} frames)`);
    } finally {
      painter.kill();
    }
    assert.deepEqual(errors, []);
  });

  it('the desktop ending the cast mid-share (its portal backend killed): capture stops with a fatal error saying sharing stopped on the host; resumeCapture shares again', async () => {
    wl.processes.portalBackend.kill('SIGKILL');
    await waitFor(() => errors.some((e) => e.fatal), 10_000, 'a fatal capture error');
    assert.match(errors.find((e) => e.fatal)!.message, /sharing stopped on the host: the desktop's screen cast ended/);
    errors.length = 0;

    await wl.restartPortalBackend();
    const frames = recorder(helper);
    const again = await helper.resumeCapture();
    assert.equal(again.backend, 'portal');
    await waitFor(() => frames.length > 0, 10_000, 'a whole frame from the new cast');
    assert.deepEqual([frames[0]!.header.width, frames[0]!.header.height], [1280, 720]);
    await helper.stopCapture();
  });

  it("the user closing the desktop's picker: capture.start fails with CANCELLED saying nothing is shared, and no frame comes", async () => {
    await wl.restartPortalBackend({ cancel: true });
    // A helper that has no token from an earlier cast: the desktop must ask.
    const fresh = new HelperProcess({ env: wl.env, command: wl.asUser(resolveHelperCommand()), autoRestart: false });
    try {
      await fresh.start();
      const frames = recorder(fresh);
      const err = await fresh.startCapture({ fps: 30, patches: true }).catch((e: unknown) => e);
      assert.ok(err instanceof PairuxError, String(err));
      assert.equal(err.code, 'CANCELLED');
      assert.match(err.message, /cancelled in the desktop's dialog, so nothing is shared/);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(frames.length, 0);
    } finally {
      await fresh.stop();
      await wl.restartPortalBackend();
    }
  });

  it('the compositor dying mid-share: capture stops with a fatal error saying sharing stopped on the host, and the helper lives on to say so', async () => {
    errors.length = 0;
    const frames = recorder(helper);
    await helper.startCapture({ fps: 30, patches: true });
    await waitFor(() => frames.length > 0, 10_000, 'a frame before the compositor goes');
    wl.processes.sway.kill('SIGKILL');
    await waitFor(() => errors.some((e) => e.fatal), 10_000, 'a fatal capture error');
    assert.match(errors.find((e) => e.fatal)!.message, /sharing stopped on the host/);
    assert.equal((await helper.hello()).desktop, 'wayland');
  });
});
