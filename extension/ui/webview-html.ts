/**
 * HTML for PairUX webviews: the same page shells the server serves (dist/webview/*.html), with
 * their script and style pointed at the VS Code bundles through `asWebviewUri`, a nonce on the
 * one script, and a strict Content-Security-Policy: no inline script, nothing loaded from
 * anywhere but the extension, and connections only to the PairUX server the page joins.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';

export type PanelPage = 'host' | 'guest';

const SHELLS: Record<PanelPage, { html: string; bundle: string }> = {
  host: { html: 'host.html', bundle: 'vscode-host' },
  guest: { html: 'viewer.html', bundle: 'vscode-guest' },
};

/**
 * `mediaOrigins`: where else the page may connect (an SFU session's LiveKit: its origin, or
 * 'any-websocket' when the server picks it at join time).
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: PanelPage, serverOrigin: string, mediaOrigins: string[] = []): string {
  const dist = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
  const { html, bundle } = SHELLS[page];
  const shell = readFileSync(vscode.Uri.joinPath(dist, html).fsPath, 'utf8');
  const nonce = randomBytes(18).toString('base64');
  const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(dist, name)).toString();
  const server = new URL(serverOrigin);
  const ws = `${server.protocol === 'https:' ? 'wss' : 'ws'}://${server.host}`;
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // lit and @vscode-elements set style attributes; no style can load from elsewhere.
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data: blob:`,
    'media-src blob: mediastream:',
    `connect-src ${[server.origin, ws, ...mediaOrigins.flatMap(connectSources)].join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const out = shell
    .replace(/<link rel="stylesheet" href="\/dist\/webview\/[a-z-]+\.css" \/>/, `<link rel="stylesheet" href="${asset(`${bundle}.css`)}" />`)
    .replace(/<script type="module" src="\/dist\/webview\/[a-z-]+\.js"><\/script>/, `<script type="module" nonce="${nonce}" src="${asset(`${bundle}.js`)}"></script>`)
    .replace('<meta charset="utf-8" />', `<meta charset="utf-8" />\n    <meta http-equiv="Content-Security-Policy" content="${csp}" />`)
    .replace('<body ', `<body data-embed="vscode" `);
  // A shell whose tags moved would load nothing; say so instead of showing a blank panel.
  if (!out.includes(`nonce="${nonce}"`) || !out.includes('Content-Security-Policy')) throw new Error(`dist/webview/${html} is not the page shell PairUX expects; rebuild the extension`);
  return out;
}

function connectSources(origin: string): string[] {
  if (origin === 'any-websocket') return ['ws:', 'wss:'];
  const u = new URL(origin);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  return [`${secure ? 'wss' : 'ws'}://${u.host}`, `${secure ? 'https' : 'http'}://${u.host}`];
}
