/**
 * The control audit in the editor's host: a real HostSession (embedded server, the real helper on
 * Xvfb, the real HostRunner) behind a stand-in host page on the webview port. What "Show Control
 * Audit" shows names the driver granted with the editor's Grant Control and the way it was
 * granted, the server-named driver that was ignored, and counts only; when the session ends the
 * whole audit goes to the host's log, an open stint ended by the end, and nothing typed in it.
 */
import assert from 'node:assert/strict';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { BridgeHello, BridgeInput, ControlApprove, ControlState, hostBridgeBoundary } from '../../protocol/host-bridge';
import { ShellAction, webviewShellBoundary } from '../../protocol/webview-shell';
import { HostSession } from '../../extension/core/host-session';
import { QUALITY, type HostSettings } from '../../extension/core/settings';
import { WebviewPort } from '../../extension/core/webview-port';
import { toPixel } from '../../helper/inject/os-sink';
import { mouseLocation, startXvfb, waitFor, type Xvfb } from '../helper/support/xvfb';

function settings(display: string): HostSettings {
  return {
    mode: 'p2p',
    serverUrl: '',
    hostKey: undefined,
    embeddedPort: 0,
    fps: 5,
    ...QUALITY.text,
    maxKbps: 0,
    display,
    region: undefined,
    allowControlRequests: true,
    linkTtlMinutes: 60,
    hostName: 'Host',
    sessionName: 'audit',
    sfuRegion: undefined,
    livekit: undefined,
  };
}

describe("extension: the host's control audit (Show Control Audit, and the log at the end)", function () {
  this.timeout(60_000);
  let x: Xvfb;
  let session: HostSession;
  let bridge: RpcEndpoint;
  const logs: string[] = [];
  const SECRET = 'sk-live-0123456789abcdef';

  before(async () => {
    x = await startXvfb(800, 600);
    session = new HostSession(settings(x.display), { askControl: async () => ({ allow: false, reason: 'denied' }), progress: () => undefined });
    session.on('log', ({ line }) => logs.push(line));
    await session.start();
    let shell: RpcEndpoint;
    const port = new WebviewPort(
      {
        post: (m) => {
          const e = m as { ch: string; text?: string };
          if (e.ch === 'shell') shell.receive(e.text!);
          else if (e.ch === 'bridge') bridge.receive(e.text!);
          return Promise.resolve(true);
        },
      },
      () => undefined,
    );
    shell = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => port.receive({ ch: 'shell', text }) });
    bridge = new RpcEndpoint({ boundary: hostBridgeBoundary, side: 'a', send: (text) => port.receive({ ch: 'bridge', text }) });
    shell.onRequest(ShellAction, () => ({}));
    session.attachPage(port);
    await bridge.request(BridgeHello, { sessionId: session.sessionId!, hostId: 'host' });
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
