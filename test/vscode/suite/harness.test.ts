/**
 * The UI driver against the workbench's own UI, independent of PairUX: each call does what a
 * person's action would and the extension API sees the outcome. If one of these fails, the
 * PairUX tests built on the same call would fail for the harness's reason, not the product's.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ui, until } from './ui';
import { requireParts } from '../support/requirements';

describe('UI driver (workbench harness)', function () {
  before(function () {
    requireParts({ ui: ui.available });
  });

  it('runs a command from the palette and types into the editor it opened', async () => {
    await ui.command('File: New Untitled Text File');
    const editor = await until(
      () => {
        const e = vscode.window.activeTextEditor;
        return e?.document.isUntitled ? e : undefined;
      },
      { what: 'an untitled editor' },
    );
    await ui.type('typed by the harness');
    await until(() => (editor.document.getText() === 'typed by the harness' ? true : undefined), { what: 'the typed text' });
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('picks a quick-pick item and fills an input box', async () => {
    const picked = vscode.window.showQuickPick(['Auto', 'P2P', 'SFU'], { title: 'harness mode' });
    const shown = await ui.quickInput();
    assert.deepEqual(shown.labels, ['Auto', 'P2P', 'SFU']);
    await ui.pick('P2P');
    assert.equal(await picked, 'P2P');

    const typed = vscode.window.showInputBox({ prompt: 'harness link' });
    await ui.input('https://example.invalid/j/abc');
    assert.equal(await typed, 'https://example.invalid/j/abc');
  });

  it('clicks a notification button', async () => {
    const answer = vscode.window.showInformationMessage('Harness asks: allow control?', 'Allow', 'Deny');
    await ui.clickNotificationButton('allow control?', 'Deny');
    assert.equal(await answer, 'Deny');
  });

  it('clicks a notification VS Code kept out of the toasts (the fourth in a burst) in the notification center, and closes the center again', async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    const burst = [1, 2, 3].map((n) => vscode.window.showInformationMessage(`Harness burst ${n}`, 'OK'));
    const answer = vscode.window.showInformationMessage('Harness asks after a burst: allow control?', 'Allow', 'Deny');
    await until(async () => ((await ui.notifications()).some((m) => m.includes('burst 1')) ? true : undefined), { timeoutMs: 10_000, what: 'the first toast' });
    assert.ok(!(await ui.notifications()).some((m) => m.includes('after a burst')), 'the fourth has no toast');
    await ui.clickNotificationButton('after a burst', 'Allow');
    assert.equal(await answer, 'Allow');
    // Toasts show again: the center is closed.
    const next = vscode.window.showInformationMessage('Harness asks again later: allow control?', 'Allow', 'Deny');
    await until(async () => ((await ui.notifications()).some((m) => m.includes('asks again later')) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'a toast after the center closed',
    });
    await ui.clickNotificationButton('asks again later', 'Deny');
    assert.equal(await next, 'Deny');
    await vscode.commands.executeCommand('notifications.clearAll');
    assert.deepEqual(await Promise.all(burst), [undefined, undefined, undefined]);
  });

  it('reads a status-bar item by id and by text', async () => {
    const item = vscode.window.createStatusBarItem('harness.item', vscode.StatusBarAlignment.Left);
    try {
      item.text = 'harness 3 watching';
      item.show();
      assert.equal(await ui.statusBarText('harness.item'), 'harness 3 watching');
      item.text = 'harness 4 watching';
      await until(async () => ((await ui.statusBarText('harness 4')) === 'harness 4 watching' ? true : undefined), { what: 'the new text' });
    } finally {
      item.dispose();
    }
  });

  // VS Code's web clipboard service keeps vscode.env.clipboard in memory while extension tests
  // run (extensionTestsLocationURI set), so what the extension copies is read back through the
  // API; the browser's clipboard is what a person's Ctrl+V in the page pastes.
  it('keeps vscode.env.clipboard apart from the browser clipboard, which Ctrl+V pastes into an input box', async () => {
    const copied = `copied by the extension ${Date.now()}`;
    await vscode.env.clipboard.writeText(copied);
    assert.equal(await vscode.env.clipboard.readText(), copied);
    const browser = `in the browser clipboard ${Date.now()}`;
    await ui.setClipboard(browser);
    assert.equal(await ui.clipboard(), browser);
    assert.equal(await vscode.env.clipboard.readText(), copied);

    const typed = vscode.window.showInputBox({ prompt: 'paste a link' });
    await ui.quickInput();
    await ui.keyboard('Control+V', 'Enter');
    assert.equal(await typed, browser);
  });

  it('reads a webview by its title: DOM and pixels', async () => {
    const panel = vscode.window.createWebviewPanel('harness.webview', 'Harness view', vscode.ViewColumn.One, { enableScripts: true });
    try {
      panel.webview.html = `<!doctype html><html><head><title>harness-webview</title></head><body>
        <p id="hello">hello from the webview</p><canvas id="c" width="64" height="32"></canvas>
        <script>const x = document.getElementById('c').getContext('2d'); x.fillStyle = '#ff0000'; x.fillRect(0, 0, 64, 32);</script>
        </body></html>`;
      const text = await ui.webviewEval<string>(`document.getElementById('hello').textContent`, { title: 'harness-webview' });
      assert.equal(text, 'hello from the webview');
      const px = await ui.webviewPixels('#c', { title: 'harness-webview' });
      assert.equal(px.width, 64);
      assert.ok(px.mean[0] > 240 && px.mean[1] < 15 && px.mean[2] < 15, `mean colour ${px.mean.join(',')}`);
      assert.equal(px.nonBlack, 1);
    } finally {
      panel.dispose();
    }
  });
});
