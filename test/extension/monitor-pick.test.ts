/**
 * Starting to share on a display with two monitors asks which (a quick pick with names and sizes,
 * the primary first, all of them last) and shares the one picked; “pairux.capture.monitor” skips
 * the question; dismissing it cancels sharing. The host session is real (embedded server, helper
 * on an Xvfb with two RandR monitors); the quick pick is a stand-in for VS Code's.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { MonitorInfo } from '../../protocol/helper-link';
import { HostSession, type HostUi } from '../../extension/core/host-session';
import { QUALITY, readHostSettings, type HostSettings } from '../../extension/core/settings';
import { monitorPickItems, pickMonitor, type MonitorPick, type ShowQuickPick } from '../../extension/ui/monitor-picker';
import { startXvfb, waitFor } from '../helper/support/xvfb';
import { LEFT, RIGHT, startTwoMonitors, type TwoMonitors } from '../support/two-monitors';

function settings(display: string, over: Partial<HostSettings> = {}): HostSettings {
  return {
    mode: 'p2p',
    serverUrl: '',
    hostKey: undefined,
    embeddedPort: 0,
    fps: 10,
    ...QUALITY.text,
    maxKbps: 0,
    display,
    region: undefined,
    allowControlRequests: true,
    linkTtlMinutes: 60,
    hostName: 'Ada',
    sessionName: "Ada's session",
    sfuRegion: undefined,
    livekit: undefined,
    ...over,
  };
}

/** VS Code's quick pick, answered by `choose` (undefined: dismissed); what it was shown is kept. */
function quickPick(choose: (items: MonitorPick[]) => MonitorPick | undefined): ShowQuickPick & { shown: MonitorPick[][] } {
  const shown: MonitorPick[][] = [];
  const show = async (items: MonitorPick[]) => (shown.push(items), choose(items));
  return Object.assign(show, { shown });
}

function ui(show: ShowQuickPick): HostUi & { asked: MonitorInfo[][] } {
  const asked: MonitorInfo[][] = [];
  return {
    askControl: async () => ({ allow: false, reason: 'denied' }),
    progress: () => undefined,
    chooseMonitor: (monitors) => (asked.push(monitors), pickMonitor(monitors, show)),
    asked,
  };
}

describe('extension: which monitor to share', function () {
  this.timeout(60_000);

  it('the pick lists names and sizes, the primary first, the whole screen last', () => {
    const items = monitorPickItems([RIGHT, LEFT]);
    assert.deepEqual(
      items.map((i) => [i.label, i.description, i.monitor]),
      [
        ['LEFT', '800×600 · primary', 'LEFT'],
        ['RIGHT', '640×480', 'RIGHT'],
        ['All monitors', '1440×600', undefined],
      ],
    );
    // A name is text, not an icon or a link.
    assert.notEqual(monitorPickItems([{ ...LEFT, name: '$(zap)' }])[0]!.label, '$(zap)');
  });

  it('reads “pairux.capture.monitor”', () => {
    const read = (monitor: unknown) =>
      readHostSettings((key) => (key === 'capture.monitor' ? monitor : undefined), { mode: 'p2p', hostKey: undefined, env: {}, userName: 'Ada' }).monitor;
    assert.equal(read('HDMI-1'), 'HDMI-1');
    assert.equal(read(''), undefined);
    assert.equal(read(undefined), undefined);
  });

  describe('on a display with two monitors', () => {
    let screen: TwoMonitors;
    before(async () => {
      screen = await startTwoMonitors();
    });
    after(async () => {
      await screen?.stop();
    });

    it('asks, and shares the monitor picked', async () => {
      const show = quickPick((items) => items.find((i) => i.monitor === 'RIGHT'));
      const host = ui(show);
      const session = new HostSession(settings(screen.x.display), host);
      const status = await session.start();
      try {
        assert.deepEqual(host.asked, [[LEFT, RIGHT]]);
        assert.deepEqual(
          show.shown[0]!.map((i) => i.monitor),
          ['LEFT', 'RIGHT', undefined],
        );
        assert.deepEqual([status.screen.width, status.screen.height], [RIGHT.width, RIGHT.height]);
      } finally {
        await session.end();
      }
    });

    it('“All monitors” shares the whole screen', async () => {
      const session = new HostSession(settings(screen.x.display), ui(quickPick((items) => items.at(-1))));
      const status = await session.start();
      try {
        assert.deepEqual([status.screen.width, status.screen.height], [LEFT.width + RIGHT.width, LEFT.height]);
      } finally {
        await session.end();
      }
    });

    it('the setting names the monitor: no question', async () => {
      const host = ui(quickPick(() => assert.fail('asked although the setting names a monitor')));
      const session = new HostSession(settings(screen.x.display, { monitor: 'RIGHT' }), host);
      const status = await session.start();
      try {
        assert.deepEqual(host.asked, []);
        assert.deepEqual([status.screen.width, status.screen.height], [RIGHT.width, RIGHT.height]);
      } finally {
        await session.end();
      }
    });

    it('dismissing the question cancels sharing', async () => {
      const host = ui(quickPick(() => undefined));
      await assert.rejects(
        new HostSession(settings(screen.x.display), host).start(),
        (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.Unavailable && err.data?.cancelled === true,
      );
      assert.equal(host.asked.length, 1, 'the host was asked');
    });
  });

  it('the shared monitor unplugged: the host is told, and the status shows what guests see now', async () => {
    const screen = await startTwoMonitors();
    try {
      const session = new HostSession(settings(screen.x.display, { monitor: 'RIGHT' }), ui(quickPick(() => undefined)));
      const told: Array<{ level: string; line: string; notify?: boolean }> = [];
      session.on('log', (l) => told.push(l));
      const status = await session.start();
      try {
        assert.deepEqual([status.screen.width, status.screen.height], [RIGHT.width, RIGHT.height]);
        screen.x.run('xrandr', '--delmonitor', 'RIGHT');
        await waitFor(() => told.some((l) => l.notify === true), 5000, 'a notification');
        assert.deepEqual(
          told.filter((l) => l.notify),
          [
            {
              level: 'warn',
              line: 'Screen capture: the shared monitor RIGHT is gone (unplugged?): sharing LEFT 800×600 at 0,0 (primary) instead',
              notify: true,
            },
          ],
        );
        await waitFor(() => session.status?.screen.width === LEFT.width, 3000, 'the status to follow');
        assert.equal(session.status?.screen.height, LEFT.height);
      } finally {
        await session.end();
      }
    } finally {
      await screen.stop();
    }
  });

  it('one monitor: no question', async () => {
    const x = await startXvfb(640, 480);
    try {
      const host = ui(quickPick(() => assert.fail('asked with one monitor')));
      const session = new HostSession(settings(x.display), host);
      const status = await session.start();
      try {
        assert.deepEqual(host.asked, []);
        assert.deepEqual([status.screen.width, status.screen.height], [640, 480]);
      } finally {
        await session.end();
      }
    } finally {
      await x.stop();
    }
  });
});
