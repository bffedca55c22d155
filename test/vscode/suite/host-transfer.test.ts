/**
 * Host transfer in the editor: the host offers its seat to a guest in another VS Code window from
 * the Participants actions, and the guest's editor asks its user in a modal prompt naming the
 * host. Decline: nothing changes. Accept: the guest's editor starts sharing its screen (its own
 * helper and host panel, as the same participant), the old host's editor stops sharing and
 * watches the new host's screen in a guest panel, and both status bars say so.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { hostWithSecondWindow, type PairuxApi } from './pairux-api';
import { ui, until, type Ui } from './ui';
import { requireParts } from '../support/requirements';

describe('Host transfer in VS Code', function () {
  this.timeout(120_000);
  let api: PairuxApi;
  let guest: Ui;

  before(async function () {
    requireParts({ ui: ui.available, display: Boolean(process.env.DISPLAY) });
    ({ api, other: guest } = await hostWithSecondWindow('newhost'));
    await guest.command('PairUX: Join Session');
    await guest.input(api.snapshot().links!.controller);
    await guest.clickDialogButton('Join', 'Join', { timeoutMs: 15_000 });
    // A controller link waits in the lobby: the host lets the guest in from its notification.
    await ui.clickNotificationButton('wants to join your PairUX session', 'Admit', { timeoutMs: 15_000 });
    await until(async () => (/'s screen/.test(await guest.statusBarText('pairux.status')) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the guest to watch',
    });
  });

  after(async () => {
    // The new host ends it (it asks first, with a guest in): its helper must not outlive the test
    // in a closed window's extension host.
    await guest?.command('PairUX: End Session').catch(() => undefined);
    await guest?.clickNotificationButton('End the session', 'End Session', { timeoutMs: 10_000 }).catch(() => undefined);
    await until(async () => (!/watching/.test(await guest.statusBarText('pairux.status').catch(() => '')) ? true : undefined), {
      timeoutMs: 15_000,
      what: 'the new host to end',
    }).catch(() => undefined);
    await ui.closeWindow('newhost').catch(() => undefined);
    const kind = api?.snapshot().view.kind;
    if (kind === 'host') await vscode.commands.executeCommand('pairux.endSession', false).then(undefined, () => undefined);
    if (kind === 'guest') await vscode.commands.executeCommand('pairux.leaveSession').then(undefined, () => undefined);
  });

  const dialogText = () => guest.workbenchEval<string>("return document.querySelector('.monaco-dialog-box')?.textContent ?? ''");
  const connectedController = () =>
    until(
      () => {
        const v = api.snapshot().view;
        return v.kind === 'host' ? v.page?.participants.find((p) => p.role === 'controller' && p.connected) : undefined;
      },
      { timeoutMs: 15_000, what: 'the host to see the guest as a controller' },
    );

  it("Make Host, declined in the guest's modal prompt: nobody changes seat and nothing is shared from the guest", async () => {
    const controller = await connectedController();
    void vscode.commands.executeCommand('pairux.makeHost', { id: controller.id });
    await ui.clickNotificationButton('the host?', 'Make Host');
    const asked = await guest.clickDialogButton('wants to hand you the host', 'Decline', { timeoutMs: 15_000 });
    assert.match(
      asked,
      /wants to hand you the host's seat: your screen will be shared with everyone in the session and you will answer their control requests/,
    );
    await until(async () => (!(await dialogText()) ? true : undefined), { timeoutMs: 5000, what: 'the prompt to close' });
    // Nothing moved: this editor still hosts, the guest still watches it (the next test offers again and it works).
    const v = api.snapshot().view;
    assert.equal(v.kind, 'host');
    assert.equal(v.kind === 'host' && v.page?.participants.find((p) => p.id === controller.id)?.role, 'controller');
    assert.match(await guest.statusBarText('pairux.status'), /'s screen/);
    assert.doesNotMatch(await guest.statusBarText('pairux.status'), /watching/);
  });

  it("Make Host, accepted in the guest's modal prompt: the guest shares its screen as host, the old host watches it, and both status bars say so", async () => {
    const controller = await connectedController();
    void vscode.commands.executeCommand('pairux.makeHost', { id: controller.id });
    await ui.clickNotificationButton('the host?', 'Make Host');
    // The prompt is up, so the offer has arrived; nothing moves until the guest's user says yes.
    await until(async () => (/wants to hand you the host/.test(await dialogText()) ? true : undefined), { timeoutMs: 15_000, what: "the guest's prompt" });
    assert.equal(api.snapshot().view.kind, 'host', 'the offer alone moved the seat');
    assert.match(await guest.statusBarText('pairux.status'), /'s screen/);
    await guest.clickDialogButton('wants to hand you the host', 'Accept', { timeoutMs: 15_000 });
    // The old host's editor now watches, as the same participant, with a controller's rights.
    const watching = await until(
      () => {
        const v = api.snapshot().view;
        return v.kind === 'guest' && v.page?.state === 'live' ? v : undefined;
      },
      { timeoutMs: 60_000, what: 'the old host to watch the new host' },
    ).catch(async (err: Error) => {
      const v = api.snapshot().view;
      const page = v.kind === 'host' || v.kind === 'guest' ? v.page : undefined;
      await ui.screenshot('host-transfer-old-host').catch(() => undefined);
      const frames = await ui
        .workbenchEval(
          `JSON.stringify([...document.querySelectorAll('iframe.webview')].map((f) => ({ src: f.src.slice(0, 300), vis: getComputedStyle(f.parentElement).visibility, w: f.offsetWidth, h: f.offsetHeight })))`,
        )
        .catch((e: Error) => e.message);
      throw new Error(
        `${err.message}; the old host shows ${v.kind} (${page?.state}: ${page?.message}, role ${page?.role}); the new host's status bar: ${await guest.statusBarText('pairux.status').catch(() => '?')}; notifications: ${(await ui.notifications().catch(() => [])).join(' | ')}; the new host's: ${(await guest.notifications().catch(() => [])).join(' | ')}; the old host's webviews: ${String(frames)} (screenshot host-transfer-old-host.png)`,
      );
    });
    assert.equal(watching.kind === 'guest' && watching.page?.role, 'controller');
    assert.equal(
      watching.kind === 'guest' && watching.page?.participants.find((p) => p.role === 'host')?.id,
      controller.id,
      'the new host is the guest it chose',
    );
    await until(async () => (/'s screen/.test(await ui.statusBarText('pairux.status')) ? true : undefined), {
      timeoutMs: 15_000,
      what: "the old host's status bar to say whose screen it watches",
    });
    // Pixels from the new host's own helper reach the old host's guest panel.
    await until(
      async () => {
        const s = await ui.webviewPixels('video').catch(() => undefined);
        return s && s.width > 0 ? s : undefined;
      },
      { timeoutMs: 30_000, what: "video in the old host's guest panel" },
    );
    // The new host's editor shares: its status bar counts who watches.
    await until(async () => (/watching/.test(await guest.statusBarText('pairux.status')) ? true : undefined), {
      timeoutMs: 30_000,
      what: "the new host's status bar to show it shares",
    });
    assert.doesNotMatch(await guest.statusBarText('pairux.status'), /'s screen/);
  });
});
