/** What the editor shows about a session: status bar words, participant rows, context keys, announcements. */
import assert from 'node:assert/strict';
import type { Participant } from '../../protocol/signaling';
import type { ShellStatusParams } from '../../protocol/webview-shell';
import { contextKeys, participantRows, presenceChanges, statusBarText, type SessionView } from '../../extension/core/session-view';
import { participant } from '../support/participants';

const p = participant;

function page(participants: Participant[], extra: Partial<ShellStatusParams> = {}): ShellStatusParams {
  return { state: 'joined', message: '', participants, driverId: null, selfId: 'h', role: 'host', ...extra };
}

const screen = { width: 1920, height: 1080, fps: 30 };

describe('extension: session view', () => {
  it('status bar: host sees mode, guests watching and who drives', () => {
    const host: SessionView = {
      kind: 'host',
      phase: 'live',
      mode: 'p2p',
      screen,
      page: page([p('h', 'Me', 'host'), p('c1', 'Ada', 'controller'), p('v1', 'Bob', 'viewer')], { driverId: 'c1' }),
    };
    assert.equal(statusBarText(host).text, '$(broadcast) PairUX · P2P · 2 watching · $(hand) Ada drives');
    assert.match(statusBarText(host).tooltip, /1920×1080 screen at 30 fps/);
    const idle: SessionView = { ...host, page: page([p('h', 'Me', 'host')]) };
    assert.equal(statusBarText(idle).text, '$(broadcast) PairUX · P2P · 0 watching');
  });

  it('status bar: a guest sees whose screen, and when they drive', () => {
    const base = page([p('h', 'Ada', 'host'), p('c1', 'Me', 'controller')], { selfId: 'c1', role: 'controller', state: 'live', control: 'none' });
    const guest = (pg: ShellStatusParams): SessionView => ({ kind: 'guest', hostName: 'Ada', mode: 'p2p', page: pg });
    assert.equal(statusBarText(guest(base)).text, "$(device-camera-video) PairUX · P2P · Ada's screen");
    assert.match(statusBarText(guest({ ...base, control: 'granted', driverId: 'c1' })).text, /you drive$/);
    assert.match(statusBarText(guest({ ...base, state: 'failed', message: 'expired' })).text, /could not join$/);
  });

  it('context keys enable exactly the commands that make sense', () => {
    assert.deepEqual(contextKeys({ kind: 'none' }), {
      'pairux.hosting': false,
      'pairux.joined': false,
      'pairux.driving': false,
      'pairux.canRequestControl': false,
      'pairux.someoneDriving': false,
    });
    const g = page([p('h', 'Ada', 'host'), p('c1', 'Me', 'controller')], { selfId: 'c1', role: 'controller', state: 'live', control: 'none' });
    assert.equal(contextKeys({ kind: 'guest', hostName: 'Ada', mode: 'p2p', page: g })['pairux.canRequestControl'], true);
    const viewer = { ...g, role: 'viewer' as const, control: 'unavailable' as const };
    assert.equal(contextKeys({ kind: 'guest', hostName: 'Ada', mode: 'p2p', page: viewer })['pairux.canRequestControl'], false);
    const driving = contextKeys({ kind: 'guest', hostName: 'Ada', mode: 'p2p', page: { ...g, control: 'granted', driverId: 'c1' } });
    assert.equal(driving['pairux.driving'], true);
    assert.equal(driving['pairux.canRequestControl'], false);
    const ended = contextKeys({ kind: 'guest', hostName: 'Ada', mode: 'p2p', page: { ...g, state: 'ended' } });
    assert.equal(ended['pairux.joined'], false);
  });

  it('participant rows carry the host actions that apply to each guest', () => {
    const rows = participantRows({
      kind: 'host',
      phase: 'live',
      mode: 'p2p',
      screen,
      page: page(
        [
          p('v1', 'Bob', 'viewer'),
          p('c1', 'Ada', 'controller', { controlState: 'granted', client: 'vscode' }),
          p('h', 'Me', 'host'),
          p('c2', 'Cy', 'controller', { connected: false, controlState: 'requested', client: 'vscode' }),
          p('c3', 'Di', 'controller', { client: 'browser' }),
        ],
        { driverId: 'c1' },
      ),
    });
    assert.deepEqual(
      rows.map((r) => r.label),
      ['Me (you)', 'Ada', 'Cy', 'Di', 'Bob'],
    );
    const [me, ada, cy, di, bob] = rows;
    assert.equal(di!.contextValue, 'participant guest grantable demotable', 'a browser guest cannot share a screen: no Make Host');
    assert.equal(me!.contextValue, 'participant');
    assert.equal(ada!.contextValue, 'participant guest driving demotable hostable');
    assert.equal(ada!.description, 'controller · driving');
    assert.equal(cy!.contextValue, 'participant guest grantable demotable');
    assert.equal(cy!.description, 'controller · asked to drive · reconnecting');
    assert.equal(cy!.icon, 'debug-disconnect');
    assert.equal(bob!.contextValue, 'participant guest promotable');
    // A guest sees the same people with no actions.
    const asGuest = participantRows({
      kind: 'guest',
      hostName: 'Me',
      mode: 'p2p',
      page: page([p('h', 'Me', 'host'), p('v1', 'Bob', 'viewer')], { selfId: 'v1' }),
    });
    assert.ok(asGuest.every((r) => r.contextValue === 'participant'));
  });

  it('a viewer says where it watches from: its own region’s SFU when the session is cascaded there, else the host’s', () => {
    const rows = participantRows({
      kind: 'host',
      phase: 'live',
      mode: 'sfu',
      screen,
      page: page([
        p('h', 'Me', 'host'),
        p('v1', 'Bea', 'viewer', { region: 'eu', cascaded: true }),
        p('v2', 'Val', 'viewer', { region: 'us' }),
        p('v3', 'Vi', 'viewer'),
      ]),
    });
    const by = new Map(rows.map((r) => [r.label, r.description]));
    assert.match(by.get('Bea')!, / · in eu \(its SFU\)/);
    assert.match(by.get('Val')!, / · in us$/);
    assert.doesNotMatch(by.get('Vi')!, / in /);
  });

  it('announces joins, drops, returns and leaves once each, never oneself', () => {
    const a = page([p('h', 'Me', 'host')]);
    const b = page([p('h', 'Me', 'host'), p('c1', 'Ada', 'controller')]);
    const c = page([p('h', 'Me', 'host'), p('c1', 'Ada', 'controller', { connected: false })]);
    const d = page([p('h', 'Me', 'host'), p('c1', 'Ada', 'controller')]);
    const e = page([p('h', 'Me', 'host')]);
    assert.deepEqual(presenceChanges(undefined, b), [], 'who was there at the first report is not news');
    assert.deepEqual(presenceChanges(a, b), ['Ada joined (controller)']);
    assert.deepEqual(presenceChanges(b, b), []);
    assert.deepEqual(presenceChanges(b, c), ['Ada dropped; keeping their place for a while']);
    assert.deepEqual(presenceChanges(c, d), ['Ada is back']);
    assert.deepEqual(presenceChanges(d, e), ['Ada left']);
  });
});
