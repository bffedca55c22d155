/**
 * The host lowers one guest's quality tier from the Participants view: a browser viewer joins, the
 * host right-clicks its row, runs Set Quality Tier and picks Low from choices that say what each
 * tier means in numbers; the row then says "low (set by you)", and the server has the viewer on
 * the low tier. The host panel, a control room, then shows that guest with its tier and network
 * quality beside a live preview of the shared screen (screenshot: host-panel-control-room.png).
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { participantRows } from '../../../extension/core/session-view';
import { activatePairux, type PairuxApi } from './pairux-api';
import { ui, until } from './ui';
import { requireParts } from '../support/requirements';

/** Finds the Participants view's pane in the workbench (a script prelude for ui.workbenchEval). */
const PANE = `const pane = [...document.querySelectorAll('.pane')].find((p) => (p.querySelector('.pane-header')?.textContent ?? '').toLowerCase().includes('participants'));
  const rows = [...(pane?.querySelectorAll('.monaco-list-row') ?? [])];`;
/** The Participants view's rows as the workbench shows them (label and description). */
const VIEW_ROWS = `${PANE}
  return rows.map((r) => r.textContent ?? '');`;

describe('Quality tiers in VS Code', function () {
  this.timeout(120_000);
  let api: PairuxApi;

  before(async function () {
    requireParts({ ui: ui.available, display: Boolean(process.env.DISPLAY) });
    api = await activatePairux();
  });

  after(async () => {
    await ui.closeWindow('tier-viewer').catch(() => undefined);
    if (api?.snapshot().view.kind === 'host') await vscode.commands.executeCommand('pairux.endSession', false).then(undefined, () => undefined);
  });

  it('the host sets a browser viewer to Low from the Participants view, and the view then shows "low"', async () => {
    await vscode.commands.executeCommand('pairux.startSession', 'p2p');
    const links = await until(() => api.snapshot().links, { timeoutMs: 30_000, what: 'the session to start' });
    // The tier goes through the host page's connection: it has to have joined first.
    await until(
      () => {
        const view = api.snapshot().view;
        return view.kind === 'host' && view.page?.state === 'joined' ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the host page to join' },
    );
    await ui.openPage('tier-viewer', links.viewer);
    const guestRow = () => participantRows(api.snapshot().view).find((r) => r.contextValue.includes('guest'));
    const row = await until(guestRow, { timeoutMs: 30_000, what: "the browser viewer's row in the Participants view" });
    assert.match(row.description, /^viewer · standard/);

    await vscode.commands.executeCommand('pairux.participants.focus');
    const shown = await until(
      async () => {
        const rows = await ui.workbenchEval<string[]>(VIEW_ROWS);
        return rows.some((t) => t.includes('viewer · standard')) ? rows : undefined;
      },
      { timeoutMs: 10_000, what: 'the viewer shown as "viewer · standard" in the Participants view' },
    );
    assert.equal(shown.length, 2, shown.join(' | '));

    // Right-click the viewer's row, then Set Quality Tier in its context menu.
    const opened = await ui.workbenchEval<boolean>(`${PANE}
      const target = rows.find((r) => (r.textContent ?? '').includes('viewer · standard'));
      if (!target) return false;
      const box = target.getBoundingClientRect();
      target.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true, clientX: box.x + 10, clientY: box.y + 5, button: 2 }));
      return true;`);
    assert.ok(opened, 'no row to right-click');
    const items = await until(
      async () => {
        const labels = await ui.workbenchEval<string[]>(
          "return [...document.querySelectorAll('.context-view .monaco-menu .action-label')].map((e) => e.textContent ?? '').filter(Boolean)",
        );
        return labels.length ? labels : undefined;
      },
      { timeoutMs: 5_000, what: "the row's context menu" },
    );
    assert.ok(items.includes('Set Quality Tier'), items.join(' | '));
    assert.ok(items.includes('Make Controller') && items.includes('Remove from Session'), items.join(' | '));
    // The menu has the focus: down to the item (the first press selects the first item), then Enter.
    for (let i = 0; i <= items.indexOf('Set Quality Tier'); i++) await ui.keyboard('ArrowDown');
    await ui.keyboard('Enter');

    let pick = await ui.quickInput();
    // Run without its row (the menu took the keys before the row was its context, seen once in
    // CI), the command asks which guest first: the same flow a host meets from the palette.
    if (pick.labels.length === 1 && pick.labels[0] === row.label) {
      await ui.pick(row.label);
      pick = await until(
        async () => {
          const next = await ui.quickInput();
          return next.labels.includes('High') ? next : undefined;
        },
        { timeoutMs: 5_000, what: 'the tier choices after picking the guest' },
      );
    }
    assert.deepEqual(pick.labels, ['High', 'Standard', 'Low', 'Role default']);
    const details = await ui.workbenchEval<string[]>(
      "return [...document.querySelectorAll('.quick-input-widget .quick-input-list .monaco-list-row .quick-input-list-label-meta')].map((e) => e.textContent ?? '')",
    );
    assert.ok(
      details.some((d) => d.includes('Up to 600 kbit/s · 10 fps')),
      `no numbers for Low: ${details.join(' | ')}`,
    );
    await ui.pick('Low');

    const after = await until(
      async () => {
        const rows = await ui.workbenchEval<string[]>(VIEW_ROWS);
        return rows.some((t) => t.includes('viewer · low (set by you)')) ? rows : undefined;
      },
      { timeoutMs: 10_000, what: 'the viewer shown as "viewer · low (set by you)"' },
    );
    assert.equal(after.length, 2, after.join(' | '));
    const view = api.snapshot().view;
    const viewer = view.kind === 'host' ? view.page?.participants.find((p) => p.id === row.id) : undefined;
    assert.deepEqual([viewer?.tier, viewer?.tierChosen], ['low', true], 'the server has the viewer on the low tier');
    await ui.screenshot('tiers-participants-low');
  });

  it("the host panel is a control room: what is shared, who watches, each guest's tier and network quality", async () => {
    type Row = { name: string; doing: string; tier: string | undefined; quality: string | undefined; title: string };
    const rows = await until(
      async () => {
        const got = await ui.webviewEval<Row[]>(
          `[...document.querySelectorAll('#people li[data-id]')].map((li) => ({ name: li.querySelector('.name')?.textContent ?? '', doing: li.querySelector('.doing')?.textContent ?? '', tier: li.dataset.tier, quality: li.dataset.quality, title: li.querySelector('.quality')?.title ?? '' }))`,
          { title: 'PairUX host' },
        );
        return got.length === 1 && got[0]!.quality ? got : undefined;
      },
      { timeoutMs: 20_000, what: "the viewer's row with its network quality in the host panel" },
    );
    assert.equal(rows[0]!.doing, 'watches');
    assert.equal(rows[0]!.tier, 'low', 'the tier the host just set');
    assert.ok(['good', 'fair', 'poor'].includes(rows[0]!.quality!), rows[0]!.quality);
    assert.match(rows[0]!.title, /fps, .*round trip, .*% lost/);
    const header = await ui.webviewEval<{ what: string; count: string; preview: number; stopAll: boolean }>(
      `({ what: document.getElementById('what')?.textContent ?? '', count: document.getElementById('people-count')?.textContent ?? '', preview: document.getElementById('preview')?.videoWidth ?? 0, stopAll: document.getElementById('stop-control')?.hasAttribute('disabled') ?? false })`,
      { title: 'PairUX host' },
    );
    assert.match(header.what, /screen at \d+ fps/);
    assert.equal(header.count, '1');
    assert.ok(header.preview > 0, 'the preview shows the shared screen');
    assert.equal(header.stopAll, true, 'Stop All Control is off while nobody drives');
    // The links the editor hands out, with copy buttons that put them on the clipboard.
    const links = api.snapshot().links!;
    const shownLinks = await until(
      async () => {
        const got = await ui.webviewEval<{ viewer: string; controller: string }>(
          `({ viewer: document.getElementById('viewer-link')?.textContent ?? '', controller: document.getElementById('controller-link')?.textContent ?? '' })`,
          { title: 'PairUX host' },
        );
        return got.viewer ? got : undefined;
      },
      { timeoutMs: 10_000, what: 'the links in the host panel' },
    );
    assert.deepEqual(shownLinks, { viewer: links.viewer, controller: links.controller });
    await vscode.env.clipboard.writeText('');
    await ui.webviewClick('#copy-viewer', { title: 'PairUX host' });
    await until(async () => ((await vscode.env.clipboard.readText()) === links.viewer ? true : undefined), {
      timeoutMs: 5_000,
      what: 'the viewer link on the clipboard after Copy',
    });
    await ui.screenshot('host-panel-control-room');
  });
});
