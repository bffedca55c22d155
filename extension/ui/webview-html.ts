/**
 * HTML for PairUX webviews: the same page shells the server serves (dist/webview/*.html), with
 * their script and style pointed at the VS Code bundles through `asWebviewUri`, a nonce on the
 * one script, and a strict Content-Security-Policy: no inline script, nothing loaded from
 * anywhere but the extension, and connections only to the PairUX server the page joins
 * (page-shell.ts builds it, escaping every attribute value).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { pageHtml } from './page-shell';

export type PanelPage = 'host' | 'guest';

const SHELLS: Record<PanelPage, { html: string; bundle: string }> = {
  host: { html: 'host.html', bundle: 'vscode-host' },
  guest: { html: 'viewer.html', bundle: 'vscode-guest' },
};

/** The end-to-end encryption workers' bundles, beside the pages (esbuild.config.mjs): PairUX's (P2P) and LiveKit's (SFU). */
export const E2EE_WORKER_BUNDLES = { transform: 'e2ee-worker.js', livekit: 'livekit-e2ee-worker.js' } as const;

/**
 * `mediaOrigins`: where else the page may connect (an SFU session's LiveKit: its origin, or
 * 'any-websocket' when the server picks it at join time). `e2ee`: an end-to-end encrypted session,
 * whose page may load the E2EE workers (and only then).
 */
export function webviewHtml(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  page: PanelPage,
  serverOrigin: string,
  mediaOrigins: string[] = [],
  e2ee = false,
): string {
  const dist = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
  const { html, bundle } = SHELLS[page];
  const shell = readFileSync(vscode.Uri.joinPath(dist, html).fsPath, 'utf8');
  const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(dist, name)).toString();
  return pageHtml(
    shell,
    {
      nonce: randomBytes(18).toString('base64'),
      cspSource: webview.cspSource,
      scriptUrl: asset(`${bundle}.js`),
      styleUrl: asset(`${bundle}.css`),
      serverOrigin,
      mediaOrigins,
      ...(e2ee ? { e2eeWorkers: { transform: asset(E2EE_WORKER_BUNDLES.transform), livekit: asset(E2EE_WORKER_BUNDLES.livekit) } } : {}),
    },
    html,
  );
}
