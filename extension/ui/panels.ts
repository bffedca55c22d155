/**
 * The two webview panels: the host's (runs the media engine; closing it stops the share) and a
 * guest's (the host's screen with the control overlay). Each gets a `WebviewPort` over its
 * postMessage, and keeps running while hidden: WebRTC must not stop when the user switches tabs.
 */
import * as vscode from 'vscode';
import { watchPanelLoad } from '../core/panel-load-watch';
import { WebviewPort } from '../core/webview-port';
import { webviewHtml, type PanelPage } from './webview-html';

export interface OpenPanel {
  readonly panel: vscode.WebviewPanel;
  readonly port: WebviewPort;
}

export const HOST_PANEL_TYPE = 'pairux.host';
export const GUEST_PANEL_TYPE = 'pairux.guest';

export function openPanel(
  context: vscode.ExtensionContext,
  page: PanelPage,
  title: string,
  serverOrigin: string,
  log: vscode.LogOutputChannel,
  onClosed: () => void,
  mediaOrigins: string[] = [],
  /** An end-to-end encrypted session: the page may start the E2EE workers. */
  e2ee = false,
): OpenPanel {
  const panel = vscode.window.createWebviewPanel(
    page === 'host' ? HOST_PANEL_TYPE : GUEST_PANEL_TYPE,
    title,
    // The host keeps its editor focused; a guest came to watch.
    page === 'host' ? { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true } : { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
    {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview')],
    },
  );
  const port = new WebviewPort({ post: (m) => panel.webview.postMessage(m) }, (error) => log.warn(`${page} panel: ${error.message}`));
  const html = (): string => webviewHtml(panel.webview, context.extensionUri, page, serverOrigin, mediaOrigins, e2ee);
  const load = watchPanelLoad({
    visible: () => panel.visible,
    reload: (attempt) => {
      log.warn(`${page} panel: its page did not start; loading it again (${attempt})`);
      panel.webview.html = html();
    },
    failed: (attempts) => {
      log.error(`${page} panel: its page did not start after ${attempts} reloads`);
      void vscode.window
        .showErrorMessage(
          `PairUX: the ${page === 'host' ? 'sharing' : 'viewer'} panel did not load (VS Code could not serve its script). Reloading the window usually fixes it.`,
          'Reload Window',
        )
        .then((choice) => choice && vscode.commands.executeCommand('workbench.action.reloadWindow'));
    },
  });
  const subscription = panel.webview.onDidReceiveMessage((m: unknown) => {
    load.heard();
    port.receive(m);
  });
  panel.onDidDispose(() => {
    load.dispose();
    subscription.dispose();
    port.close();
    onClosed();
  });
  panel.webview.html = html();
  return { panel, port };
}
