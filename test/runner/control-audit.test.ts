/**
 * The host's control audit, through the real HostRunner, helper and X server (Xvfb) with a
 * terminal writing what it is typed into a file: a granted driver's events are counted as the
 * helper injected them (and they land on X), refusals are counted by reason, a driver the server
 * names on its own is recorded as ignored with its refused events, a denied request is recorded,
 * and a stint's summary goes to the host's log when it ends, with why. No audit line, record or
 * summary holds what was typed.
 */
import assert from 'node:assert/strict';
import type { InputRefusedNotice } from '../../helper/client';
import { toPixel } from '../../helper/inject/os-sink';
import type { HostRunner, PromptAnswer } from '../../runner/host-runner';
import { ControlAudit, MAX_AUDIT_RECORDS, MAX_STRAY_SENDERS, type IgnoredRecord, type StintRecord } from '../../runner/control-audit';
import type { helperOn } from '../helper/support/helper';
import { mouseLocation, waitFor, type Xterm, type Xvfb } from '../helper/support/xvfb';
import { startRunnerOnXvfb } from '../support/runner-on-xvfb';

let seq = 0;
const move = (x: number, y: number) => ({ t: 'move', seq: seq++, x, y });
const text = (t: string) => ({ t: 'text', seq: seq++, text: t });
const SECRET = 'hunter2-Pa55w0rd';

describe('runner: the control audit counts what was injected and refused, never what', function () {
  this.timeout(60_000);
  let x: Xvfb;
  let term: Xterm;
  let helper: ReturnType<typeof helperOn>;
  let runner: HostRunner;
  const said: string[] = [];
  const refused: InputRefusedNotice[] = [];
  let answer: PromptAnswer = { allow: true, reason: 'allowed' };

  before(async () => {
    ({ x, term, helper, runner } = await startRunnerOnXvfb({ prompt: { ask: async () => answer }, say: (line) => said.push(line) }, refused));
  });
  after(async () => {
    await helper?.stop();
    await term?.stop();
    await x?.stop();
  });

  const refusedCount = (id: string) => refused.filter((r) => r.controllerId === id).reduce((n, r) => n + r.count, 0);
  const stintsOf = (id: string) => runner.controlAudit.entries().filter((r): r is StintRecord => r.kind === 'stint' && r.driver.id === id);
  const summaryOf = (name: string) => said.find((l) => l.startsWith(`${name} (`) && l.includes(' drove '));

  /** The helper took the grant (a grant is a request; input sent in the same tick would beat it). */
  async function helperGranted(id: string): Promise<void> {
    await waitFor(() => helper.logLines.some((l) => l.endsWith(`control granted to ${id}`)), 5000, `the helper granting ${id}`);
  }

  async function pointerLands(id: string, nx: number, ny: number): Promise<void> {
    const want = { x: toPixel(nx, 1280), y: toPixel(ny, 720) };
    runner.input(id, move(nx, ny));
    await waitFor(
      () => {
        const at = mouseLocation(x);
        return at.x === want.x && at.y === want.y;
      },
      5000,
      `${id}'s move to land: ${said.join(' / ')} // ${helper.logLines.slice(-5).join(' / ')}`,
    );
  }

  it("a granted driver's events are counted as injected (they land on X), refusals by reason, and the revoke ends the stint in the log", async () => {
    await runner.askControl({ participantId: 'ada-3fa9c2aa', name: 'Ada', client: 'vscode', link: 'for Ada' });
    runner.controlState({ driverId: 'ada-3fa9c2aa', driverName: 'Ada', reason: 'granted' });
    await helperGranted('ada-3fa9c2aa');
    await pointerLands('ada-3fa9c2aa', 0.25, 0.25);
    await pointerLands('ada-3fa9c2aa', 0.3, 0.3);
    runner.input('ada-3fa9c2aa', text(`${SECRET}\n`));
    await waitFor(() => term.read() === `${SECRET}\n`, 5000, "Ada's text in the terminal");
    // Two the helper refuses: a key off the allowlist, a coordinate off the screen.
    const before = refusedCount('ada-3fa9c2aa');
    runner.input('ada-3fa9c2aa', { t: 'keydown', seq: seq++, key: 'LaunchMail', mods: [] });
    runner.input('ada-3fa9c2aa', { t: 'move', seq: seq++, x: 7, y: 0.5 });
    await waitFor(() => refusedCount('ada-3fa9c2aa') >= before + 2, 5000, "the helper refusing Ada's two bad events");

    runner.controlState({ driverId: null, driverName: null, reason: 'revoked' });
    await waitFor(() => summaryOf('Ada') !== undefined, 5000, `Ada's summary in the log: ${said.join('\n')}`);
    const [stint] = stintsOf('ada-3fa9c2aa');
    assert.ok(stint);
    assert.equal(stint.forwarded, 5);
    assert.equal(stint.injected, 3, 'two moves and one text event reached X');
    assert.equal(stint.injectedConfirmed, true, "the helper's own count");
    assert.deepEqual(stint.refused, { 'not-allowed': 1, 'bad-event': 1 });
    assert.equal(stint.endReason, 'revoked');
    assert.equal(stint.approvedVia, 'prompt');
    assert.deepEqual(stint.driver, { id: 'ada-3fa9c2aa', name: 'Ada', client: 'vscode', link: 'for Ada' });
    assert.ok(stint.requestedAt! <= stint.approvedAt && stint.approvedAt <= stint.grantedAt && stint.grantedAt <= stint.endedAt!);
    assert.match(
      summaryOf('Ada')!,
      /^Ada \(VS Code, id ada-3f, link for Ada\) drove \d+ s: 3 events injected, 2 refused \(1 not in allowlist, 1 bad event\); asked at \d\d:\d\d:\d\d, granted by you at \d\d:\d\d:\d\d via the prompt; ended at \d\d:\d\d:\d\d \(revoked\)$/,
    );

    // Nothing typed is in the audit: not the text, not a piece of it, not the key names.
    const everything = [...said, ...runner.controlAudit.report(), JSON.stringify(runner.controlAudit.entries())];
    for (const line of everything) {
      for (const piece of [SECRET, 'hunter2', 'Pa55w0rd', 'LaunchMail']) assert.ok(!line.includes(piece), `"${piece}" leaked into: ${line}`);
    }
  });

  it('a driver the server names that the host never allowed: recorded as ignored, its refused events counted, nothing lands', async () => {
    runner.controlState({ driverId: 'mallory', driverName: 'Mallory', reason: 'granted' });
    const at = mouseLocation(x);
    const before = refusedCount('mallory');
    runner.input('mallory', move(0.75, 0.75));
    runner.input('mallory', text('rm -rf ~\n'));
    runner.input('mallory', move(0.8, 0.8));
    // The input reached the runner and was refused there (the guest is told), and went no further.
    await waitFor(() => refusedCount('mallory') >= before + 3, 5000, "Mallory's input refused");
    await helper.inputStats();
    assert.deepEqual(mouseLocation(x), at);
    assert.equal(term.read(), `${SECRET}\n`);
    const ignored = runner.controlAudit.entries().filter((r): r is IgnoredRecord => r.kind === 'ignored' && r.driver.id === 'mallory');
    assert.equal(ignored.length, 1);
    assert.deepEqual(ignored[0]!.refused, { 'not-granted': 3 });
    assert.equal(stintsOf('mallory').length, 0, 'no stint: Mallory never drove');
    runner.controlState({ driverId: null, driverName: null, reason: 'revoked' });
    assert.match(
      runner.controlAudit.report().find((l) => l.includes('Mallory'))!,
      /^the server named Mallory \(id mallor\) as driver at .* without your approval: ignored, 3 refused \(not granted\)$/,
    );
  });

  it('a denied request is recorded; Grant Control is named as the way; a take-over ends the stint as taken over', async () => {
    answer = { allow: false, reason: 'denied' };
    await runner.askControl({ participantId: 'cy-000001', name: 'Cy\u202e\u001b[31m', client: 'browser' });
    answer = { allow: true, reason: 'allowed' };
    const denied = runner.controlAudit.entries().filter((r) => r.kind === 'denied');
    assert.deepEqual(
      denied.map((r) => r.kind === 'denied' && [r.requester.name, r.answer]),
      [['Cy[31m', 'denied']],
      'the name as plain text, no controls',
    );

    runner.approve('bob-000002', 'grant-control');
    runner.approve('bob-000002', 'page');
    runner.controlState({ driverId: 'bob-000002', driverName: 'Bob', reason: 'granted' });
    await helperGranted('bob-000002');
    await pointerLands('bob-000002', 0.5, 0.5);
    await runner.askControl({ participantId: 'dee-000003', name: 'Dee', client: 'vscode' });
    runner.controlState({ driverId: null, driverName: null, reason: 'taken-over' });
    runner.controlState({ driverId: 'dee-000003', driverName: 'Dee', reason: 'granted' });
    await helperGranted('dee-000003');
    await pointerLands('dee-000003', 0.6, 0.6);
    await waitFor(() => summaryOf('Bob') !== undefined, 5000, "Bob's summary");
    assert.match(
      summaryOf('Bob')!,
      /^Bob \(id bob-00\) drove \d+ s: 1 event injected, none refused; granted by you at .* via Grant Control; ended at .* \(taken-over\)$/,
    );
    assert.equal(stintsOf('bob-000002')[0]!.injectedConfirmed, true);

    // Bob's late event after the take-over is refused and counted on his stint, not Dee's.
    const at = mouseLocation(x);
    runner.input('bob-000002', move(0.1, 0.1));
    assert.deepEqual(stintsOf('bob-000002')[0]!.refused, { 'not-granted': 1 });
    assert.deepEqual(mouseLocation(x), at);

    await runner.stopAllControl();
    await waitFor(() => summaryOf('Dee') !== undefined, 5000, "Dee's summary");
    assert.match(summaryOf('Dee')!, /1 event injected, none refused; asked at .* via the prompt; ended at .* \(panic\)$/);
    const lines = runner.closeControlAudit();
    assert.deepEqual(
      lines.map((l) => l.split(' ')[0]),
      ['Ada', 'the', 'Cy[31m', 'Bob', 'Dee'],
      lines.join('\n'),
    );
  });

  it("a helper restart mid-stint: the stint goes on (the grant is restored), counted without the helper's reset count", async () => {
    await runner.askControl({ participantId: 'eve-000004', name: 'Eve' });
    runner.controlState({ driverId: 'eve-000004', driverName: 'Eve', reason: 'granted' });
    await helperGranted('eve-000004');
    await pointerLands('eve-000004', 0.2, 0.7);
    const restarted = new Promise<{ granted: string | null }>((resolve) => helper.once('restarted', resolve));
    process.kill(helper.pid!, 'SIGKILL');
    assert.equal((await restarted).granted, 'eve-000004');
    await pointerLands('eve-000004', 0.7, 0.2);
    runner.controlState({ driverId: null, driverName: null, reason: 'released' });
    await waitFor(() => summaryOf('Eve') !== undefined, 5000, "Eve's summary");
    const [stint] = stintsOf('eve-000004');
    assert.deepEqual([stint!.forwarded, stint!.injected, stint!.injectedConfirmed, stint!.endReason], [2, 2, false, 'released']);
    assert.match(summaryOf('Eve')!, /drove \d+ s: 2 events injected, none refused; .* \(released\)$/);
  });

  it("an approval that lapsed unused is not the one a later stint names: the later grant's time and way are", async () => {
    runner.approve('fay-000005', 'page');
    await runner.stopAllControl();
    runner.approve('fay-000005', 'grant-control');
    runner.controlState({ driverId: 'fay-000005', driverName: 'Fay', reason: 'granted' });
    await helperGranted('fay-000005');
    runner.controlState({ driverId: null, driverName: null, reason: 'revoked' });
    assert.equal(stintsOf('fay-000005')[0]!.approvedVia, 'grant-control');
  });

  it('a flood of input under made-up ids is counted in one shared record past a few senders: the stints stay in the audit', () => {
    const audit = new ControlAudit();
    audit.approved('ada', 'prompt');
    audit.started('ada', 'Ada');
    audit.forwarded('ada');
    audit.ended('revoked');
    for (let i = 0; i < MAX_AUDIT_RECORDS * 4; i++) audit.refused(`fake-${i}`, 'not-granted');
    const records = audit.entries();
    assert.equal(records.filter((r) => r.kind === 'stint' && r.driver.id === 'ada').length, 1, "Ada's stint is still there");
    assert.equal(records.length, 1 + MAX_STRAY_SENDERS + 1);
    const others = records.at(-1)!;
    assert.ok(others.kind === 'stray' && others.from.id === 'others');
    assert.deepEqual(others.refused, { 'not-granted': MAX_AUDIT_RECORDS * 4 - MAX_STRAY_SENDERS });
    assert.equal(audit.droppedRecords, 0);
  });

  it('a server naming driver after driver on its own: past a few, one shared record counts them, and the stints stay', () => {
    const audit = new ControlAudit();
    audit.approved('ada', 'prompt');
    audit.started('ada', 'Ada');
    audit.ended('revoked');
    for (let i = 0; i < MAX_AUDIT_RECORDS * 2; i++) {
      audit.ignored(`named-${i}`, `Named ${i}`);
      audit.refused(`named-${i}`, 'not-granted');
      audit.ended('revoked');
    }
    const records = audit.entries();
    assert.equal(records.filter((r) => r.kind === 'stint').length, 1, "Ada's stint is still there");
    assert.equal(records.length, 1 + MAX_STRAY_SENDERS + 1);
    const others = records.at(-1)!;
    assert.ok(others.kind === 'ignored' && others.driver.name === 'other drivers');
    assert.deepEqual(others.refused, { 'not-granted': MAX_AUDIT_RECORDS * 2 - MAX_STRAY_SENDERS }, 'their refusals counted there, not as strays');
  });

  it('a guest asking again and again after a no is one denied record, counted', () => {
    const audit = new ControlAudit();
    for (let i = 0; i < MAX_AUDIT_RECORDS * 2; i++) {
      audit.requested({ id: 'pest', name: 'Pest' });
      audit.denied('pest', 'denied');
    }
    const records = audit.entries();
    assert.equal(records.length, 1);
    assert.ok(records[0]!.kind === 'denied' && records[0]!.times === MAX_AUDIT_RECORDS * 2);
    assert.match(
      audit.report()[0]!,
      new RegExp(`^Pest \\(id pest\\) asked for control at .*: you denied it, ${MAX_AUDIT_RECORDS * 2} times until \\d\\d:\\d\\d:\\d\\d$`),
    );
  });
});
