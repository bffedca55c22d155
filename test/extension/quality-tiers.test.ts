/**
 * The host raises or lowers one guest's quality tier from the Participants view: each row says
 * the guest's tier (and when the host chose it), Set Quality Tier offers High / Standard / Low /
 * Role default with what each means in the session's own numbers, and the choice reaches the host
 * page as a shell action (a real HostSession behind a stand-in page), whose refusal comes back in
 * words that name the guest.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { Participant } from '../../protocol/signaling';
import type { ShellStatusParams } from '../../protocol/webview-shell';
import { DEFAULT_ROLE_TIERS, DEFAULT_TIERS, mergeTiers, type SessionTiers } from '../../protocol/tiers';
import type { HostSession } from '../../extension/core/host-session';
import { participantRows, type SessionView } from '../../extension/core/session-view';
import { tierArgument, tierChoices, tierDone, tierFailure } from '../../extension/core/quality-tiers';
import type { Xvfb } from '../helper/support/xvfb';
import { startHostSessionRig } from '../support/host-session-rig';
import { participant } from '../support/participants';

const p = participant;

const screen = { width: 1920, height: 1080, fps: 30 };

function page(participants: Participant[], extra: Partial<ShellStatusParams> = {}): ShellStatusParams {
  return { state: 'joined', message: '', participants, driverId: null, selfId: 'h', role: 'host', ...extra };
}

function hostView(participants: Participant[], tiers?: SessionTiers): SessionView {
  return { kind: 'host', phase: 'live', mode: 'sfu', screen, page: page(participants), ...(tiers ? { tiers } : {}) };
}

describe('extension: a guest quality tier', () => {
  describe('the Participants view', () => {
    const people = [
      p('h', 'Me', 'host', { tier: 'high' }),
      p('c1', 'Ada', 'controller', { tier: 'high' }),
      p('v1', 'Bob', 'viewer', { tier: 'standard' }),
      p('v2', 'Cy', 'viewer', { tier: 'low', tierChosen: true }),
    ];

    it("shows each guest's tier beside its role, and says when the host chose it", () => {
      const rows = participantRows(hostView(people));
      assert.deepEqual(
        rows.map((r) => [r.label, r.description]),
        [
          ['Me (you)', 'host'],
          ['Ada', 'controller · high'],
          ['Bob', 'viewer · standard'],
          ['Cy', 'viewer · low (set by you)'],
        ],
      );
      // A guest sees the same tiers; the host's choice is the host's, not theirs.
      const asGuest = participantRows({ kind: 'guest', hostName: 'Me', mode: 'sfu', page: page(people, { selfId: 'v1', role: 'viewer' }) });
      assert.equal(asGuest.find((r) => r.id === 'v2')!.description, 'viewer · low (set by the host)');
    });

    it("the row's tooltip says what the tier is worth in the session's numbers, on the shared screen", () => {
      const mine: SessionTiers = { table: mergeTiers(DEFAULT_TIERS, { low: { maxKbps: 300, maxFps: 5 } }), roles: DEFAULT_ROLE_TIERS };
      const cy = participantRows(hostView(people, mine)).find((r) => r.id === 'v2')!;
      assert.match(cy.tooltip, /Quality tier low \(set by you\): up to 300 kbit\/s · 5 fps · never below 960×540$/);
      const bob = participantRows(hostView(people)).find((r) => r.id === 'v1')!;
      assert.match(bob.tooltip, /Quality tier standard: up to 2 Mbit\/s · 30 fps · never below 1280×720$/, 'the defaults without a session table');
    });

    it('a viewer the session focus lowered for a host that cannot keep up says so', () => {
      const lowered = [p('h', 'Me', 'host', { tier: 'high' }), p('v1', 'Bob', 'viewer', { tier: 'low', tierLowered: true })];
      assert.equal(participantRows(hostView(lowered))[1]!.description, 'viewer · low (lowered: you cannot keep up)');
      const asGuest = participantRows({ kind: 'guest', hostName: 'Me', mode: 'p2p', page: page(lowered, { selfId: 'v1', role: 'viewer' }) });
      assert.equal(asGuest.find((r) => r.id === 'v1')!.description, 'viewer · low (lowered: the host cannot keep up)');
    });

    it('a participant a server older than the tiers reports shows no tier', () => {
      const rows = participantRows(hostView([p('h', 'Me', 'host'), p('v1', 'Bob', 'viewer')]));
      assert.equal(rows[1]!.description, 'viewer');
      assert.ok(!rows[1]!.tooltip.includes('Quality tier'));
    });
  });

  describe('Set Quality Tier', () => {
    it('offers High, Standard, Low and Role default, each in numbers, and marks the one the guest is on', () => {
      const choices = tierChoices(p('v1', 'Bob', 'viewer', { tier: 'standard' }), undefined, screen);
      assert.deepEqual(
        choices.map((c) => [c.label, c.tier, c.description]),
        [
          ['High', 'high', ''],
          ['Standard', 'standard', "every viewer's tier"],
          ['Low', 'low', ''],
          ['Role default', null, 'viewer: standard · now'],
        ],
      );
      assert.deepEqual(
        choices.map((c) => c.detail),
        [
          'Up to 4 Mbit/s · 60 fps · full resolution; served first.',
          'Up to 2 Mbit/s · 30 fps · never below 1280×720; served after High.',
          'Up to 600 kbit/s · 10 fps · never below 960×540; served last: the first to give way when your link or CPU is short.',
          'Back to what every viewer gets, Standard (up to 2 Mbit/s · 30 fps · never below 1280×720); it follows their role if you change it.',
        ],
      );
    });

    it("reads the session's own table and role tiers when the server gave them", () => {
      const session: SessionTiers = {
        table: mergeTiers(DEFAULT_TIERS, { high: { maxKbps: 2500 }, standard: { maxKbps: 1200, maxScaleDown: 2 } }),
        roles: { ...DEFAULT_ROLE_TIERS, viewer: 'low' },
      };
      const choices = tierChoices(p('v2', 'Cy', 'viewer', { tier: 'high', tierChosen: true }), session);
      assert.equal(choices[0]!.description, 'now');
      assert.match(choices[0]!.detail, /^Up to 2\.5 Mbit\/s/);
      assert.match(choices[1]!.detail, /^Up to 1\.2 Mbit\/s · 30 fps · never below 50 % of full resolution;/);
      assert.equal(choices[2]!.description, "every viewer's tier");
      assert.equal(choices[3]!.description, 'viewer: low');
      assert.match(choices[3]!.detail, /^Back to what every viewer gets, Low \(up to 600 kbit\/s/);
    });

    it('a script passes the tier without the prompt; anything else (the rows VS Code passes) asks', () => {
      assert.equal(tierArgument('low'), 'low');
      assert.equal(tierArgument(null), null);
      assert.equal(tierArgument('default'), null);
      for (const other of [undefined, 'LOW', 'ultra', 2, [{ id: 'v1' }], {}]) assert.equal(tierArgument(other), undefined, JSON.stringify(other));
    });

    it('says what happened, and a refusal names the guest and what to do', () => {
      assert.equal(tierDone('Bob', 'viewer', 'low'), 'Bob gets the low tier now');
      assert.equal(tierDone('Bob', 'viewer', null), "Bob is back on the viewer's tier (standard)");
      const gone = tierFailure('Bob', new PairuxError(ErrorCode.PeerNotFound, 'no participant bob'));
      assert.equal(gone.code, ErrorCode.PeerNotFound);
      assert.equal(gone.message, "Could not set Bob's quality tier: Bob is no longer in the session.");
      const notHost = tierFailure('Bob', new PairuxError(ErrorCode.Forbidden, 'only the host can set tiers'));
      assert.match(notHost.message, /not the host of this session any more \(only the host can set tiers\)/);
      const other = tierFailure('Bob', new PairuxError(ErrorCode.Unavailable, 'the host panel is not open'));
      assert.equal(other.message, "Could not set Bob's quality tier: the host panel is not open. Try again; if it keeps failing, see “PairUX: Show Log”.");
    });
  });

  describe('through the host page', function () {
    this.timeout(60_000);
    let x: Xvfb;
    let session: HostSession;
    const actions: unknown[] = [];

    before(async () => {
      ({ x, session } = await startHostSessionRig('tiers', [], actions));
    });
    after(async () => {
      await session?.end();
      await x?.stop();
    });

    it("knows the session's tiers from the server that created it", () => {
      assert.deepEqual(session.status!.tiers, { table: DEFAULT_TIERS, roles: DEFAULT_ROLE_TIERS });
    });

    it('the choice reaches the host page as a setTier action, a role default as null', async () => {
      actions.length = 0;
      await session.act({ action: 'setTier', participantId: 'bob', tier: 'low' });
      await session.act({ action: 'setTier', participantId: 'bob', tier: null });
      assert.deepEqual(actions, [
        { action: 'setTier', participantId: 'bob', tier: 'low' },
        { action: 'setTier', participantId: 'bob', tier: null },
      ]);
    });
  });
});
