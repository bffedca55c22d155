/**
 * The pages' test hooks (`window.pairuxHost`, `window.pairuxViewer` with its `sendRawInput`, which
 * puts anything on the guest's input channel) are compiled out of what the product ships: the
 * bundles in dist/webview, what a server with default settings serves, and the .vsix's list. Each
 * check first shows it would see a hook: the test pages (dist/test-pages) carry them. The real
 * product pages still work without them: the demo's headless host joins and a browser viewer
 * shows the picture.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost, type HostEvent } from '../../demo/headless-host';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { createSession, startTestServer } from '../support/control-plane';
import { TEST_PAGES_DIR } from '../support/test-pages';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PRODUCT_DIR = path.join(ROOT, 'dist', 'webview');
/** `pairuxHostEvent` and `pairuxHostActions` are the embedder's channels (the demo's), product behaviour: not hooks. */
const HOOK = /pairuxHost(?!Event|Actions)|pairuxViewer|sendRawInput/;

const hooksIn = (text: string): string[] => [...new Set(text.match(new RegExp(HOOK.source, 'g')) ?? [])];
const scripts = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.js') || f.endsWith('.html'));

describe('product pages carry no test hooks', function () {
  this.timeout(90_000);

  it('no bundle in dist/webview names a hook; the same pages in dist/test-pages do', () => {
    const product = scripts(PRODUCT_DIR);
    assert.ok(
      ['viewer.js', 'host.js', 'vscode-host.js', 'vscode-guest.js'].every((f) => product.includes(f)),
      `built: ${product.join(', ')}`,
    );
    for (const file of product) assert.deepEqual(hooksIn(readFileSync(path.join(PRODUCT_DIR, file), 'utf8')), [], `dist/webview/${file}`);
    assert.deepEqual(hooksIn(readFileSync(path.join(TEST_PAGES_DIR, 'viewer.js'), 'utf8')).sort(), ['pairuxViewer', 'sendRawInput']);
    assert.deepEqual(hooksIn(readFileSync(path.join(TEST_PAGES_DIR, 'host.js'), 'utf8')), ['pairuxHost']);
  });

  it('the .vsix packs no test page and no file that names a hook', () => {
    const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
    const r = spawnSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const files = r.stdout.split('\n').filter(Boolean);
    assert.ok(files.includes('dist/webview/viewer.js') && files.includes('dist/webview/vscode-host.js'), files.join(', '));
    assert.deepEqual(
      files.filter((f) => f.startsWith('dist/test-pages')),
      [],
    );
    const named = files.filter((f) => /\.(c?js|html)$/.test(f) && HOOK.test(readFileSync(path.join(ROOT, f), 'utf8')));
    assert.deepEqual(named, []);
  });

  describe('in Chromium, from the server', () => {
    let browser: Browser;
    let plane: ControlPlane | undefined;
    let host: HeadlessHost | undefined;
    before(async () => {
      browser = await launchChromium();
    });
    after(async () => {
      await browser.close();
    });
    afterEach(async () => {
      await host?.close();
      host = undefined;
      await plane?.close();
      plane = undefined;
    });

    /** A host page joined through the demo's own starter (no hooks needed), and a viewer's page on the viewer link. */
    async function session(p: ControlPlane): Promise<{ viewer: Page; events: HostEvent[] }> {
      const s = await createSession(p, { mode: 'p2p' });
      const events: HostEvent[] = [];
      host = await startHeadlessHost(p.url, s.sessionId, s.hostToken, { browser, onEvent: (e) => events.push(e) });
      const viewer = await (await browser.newContext()).newPage();
      await viewer.goto(`${s.links.viewer.url}&name=Vera`);
      await viewer
        .waitForFunction(() => document.body.dataset.state === 'live', undefined, { timeout: 20_000 })
        .catch(async () => {
          throw new Error(
            `the viewer is '${await viewer.evaluate(() => document.body.dataset.state)}': ${await viewer.evaluate(() => document.querySelector('#message')?.textContent)}`,
          );
        });
      return { viewer, events };
    }

    const hookTypes = async (viewer: Page, hostPage: Page) => ({
      viewer: await viewer.evaluate(() => typeof (window as unknown as { pairuxViewer?: unknown }).pairuxViewer),
      host: await hostPage.evaluate(() => typeof (window as unknown as { pairuxHost?: unknown }).pairuxHost),
    });

    it('a server with default settings serves pages without hooks, and they still join and show the screen', async () => {
      const p = await startControlPlane({ host: '127.0.0.1', port: 0 });
      plane = p;
      for (const url of ['/dist/webview/viewer.js', '/dist/webview/host.js', '/dist/webview/probe.js', '/host', '/s/any']) {
        const res = await fetch(`${p.url}${url}`);
        assert.equal(res.status, 200, url);
        assert.deepEqual(hooksIn(await res.text()), [], `served ${url}`);
      }
      const { viewer, events } = await session(p);
      assert.ok(
        events.some((e) => e.type === 'state' && e.state === 'joined'),
        'the host page told its embedder it joined',
      );
      assert.deepEqual(await hookTypes(viewer, host!.page), { viewer: 'undefined', host: 'undefined' });
      await viewer.context().close();
    });

    it('a server told to serve the test pages (as tests and benches are) has both hooks', async () => {
      plane = await startTestServer();
      assert.deepEqual(hooksIn(await (await fetch(`${plane.url}/dist/webview/viewer.js`)).text()).sort(), ['pairuxViewer', 'sendRawInput']);
      const { viewer } = await session(plane);
      assert.deepEqual(await hookTypes(viewer, host!.page), { viewer: 'object', host: 'object' });
      await viewer.context().close();
    });
  });
});
