/**
 * A granted guest driving a Wayland host (sway headless, test/helper/support/wayland.ts): the
 * helper's virtual keyboard and pointer (the wlroots protocols) behind the same grant gate and
 * allowlist as on X11. What lands is read from a real Wayland terminal (foot) whose program
 * records every byte it gets: keys typed, and the terminal's own report of where a click landed
 * (its SGR mouse mode names the character cell under the pointer).
 */
import assert from 'node:assert/strict';
import { HelperProcess, resolveHelperCommand, type InputRefusedNotice } from '../../helper/client';
import type { InputEvent } from '../../protocol/input';
import { startRecordingTerminal, type RecordingTerminal } from './support/recording-terminal';
import { startWayland, type WaylandSession } from './support/wayland';
import { waitFor } from './support/xvfb';

const PRINTABLE = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
let seq = 0;
const ev = <T extends Omit<InputEvent, 'seq'>>(e: T): T & { seq: number } => ({ ...e, seq: seq++ });

describe('helper input on Wayland: a virtual keyboard and pointer (sway headless)', function () {
  this.timeout(60_000);
  let wl: WaylandSession;
  let helper: HelperProcess;
  let terminal: RecordingTerminal;
  const refusals: InputRefusedNotice[] = [];
  const logLines: string[] = [];
  const got = () => terminal?.got() ?? '';
  /** The terminal's character cell, from its own log ("cell width=7, height=14"). */
  let cell = { w: 0, h: 0 };

  before(async () => {
    wl = await startWayland({ width: 1280, height: 720 });
    terminal = await startRecordingTerminal(wl, 'wayland-input');
    cell = terminal.cell;
    helper = new HelperProcess({ env: wl.env, command: wl.asUser(resolveHelperCommand()), autoRestart: false });
    helper.on('log', (l) => logLines.push(l));
    helper.on('inputRefused', (r) => refusals.push(r));
  });
  after(async () => {
    await helper?.stop().catch(() => undefined);
    await wl?.stop();
    terminal?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`helper log:\n${logLines.slice(-20).join('\n')}\nterminal got: ${JSON.stringify(got())}`);
  });

  /** Normalised coordinates of the middle of pixel (x, y) on the 1280×720 output. */
  const at = (x: number, y: number) => ({ x: (x + 0.5) / 1280, y: (y + 0.5) / 720 });

  it('nothing lands without a grant: the helper refuses it', async () => {
    const hello = await helper.start();
    assert.equal(hello.desktop, 'wayland');
    assert.equal(hello.inject.available, true, hello.inject.reason);
    // Input maps onto the shared screen: capture runs, as in every session.
    await helper.startCapture({ fps: 30, patches: true });
    helper.sendInput('nobody', ev({ t: 'keydown', key: 'x', mods: [] }));
    await waitFor(() => refusals.length > 0, 5000, 'a refusal');
    assert.equal(refusals[0]!.code, 'FORBIDDEN');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got(), '');
  });

  it('a granted guest types every printable ASCII character exactly, key by key, with or without Shift sent', async () => {
    await helper.grant('typist');
    const SHIFTED = new Set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    for (const withShift of [true, false]) {
      for (const c of PRINTABLE) {
        const key = c === ' ' ? 'space' : c;
        const mods = withShift && SHIFTED.has(c) ? (['shift'] as const) : [];
        helper.sendInput('typist', ev({ t: 'keydown', key, mods: [...mods] }));
        helper.sendInput('typist', ev({ t: 'keyup', key, mods: [...mods] }));
      }
      await new Promise((r) => setTimeout(r, 600)); // the rate limit's bucket refills (400/s)
    }
    await waitFor(() => got().length >= 2 * PRINTABLE.length, 10_000, 'the keys landing').catch(() => undefined);
    assert.equal(got(), PRINTABLE + PRINTABLE);
    helper.sendInput('typist', ev({ t: 'text', text: 'héllo €' }));
    await waitFor(() => got().endsWith('héllo €'), 5000, 'text beyond ASCII').catch(() => undefined);
    assert.equal(got(), `${PRINTABLE}${PRINTABLE}héllo €`);
  });

  it('a click lands at its pixel: the terminal reports the cell under it; a revoke mid-drag releases the button and nothing lands after', async () => {
    const before = got().length;
    const [x, y] = [cell.w * 40 + 3, cell.h * 10 + 3];
    const { x: nx, y: ny } = at(x, y);
    helper.sendInput('typist', ev({ t: 'move', x: nx, y: ny }));
    helper.sendInput('typist', ev({ t: 'down', x: nx, y: ny, button: 'left' }));
    helper.sendInput('typist', ev({ t: 'up', x: nx, y: ny, button: 'left' }));
    const report = `\x1b[<0;41;11M\x1b[<0;41;11m`;
    await waitFor(() => got().length >= before + report.length, 5000, 'the click report').catch(() => undefined);
    assert.equal(got().slice(before), report, `cell ${cell.w}×${cell.h} px: the click at (${x}, ${y}) is column 41, row 11`);

    // Held down when the grant goes: released, and the terminal hears the release.
    const [x2, y2] = [cell.w * 10 + 1, cell.h * 5 + 1];
    helper.sendInput('typist', ev({ t: 'down', ...at(x2, y2), button: 'left' }));
    await waitFor(() => got().endsWith('\x1b[<0;11;6M'), 5000, 'the press').catch(() => undefined);
    const { released } = await helper.revoke('revoked');
    assert.deepEqual(released, ['mouse:left']);
    await waitFor(() => got().endsWith('\x1b[<0;11;6m'), 5000, 'the release').catch(() => undefined);
    assert.ok(got().endsWith('\x1b[<0;11;6M\x1b[<0;11;6m'), JSON.stringify(got().slice(-30)));

    const length = got().length;
    const refused = refusals.length;
    helper.sendInput('typist', ev({ t: 'keydown', key: 'y', mods: [] }));
    await waitFor(() => refusals.length > refused, 5000, 'a refusal after the revoke');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got().length, length, 'nothing typed after the revoke');
  });

  it('the helper SIGKILLed mid-drag: the next helper lets go of the button and the key the dead one held (the compositor does not), and drives again', async () => {
    await helper.grant('typist');
    const [x, y] = [cell.w * 20 + 1, cell.h * 3 + 1];
    helper.sendInput('typist', ev({ t: 'down', ...at(x, y), button: 'left' }));
    helper.sendInput('typist', ev({ t: 'keydown', key: 'shift', mods: [] }));
    await waitFor(() => got().endsWith('\x1b[<0;21;4M'), 5000, 'the press').catch(() => undefined);
    assert.ok(got().endsWith('\x1b[<0;21;4M'), JSON.stringify(got().slice(-30)));
    process.kill(helper.pid!, 'SIGKILL');
    await helper.stop().catch(() => undefined);
    // The compositor keeps the dead helper's button pressed (sway 1.7): the next helper lets go of it.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(got().endsWith('\x1b[<0;21;4M'), 'still pressed with the helper gone');

    const next = new HelperProcess({ env: wl.env, command: wl.asUser(resolveHelperCommand()), autoRestart: false });
    try {
      const hello = await next.start();
      assert.deepEqual(hello.releasedAtStart, ['mouse:left', 'shift']);
      await waitFor(() => got().endsWith('\x1b[<0;21;4M\x1b[<0;21;4m'), 5000, 'the release by the next helper').catch(() => undefined);
      assert.ok(got().endsWith('\x1b[<0;21;4M\x1b[<0;21;4m'), `nothing held after the restart: ${JSON.stringify(got().slice(-30))}`);
      // Keys need no capture (a click would: it maps onto the shared screen). Not started here:
      // xdg-desktop-portal-wlr 0.7 segfaults now and then when a cast's client is killed, and a
      // cast right after its restart hung once in twelve runs. Capture after a helper restart is
      // the HelperProcess restart tests' job.
      await next.grant('typist');
      const before = got().length;
      // Shift is not held any more: 'a' lands as 'a'.
      next.sendInput('typist', ev({ t: 'keydown', key: 'a', mods: [] }));
      next.sendInput('typist', ev({ t: 'keyup', key: 'a', mods: [] }));
      await waitFor(() => got().length > before, 5000, 'a key from the new helper').catch(() => undefined);
      assert.equal(got().slice(before), 'a');
    } finally {
      await next.stop();
    }
  });
});
