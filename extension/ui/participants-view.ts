/**
 * The Participants view (its own activity-bar container): everyone in the session with role and
 * control state; on the host, each guest's context menu grants / revokes control, promotes /
 * demotes and removes (package.json `view/item/context`, keyed on the row's contextValue). An
 * end-to-end encrypted session shows its lock and safety code beside the view's title.
 */
import * as vscode from 'vscode';
import { participantRows, participantsDescription, type ParticipantRow, type SessionView } from '../core/session-view';

export class ParticipantsView implements vscode.TreeDataProvider<ParticipantRow>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private rows: ParticipantRow[] = [];
  private readonly tree: vscode.TreeView<ParticipantRow>;

  constructor() {
    this.tree = vscode.window.createTreeView('pairux.participants', { treeDataProvider: this, showCollapseAll: false });
  }

  update(view: SessionView): void {
    this.rows = participantRows(view);
    this.tree.badge = view.kind === 'host' && this.rows.length > 1 ? { value: this.rows.length - 1, tooltip: `${this.rows.length - 1} guests` } : undefined;
    this.tree.message = view.kind === 'starting' ? 'Starting the session…' : undefined;
    // An encrypted session's lock (and safety code) beside the view's title.
    this.tree.description = participantsDescription(view);
    this.changed.fire();
  }

  getTreeItem(row: ParticipantRow): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = row.id;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = new vscode.ThemeIcon(row.icon);
    item.contextValue = row.contextValue;
    return item;
  }

  getChildren(): ParticipantRow[] {
    return this.rows;
  }

  dispose(): void {
    this.tree.dispose();
    this.changed.dispose();
  }
}
