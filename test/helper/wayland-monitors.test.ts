/**
 * A Wayland host with two monitors (sway headless, test/helper/support/wayland.ts) sharing the
 * second: the portal says only the cast's size (xdg-desktop-portal-wlr puts every stream at 0,0),
 * so the helper finds the shared monitor by its size and binds its virtual pointer to it. A
 * guest's click then lands on the shared monitor, at its pixel, read from a terminal there that
 * reports the character cell under the pointer (as in wayland-input.test.ts).
 */
import assert from 'node:assert/strict';
import { HelperProcess, resolveHelperCommand } from '../../helper/client';
import { outputForCast, type WaylandOutput } from '../../helper/native/wayland-outputs';
import type { InputEvent } from '../../protocol/input';
import { startRecordingTerminal, type RecordingTerminal } from './support/recording-terminal';
import { SECOND_OUTPUT, startWayland, WAYLAND_OUTPUT, type WaylandSession } from './support/wayland';
import { waitFor } from './support/xvfb';

let seq = 0;
const ev = <T extends Omit<InputEvent, 'seq'>>(e: T): T & { seq: number } => ({ ...e, seq: seq++ });

const output = (name: string, width: number, height: number, scale = 1, x = 0): WaylandOutput => ({
  id: x + 1,
  name,
  x,
  y: 0,
  width,
  height,
  scale,
  layoutWidth: width / scale,
  layoutHeight: height / scale,
});

describe('which monitor a Wayland cast shows, from its size', () => {
  it('is the one monitor of that size in pixels, or in layout units when it is scaled', () => {
    const laptop = output('eDP-1', 2560, 1600, 2);
    const desk = output('DP-2', 1920, 1080, 1, 1280);
    assert.equal(outputForCast([laptop, desk], { width: 1920, height: 1080 }).output, desk);
    assert.equal(outputForCast([laptop, desk], { width: 2560, height: 1600 }).output, laptop);
    assert.equal(outputForCast([laptop, desk], { width: 1280, height: 800 }).output, laptop);
  });

  it('is none, with the reason, when two monitors have that size or none has it', () => {
    const twins = [output('DP-1', 1920, 1080), output('DP-2', 1920, 1080, 1, 1920)];
    const same = outputForCast(twins, { width: 1920, height: 1080 });
    assert.equal(same.output, undefined);
    assert.match(same.reason!, /2 monitors \(DP-1, DP-2\) are 1920x1080/);
    const none = outputForCast(twins, { width: 800, height: 600 });
    assert.equal(none.output, undefined);
    assert.match(none.reason!, /no monitor \(DP-1, DP-2\) is 800x600/);
  });
});

describe('helper input on a two-monitor Wayland host sharing its second monitor', function () {
  this.timeout(60_000);
  const FIRST = { width: 1280, height: 720 };
  const SECOND = { width: 1024, height: 768 };
  let wl: WaylandSession;
  let helper: HelperProcess;
  let terminal: RecordingTerminal;
  const logLines: string[] = [];
  const got = () => terminal?.got() ?? '';

  before(async () => {
    wl = await startWayland({ ...FIRST, second: SECOND, shared: SECOND_OUTPUT });
    // The terminal opens on the focused monitor: the second, the one shared.
    wl.swaymsg('focus', 'output', SECOND_OUTPUT);
    terminal = await startRecordingTerminal(wl, 'wayland-monitors');
    const tree = JSON.parse(wl.swaymsg('-t', 'get_outputs', '-r')) as Array<{ name: string; focused: boolean; rect: { x: number; width: number } }>;
    const second = tree.find((o) => o.name === SECOND_OUTPUT);
    assert.ok(second?.focused && second.rect.x === FIRST.width && second.rect.width === SECOND.width, `sway's outputs: ${JSON.stringify(tree)}`);
    helper = new HelperProcess({ env: wl.env, command: wl.asUser(resolveHelperCommand()), autoRestart: false });
    helper.on('log', (l) => logLines.push(l));
  });
  after(async () => {
    await helper?.stop().catch(() => undefined);
    await wl?.stop();
    terminal?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`helper log:\n${logLines.slice(-20).join('\n')}\nterminal got: ${JSON.stringify(got())}`);
  });

  it(`a click lands at its pixel on the shared monitor (${SECOND_OUTPUT}, right of ${WAYLAND_OUTPUT}), not where the layout's top left would put it`, async () => {
    const hello = await helper.start();
    assert.equal(hello.desktop, 'wayland');
    assert.equal(hello.inject.available, true, hello.inject.reason);
    const capture = await helper.startCapture({ fps: 30, patches: true });
    assert.deepEqual([capture.width, capture.height], [SECOND.width, SECOND.height], 'the portal shares the second monitor');
    await helper.grant('driver');
    const { cell } = terminal;
    const [x, y] = [cell.w * 30 + 3, cell.h * 12 + 3];
    const at = { x: (x + 0.5) / SECOND.width, y: (y + 0.5) / SECOND.height };
    helper.sendInput('driver', ev({ t: 'move', ...at }));
    helper.sendInput('driver', ev({ t: 'down', ...at, button: 'left' }));
    helper.sendInput('driver', ev({ t: 'up', ...at, button: 'left' }));
    const report = `\x1b[<0;31;13M\x1b[<0;31;13m`;
    await waitFor(() => got().length >= report.length, 5000, 'the click report').catch(() => undefined);
    assert.equal(got(), report, `cell ${cell.w}×${cell.h} px: the click at (${x}, ${y}) of ${SECOND_OUTPUT} is column 31, row 13`);
    assert.ok(
      logLines.some((l) => l.includes(`the pointer moves on monitor ${SECOND_OUTPUT} (${SECOND.width}x${SECOND.height} at ${FIRST.width},0)`)),
      'the helper says where the pointer goes',
    );
  });
});
