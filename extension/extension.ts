/**
 * The extension's entry point (skeleton, grows with issue 5): registers the PairUX commands.
 */
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PairUX', { log: true });
  context.subscriptions.push(log);
  log.info('PairUX activated');
}

export function deactivate(): void {}
