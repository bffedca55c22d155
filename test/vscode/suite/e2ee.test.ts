/**
 * An end-to-end encrypted session in real VS Code, as people drive it: the host starts it from
 * the palette (P2P, then *End-to-end encrypted*) and shares the real X screen (a green xterm on
 * the harness's Xvfb); Start copies a link only once the host panel has made the key, and the
 * link carries it after the `#`. A second VS Code window opens the `vscode://` link (through the
 * URI handler, which must hand the key on whole), joins, and decodes the host's screen in its
 * panel, which worked only because the panel started the E2EE worker from a blob (a webview cannot
 * start one from the extension's resources). Both sides show the lock and the same safety code:
 * the host panel's lock line, the guest panel's, and each status bar's tooltip. The guest then
 * asks for control, the host allows it, and the guest's keys land in the host's xterm: input
 * crosses the encrypted session too. Last, the host hands its seat to that guest (Make Host,
 * accepted): the new host's editor continues the session's key, so the old host's editor watches
 * it with the same safety code on both sides, and a browser viewer that joined before keeps
 * decoding the new host's screen with the link it had.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { parseShareLink } from '../../../protocol/share-link';
import { parseJoinInput } from '../../../extension/core/join-input';
import { activatePairux, type PairuxApi } from './pairux-api';
import { extensionReady, ui, until, type Ui } from './ui';
import { requireParts } from '../support/requirements';

const GREEN = '#00b000';
const RED = '#c00000';
const SAFETY_CODE = /\d{3} \d{3} \d{3}/;

/** The xterm's green fills the top-left of the shared screen: a picture is the host's when green leads. */
function greenLeads(p: { mean: [number, number, number]; nonBlack: number }): boolean {
  const [r, g, b] = p.mean;
  return p.nonBlack > 0.2 && g > r * 2 && g > b * 2;
}

/** A red xterm over the green one: a picture that turns red came from whoever shares after that moment. */
function redLeads(p: { mean: [number, number, number]; nonBlack: number }): boolean {
  const [r, g, b] = p.mean;
  return p.nonBlack > 0.2 && r > g * 2 && r > b * 2;
}

describe('End-to-end encrypted sessions in VS Code', function () {
  this.timeout(120_000);
  let api: PairuxApi;
  let term: ChildProcess | undefined;
  let redTerm: ChildProcess | undefined;
  let guest: Ui | undefined;
  let browser: Ui | undefined;
  /** The guest window took the host's seat: it ends the session. */
  let handedOver = false;
  let key = '';
  let code = '';
  let typed = '';

  before(async function () {
    requireParts({ ui: ui.available, display: Boolean(process.env.DISPLAY) });
    api = await activatePairux();
    typed = path.join(mkdtempSync(path.join(os.tmpdir(), 'pairux-e2ee-typed-')), 'typed.txt');
    // The host's screen: a green xterm whose keystrokes end up in a file.
    term = spawn('xterm', ['-geometry', '120x40+0+0', '-bg', GREEN, '-fg', 'black', '-e', 'sh', '-c', `stty -icanon; cat > ${typed}`], { stdio: 'ignore' });
    await until(() => (existsSync(typed) ? true : undefined), { timeoutMs: 10_000, what: 'the xterm to start' });
    // Keys go to the window with the focus: give it the focus once.
    spawnSync('xdotool', ['search', '--sync', '--class', 'xterm', 'windowactivate', '--sync', '%@'], { timeout: 5000 });
  });

  after(async () => {
    term?.kill();
    redTerm?.kill();
    if (browser) await ui.closeWindow('e2ee-browser').catch(() => undefined);
    if (guest && handedOver) {
      // The new host ends it (it asks first, with a guest in): its helper must not outlive the test in a closed window.
      await guest.command('PairUX: End Session').catch(() => undefined);
      await guest.clickNotificationButton('End the session', 'End Session', { timeoutMs: 10_000 }).catch(() => undefined);
      await until(async () => (!/watching/.test(await guest!.statusBarText('pairux.status').catch(() => '')) ? true : undefined), {
        timeoutMs: 15_000,
        what: 'the new host to end',
      }).catch(() => undefined);
    }
    if (guest) await ui.closeWindow('e2ee-guest').catch(() => undefined);
    const kind = api?.snapshot().view.kind;
    if (kind === 'host') await vscode.commands.executeCommand('pairux.endSession', false).then(undefined, () => undefined);
    if (kind === 'guest') await vscode.commands.executeCommand('pairux.leaveSession').then(undefined, () => undefined);
  });

  it('Start from the palette, end-to-end encrypted: the copied link carries the key the host panel made, and the lock shows its safety code', async () => {
    await vscode.env.clipboard.writeText('');
    await ui.command('PairUX: Start Pairing Session');
    await ui.pick('P2P');
    await ui.pick('End-to-end encrypted');
    const links = await until(() => api.snapshot().links, { timeoutMs: 45_000, what: 'the keyed links' });
    const controller = parseShareLink(links.controller);
    assert.match(controller.key ?? '', /^[A-Za-z0-9_-]{43}$/, links.controller.replace(/&k=.*/, '&k=…'));
    key = controller.key!;
    assert.equal(parseShareLink(links.viewer).key, key, 'the viewer link carries the same key');
    const copied = await until(async () => ((await vscode.env.clipboard.readText()).includes('/s/') ? vscode.env.clipboard.readText() : undefined), {
      what: 'the link on the clipboard',
    });
    assert.equal(copied, links.controller, 'Start copied the keyed link');
    // Only in the fragment: nothing of the key where a request would carry it.
    const u = new URL(copied);
    assert.ok(!`${u.origin}${u.pathname}${u.search}`.includes(key));

    const view = api.snapshot().view;
    assert.ok(
      view.kind === 'host' && view.e2ee?.safetyCode,
      `the host view has no safety code: ${JSON.stringify(view.kind === 'host' ? view.e2ee : view.kind)}`,
    );
    code = view.e2ee.safetyCode;
    assert.match(code, SAFETY_CODE);
    const tooltip = await ui.statusBarTooltip('pairux.status');
    assert.ok(tooltip.includes(`End-to-end encrypted · safety code ${code}`), tooltip);
    const icons = await ui.workbenchEval<boolean>(
      "return [...document.querySelectorAll('.part.statusbar .statusbar-item')].some((e) => e.id.includes('pairux.status') && e.querySelector('.codicon-lock'))",
    );
    assert.ok(icons, 'no lock in the status bar');
    // The host panel (the host page in its webview) says the same.
    const line = await until(
      async () => {
        const t = await ui.webviewEval<string>("return document.getElementById('e2ee')?.textContent ?? ''", { title: 'PairUX host' });
        return t.includes(code) ? t : undefined;
      },
      { timeoutMs: 15_000, what: "the host panel's lock line" },
    );
    assert.match(line, /End-to-end encrypted · safety code/);
  });

  it('a second VS Code window joins through the vscode:// link: the key reaches its panel, which decodes the host’s screen and shows the same safety code', async () => {
    await vscode.env.clipboard.writeText('');
    await ui.command('PairUX: Copy Share Link');
    await ui.pick('VS Code link (controller)');
    const uri = await until(
      async () => {
        const t = await vscode.env.clipboard.readText();
        return t.includes('/join?link=') ? t : undefined;
      },
      { what: 'the VS Code link on the clipboard' },
    );
    assert.equal(parseJoinInput(uri).key, key, 'the VS Code link wraps the keyed link');

    await ui.openWindow('e2ee-guest');
    guest = ui.window('e2ee-guest');
    await extensionReady(guest);
    await guest.command('Developer: Open URL');
    await guest.input(uri);
    // VS Code's own question first: may this extension handle the URI?
    await guest.clickDialogButton('', 'Open', { timeoutMs: 15_000 });
    const dialog = await guest.clickDialogButton("'s session", 'Join', { timeoutMs: 15_000 });
    assert.match(dialog, /end-to-end encrypted/, dialog);
    // A controller link waits in the lobby: the host lets the guest in.
    await ui.clickNotificationButton('wants to join your PairUX session', 'Admit', { timeoutMs: 15_000 });

    // Frames open only with the link's key: the host's green screen in the guest panel is the proof.
    let last = '';
    const stats = await until(
      async () => {
        const s = await guest!.webviewPixels('video').catch((err: Error) => ((last = err.message), undefined));
        if (s) last = JSON.stringify(s);
        return s && greenLeads(s) ? s : undefined;
      },
      { timeoutMs: 45_000, what: "the host's screen decoded in the guest panel" },
    ).catch(async (err: Error) => {
      const page = await guest!.webviewEval<string>('return document.body.innerText.slice(0, 400)').catch(() => '?');
      throw new Error(`${err.message}; last: ${last}; guest panel: ${page}`);
    });
    assert.equal(stats.width, 1280);

    const lock = await until(
      async () => {
        const t = await guest!.webviewEval<string>("const l = document.getElementById('lock'); return l && !l.hidden ? l.textContent ?? '' : ''");
        return t.includes(code) ? t : undefined;
      },
      { timeoutMs: 10_000, what: `the guest panel's lock with the host's safety code ${code}` },
    );
    assert.match(lock, /End-to-end encrypted · safety code/);
    const tooltip = await until(
      async () => {
        const t = await guest!.statusBarTooltip('pairux.status');
        return t.includes(`End-to-end encrypted · safety code ${code}`) && !t.includes('waiting') ? t : undefined;
      },
      { timeoutMs: 15_000, what: "the guest's status bar to show the lock, decrypting" },
    );
    assert.ok(!tooltip.includes(key), 'the key is shown');
    await guest.screenshot('e2ee-guest-decrypting');
  });

  it("Request Control → Allow on the host: the guest's keys, sealed under the session's key, land in the host's xterm", async () => {
    assert.ok(guest, 'the guest window did not join');
    const g = guest;
    await g.command('PairUX: Request Control');
    await ui.clickNotificationButton('asks to control your mouse and keyboard', 'Allow', { timeoutMs: 15_000 });
    await until(async () => ((await g.statusBarText('pairux.status')).includes('you drive') ? true : undefined), {
      timeoutMs: 15_000,
      what: 'the guest to drive',
    });
    await until(async () => (/drives/.test(await ui.statusBarText('pairux.status')) ? true : undefined), {
      timeoutMs: 10_000,
      what: "the host's status bar to say who drives",
    });
    await g.webviewClick('video');
    const text = 'encrypted keys ~!@#$%^&*()_+{}|:"<>?';
    await g.type(text);
    const landed = await until(
      () => {
        const got = readFileSync(typed, 'utf8');
        return got.includes(text) ? got : undefined;
      },
      { timeoutMs: 15_000, what: `"${text}" in the host's xterm (so far: ${JSON.stringify(readFileSync(typed, 'utf8'))})` },
    );
    assert.ok(landed.endsWith(text), JSON.stringify(landed));
    await g.screenshot('e2ee-guest-driving');
  });

  it("Make Host, accepted: the new host's editor continues the session's key, the old host watches it with the same safety code, and a browser viewer keeps decoding with its link", async () => {
    assert.ok(guest, 'the guest window did not join');
    const g = guest;
    // A guest from before the transfer, with the link the host handed out then.
    const viewerLink = api.snapshot().links!.viewer;
    await ui.openPage('e2ee-browser', viewerLink);
    browser = ui.window('e2ee-browser');
    const b = browser;
    await until(async () => (greenLeads(await b.pagePixels('video')) ? true : undefined), {
      timeoutMs: 30_000,
      what: "the host's screen decoded in the browser viewer",
    });

    const controller = await until(
      () => {
        const v = api.snapshot().view;
        return v.kind === 'host' ? v.page?.participants.find((p) => p.role === 'controller' && p.connected) : undefined;
      },
      { timeoutMs: 15_000, what: 'the host to see the guest as a controller' },
    );
    void vscode.commands.executeCommand('pairux.makeHost', { id: controller.id });
    await ui.clickNotificationButton('the host?', 'Make Host');
    await g.clickDialogButton('wants to hand you the host', 'Accept', { timeoutMs: 15_000 });
    handedOver = true;

    // The old host's editor watches the new host as a controller, in a guest panel keyed with the session's key.
    await until(
      () => {
        const v = api.snapshot().view;
        return v.kind === 'guest' && v.page?.state === 'live' ? v : undefined;
      },
      { timeoutMs: 60_000, what: 'the old host to watch the new host' },
    ).catch(async (err: Error) => {
      const v = api.snapshot().view;
      const page = v.kind === 'host' || v.kind === 'guest' ? v.page : undefined;
      await ui.screenshot('e2ee-host-transfer-old-host').catch(() => undefined);
      throw new Error(
        `${err.message}; the old host shows ${v.kind} (${page?.state}: ${page?.message}); notifications: ${(await ui.notifications().catch(() => [])).join(' | ')}; the new host's: ${(await g.notifications().catch(() => [])).join(' | ')}`,
      );
    });
    // Only frames sealed under the key the old host's link carries open here, and they come from the new host alone.
    await until(
      async () => {
        const s = await ui.webviewPixels('video').catch(() => undefined);
        return s && greenLeads(s) ? s : undefined;
      },
      { timeoutMs: 30_000, what: "the new host's screen decoded in the old host's guest panel" },
    );
    const oldHostLock = await until(
      async () => {
        const t = await ui.webviewEval<string>("const l = document.getElementById('lock'); return l && !l.hidden ? l.textContent ?? '' : ''").catch(() => '');
        return t.includes('safety code') ? t : undefined;
      },
      { timeoutMs: 15_000, what: "the old host's guest panel to show its lock" },
    );
    assert.ok(oldHostLock.includes(code), `the old host's panel shows another safety code than the session's ${code}: ${oldHostLock}`);
    // The new host's editor shows the same code: it continued the key, it did not make one.
    const newHostLine = await until(
      async () => {
        const t = await g.webviewEval<string>("return document.getElementById('e2ee')?.textContent ?? ''", { title: 'PairUX host' }).catch(() => '');
        return /safety code/.test(t) ? t : undefined;
      },
      { timeoutMs: 30_000, what: "the new host panel's lock line" },
    );
    assert.ok(newHostLine.includes(code), `the new host shows another safety code than the session's ${code}: ${newHostLine}`);
    await until(async () => ((await g.statusBarTooltip('pairux.status')).includes(`End-to-end encrypted · safety code ${code}`) ? true : undefined), {
      timeoutMs: 15_000,
      what: "the new host's status bar to show the session's safety code",
    });
    await until(
      async () => {
        const t = await ui.statusBarTooltip('pairux.status');
        return t.includes(`End-to-end encrypted · safety code ${code}`) && !t.includes('waiting') ? t : undefined;
      },
      { timeoutMs: 15_000, what: "the old host's status bar to show the session's safety code, decrypting" },
    );

    // The screen changes after the transfer: both guests see it change, so both decode the new host's frames now.
    redTerm = spawn('xterm', ['-geometry', '120x40+0+0', '-bg', RED, '-fg', 'black'], { stdio: 'ignore' });
    await until(
      async () => {
        const s = await ui.webviewPixels('video').catch(() => undefined);
        return s && redLeads(s) ? s : undefined;
      },
      { timeoutMs: 30_000, what: "the new host's changed screen in the old host's guest panel" },
    );
    let last = '';
    await until(
      async () => {
        const s = await b.pagePixels('video');
        last = JSON.stringify(s);
        return redLeads(s) ? s : undefined;
      },
      { timeoutMs: 30_000, what: "the new host's changed screen in the browser viewer that joined before the transfer" },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last: ${last}`);
    });
    await g.screenshot('e2ee-new-host');
    await ui.screenshot('e2ee-old-host-watching');
  });
});
