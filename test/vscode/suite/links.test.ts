/**
 * Per-person links in the editor: Create Personal Link puts a link on the clipboard that lets one
 * person in (shown in the Participants view with its label) and, single use, nobody after them;
 * Remove revokes the shared link the guest came through, and the host's notification offers the
 * new one, which Copy Share Link gives from then on. The guests are bare protocol clients on the
 * embedded server (viewer links: the lobby holds back only controller links). A declined offer of
 * the host's seat is a notification too.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import { parseShareLink } from '../../../protocol/share-link';
import { DeclineHost, HostOffered } from '../../../protocol/signaling';
import { participantRows } from '../../../extension/core/session-view';
import { activatePairux, type PairuxApi } from './pairux-api';
import { ui, until } from './ui';
import { requireParts } from '../support/requirements';
import { TestClient } from '../../support/signaling-client';

describe('Share links in VS Code', function () {
  this.timeout(120_000);
  let api: PairuxApi;
  const clients: TestClient[] = [];

  async function joinWith(link: string, name: string, client?: TestClient) {
    const { origin, sessionId, token } = parseShareLink(link);
    const c = client ?? (await TestClient.connect(origin));
    clients.push(c);
    return c.join(sessionId, token, name, { client: { kind: 'vscode' } });
  }

  const isRevoked = (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.TokenRevoked;
  const newClipboard = (not: string[]) =>
    until(
      async () => {
        const text = await vscode.env.clipboard.readText();
        return text.includes('/s/') && !not.includes(text) ? text : undefined;
      },
      { timeoutMs: 15_000, what: 'a new link on the clipboard' },
    );
  const rowOf = (id: string) => participantRows(api.snapshot().view).find((r) => r.id === id);

  before(async function () {
    requireParts({ ui: ui.available, display: Boolean(process.env.DISPLAY) });
    api = await activatePairux();
    await vscode.commands.executeCommand('pairux.startSession', 'p2p');
    await until(() => api.snapshot().links, { timeoutMs: 30_000, what: 'the session to start' });
    // The link commands go through the host page's connection: it has to have joined first.
    await until(
      () => {
        const view = api.snapshot().view;
        return view.kind === 'host' && view.page?.state === 'joined' ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the host page to join' },
    );
  });

  // A link left on the clipboard by the test before must not pass for the one a command copies now.
  beforeEach(() => vscode.env.clipboard.writeText(''));

  after(async () => {
    for (const c of clients.splice(0)) c.close();
    if (api?.snapshot().view.kind === 'host') await vscode.commands.executeCommand('pairux.endSession', false).then(undefined, () => undefined);
  });

  it('the link commands are in the palette while hosting', async () => {
    const labels = await ui.paletteItems('PairUX:');
    for (const want of ['PairUX: Create Personal Link', 'PairUX: Rotate Share Links', 'PairUX: Manage Links'])
      assert.ok(labels.includes(want), `${want} not offered while hosting: ${labels.join(' | ')}`);
  });

  it('Create Personal Link: a single-use link on the clipboard lets Ada in, shown with its label, and nobody after her', async () => {
    const shared = api.snapshot().links!;
    await vscode.commands.executeCommand('pairux.createPersonalLink', { label: 'for Ada', role: 'viewer', singleUse: true });
    const link = await newClipboard([shared.controller, shared.viewer]);
    const ada = await joinWith(link, 'Ada');
    assert.deepEqual([ada.self.role, ada.self.link?.label], ['viewer', 'for Ada']);
    const row = await until(() => rowOf(ada.self.id), { timeoutMs: 10_000, what: "Ada's row in the Participants view" });
    assert.match(row.description, /via “for Ada”/);
    await assert.rejects(joinWith(link, 'Eve'), isRevoked);
  });

  it("Remove: the shared link the guest came through stops working, and the notification's Copy gives the new one", async () => {
    const before = api.snapshot().links!;
    const bo = await joinWith(before.viewer, 'Bo');
    await until(() => rowOf(bo.self.id), { timeoutMs: 10_000, what: "Bo's row" });
    const removing = vscode.commands.executeCommand('pairux.removeParticipant', { id: bo.self.id });
    await ui.clickNotificationButton('Remove Bo', 'Remove', { timeoutMs: 10_000 });
    await removing;
    await ui.clickNotificationButton("Bo's viewer link no longer works", 'Copy New Viewer Link', { timeoutMs: 15_000 });
    const fresh = await newClipboard([before.controller, before.viewer]);
    assert.equal(api.snapshot().links?.viewer, fresh, 'Copy Share Link gives the new link');
    assert.equal(api.snapshot().links?.controller, before.controller, 'the controller link is untouched');
    await assert.rejects(joinWith(before.viewer, 'Bo again'), isRevoked);
    assert.equal((await joinWith(fresh, 'Cy')).self.role, 'viewer');
  });

  it('Manage Links lists the links that work and who came through them; Revoke stops one, and whoever is in stays', async () => {
    const shared = api.snapshot().links!;
    await vscode.commands.executeCommand('pairux.createPersonalLink', { label: 'for Eve', role: 'viewer', singleUse: false });
    const link = await newClipboard([shared.controller, shared.viewer]);
    const eve = await joinWith(link, 'Eve');
    await until(() => rowOf(eve.self.id), { timeoutMs: 10_000, what: "Eve's row" });
    const managing = vscode.commands.executeCommand('pairux.manageLinks');
    const pick = await ui.quickInput({ timeoutMs: 10_000 });
    for (const want of ['controller link', 'viewer link', 'for Eve']) assert.ok(pick.labels.includes(want), `${want} not listed: ${pick.labels.join(' | ')}`);
    assert.ok(!pick.labels.includes('for Ada'), 'the spent single-use link is not listed');
    await ui.pick('for Eve');
    await ui.clickNotificationButton('Revoke the link “for Eve”', 'Revoke', { timeoutMs: 10_000 });
    await managing;
    await until(
      async () => {
        try {
          await joinWith(link, 'Eve 2');
          return undefined;
        } catch (err) {
          return isRevoked(err) ? true : undefined;
        }
      },
      { timeoutMs: 10_000, what: 'the revoked link to be refused' },
    );
    assert.ok(rowOf(eve.self.id), 'Eve is still in');
    assert.deepEqual(api.snapshot().links, shared, 'the shared links are untouched');
  });

  // Its modal confirm cannot be shown here (VS Code refuses dialogs in the window under test): `false` skips it.
  it('Rotate Share Links: every old link stops working, personal ones too; the new controller link is on the clipboard', async () => {
    const before = api.snapshot().links!;
    await vscode.commands.executeCommand('pairux.createPersonalLink', { label: 'for Dee', role: 'viewer', singleUse: false });
    const personal = await newClipboard([before.controller, before.viewer]);
    await vscode.commands.executeCommand('pairux.rotateShareLinks', false);
    const copied = await newClipboard([before.controller, before.viewer, personal]);
    const after = api.snapshot().links!;
    assert.equal(copied, after.controller);
    assert.notEqual(after.viewer, before.viewer);
    for (const old of [before.viewer, personal]) await assert.rejects(joinWith(old, 'Late'), isRevoked);
    assert.equal((await joinWith(after.viewer, 'Di')).self.role, 'viewer');
    const { origin, token } = parseShareLink(after.controller);
    const preview = await fetch(`${origin}/api/preview`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(preview.status, 200, 'the new controller link works');
  });

  it("an offer of the host's seat that the guest declines: the host is told, naming them", async () => {
    // VS Code shows three notices at most; earlier tests' notices go, so this test's are not queued behind them.
    await vscode.commands.executeCommand('notifications.clearAll');
    const link = api.snapshot().links!.viewer;
    const fay = await TestClient.connect(parseShareLink(link).origin);
    const offers: Array<{ offerId: string }> = [];
    fay.endpoint.onNotification(HostOffered, (o) => void offers.push(o));
    const joined = await joinWith(link, 'Fay', fay);
    await until(() => rowOf(joined.self.id), { timeoutMs: 10_000, what: "Fay's row" });
    await vscode.commands.executeCommand('pairux.promote', { id: joined.self.id });
    await until(() => (rowOf(joined.self.id)?.contextValue.includes('hostable') ? true : undefined), { timeoutMs: 10_000, what: 'Fay to be a controller' });
    const offering = vscode.commands.executeCommand('pairux.makeHost', { id: joined.self.id });
    await ui.clickNotificationButton('Make Fay the host', 'Make Host', { timeoutMs: 10_000 });
    await offering;
    const offer = await until(() => offers[0], { timeoutMs: 10_000, what: 'the offer to reach Fay' });
    await fay.request(DeclineHost, { offerId: offer.offerId });
    let seen: string[] = [];
    const told = await until(
      async () => {
        const declined = (ms: string[]) => ms.find((m) => m.includes('Fay declined to take over as host'));
        seen = await ui.notifications();
        // It may follow the offer's own notices closely enough to get no toast: then it is in the center.
        return declined(seen) ?? declined((seen = await ui.notifications({ center: true })));
      },
      { timeoutMs: 15_000, what: 'the host to be told' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; notifications: ${seen.join(' | ') || 'none'}; host page: ${JSON.stringify(api.snapshot().view.kind)}`);
    });
    assert.match(told, /you are still the host/);
    assert.equal(api.snapshot().view.kind, 'host');
  });
});
