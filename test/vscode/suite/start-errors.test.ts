/**
 * What a host or guest is told when a session cannot start: no capture on the chosen display
 * (with the setting that fixes it), SFU mode before there is a LiveKit to use (offered P2P), and
 * a share link whose server does not answer (retried with progress, then what to check).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import * as vscode from 'vscode';
import type { SessionView } from '../../../extension/core/session-view';
import { ui, until } from './ui';
import { requireParts } from '../support/requirements';

interface PairuxApi {
  snapshot(): { view: SessionView };
}

describe('PairUX: when a session cannot start', function () {
  this.timeout(60_000);
  let api: PairuxApi;

  before(async function () {
    requireParts({ ui: ui.available });
    api = await vscode.extensions.getExtension<PairuxApi>('pairux.pairux')!.activate();
  });

  afterEach(async () => {
    await vscode.workspace.getConfiguration('pairux').update('capture.display', undefined, vscode.ConfigurationTarget.Global);
  });

  it('a display without an X server: the error names the setting that fixes it, and no session is left behind', async () => {
    await vscode.workspace.getConfiguration('pairux').update('capture.display', ':87', vscode.ConfigurationTarget.Global);
    await ui.command('PairUX: Start Pairing Session');
    await ui.pick('P2P');
    await ui.pick('Not encrypted');
    const error = await until(async () => (await ui.notifications()).find((m) => /Screen capture is not possible here/.test(m)), {
      timeoutMs: 20_000,
      what: 'the capture error',
    });
    assert.match(error, /pairux\.capture\.display/);
    assert.equal(api.snapshot().view.kind, 'none');
    assert.match(await ui.statusBarText('pairux.status'), /^\S* ?PairUX$/);
  });

  it('SFU before a LiveKit server is configured: the host is offered P2P, and Cancel starts nothing', async () => {
    await ui.command('PairUX: Start Pairing Session');
    await ui.pick('SFU');
    await ui.pick('Not encrypted');
    await ui.clickNotificationButton('SFU mode needs a LiveKit server', 'Cancel');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(api.snapshot().view.kind, 'none');
  });

  it('a link whose server does not answer: retried with progress, then what to check', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await ui.command('PairUX: Join Session');
    await ui.input(`http://127.0.0.1:${port}/s/abcdef#t=eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln`);
    const progress = await until(async () => (await ui.notifications()).find((m) => /attempt \d of \d/.test(m)), { timeoutMs: 10_000, what: 'retry progress' });
    assert.match(progress, /connection refused/);
    const error = await until(async () => (await ui.notifications()).find((m) => /cannot be reached/.test(m)), { timeoutMs: 20_000, what: 'the error' });
    assert.match(error, /after 4 attempts\. The link points to 127\.0\.0\.1, so it works only on the host's own computer/);
  });

  it('Test Where Guests Connect, before any session: says who can reach the embedded server, and names a dead deployed server', async () => {
    await ui.command('PairUX: Test Where Guests Connect');
    const here = await until(async () => (await ui.notifications()).find((m) => /Guests can join from this computer only/.test(m)), {
      timeoutMs: 15_000,
      what: 'the answer for the embedded server',
    });
    assert.match(here, /pairux\.server\.network/);
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await vscode.workspace.getConfiguration('pairux').update('server.url', `http://127.0.0.1:${port}`, vscode.ConfigurationTarget.Global);
    try {
      await ui.command('PairUX: Test Where Guests Connect');
      const dead = await until(async () => (await ui.notifications()).find((m) => /cannot be reached/.test(m) && m.includes(String(port))), {
        timeoutMs: 30_000,
        what: 'the answer for a server that does not answer',
      });
      assert.match(dead, /Check that it is running/);
    } finally {
      await vscode.workspace.getConfiguration('pairux').update('server.url', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
