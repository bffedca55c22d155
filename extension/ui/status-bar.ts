/** The status-bar item: the session in a few words; a click opens the session's actions. */
import * as vscode from 'vscode';
import { lockLine, lockOf, statusBarText, type SessionView } from '../core/session-view';

export class SessionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('pairux.status', vscode.StatusBarAlignment.Left, 100);

  constructor() {
    this.item.name = 'PairUX';
    this.item.command = 'pairux.showMenu';
    this.item.show();
  }

  update(view: SessionView): void {
    const { text, tooltip } = statusBarText(view);
    this.item.text = text;
    this.item.tooltip = tooltip;
    // A lock icon says nothing to a screen reader: an encrypted session's label says it in words, with the safety code.
    const lock = lockOf(view);
    this.item.accessibilityInformation = lock ? { label: `${text.replace(/\$\([a-z~-]+\)\s*/g, '').trim()} · ${lockLine(lock)}` } : undefined;
    // Someone else driving the host's machine deserves to stand out.
    const driving = view.kind === 'host' && Boolean(view.page?.driverId);
    this.item.backgroundColor = driving ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
