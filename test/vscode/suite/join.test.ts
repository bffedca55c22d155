/**
 * Joining in VS Code beyond the happy paste: a `vscode://` link opened from outside (the URI
 * handler, through "Developer: Open URL"), links that are no good (said in the input box or in an
 * error, nothing opened), and the host's Participants actions on a joined guest (demote, remove).
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { hostWithSecondWindow, type PairuxApi } from './pairux-api';
import { ui, until, type Ui } from './ui';
import { requireParts } from '../support/requirements';

function participants(api: PairuxApi) {
  const v = api.snapshot().view;
  return v.kind === 'host' ? (v.page?.participants ?? []) : [];
}

describe('Joining PairUX sessions in VS Code', function () {
  this.timeout(90_000);
  let api: PairuxApi;
  let guest: Ui;

  before(async function () {
    requireParts({ ui: ui.available, display: Boolean(process.env.DISPLAY) });
    ({ api, other: guest } = await hostWithSecondWindow('guest2'));
  });

  after(async () => {
    await ui.closeWindow('guest2').catch(() => undefined);
    if (api?.snapshot().view.kind === 'host') await vscode.commands.executeCommand('pairux.endSession', false).then(undefined, () => undefined);
  });

  it('a pasted link that is not one is explained in the input box and cannot be submitted', async () => {
    await guest.command('PairUX: Join Session');
    await guest.input('see you at 3', { submit: false });
    const message = await until(
      async () => {
        const text = await guest.workbenchEval<string>("return document.querySelector('.quick-input-widget .quick-input-message')?.textContent ?? ''");
        return /not a link/.test(text) ? text : undefined;
      },
      { what: 'the input box to explain the bad link' },
    );
    assert.match(message, /Paste the whole PairUX share link/);
    await guest.keyboard('Escape');
  });

  it('a damaged token is refused by the server with what to do, and no panel opens', async () => {
    const good = api.snapshot().links!.viewer;
    const damaged = `${good.slice(0, -6)}AAAAAA`;
    await guest.command('PairUX: Join Session');
    await guest.input(damaged);
    const error = await until(async () => (await guest.notifications()).find((m) => /token is not valid/.test(m)), { timeoutMs: 15_000, what: 'the refusal' });
    assert.match(error, /Ask the host for a new link/);
    const tabs = await guest.workbenchEval<string[]>("return [...document.querySelectorAll('.tabs-container .tab')].map((t) => t.textContent ?? '')");
    assert.ok(!tabs.some((t) => t.includes('PairUX')), `a panel opened: ${tabs.join(' | ')}`);
  });

  it('a vscode:// link opened from outside asks to join, naming the host, and shows the screen', async () => {
    await ui.command('PairUX: Copy Share Link');
    await ui.pick('VS Code link (controller)');
    const uri = await until(
      async () => {
        const t = await vscode.env.clipboard.readText();
        return t.includes('/join?link=') ? t : undefined;
      },
      { what: 'the VS Code link on the clipboard' },
    );
    assert.match(uri, new RegExp(`^${vscode.env.uriScheme}://pairux\\.pairux/join\\?link=http`));
    await guest.command('Developer: Open URL');
    await guest.input(uri);
    // VS Code's own question first: may this extension handle the URI?
    await guest.clickDialogButton('', 'Open', { timeoutMs: 15_000 });
    const dialog = await guest.clickDialogButton("'s session", 'Join', { timeoutMs: 15_000 });
    assert.match(dialog, /Join \S+'s session/);
    // A controller link waits in the lobby: the host lets the guest in from its notification.
    await ui.clickNotificationButton('wants to join your PairUX session', 'Admit', { timeoutMs: 15_000 });
    await until(
      async () => {
        const s = await guest.webviewPixels('video').catch(() => undefined);
        return s && s.width > 0 && s.nonBlack >= 0 ? s : undefined;
      },
      { timeoutMs: 30_000, what: 'video in the guest panel' },
    );
    await until(() => (participants(api).some((p) => p.role === 'controller') ? true : undefined), { timeoutMs: 10_000, what: 'the host to see the guest' });
  });

  it('the host demotes the guest to viewer from the Participants actions: the guest can no longer ask to drive', async () => {
    const c = participants(api).find((p) => p.role === 'controller')!;
    assert.ok((await guest.paletteItems('PairUX: Request')).includes('PairUX: Request Control'), 'a controller can ask');
    await vscode.commands.executeCommand('pairux.demote', { id: c.id });
    await until(() => (participants(api).find((p) => p.id === c.id)?.role === 'viewer' ? true : undefined), { timeoutMs: 10_000, what: 'the demotion' });
    await until(async () => (!(await guest.paletteItems('PairUX: Request')).includes('PairUX: Request Control') ? true : undefined), {
      timeoutMs: 10_000,
      what: 'Request Control to go from the guest',
    });
  });

  it('the host removes the guest: it is told, and the host no longer lists it', async () => {
    const v = participants(api).find((p) => p.role === 'viewer')!;
    void vscode.commands.executeCommand('pairux.removeParticipant', { id: v.id });
    await ui.clickNotificationButton('Remove', 'Remove');
    const told = await until(async () => (await guest.notifications()).find((m) => /removed you/.test(m)), { timeoutMs: 15_000, what: 'the guest to be told' });
    assert.match(told, /host removed you/);
    await until(() => (!participants(api).some((p) => p.id === v.id) ? true : undefined), { timeoutMs: 10_000, what: 'the host to drop the guest' });
  });
});
