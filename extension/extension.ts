/**
 * PairUX in VS Code: wires the UI parts (status bar, Participants view, commands) to the session
 * logic in ./core. Activation stays cheap: no server, helper or webview starts until a command
 * asks for one.
 */
import * as vscode from 'vscode';
import { ParticipantsView } from './ui/participants-view';
import { SessionController } from './ui/session-controller';
import { SessionStatusBar } from './ui/status-bar';

let controller: SessionController | undefined;

export function activate(context: vscode.ExtensionContext): { snapshot(): SessionController['snapshot'] } {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('PairUX', { log: true });
  const statusBar = new SessionStatusBar();
  const participants = new ParticipantsView();
  controller = new SessionController(context, log, statusBar, participants);
  context.subscriptions.push(log, statusBar, participants, { dispose: () => void controller?.dispose() });
  log.info(`PairUX ${context.extension.packageJSON.version as string} activated in ${(performance.now() - started).toFixed(1)} ms`);
  // The extension's API: what the editor shows now (tests and other extensions read it).
  return { snapshot: () => controller!.snapshot };
}

export async function deactivate(): Promise<void> {
  await controller?.dispose();
  controller = undefined;
}
