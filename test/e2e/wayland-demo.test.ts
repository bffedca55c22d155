/**
 * `npm run demo` on a Wayland desktop, as its user runs it (dist/demo.js, as the desktop's user):
 * it finds Wayland, shares through the desktop portal, and a guest with the printed controller
 * link sees a colour patch a Wayland client painted, at its place in the decoded video, then takes
 * control and types into a Wayland terminal; when the desktop ends the screen cast, the host types
 * r in the demo's terminal and the guest sees what was painted after. The desktop is the headless sway of
 * test/helper/support/wayland.ts, whose portal backend is Debian's rebuilt for a machine without a
 * GPU (scripts/wayland-portal.mjs); everything else is real and unchanged.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startWayland, type WaylandSession } from '../helper/support/wayland';
import { ViewerPage } from '../support/browser-viewer';
import { eventually } from '../support/livekit';
import { driveAndClick } from '../support/demo-machines';
import { stopChild } from '../support/stop-child';
import { TEST_PAGES_ENV } from '../support/test-pages';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCREEN = { width: 1280, height: 720 };
const PATCH = { x: 900, y: 400, w: 200, h: 120 };

describe('end to end: the demo on a Wayland desktop (sway headless, the portal, PipeWire)', function () {
  this.timeout(120_000);
  let wl: WaylandSession;
  let demo: ChildProcess | undefined;
  let browser: Browser | undefined;
  let dir: string;
  let out = '';

  before(async () => {
    wl = await startWayland(SCREEN);
    dir = mkdtempSync('/tmp/pairux-wayland-demo-');
    chownSync(dir, 65534, 65534);
    wl.swaymsg(`for_window [app_id="pairux-patch"] "floating enable, border none, resize set ${PATCH.w} ${PATCH.h}, move position ${PATCH.x} ${PATCH.y}"`);
    wl.spawnClient('foot', ['--app-id', 'pairux-patch', '-o', 'colors.background=ff0000', '-o', 'pad=0x0', 'sleep', '600']);
    // The terminal a guest types into (mapped last: it has the focus), recording what it gets.
    wl.spawnClient('foot', ['-o', 'pad=0x0', 'sh', '-c', `stty raw -echo; exec cat > ${path.join(dir, 'typed')}`]);
  });
  after(async () => {
    await browser?.close();
    await stopChild(demo);
    await wl?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("says it shares the Wayland desktop; a guest sees a Wayland client's colour patch at its place, takes control and types into a Wayland terminal; the cast ended by the desktop, r shares again", async () => {
    // In a terminal of its own (util-linux's script: a pseudo-terminal), as a user runs it: the demo
    // reads its commands (r: share again) only from a terminal.
    const command = [process.execPath, path.join(ROOT, 'dist/demo.js'), '--allow-control', '--size', '1280x720', '--port', '0'].join(' ');
    demo = wl.spawnClient('script', ['-qfec', command, '/dev/null'], TEST_PAGES_ENV);
    demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const said = () => `the demo said: ${out.slice(-2500)}`;
    const controller = (await eventually(() => /Controller link:\s+(\S+)/.exec(out)?.[1], said, 60_000))!;
    assert.match(out, /sharing your Wayland desktop \(wayland-\d+\) through its screen-sharing portal/);
    assert.match(out, /shares its Wayland desktop .*through the desktop portal.*1280×720/);

    browser = await launchChromium();
    const guest = await ViewerPage.open(browser, controller, 'Wayland guest');
    await guest.waitForState('live', 60_000);
    const centre = { x: PATCH.x + PATCH.w / 2, y: PATCH.y + PATCH.h / 2 };
    await eventually(
      () => guest.colourAt(centre.x, centre.y, [255, 0, 0]),
      () => `the red patch at its place in the guest's picture; ${said()}`,
      30_000,
    );
    assert.equal(await guest.colourAt(PATCH.x - 40, centre.y, [255, 0, 0]), undefined, 'no red beside the patch');

    await driveAndClick(guest, SCREEN, 200, 200);
    await guest.page.keyboard.type('wayland: ok!', { delay: 10 });
    await eventually(
      () => (readFileSync(path.join(dir, 'typed'), 'utf8') === 'wayland: ok!' ? true : undefined),
      () => `the guest's keys in the host's Wayland terminal (it got ${JSON.stringify(readFileSync(path.join(dir, 'typed'), 'utf8'))}); ${said()}`,
      20_000,
    );

    // The desktop ends the cast (its portal backend gone, as when the user stops sharing from its
    // indicator): the demo says so and how to share again; r brings a live picture back.
    wl.processes.portalBackend.kill('SIGKILL');
    await eventually(() => (/type r then Enter to share the screen again/.test(out) ? true : undefined), said, 15_000);
    await wl.restartPortalBackend();
    demo.stdin!.write('r\n');
    await eventually(() => (/sharing again: 1280×720/.test(out) ? true : undefined), said, 30_000);
    // Painted after: a green window over the red patch.
    wl.swaymsg(`for_window [app_id="pairux-after"] "floating enable, border none, resize set ${PATCH.w} ${PATCH.h}, move position ${PATCH.x} ${PATCH.y}"`);
    wl.spawnClient('foot', ['--app-id', 'pairux-after', '-o', 'colors.background=00ff00', '-o', 'pad=0x0', 'sleep', '600']);
    await eventually(
      () => guest.colourAt(centre.x, centre.y, [0, 255, 0]),
      () => `the green window painted after r, at its place in the guest's picture; ${said()}`,
      30_000,
    );
    await guest.close();
  });
});
