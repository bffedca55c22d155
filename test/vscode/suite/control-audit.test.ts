/**
 * PairUX: Show Control Audit in real VS Code: the host grants a guest control with the editor's
 * Grant Control (the guest, a bare protocol client, came in on a viewer link, which the lobby
 * does not hold back, and is made a controller); the command opens a read-only document naming
 * that stint and the way it was granted on this machine, and the server's record of the grant
 * with its actor, read through the host page. After the revoke, the stint's end and reason.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { parseShareLink } from '../../../protocol/share-link';
import { ControlChanged } from '../../../protocol/signaling';
import { participantRows } from '../../../extension/core/session-view';
import { activatePairux, type PairuxApi } from './pairux-api';
import { ui, until } from './ui';
import { requireParts } from '../support/requirements';
import { TestClient } from '../../support/signaling-client';

describe('Control audit in VS Code', function () {
  this.timeout(120_000);
  let api: PairuxApi;
  let guest: TestClient | undefined;

  before(async function () {
    requireParts({ ui: ui.available, display: Boolean(process.env.DISPLAY) });
    api = await activatePairux();
    await vscode.commands.executeCommand('pairux.startSession', 'p2p');
    await until(() => api.snapshot().links, { timeoutMs: 30_000, what: 'the session to start' });
    await until(
      () => {
        const view = api.snapshot().view;
        return view.kind === 'host' && view.page?.state === 'joined' ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the host page to join' },
    );
  });
  after(async () => {
    guest?.close();
    if (api?.snapshot().view.kind === 'host') await vscode.commands.executeCommand('pairux.endSession', false).then(undefined, () => undefined);
  });

  /** The audit document's text once it says `what`. */
  async function auditSays(what: RegExp): Promise<string> {
    return until(
      async () => {
        await vscode.commands.executeCommand('pairux.showControlAudit');
        const doc = vscode.window.activeTextEditor?.document;
        return doc?.uri.scheme === 'pairux-audit' && what.test(doc.getText()) ? doc.getText() : undefined;
      },
      { timeoutMs: 15_000, what: `the audit to say ${what}` },
    );
  }

  it("names the stint granted with Grant Control and the server's record of it; the revoke ends it", async () => {
    const { origin, sessionId, token } = parseShareLink(api.snapshot().links!.viewer);
    guest = await TestClient.connect(origin);
    const ada = await guest.join(sessionId, token, 'Ada', { client: { kind: 'vscode' } });
    await until(() => participantRows(api.snapshot().view).find((r) => r.id === ada.self.id), { timeoutMs: 10_000, what: "Ada's row" });
    await vscode.commands.executeCommand('pairux.promote', { id: ada.self.id });
    await until(
      () => {
        const view = api.snapshot().view;
        return view.kind === 'host' && view.page?.participants.some((p) => p.id === ada.self.id && p.role === 'controller') ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'Ada to be a controller' },
    );
    await vscode.commands.executeCommand('pairux.grantControl', { id: ada.self.id });
    await guest.waitFor(ControlChanged, (c) => c.participantId === ada.self.id && c.state === 'granted', 10_000);

    const short = ada.self.id.slice(0, 6);
    const text = await auditSays(new RegExp(`granted Ada \\(id ${short}\\) by `));
    assert.match(
      text,
      new RegExp(
        `^Ada \\(VS Code, id ${short}, link viewer link\\) drove \\d+ s: 0 events injected, none refused; granted by you at \\d\\d:\\d\\d:\\d\\d via Grant Control; still driving$`,
        'm',
      ),
    );
    assert.equal(vscode.window.activeTextEditor?.document.isUntitled, false, 'a read-only virtual document, not an editable untitled one');

    await vscode.commands.executeCommand('pairux.revokeControl', { id: ada.self.id });
    const after = await auditSays(/\(revoked\)$/m);
    assert.match(
      after,
      new RegExp(`^Ada \\(VS Code, id ${short}, link viewer link\\) drove .* via Grant Control; ended at \\d\\d:\\d\\d:\\d\\d \\(revoked\\)$`, 'm'),
    );
    assert.match(after, new RegExp(`revoked Ada \\(id ${short}\\) by `));
  });
});
