/**
 * The runner grants the helper only drivers the host's own user approved: the real HostRunner,
 * the real helper and a real X server (Xvfb) with a terminal writing what it is typed into a
 * file. The page relays the server's `control.state` as it is; a server naming a driver nobody
 * allowed must not get one keystroke or pointer move into X. Every negative case first shows the
 * same input from an approved driver landing, and that the refused input reached the helper.
 */
import assert from 'node:assert/strict';
import type { InputRefusedNotice } from '../../helper/client';
import { toPixel } from '../../helper/inject/os-sink';
import type { HostRunner, PromptAnswer, Requester } from '../../runner/host-runner';
import type { helperOn } from '../helper/support/helper';
import { mouseLocation, waitFor, type Xterm, type Xvfb } from '../helper/support/xvfb';
import { startRunnerOnXvfb } from '../support/runner-on-xvfb';

let seq = 0;
const move = (x: number, y: number) => ({ t: 'move', seq: seq++, x, y });
const text = (t: string) => ({ t: 'text', seq: seq++, text: t });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runner: the helper is granted only drivers the host approved', function () {
  this.timeout(60_000);
  let x: Xvfb;
  let term: Xterm;
  let helper: ReturnType<typeof helperOn>;
  let runner: HostRunner;
  const said: string[] = [];
  const refused: InputRefusedNotice[] = [];
  const asked: Array<{ name: string; who: Requester | undefined }> = [];
  let answer: PromptAnswer = { allow: true, reason: 'allowed' };

  before(async () => {
    ({ x, term, helper, runner } = await startRunnerOnXvfb(
      { prompt: { ask: async (name, who) => (asked.push({ name, who }), answer) }, say: (line) => said.push(line) },
      refused,
    ));
  });
  after(async () => {
    await helper?.stop();
    await term?.stop();
    await x?.stop();
  });

  /** The helper took the grant the runner handed it (a grant is a request; input may follow it at once). */
  async function helperGranted(id: string, times: number): Promise<void> {
    const count = () => helper.logLines.filter((l) => l.endsWith(`control granted to ${id}`)).length;
    await waitFor(() => count() >= times, 5000, `the helper granting ${id}`);
  }

  /** The pointer moved by an approved driver, so a later non-move is not for want of a working path. */
  async function pointerLandsFor(id: string, nx: number, ny: number): Promise<void> {
    const want = { x: toPixel(nx, 1280), y: toPixel(ny, 720) };
    assert.notDeepEqual(mouseLocation(x), want, 'the pointer is elsewhere before the move');
    runner.input(id, move(nx, ny));
    await waitFor(
      () => {
        const at = mouseLocation(x);
        return at.x === want.x && at.y === want.y;
      },
      5000,
      `${id}'s move to land at ${want.x},${want.y}`,
    );
  }

  /** The runner (or the helper behind it) refused this driver's input: it got there, and no further. */
  async function refusedAtHelper(id: string, before: number): Promise<void> {
    await waitFor(
      () => refusedCount(id) > before,
      5000,
      `${id}'s input to be refused (the pointer is at ${JSON.stringify(mouseLocation(x))}; the terminal has ${JSON.stringify(term.read())})`,
    );
  }
  const refusedCount = (id: string) => refused.filter((r) => r.controllerId === id).reduce((n, r) => n + r.count, 0);

  it('a driver allowed at the prompt drives; a driver the server names on its own does not', async () => {
    const result = await runner.askControl({ participantId: 'ada-123456789', name: 'Ada', client: 'vscode' });
    assert.deepEqual(result, { allow: true, reason: 'allowed' });
    runner.controlState({ driverId: 'ada-123456789', driverName: 'Ada', reason: 'granted' });
    await helperGranted('ada-123456789', 1);
    await pointerLandsFor('ada-123456789', 0.25, 0.25);
    runner.input('ada-123456789', text('ada\n'));
    await waitFor(() => term.read() === 'ada\n', 5000, "Ada's text in the terminal");

    // The server now says Mallory drives (a take-over nobody on the host allowed).
    runner.controlState({ driverId: 'mallory', driverName: 'Mallory', reason: 'taken-over' });
    // A round trip to the helper: any grant handed to it has arrived before input follows.
    const stats = await helper.inputStats();
    const at = mouseLocation(x);
    const before = refusedCount('mallory');
    runner.input('mallory', move(0.75, 0.75));
    runner.input('mallory', text('mallory\n'));
    await refusedAtHelper('mallory', before);
    assert.equal(refused.filter((r) => r.controllerId === 'mallory')[0]?.code, 'FORBIDDEN');
    await pause(300);
    assert.deepEqual(mouseLocation(x), at);
    assert.equal(term.read(), 'ada\n');
    assert.ok(said.includes('the server named mallory as driver, but you never allowed it: ignored'), said.join('\n'));
    assert.equal(stats.granted, null, 'the helper stays revoked');
    // Ada's control ended with the take-over: her input does not land either.
    const adaBefore = refusedCount('ada-123456789');
    runner.input('ada-123456789', move(0.6, 0.6));
    await refusedAtHelper('ada-123456789', adaBefore);
    assert.deepEqual(mouseLocation(x), at);
  });

  it("an approval ends with that driver's control: named again later, it is ignored", async () => {
    await runner.askControl({ participantId: 'bob', name: 'Bob' });
    runner.controlState({ driverId: 'bob', driverName: 'Bob', reason: 'granted' });
    await helperGranted('bob', 1);
    await pointerLandsFor('bob', 0.4, 0.4);
    runner.controlState({ driverId: null, driverName: null, reason: 'released' });
    runner.controlState({ driverId: 'bob', driverName: 'Bob', reason: 'granted' });
    const at = mouseLocation(x);
    const before = refusedCount('bob');
    runner.input('bob', move(0.1, 0.9));
    await refusedAtHelper('bob', before);
    assert.deepEqual(mouseLocation(x), at);
  });

  it("the host's own grant (approve) counts; a denied request does not", async () => {
    answer = { allow: false, reason: 'denied' };
    await runner.askControl({ participantId: 'cy', name: 'Cy' });
    answer = { allow: true, reason: 'allowed' };
    runner.controlState({ driverId: 'cy', driverName: 'Cy', reason: 'granted' });
    const at = mouseLocation(x);
    const before = refusedCount('cy');
    runner.input('cy', move(0.9, 0.1));
    await refusedAtHelper('cy', before);
    assert.deepEqual(mouseLocation(x), at);

    runner.approve('cy');
    runner.controlState({ driverId: 'cy', driverName: 'Cy', reason: 'granted' });
    await helperGranted('cy', 1);
    await pointerLandsFor('cy', 0.9, 0.1);
  });

  it('the prompt is told more than a name: the client, a short id and the link when known', async () => {
    await runner.askControl({ participantId: 'eve-123456789', name: 'Eve', client: 'browser', link: 'for Eve' });
    assert.deepEqual(asked.at(-1), { name: 'Eve', who: { participantId: 'eve-123456789', shortId: 'eve-12', client: 'browser', link: 'for Eve' } });
  });

  it('stop-all ends every approval', async () => {
    runner.approve('dee');
    await runner.stopAllControl();
    runner.controlState({ driverId: 'dee', driverName: 'Dee', reason: 'granted' });
    const at = mouseLocation(x);
    const before = refusedCount('dee');
    runner.input('dee', move(0.3, 0.7));
    await refusedAtHelper('dee', before);
    assert.deepEqual(mouseLocation(x), at);
  });
});
