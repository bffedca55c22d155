/**
 * The editor's Grant Control is the host's own decision, recorded where the helper is granted:
 * a real HostSession (embedded server, the real helper on Xvfb, the real HostRunner) behind a
 * stand-in host page on the webview port. A driver the page reports from the server without
 * that grant gets nothing onto X; the participant the host granted in the editor does.
 */
import assert from 'node:assert/strict';
import type { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { BridgeInput, ControlState } from '../../protocol/host-bridge';
import type { HostSession } from '../../extension/core/host-session';
import { toPixel } from '../../helper/inject/os-sink';
import { mouseLocation, waitFor, type Xvfb } from '../helper/support/xvfb';
import { startHostSessionRig } from '../support/host-session-rig';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("extension: the editor's Grant Control is what lets a driver in", function () {
  this.timeout(60_000);
  let x: Xvfb;
  let session: HostSession;
  let bridge: RpcEndpoint;
  const actions: unknown[] = [];
  const logs: string[] = [];

  before(async () => {
    ({ x, session, bridge } = await startHostSessionRig('grants', logs, actions));
  });
  after(async () => {
    await session?.end();
    await x?.stop();
  });

  const moveTo = (id: string, nx: number, ny: number, seq: number) => bridge.notify(BridgeInput, { controllerId: id, event: { t: 'move', seq, x: nx, y: ny } });

  it('a driver named without the grant is ignored; the one granted in the editor moves the pointer', async () => {
    // The page relays the server's word: Mallory drives. Nobody on this host granted her.
    bridge.notify(ControlState, { driverId: 'mallory', driverName: 'Mallory', reason: 'granted' });
    const before = mouseLocation(x);
    moveTo('mallory', 0.9, 0.9, 1);
    await pause(500);
    assert.deepEqual(mouseLocation(x), before);
    assert.ok(logs.includes('the server named mallory as driver, but you never allowed it: ignored'), logs.join('\n'));

    // Grant Control in the editor, then the server's control.changed for Ada.
    await session.act({ action: 'grant', participantId: 'ada' });
    assert.deepEqual(actions, [{ action: 'grant', participantId: 'ada' }]);
    bridge.notify(ControlState, { driverId: 'ada', driverName: 'Ada', reason: 'granted' });
    const want = { x: toPixel(0.25, 800), y: toPixel(0.25, 600) };
    let seq = 2;
    // The helper takes the grant as a request; resend until it has it.
    await waitFor(
      () => {
        moveTo('ada', 0.25, 0.25, seq++);
        const at = mouseLocation(x);
        return at.x === want.x && at.y === want.y;
      },
      5000,
      "Ada's move to land",
      100,
    );
  });
});
