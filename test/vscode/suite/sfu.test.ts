/**
 * SFU mode from the editor: the host points PairUX at a LiveKit server in the settings, keeps
 * the API secret in VS Code's secret storage through the palette, starts an SFU session, and a
 * browser viewer receives the real screen through LiveKit. (The harness starts the LiveKit.)
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import type { PairuxApi } from './pairux-api';
import { ui, until } from './ui';
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
});
