/**
 * The pure part of a PairUX webview's HTML (no `vscode` import, so it is tested without an
 * editor): the page shell with its script and style pointed at the bundles, a nonce on the one
 * script, and the Content-Security-Policy in a meta tag. Every value that lands in an attribute
 * is escaped: the policy names origins that come from settings and from the server, and a quote
 * in one must end nothing but itself.
 */

export interface ShellParts {
  nonce: string;
  /** `webview.cspSource`. */
  cspSource: string;
  scriptUrl: string;
  styleUrl: string;
  serverOrigin: string;
  /** Where else the page may connect: LiveKit origins, or 'any-websocket'. */
  mediaOrigins: string[];
  /**
   * An end-to-end encrypted session: its workers' scripts (`asWebviewUri`), PairUX's encoded-
   * transform worker (peer-to-peer) and LiveKit's E2EE worker (the SFU), which the page fetches
   * and starts from `blob:` URLs (webview/vscode/e2ee-worker-url.ts): a webview cannot start a
   * worker from the extension's resources directly. Absent: no worker may start at all.
   */
  e2eeWorkers?: { transform: string; livekit: string } | undefined;
}

/** A value for a double-quoted HTML attribute. */
export function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function contentSecurityPolicy(p: Omit<ShellParts, 'scriptUrl' | 'styleUrl'>): string {
  const server = new URL(p.serverOrigin);
  const ws = `${server.protocol === 'https:' ? 'wss' : 'ws'}://${server.host}`;
  // The worker's script is read from the extension's resources and started as a blob: nothing else.
  const worker = p.e2eeWorkers ? resourceSources(p.cspSource) : [];
  return [
    "default-src 'none'",
    `script-src 'nonce-${p.nonce}'`,
    // lit and @vscode-elements set style attributes; no style can load from elsewhere.
    `style-src ${p.cspSource} 'unsafe-inline'`,
    `font-src ${p.cspSource}`,
    `img-src ${p.cspSource} data: blob:`,
    'media-src blob: mediastream:',
    `connect-src ${[server.origin, ws, ...p.mediaOrigins.flatMap(connectSources), ...worker].join(' ')}`,
    `worker-src ${p.e2eeWorkers ? 'blob:' : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** The shell with its bundles, nonce and policy in place; throws when the shell's tags moved. */
export function pageHtml(shell: string, p: ShellParts, shellName: string): string {
  const nonce = escapeAttribute(p.nonce);
  const out = shell
    .replace(/<link rel="stylesheet" href="\/dist\/webview\/[a-z-]+\.css" \/>/, () => `<link rel="stylesheet" href="${escapeAttribute(p.styleUrl)}" />`)
    .replace(
      /<script type="module" src="\/dist\/webview\/[a-z-]+\.js"><\/script>/,
      () => `<script type="module" nonce="${nonce}" src="${escapeAttribute(p.scriptUrl)}"></script>`,
    )
    .replace(
      '<meta charset="utf-8" />',
      () => `<meta charset="utf-8" />\n    <meta http-equiv="Content-Security-Policy" content="${escapeAttribute(contentSecurityPolicy(p))}" />`,
    )
    .replace('<body ', () => `<body data-embed="vscode" ${workerAttributes(p.e2eeWorkers)}`);
  // A shell whose tags moved would load nothing; say so instead of showing a blank panel.
  if (!out.includes(`nonce="${nonce}"`) || !out.includes('Content-Security-Policy'))
    throw new Error(`dist/webview/${shellName} is not the page shell PairUX expects; rebuild the extension`);
  return out;
}

/** The workers' scripts where the page's script reads them (`data-e2ee-worker`, `data-livekit-e2ee-worker`). */
function workerAttributes(workers: ShellParts['e2eeWorkers']): string {
  if (!workers) return '';
  return `data-e2ee-worker="${escapeAttribute(workers.transform)}" data-livekit-e2ee-worker="${escapeAttribute(workers.livekit)}" `;
}

/**
 * Where the extension's resources are served, for fetching one: `cspSource` without `'self'`
 * (code-server's is `'self' https://*.vscode-cdn.net`, and its webviews' own origin is the
 * workbench's, which a page has no reason to reach), unless `'self'` is all there is.
 */
function resourceSources(cspSource: string): string[] {
  const all = cspSource.split(/\s+/).filter(Boolean);
  const others = all.filter((s) => s !== "'self'");
  return others.length ? others : all;
}

function connectSources(origin: string): string[] {
  if (origin === 'any-websocket') return ['ws:', 'wss:'];
  const u = new URL(origin);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  return [`${secure ? 'wss' : 'ws'}://${u.host}`, `${secure ? 'https' : 'http'}://${u.host}`];
}
