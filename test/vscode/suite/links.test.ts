/**
 * Per-person links in the editor: Create Personal Link puts a link on the clipboard that lets one
 * person in (shown in the Participants view with its label) and, single use, nobody after them;
 * Remove revokes the shared link the guest came through, and the host's notification offers the
 * new one, which Copy Share Link gives from then on. The guests are bare protocol clients on the
 * embedded server (viewer links: the lobby holds back only controller links).
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import { parseShareLink } from '../../../protocol/share-link';
import { participantRows } from '../../../extension/core/session-view';
import { activatePairux, type PairuxApi } from './pairux-api';
import { ui, until } from './ui';
import { requireParts } from '../support/requirements';
import { TestClient } from '../../support/signaling-client';

describe('Share links in VS Code', function () {
  this.timeout(120_000);
  let api: PairuxApi;
  const clients: TestClient[] = [];

  async function joinWith(link: string, name: string) {
    const { origin, sessionId, token } = parseShareLink(link);
    const client = await TestClient.connect(origin);
    clients.push(client);
    return client.join(sessionId, token, name);
  }

  const isRevoked = (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.TokenRevoked;
  const newClipboard = (not: string[]) =>
    until(async () => {
      const text = await vscode.env.clipboard.readText();
      return text.includes('/s/') && !not.includes(text) ? text : undefined;
    }, { timeoutMs: 15_000, what: 'a new link on the clipboard' });
  const rowOf = (id: string) => participantRows(api.snapshot().view).find((r) => r.id === id);

  before(async function () {
    requireParts({ ui: ui.available, display: Boolean(process.env.DISPLAY) });
    api = await activatePairux();
    await vscode.commands.executeCommand('pairux.startSession', 'p2p');
    await until(() => api.snapshot().links, { timeoutMs: 30_000, what: 'the session to start' });
    // The link commands go through the host page's connection: it has to have joined first.
    await until(() => {
      const view = api.snapshot().view;
      return view.kind === 'host' && view.page?.state === 'joined' ? true : undefined;
    }, { timeoutMs: 30_000, what: 'the host page to join' });
  });

  after(async () => {
    for (const c of clients.splice(0)) c.close();
    if (api?.snapshot().view.kind === 'host') await vscode.commands.executeCommand('pairux.endSession', false).then(undefined, () => undefined);
  });

  it('the link commands are in the palette while hosting', async () => {
    const labels = await ui.paletteItems('PairUX:');
    for (const want of ['PairUX: Create Personal Link', 'PairUX: Rotate Share Links', 'PairUX: Manage Links']) assert.ok(labels.includes(want), `${want} not offered while hosting: ${labels.join(' | ')}`);
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
});
