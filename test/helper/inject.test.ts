/**
 * Input injection on a real X server, behind the grant: what a granted driver types lands exactly
 * (every printable ASCII symbol, by text and by key, and text beyond ASCII), clicks land where
 * they were aimed at two screen sizes, nothing lands without the grant or after a revoke, bad and
 * excessive events are refused and counted, and no key or button stays held — not after a revoke,
 * a new driver, a stop, nor a helper SIGKILLed mid-drag and restarted.
 */
import assert from 'node:assert/strict';
import type { InputEvent } from '../../protocol/input';
import type { HelperProcess, InputRefusedNotice, RestartInfo } from '../../helper/client';
import { HelperExit } from '../../helper/exit-codes';
import { toPixel } from '../../helper/inject/os-sink';
import { jsonFrame } from './support/frames';
import { helperOn, spawnRawHelper } from './support/helper';
import { mouseLocation, startXterm, startXvfb, waitFor, watchRootButtons, xtestHeld, type Xterm, type Xvfb } from './support/xvfb';

const PRINTABLE = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
const SHIFTED = new Set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ');

let seq = 0;
const ev = <T extends Omit<InputEvent, 'seq'>>(e: T): T & { seq: number } => ({ ...e, seq: seq++ });

/** keydown + keyup for each character, as a browser sends them (Shift held for shifted ones, or not). */
function keystrokes(text: string, withShift: boolean): unknown[] {
  const out: unknown[] = [];
  for (const c of text) {
    const key = c === ' ' ? 'space' : c === '\n' ? 'enter' : c;
    const mods = withShift && SHIFTED.has(c) ? ['shift'] : [];
    out.push(ev({ t: 'keydown', key, mods }), ev({ t: 'keyup', key, mods }));
  }
  return out;
}

function collectRefusals(helper: HelperProcess): InputRefusedNotice[] {
  const list: InputRefusedNotice[] = [];
  helper.on('inputRefused', (r) => list.push(r));
  return list;
}

const sum = (list: InputRefusedNotice[], code: string) => list.filter((r) => r.code === code).reduce((n, r) => n + r.count, 0);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('helper injection: typing into a terminal', function () {
  this.timeout(60_000);
  let x: Xvfb;
  let term: Xterm;
  let helper: ReturnType<typeof helperOn>;
  let typed = '';

  /** Waits for the terminal file to grow by `expected` and checks it is exactly that. */
  async function expectTyped(expected: string, ms = 5000) {
    const want = typed + expected;
    await waitFor(() => term.read().length >= want.length, ms, `"${JSON.stringify(expected)}" to be typed`).catch(() => undefined);
    assert.equal(term.read(), want);
    typed = want;
  }

  let sparesAtStart = 0;

  before(async () => {
    x = await startXvfb(1280, 720);
    sparesAtStart = x
      .run('xmodmap', '-pke')
      .split('\n')
      .filter((l) => /^keycode\s+\d+ =\s*$/.test(l)).length;
    term = await startXterm(x, { geometry: '150x40+0+0' });
    helper = helperOn(x);
    await helper.start();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(helper.logLines.slice(-20).join('\n'));
  });
  after(async () => {
    await helper?.stop();
    await term?.stop();
    await x?.stop();
  });

  it('types every printable ASCII symbol exactly, as one text event', async () => {
    await helper.grant('typist');
    helper.sendInput('typist', ev({ t: 'text', text: `${PRINTABLE}\n` }));
    await expectTyped(`${PRINTABLE}\n`);
  });

  it('types every printable ASCII symbol exactly key by key, whether or not the guest sent Shift', async () => {
    // robotjs alone presses '1' for '!' and 'a' for 'A': the helper's keymap adds Shift as needed.
    for (const e of keystrokes(`${PRINTABLE}\n`, true)) helper.sendInput('typist', e);
    await expectTyped(`${PRINTABLE}\n`);
    await pause(600); // the rate limiter's bucket refills (400/s)
    for (const e of keystrokes(`${PRINTABLE}\n`, false)) helper.sendInput('typist', e);
    await expectTyped(`${PRINTABLE}\n`);
  });

  it('types text beyond ASCII, in order with what comes after it', async () => {
    await pause(300);
    helper.sendInput('typist', ev({ t: 'text', text: 'héllo wörld € 中文 ok' }));
    helper.sendInput('typist', ev({ t: 'text', text: ' then ascii' }));
    for (const e of keystrokes('!\n', true)) helper.sendInput('typist', e);
    await expectTyped('héllo wörld € 中文 ok then ascii!\n', 10_000);
  });

  it('types more distinct characters beyond ASCII than the layout has spare keys (Xvfb: 18), exactly', async () => {
    // 60 distinct characters, some repeated, in one event and across two.
    const greek = Array.from({ length: 25 }, (_, i) => String.fromCodePoint(0x3b1 + (i % 25))).join('');
    const cjk = Array.from({ length: 35 }, (_, i) => String.fromCodePoint(0x4e00 + i * 7)).join('');
    const text = `${greek} ${cjk} ${greek.slice(0, 5)}ü`;
    helper.sendInput('typist', ev({ t: 'text', text }));
    helper.sendInput('typist', ev({ t: 'text', text: `${cjk.slice(10, 20)}ñ\n` }));
    await expectTyped(`${text}${cjk.slice(10, 20)}ñ\n`, 20_000);
    assert.deepEqual(xtestHeld(x), { buttons: [], keys: [] });
  });

  it('applies modifiers from a keydown (Ctrl+U erases the line) and lifts held ones for text (a paste while Ctrl is down)', async () => {
    helper.sendInput('typist', ev({ t: 'text', text: 'discard me' }));
    helper.sendInput('typist', ev({ t: 'keydown', key: 'u', mods: ['control'] }));
    helper.sendInput('typist', ev({ t: 'keyup', key: 'u', mods: ['control'] }));
    helper.sendInput('typist', ev({ t: 'keydown', key: 'control', mods: [] }));
    helper.sendInput('typist', ev({ t: 'text', text: 'pasted\n' }));
    helper.sendInput('typist', ev({ t: 'keyup', key: 'control', mods: ['control'] }));
    await expectTyped('pasted\n');
    assert.deepEqual(xtestHeld(x), { buttons: [], keys: [] });
  });

  it('lands nothing for a controller that is not granted, and refuses it with FORBIDDEN', async () => {
    const refusals = collectRefusals(helper);
    const before = await helper.inputStats();
    helper.sendInput('mallory', ev({ t: 'text', text: 'not granted\n' }));
    helper.sendInput('mallory', ev({ t: 'down', x: 0.5, y: 0.5, button: 'left' }));
    await waitFor(() => sum(refusals, 'FORBIDDEN') >= 2, 3000, 'two refusals');
    const after = await helper.inputStats();
    assert.equal((after.refused.FORBIDDEN ?? 0) - (before.refused.FORBIDDEN ?? 0), 2);
    assert.equal(after.injected, before.injected);
    helper.sendInput('typist', ev({ t: 'text', text: 'marker\n' }));
    await expectTyped('marker\n');
  });

  it('lands nothing after a revoke, nor with no grant at all', async () => {
    const { released } = await helper.revoke('revoked');
    assert.deepEqual(released, []);
    const refusals = collectRefusals(helper);
    helper.sendInput('typist', ev({ t: 'text', text: 'after revoke\n' }));
    for (const e of keystrokes('keys too\n', true)) helper.sendInput('typist', e);
    await waitFor(() => sum(refusals, 'FORBIDDEN') >= 19, 3000, 'the refusals');
    await pause(300);
    assert.equal(term.read(), typed, 'the file did not change');
    assert.match(refusals[0]!.reason, /no controller is granted/);
    await helper.grant('typist');
  });

  it('refuses keys off the allowlist, coordinates out of range, unknown kinds and control characters, and counts them', async () => {
    await pause(600);
    const refusals = collectRefusals(helper);
    const before = await helper.inputStats();
    const bad: unknown[] = [
      { t: 'keydown', seq: 1, key: 'F13', mods: [] },
      { t: 'keydown', seq: 2, key: 'ctrl', mods: [] },
      { t: 'keydown', seq: 3, key: 'a', mods: ['hyper'] },
      { t: 'move', seq: 4, x: 1.5, y: 0.5 },
      { t: 'down', seq: 5, x: -0.1, y: 0.5, button: 'left' },
      { t: 'wheel', seq: 6, x: 0.5, y: 0.5, dx: 0, dy: 1000 },
      { t: 'exec', seq: 7, command: 'xterm' },
      { t: 'text', seq: 8, text: 'bell\u0007' },
      { t: 'text', seq: 9, text: 'x'.repeat(257) },
      'not even an object',
    ];
    for (const e of bad) helper.sendInput('typist', e);
    await waitFor(() => refusals.reduce((n, r) => n + r.count, 0) >= bad.length, 3000, 'all refusals');
    const after = await helper.inputStats();
    const delta = (code: string) => (after.refused[code] ?? 0) - (before.refused[code] ?? 0);
    assert.equal(delta('FORBIDDEN'), 3, 'F13, ctrl (not on the allowlist) and an unknown kind');
    assert.equal(delta('BAD_MESSAGE'), 7);
    assert.equal(sum(refusals, 'FORBIDDEN'), 3);
    assert.equal(sum(refusals, 'BAD_MESSAGE'), 7);
    assert.equal(after.injected, before.injected);
    assert.ok(refusals.length <= 4, `coalesced into ${refusals.length} notices`);
    await pause(300);
    assert.equal(term.read(), typed);
  });

  it('undoes the keycodes it bound to characters outside the layout when it stops', async () => {
    const unbound = () =>
      x
        .run('xmodmap', '-pke')
        .split('\n')
        .filter((l) => /^keycode\s+\d+ =\s*$/.test(l)).length;
    assert.ok(unbound() < sparesAtStart, 'some spare keycodes are bound while it runs');
    await helper.stop();
    assert.equal(unbound(), sparesAtStart);
    helper = helperOn(x);
    await helper.start();
    await helper.grant('typist');
  });

  it('rate-limits a flood, counts what it dropped, and reports it coalesced', async () => {
    await pause(600);
    const refusals = collectRefusals(helper);
    const before = await helper.inputStats();
    const n = 3000;
    for (let i = 0; i < n; i++) helper.sendInput('typist', ev({ t: 'move', x: (i % 100) / 100, y: 0.5 }));
    await waitFor(() => sum(refusals, 'RATE_LIMITED') > 0, 3000, 'a RATE_LIMITED notice');
    const after = await helper.inputStats();
    const injected = after.injected - before.injected;
    const limited = after.rateLimited - before.rateLimited;
    assert.equal(injected + limited, n);
    assert.ok(injected >= 200 && limited >= n / 2, `${injected} let through (a burst of 200 plus 400/s), ${limited} dropped`);
    await waitFor(() => sum(refusals, 'RATE_LIMITED') === limited, 3000, 'the refusal counts to add up');
    assert.ok(refusals.length < 10, `${refusals.length} notices for ${limited} drops`);
  });
});

describe('helper injection: pointer at two screen sizes', function () {
  this.timeout(60_000);

  for (const [w, h] of [
    [1280, 720],
    [1920, 1080],
  ] as const) {
    it(`moves and clicks at the normalised point on a ${w}×${h} screen, and maps onto a shared region`, async () => {
      const x = await startXvfb(w, h);
      const helper = helperOn(x);
      const buttons = await watchRootButtons(x);
      try {
        await helper.start();
        await helper.grant('pilot');
        helper.sendInput('pilot', ev({ t: 'move', x: 0.25, y: 0.75 }));
        await waitFor(() => mouseLocation(x).x === w / 4, 3000, 'the move');
        assert.deepEqual(mouseLocation(x), { x: w / 4, y: (h * 3) / 4 });
        helper.sendInput('pilot', ev({ t: 'down', x: 0.5, y: 0.5, button: 'left' }));
        helper.sendInput('pilot', ev({ t: 'up', x: 0.5, y: 0.5, button: 'left' }));
        helper.sendInput('pilot', ev({ t: 'down', x: 1, y: 1, button: 'right' }));
        helper.sendInput('pilot', ev({ t: 'up', x: 1, y: 1, button: 'right' }));
        helper.sendInput('pilot', ev({ t: 'wheel', x: 0, y: 0, dx: 0, dy: 2 }));
        helper.sendInput('pilot', ev({ t: 'wheel', x: 0, y: 0, dx: 1, dy: 0 }));
        await waitFor(() => buttons.events.length >= 10, 3000, 'the button events');
        assert.deepEqual(buttons.events, [
          { type: 'press', button: 1, x: w / 2, y: h / 2 },
          { type: 'release', button: 1, x: w / 2, y: h / 2 },
          { type: 'press', button: 3, x: w - 1, y: h - 1 },
          { type: 'release', button: 3, x: w - 1, y: h - 1 },
          // dy > 0 scrolls down (button 5), dx > 0 right (button 7), as in the DOM.
          { type: 'press', button: 5, x: 0, y: 0 },
          { type: 'release', button: 5, x: 0, y: 0 },
          { type: 'press', button: 5, x: 0, y: 0 },
          { type: 'release', button: 5, x: 0, y: 0 },
          { type: 'press', button: 7, x: 0, y: 0 },
          { type: 'release', button: 7, x: 0, y: 0 },
        ]);
        await helper.startCapture({ region: { x: 100, y: 50, width: 640, height: 360 }, fps: 5 });
        helper.sendInput('pilot', ev({ t: 'move', x: 0.5, y: 0.5 }));
        await waitFor(() => mouseLocation(x).x === 420, 3000, 'the move inside the region');
        assert.deepEqual(mouseLocation(x), { x: 420, y: 230 });
      } finally {
        buttons.stop();
        await helper.stop();
        await x.stop();
      }
    });
  }
});

describe('helper injection: nothing stays held', function () {
  this.timeout(60_000);
  let x: Xvfb;

  before(async () => {
    x = await startXvfb(1024, 768);
  });
  after(async () => {
    await x?.stop();
  });

  /** Presses the left button and Shift+a as `who`, and checks X sees them held. */
  async function holdSome(helper: HelperProcess, who: string) {
    helper.sendInput(who, ev({ t: 'down', x: 0.2, y: 0.2, button: 'left' }));
    helper.sendInput(who, ev({ t: 'move', x: 0.4, y: 0.4 }));
    helper.sendInput(who, ev({ t: 'keydown', key: 'shift', mods: [] }));
    helper.sendInput(who, ev({ t: 'keydown', key: 'a', mods: ['shift'] }));
    await waitFor(() => xtestHeld(x).buttons.includes(1) && xtestHeld(x).keys.length === 2, 3000, 'X to see the button and keys held');
  }

  it('releases everything on revoke, and says what', async () => {
    const helper = helperOn(x);
    try {
      await helper.start();
      await helper.grant('a');
      await holdSome(helper, 'a');
      const { released } = await helper.revoke('panic');
      assert.deepEqual(released.sort(), ['key:a', 'key:shift', 'mouse:left']);
      assert.deepEqual(xtestHeld(x), { buttons: [], keys: [] });
    } finally {
      await helper.stop();
    }
  });

  it("releases the previous driver's keys and buttons when control passes to someone else", async () => {
    const helper = helperOn(x);
    try {
      await helper.start();
      await helper.grant('first');
      await holdSome(helper, 'first');
      await helper.grant('second');
      assert.deepEqual(xtestHeld(x), { buttons: [], keys: [] });
      helper.sendInput('first', ev({ t: 'down', x: 0.1, y: 0.1, button: 'left' }));
      await pause(200);
      assert.deepEqual(xtestHeld(x).buttons, [], 'the previous driver is refused');
    } finally {
      await helper.stop();
    }
  });

  it('releases everything on stop(), on SIGTERM and when its stdin closes', async () => {
    const helper = helperOn(x);
    await helper.start();
    await helper.grant('a');
    await holdSome(helper, 'a');
    await helper.stop();
    assert.deepEqual(xtestHeld(x), { buttons: [], keys: [] });
    for (const end of ['SIGTERM', 'stdin'] as const) {
      const raw = spawnRawHelper(x.env);
      await raw.request('control.grant', { controllerId: 'a' });
      const input = (event: unknown) => {
        const body = Buffer.from(JSON.stringify({ v: 1, method: 'input', params: { controllerId: 'a', event } }));
        const f = Buffer.alloc(5 + body.length);
        f.writeUInt32LE(1 + body.length, 0);
        body.copy(f, 5);
        return raw.write(f);
      };
      await input({ t: 'down', seq: 1, x: 0.3, y: 0.3, button: 'middle' });
      await input({ t: 'keydown', seq: 2, key: 'control', mods: [] });
      await waitFor(() => xtestHeld(x).buttons.includes(2), 3000, 'the middle button held');
      if (end === 'SIGTERM') raw.child.kill('SIGTERM');
      else raw.child.stdin!.end();
      const { code } = await raw.exited;
      assert.equal(code, HelperExit.Normal, end);
      assert.deepEqual(xtestHeld(x), { buttons: [], keys: [] }, `after ${end}`);
    }
  });

  it('a revoke sent right behind a grant wins, even while the helper is still starting up', async () => {
    const raw = spawnRawHelper(x.env);
    try {
      const frames = [
        jsonFrame({ v: 1, id: 1, method: 'control.grant', params: { controllerId: 'early' } }),
        jsonFrame({ v: 1, id: 2, method: 'control.revoke', params: { reason: 'revoked' } }),
        jsonFrame({ v: 1, method: 'input', params: { controllerId: 'early', event: { t: 'down', seq: 1, x: 0.5, y: 0.5, button: 'left' } } }),
      ];
      await raw.write(Buffer.concat(frames)); // one write: all three arrive before start-up is done
      await waitFor(() => raw.messages.some((m) => m.id === 1) && raw.messages.some((m) => m.id === 2), 10_000, 'both answers');
      const grant = raw.messages.find((m) => m.id === 1) as { error?: { code: string } };
      assert.equal(grant.error?.code, 'FORBIDDEN', 'the grant was overtaken');
      const stats = (await raw.request('input.stats', {})).result as { granted: string | null; injected: number };
      assert.deepEqual([stats.granted, stats.injected], [null, 0]);
      assert.deepEqual(xtestHeld(x), { buttons: [], keys: [] });
    } finally {
      await raw.kill();
    }
  });

  it('SIGKILLed mid-drag: restarted within 1 s, reported, the held button released, capture and grant restored', async () => {
    const helper = helperOn(x);
    const restarts: RestartInfo[] = [];
    helper.on('restarted', (r) => restarts.push(r));
    try {
      await helper.start();
      await helper.startCapture({ fps: 5 });
      await helper.grant('dragger');
      helper.sendInput('dragger', ev({ t: 'down', x: 0.2, y: 0.2, button: 'left' }));
      helper.sendInput('dragger', ev({ t: 'move', x: 0.3, y: 0.3 }));
      await waitFor(() => xtestHeld(x).buttons.includes(1), 3000, 'the drag to start');
      // As after any stretch of work, the standby has loaded (starting Node cold costs 0.3–1 s more).
      await waitFor(() => helper.standbyReady, 20_000, 'the standby to load');
      const oldPid = helper.pid!;
      const killedAt = performance.now();
      process.kill(oldPid, 'SIGKILL');
      await waitFor(() => restarts.length > 0, 5000, 'the restart', 5);
      const tookMs = performance.now() - killedAt;
      const r = restarts[0]!;
      assert.equal(r.signal, 'SIGKILL');
      assert.match(r.reason, /SIGKILL/);
      assert.equal(r.attempt, 1);
      assert.ok(tookMs <= 1000, `restart took ${tookMs.toFixed(0)} ms (downtime ${r.downtimeMs.toFixed(0)} ms)`);
      assert.notEqual(r.hello.pid, oldPid);
      assert.ok(r.hello.releasedAtStart.includes('mouse:left'), `releasedAtStart: ${r.hello.releasedAtStart.join(', ')}`);
      assert.deepEqual(xtestHeld(x), { buttons: [], keys: [] });
      assert.equal(r.granted, 'dragger');
      assert.deepEqual(r.capture, { width: 1024, height: 768, fps: 5, backend: 'x11' });
      assert.equal((await helper.inputStats()).granted, 'dragger', 'the new helper has the grant');
      helper.sendInput('dragger', ev({ t: 'move', x: 0.5, y: 0.5 }));
      await waitFor(() => mouseLocation(x).x === 512, 3000, 'input to flow again');
    } finally {
      await helper.stop();
    }
  });
});

describe('helper injection: coordinates', () => {
  it('maps every pixel a guest aims at (sent as p / size, 6 decimals) back to that pixel', () => {
    for (const size of [720, 1080, 1440, 1920, 2560, 3840, 7680]) {
      for (let p = 0; p < size; p++) {
        const n = Math.round((p / size) * 1e6) / 1e6;
        assert.equal(toPixel(n, size), p, `${p} of ${size}`);
      }
      assert.equal(toPixel(1, size), size - 1);
      assert.equal(toPixel(0, size), 0);
    }
  });
});
