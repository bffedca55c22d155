/**
 * On a host with two monitors sharing the second, a guest's click at the centre of the shared
 * picture lands at the centre of that monitor: the real HostRunner, the real helper and a real
 * X server, the click seen by an X client on the root window. After the monitor is unplugged the
 * same click lands on the monitor capture moved to, and a page connecting then is told its size.
 */
import assert from 'node:assert/strict';
import { HelperProcess } from '../../helper/client';
import { toPixel } from '../../helper/inject/os-sink';
import { HostRunner } from '../../runner/host-runner';
import type { RunnerBridge } from '../../runner/bridge-backend';
import { waitFor, watchRootButtons } from '../helper/support/xvfb';
import { LEFT, RIGHT, startTwoMonitors, type TwoMonitors } from '../support/two-monitors';

describe('runner: clicks land on the shared monitor', function () {
  this.timeout(60_000);
  let screen: TwoMonitors;
  let helper: HelperProcess;
  let runner: HostRunner;
  const said: string[] = [];
  let seq = 0;

  before(async () => {
    screen = await startTwoMonitors();
    helper = new HelperProcess({ env: screen.x.env });
    await helper.start();
    const capture = await helper.startCapture({ fps: 5, monitor: 'RIGHT', patches: true });
    runner = new HostRunner({
      helper,
      capture,
      prompt: { ask: async () => ({ allow: true, reason: 'allowed' }) },
      say: (line) => said.push(line),
      frames: 'bridge',
      controlRequests: true,
    });
    const bridge: RunnerBridge = {
      frameTarget: { connected: () => false, ready: () => false, send: () => undefined },
      onPageConnected: undefined,
      stopAllControl: () => undefined,
      inputRefused: () => undefined,
    };
    runner.attach(bridge);
    assert.deepEqual(await runner.askControl({ participantId: 'ada-123456789', name: 'Ada', client: 'vscode' }), { allow: true, reason: 'allowed' });
    runner.controlState({ driverId: 'ada-123456789', driverName: 'Ada', reason: 'granted' });
    await waitFor(() => said.some((l) => l.startsWith('Ada is driving')), 5000, 'Ada driving');
  });
  after(async () => {
    await helper?.stop();
    await screen?.stop();
  });

  /** A left click at the centre of the picture, as the page forwards it; where X saw the press. */
  async function clickCentre(): Promise<{ x: number; y: number }> {
    const buttons = await watchRootButtons(screen.x);
    try {
      runner.input('ada-123456789', { t: 'down', seq: seq++, x: 0.5, y: 0.5, button: 'left' });
      runner.input('ada-123456789', { t: 'up', seq: seq++, x: 0.5, y: 0.5, button: 'left' });
      await waitFor(() => buttons.events.some((e) => e.type === 'release'), 5000, 'the click on the root window');
      const press = buttons.events.find((e) => e.type === 'press')!;
      assert.equal(press.button, 1);
      return { x: press.x, y: press.y };
    } finally {
      buttons.stop();
    }
  }

  it('a click at the centre of the picture lands at the centre of the chosen monitor', async () => {
    assert.deepEqual(await clickCentre(), { x: RIGHT.x + toPixel(0.5, RIGHT.width), y: RIGHT.y + toPixel(0.5, RIGHT.height) });
  });

  it('after the monitor is unplugged, clicks land on the one capture moved to, and a new page is told its size', async () => {
    screen.x.run('xrandr', '--delmonitor', 'RIGHT');
    await waitFor(() => said.some((l) => /RIGHT is gone \(unplugged\?\): sharing LEFT/.test(l)), 5000, 'the runner hearing of the move');
    assert.deepEqual(await clickCentre(), { x: toPixel(0.5, LEFT.width), y: toPixel(0.5, LEFT.height) });
    await waitFor(() => helper.currentCapture?.width === LEFT.width, 3000, 'the client to follow the move');
    const hello = runner.hello({ sessionId: 'session-1', hostId: 'host-1' });
    assert.deepEqual([hello.screen.width, hello.screen.height], [LEFT.width, LEFT.height]);
  });
});
