/**
 * The VS Code webview's HTML: the Content-Security-Policy and the bundle URLs land in attributes
 * escaped, so a quote or markup in an origin (settings, the server) ends nothing but itself, and
 * `$'`-style sequences in a URL are not read as replacement patterns.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { contentSecurityPolicy, pageHtml, type ShellParts } from '../../extension/ui/page-shell';

const shell = readFileSync(new URL('../../webview/pages/viewer.html', import.meta.url), 'utf8');

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function parts(extra: Partial<ShellParts> = {}): ShellParts {
  return {
    nonce: 'bm9uY2Vub25jZW5vbmNl',
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    scriptUrl: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/vscode-guest.js',
    styleUrl: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/vscode-guest.css',
    serverOrigin: 'http://127.0.0.1:4100',
    mediaOrigins: ['wss://livekit.example:7880'],
    ...extra,
  };
}

/** The CSP meta tag's content attribute, as a browser would read it. */
function cspOf(html: string): string {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)" \/>/.exec(html);
  assert.ok(m, 'a CSP meta tag with one double-quoted content attribute');
  return decode(m[1]!);
}

describe('extension: the webview page shell', () => {
  it('puts the policy, nonce and bundles in place', () => {
    const html = pageHtml(shell, parts(), 'viewer.html');
    const csp = cspOf(html);
    assert.equal(csp, contentSecurityPolicy(parts()));
    assert.match(csp, /script-src 'nonce-bm9uY2Vub25jZW5vbmNl'/);
    assert.match(csp, /connect-src http:\/\/127\.0\.0\.1:4100 ws:\/\/127\.0\.0\.1:4100 wss:\/\/livekit\.example:7880 https:\/\/livekit\.example:7880;/);
    assert.match(
      html,
      /<script type="module" nonce="bm9uY2Vub25jZW5vbmNl" src="https:\/\/file\+\.vscode-resource\.vscode-cdn\.net\/ext\/dist\/webview\/vscode-guest\.js"><\/script>/,
    );
    assert.match(html, /<body data-embed="vscode" /);
  });

  it('a quote or markup in a policy source stays inside the attribute', () => {
    const hostile = 'https://x.example "><script>alert(1)</script><meta http-equiv="refresh" content="0;url=https://evil.example">';
    const html = pageHtml(shell, parts({ cspSource: hostile }), 'viewer.html');
    assert.doesNotMatch(html, /<script>alert/);
    assert.doesNotMatch(html, /http-equiv="refresh"/);
    assert.equal(cspOf(html), contentSecurityPolicy(parts({ cspSource: hostile })));
  });

  it('a URL with $-sequences is taken literally, not as a replacement pattern', () => {
    const scriptUrl = "https://file+.vscode-resource.vscode-cdn.net/a$'b$&c.js";
    const html = pageHtml(shell, parts({ scriptUrl }), 'viewer.html');
    const m = /<script type="module" nonce="[^"]+" src="([^"]*)"><\/script>/.exec(html);
    assert.equal(decode(m?.[1] ?? ''), scriptUrl);
  });

  it('an encrypted session may fetch the E2EE workers from the extension and start them as blobs; a plain one may start no worker', () => {
    const at = 'https://vscode-remote%2B127-002e0-002e0-002e1.vscode-resource.vscode-cdn.net/ext/dist/webview';
    const workers = { transform: `${at}/e2ee-worker.js`, livekit: `${at}/livekit-e2ee-worker.js` };
    const e2ee = parts({ cspSource: "'self' https://*.vscode-cdn.net", e2eeWorkers: workers });
    const html = pageHtml(shell, e2ee, 'viewer.html');
    const csp = cspOf(html);
    assert.match(csp, /; worker-src blob:;/);
    assert.match(
      csp,
      /connect-src http:\/\/127\.0\.0\.1:4100 ws:\/\/127\.0\.0\.1:4100 wss:\/\/livekit\.example:7880 https:\/\/livekit\.example:7880 https:\/\/\*\.vscode-cdn\.net;/,
    );
    assert.doesNotMatch(csp, /connect-src[^;]*'self'/, "the webview's own origin (code-server's) is not for fetching");
    const attr = /<body data-embed="vscode" data-e2ee-worker="([^"]*)" data-livekit-e2ee-worker="([^"]*)" /.exec(html);
    assert.deepEqual([decode(attr?.[1] ?? ''), decode(attr?.[2] ?? '')], [workers.transform, workers.livekit]);
    // Quotes in the URL end nothing.
    const evil = 'https://x.example/"><script>alert(1)</script>';
    const hostile = pageHtml(shell, parts({ e2eeWorkers: { transform: evil, livekit: evil } }), 'viewer.html');
    assert.doesNotMatch(hostile, /<script>alert/);

    const plain = cspOf(pageHtml(shell, parts(), 'viewer.html'));
    assert.match(plain, /; worker-src 'none';/);
    assert.doesNotMatch(plain, /connect-src[^;]*vscode-cdn/);
    assert.doesNotMatch(pageHtml(shell, parts(), 'viewer.html'), /data-e2ee-worker/);
  });
});
