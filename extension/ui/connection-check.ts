/**
 * PairUX: Test Where Guests Connect (the walkthrough's step "Where do your guests connect?"):
 * reads the server settings, runs the check in ../core/connection-check.ts with progress, and
 * says the answer in one notification with the way to fix it.
 */
import * as vscode from 'vscode';
import { checkGuestReach } from '../core/connection-check';
import { literal } from './literal-text';

export async function testGuestReach(hostKey: () => Thenable<string | undefined>, log: vscode.LogOutputChannel): Promise<void> {
  const config = vscode.workspace.getConfiguration('pairux');
  const settings = {
    serverUrl: (config.get<string>('server.url') ?? '').trim(),
    network: config.get('server.network') === 'local-network' ? ('local-network' as const) : ('this-computer' as const),
    address: (config.get<string>('server.address') ?? '').trim(),
  };
  const key = settings.serverUrl ? await hostKey() : undefined;
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'PairUX: testing where guests connect' },
    (progress) => checkGuestReach(settings, key, { progress: (line) => progress.report({ message: line }) }),
  );
  for (const line of [report.summary, ...report.details]) log.info(`connection test: ${line}`);
  // A server's words may be in the summary: shown as literal text.
  const text = literal([report.summary, ...report.details].join(' '));
  if (report.ok) {
    void vscode.window.showInformationMessage(text);
    return;
  }
  const pick = await vscode.window.showWarningMessage(text, 'Open Settings', 'Set Server Host Key');
  if (pick === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'pairux.server');
  if (pick === 'Set Server Host Key') await vscode.commands.executeCommand('pairux.setHostKey');
}
