/**
 * "PairUX: Show Control Audit": the host's record of control (who drove, how each was allowed,
 * events injected and refused by reason; never what was typed) as a read-only document. A virtual
 * document, so nobody edits the record by accident; names in it are plain text already (the
 * runner's audit keeps each as one capped line without controls).
 */
import * as vscode from 'vscode';
import type { HostSession } from '../core/host-session';
import { plainText, serverAuditLine } from '../../runner/control-audit';

export const CONTROL_AUDIT_SCHEME = 'pairux-audit';

export class ControlAuditView implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private text = '';
  private readonly registration: vscode.Disposable;

  constructor() {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(CONTROL_AUDIT_SCHEME, {
      onDidChange: this.changed.event,
      provideTextDocumentContent: () => this.text,
    });
  }

  /** Opens (or refreshes) the audit of `session`, the one hosted now or last. */
  async show(session: HostSession | undefined): Promise<void> {
    const lines = session?.controlAudit();
    if (!lines) {
      void vscode.window.showInformationMessage('PairUX: the control audit is kept by the host. Start a session to have one.');
      return;
    }
    // The server's record while the session lives (through the host's page); after it, only this machine's.
    const server = await session!.serverControlAudit().then(
      (entries) => (entries.length ? entries.map(serverAuditLine) : ['nothing yet']),
      (err: Error) => [`(not available: ${plainText(err.message, 200)})`],
    );
    this.text = [
      `PairUX control audit (${new Date().toLocaleString()})`,
      '',
      'On this machine: who drove, how each was allowed, events injected and refused (never what was typed)',
      ...lines,
      '',
      "The server's record, kept with the session (only the host can read it)",
      ...server,
      '',
    ].join('\n');
    const uri = vscode.Uri.from({ scheme: CONTROL_AUDIT_SCHEME, path: 'Control Audit.log' });
    this.changed.fire(uri);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
