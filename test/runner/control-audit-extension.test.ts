/**
 * The control audit in the editor's host: a real HostSession (embedded server, the real helper on
 * Xvfb, the real HostRunner) behind a stand-in host page on the webview port. What "Show Control
 * Audit" shows names the driver granted with the editor's Grant Control and the way it was
 * granted, the server-named driver that was ignored, and counts only; when the session ends the
 * whole audit goes to the host's log, an open stint ended by the end, and nothing typed in it.
 */
import assert from 'node:assert/strict';
import type { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { BridgeInput, ControlApprove, ControlState } from '../../protocol/host-bridge';
import type { HostSession } from '../../extension/core/host-session';
import { toPixel } from '../../helper/inject/os-sink';
import { mouseLocation, waitFor, type Xvfb } from '../helper/support/xvfb';
import { startHostSessionRig } from '../support/host-session-rig';

describe("extension: the host's control audit (Show Control Audit, and the log at the end)", function () {
  this.timeout(60_000);
  let x: Xvfb;
  let session: HostSession;
  let bridge: RpcEndpoint;
  const logs: string[] = [];
  const SECRET = 'sk-live-0123456789abcdef';

  before(async () => {
    ({ x, session, bridge } = await startHostSessionRig('audit', logs));
  });
  after(async () => {
    await session?.end();
    await x?.stop();
  });

  const send = (id: string, event: object) => bridge.notify(BridgeInput, { controllerId: id, event });

  it('names the Grant Control stint and the ignored driver, counts without contents, and goes to the log when the session ends', async () => {
    assert.deepEqual(session.controlAudit(), ['nobody asked for or had control in this session']);
    bridge.notify(ControlState, { driverId: 'mallory', driverName: 'Mallory', reason: 'granted' });
    send('mallory', { t: 'text', seq: 1, text: SECRET });
    await waitFor(
      () => (session.controlAudit() ?? []).some((l) => l.includes('Mallory') && l.endsWith('1 refused (not granted)')),
      5000,
      `Mallory's refusal counted: ${session.controlAudit()?.join(' / ')}`,
    );

    // Grant Control in the editor; the page then reports its own grant too (the first way is kept).
    await session.act({ action: 'grant', participantId: 'ada' });
    bridge.notify(ControlApprove, { participantId: 'ada' });
    bridge.notify(ControlState, { driverId: 'ada', driverName: 'Ada', reason: 'granted' });
    const want = { x: toPixel(0.25, 800), y: toPixel(0.25, 600) };
    let seq = 2;
    await waitFor(
      () => {
        send('ada', { t: 'move', seq: seq++, x: 0.25, y: 0.25 });
        const at = mouseLocation(x);
        return at.x === want.x && at.y === want.y;
      },
      5000,
      "Ada's move to land",
      100,
    );
    send('ada', { t: 'text', seq: seq++, text: SECRET });
    const shown = session.controlAudit()!;
    assert.match(
      shown.find((l) => l.startsWith('Ada '))!,
      /^Ada \(id ada\) drove \d+ s: .* granted by you at \d\d:\d\d:\d\d via Grant Control; still driving$/,
    );

    await session.end();
    const start = logs.indexOf('control audit of this session:');
    assert.ok(start > 0, logs.join('\n'));
    const audit = logs.slice(start + 1);
    assert.match(audit[0]!, /^the server named Mallory \(id mallor\) as driver at .* without your approval: ignored, 1 refused \(not granted\)$/);
    assert.match(audit[1]!, /^Ada \(id ada\) drove \d+ s: \d+ events? injected, .* via Grant Control; ended at .* \(session-ended\)$/);
    // The summary as it ended is in the log too, just before the whole audit.
    assert.equal(logs[start - 1], audit[1]);
    for (const line of [...logs, ...session.controlAudit()!])
      assert.ok(!line.includes(SECRET) && !line.includes('0123456789abcdef'), `typed text leaked: ${line}`);
  });
});
