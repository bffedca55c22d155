/**
 * SFU mode from the editor: the host points PairUX at a LiveKit server in the settings, keeps
 * the API secret in VS Code's secret storage through the palette, starts an SFU session, and a
 * browser viewer receives the real screen through LiveKit. (The harness starts the LiveKit.) An
 * end-to-end encrypted SFU session reaches a second VS Code window through LiveKit too: both
 * panels run LiveKit's E2EE worker, started from a blob as webviews must.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { parseShareLink } from '../../../protocol/share-link';
import type { PairuxApi } from './pairux-api';
import { extensionReady, ui, until } from './ui';
import { requireParts } from '../support/requirements';

describe('PairUX SFU sessions in VS Code', function () {
  this.timeout(90_000);
  let api: PairuxApi;
  let term: ChildProcess | undefined;
  const livekit = process.env.PAIRUX_TEST_LIVEKIT
    ? (JSON.parse(process.env.PAIRUX_TEST_LIVEKIT) as { url: string; apiKey: string; apiSecret: string })
    : undefined;

  before(async function () {
    requireParts({ ui: ui.available, display: Boolean(process.env.DISPLAY), livekit: Boolean(livekit) });
    api = await vscode.extensions.getExtension<PairuxApi>('pairux.pairux')!.activate();
    term = spawn('xterm', ['-geometry', '120x40+0+0', '-bg', '#00b000'], { stdio: 'ignore' });
  });

  after(async () => {
    term?.kill();
    await ui.closeWindow('sfu-guest').catch(() => undefined);
    if (api?.snapshot().view.kind === 'host') await vscode.commands.executeCommand('pairux.endSession', false).then(undefined, () => undefined);
    const config = vscode.workspace.getConfiguration('pairux');
    await config.update('livekit.url', undefined, vscode.ConfigurationTarget.Global);
    await config.update('livekit.apiKey', undefined, vscode.ConfigurationTarget.Global);
  });

  it('configured with a LiveKit (secret through the palette), Start → SFU shares the screen to a browser viewer via the SFU', async () => {
    const config = vscode.workspace.getConfiguration('pairux');
    await config.update('livekit.url', livekit!.url, vscode.ConfigurationTarget.Global);
    await config.update('livekit.apiKey', livekit!.apiKey, vscode.ConfigurationTarget.Global);
    await ui.command('PairUX: Set LiveKit API Secret');
    await ui.input(livekit!.apiSecret);
    await ui.command('PairUX: Start Pairing Session');
    await ui.pick('SFU');
    await ui.pick('Not encrypted');
    const links = await until(() => api.snapshot().links, { timeoutMs: 30_000, what: 'the SFU session to start' });
    await until(async () => ((await ui.statusBarText('pairux.status')).includes('SFU') ? true : undefined), {
      timeoutMs: 15_000,
      what: 'SFU in the status bar',
    });
    await ui.openPage('sfu-viewer', links.viewer);
    const viewer = ui.window('sfu-viewer');
    const stats = await until(
      async () => {
        const s = await viewer.pagePixels('video');
        const [r, g, b] = s.mean;
        // The SFU may start a new subscriber on the low simulcast layer; text needs the full one.
        return s.width === 1280 && s.nonBlack > 0.2 && g > r * 2 && g > b * 2 ? s : undefined;
      },
      { timeoutMs: 40_000, what: "the host's full-resolution screen through LiveKit" },
    );
    assert.equal(stats.height, 720);
    // The page's status line follows the picture (it is redrawn when the engine says live).
    const status = await until(
      async () => {
        const text = await viewer.workbenchEval<string>("return document.querySelector('#status')?.textContent ?? ''");
        return /SFU/.test(text) ? text : undefined;
      },
      { timeoutMs: 5_000, what: "'via SFU' in the viewer's status line" },
    );
    assert.match(status, /^Live · /);
    await ui.closeWindow('sfu-viewer');
    await vscode.commands.executeCommand('pairux.endSession', false);
  });

  it('end-to-end encrypted through the SFU: a second VS Code window decodes the screen with the keyed link, showing the host’s safety code', async () => {
    await vscode.env.clipboard.writeText('');
    await ui.command('PairUX: Start Pairing Session');
    await ui.pick('SFU');
    await ui.pick('End-to-end encrypted');
    const links = await until(() => api.snapshot().links, { timeoutMs: 45_000, what: 'the keyed links of the SFU session' });
    const key = parseShareLink(links.viewer).key;
    assert.match(key ?? '', /^[A-Za-z0-9_-]{43}$/);
    const view = api.snapshot().view;
    const code = view.kind === 'host' ? view.e2ee?.safetyCode : undefined;
    assert.match(code ?? '', /^\d{3} \d{3} \d{3}$/);
    await until(async () => ((await ui.statusBarText('pairux.status')).includes('SFU') ? true : undefined), {
      timeoutMs: 15_000,
      what: 'SFU in the status bar',
    });

    await ui.openWindow('sfu-guest');
    const guest = ui.window('sfu-guest');
    await extensionReady(guest);
    await guest.command('PairUX: Join Session');
    await guest.input(links.viewer);
    await guest.clickDialogButton('Join', 'Join', { timeoutMs: 15_000 });
    let last = '';
    await until(
      async () => {
        const s = await guest.webviewPixels('video').catch((err: Error) => ((last = err.message), undefined));
        if (!s) return undefined;
        last = JSON.stringify(s);
        const [r, g, b] = s.mean;
        return s.nonBlack > 0.2 && g > r * 2 && g > b * 2 ? s : undefined;
      },
      { timeoutMs: 45_000, what: "the host's screen decrypted in the guest panel through LiveKit" },
    ).catch(async (err: Error) => {
      const page = await guest.webviewEval<string>('return document.body.innerText.slice(0, 400)').catch(() => '?');
      throw new Error(`${err.message}; last: ${last}; guest panel: ${page}`);
    });
    const lock = await until(
      async () => {
        const t = await guest.webviewEval<string>("const l = document.getElementById('lock'); return l && !l.hidden ? l.textContent ?? '' : ''");
        return t.includes(code!) ? t : undefined;
      },
      { timeoutMs: 15_000, what: `the guest panel's lock with the host's safety code ${code}` },
    );
    assert.match(lock, /End-to-end encrypted/);
    // The guest's page says its frames open (not only that it holds a key): the lock without "waiting".
    await until(
      async () => {
        const t = await guest.statusBarTooltip('pairux.status');
        return t.includes(`End-to-end encrypted · safety code ${code}`) && !t.includes('waiting') ? t : undefined;
      },
      { timeoutMs: 15_000, what: "the guest's status bar to show the lock, decrypting" },
    );
    await ui.closeWindow('sfu-guest');
    await vscode.commands.executeCommand('pairux.endSession', false);
  });
});
