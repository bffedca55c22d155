/**
 * The extension as the real workbench loads it: activation, its manifest's commands, and the
 * palette a person sees.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ui } from './ui';
import { requireParts } from '../support/requirements';

const EXTENSION_ID = 'pairux.pairux';

interface ManifestCommand {
  command: string;
  title: string;
  category?: string;
}

function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not loaded as the extension under development`);
  return ext;
}

describe('PairUX extension', () => {
  it('activates', async () => {
    const ext = extension();
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('registers every pairux.* command its package.json contributes', async () => {
    const ext = extension();
    await ext.activate();
    const contributed = ((ext.packageJSON as { contributes?: { commands?: ManifestCommand[] } }).contributes?.commands ?? [])
      .map((c) => c.command)
      .filter((id) => id.startsWith('pairux.'));
    assert.ok(contributed.length > 0, 'package.json contributes no pairux.* commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((id) => !registered.has(id)),
      [],
      'contributed but not registered',
    );
  });

  it('shows "PairUX: Start Pairing Session" in the command palette when typed', async function () {
    requireParts({ ui: ui.available });
    const labels = await ui.paletteItems('PairUX: Start');
    assert.ok(labels.includes('PairUX: Start Pairing Session'), `palette rows: ${labels.join(' | ') || 'none'}`);
  });
});
