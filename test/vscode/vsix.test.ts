/**
 * The packaged extension, as a user gets it: `npm run package` builds the .vsix, code-server's
 * `--install-extension` installs it (no development path, no repository behind it), and in the
 * workbench it starts a session from the palette that shares the real screen: the helper and its
 * native robotjs come from the package alone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startXvfb, startXterm, type Xvfb } from '../helper/support/xvfb';
import { startCodeServer, type CodeServer } from './support/code-server';
import { clickNotificationButton, framePixels, notifications, paletteItems, pickItem, readClipboard, runCommand, until, waitForWorkbench } from './support/ui';
import { ROOT } from './support/workbench';

describe('the packaged extension (.vsix) in code-server', function () {
  this.timeout(180_000);
  let x: Xvfb | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await x?.stop();
  });

  it('packs into one .vsix for this platform that installs and shares the screen from the palette', async () => {
    const r = spawnSync(process.execPath, ['scripts/package.mjs'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
    const vsix = readdirSync(ROOT).find((f) => f.startsWith(`pairux-${process.platform}-${process.arch}-`) && f.endsWith('.vsix'));
    assert.ok(vsix, r.stdout);
    const size = statSync(path.join(ROOT, vsix)).size;
    assert.ok(size > 100_000 && size < 20_000_000, `${vsix} is ${size} bytes`);
    // The pages' test hooks are compiled out of what a user installs (test/webview/product-pages.test.ts).
    const entries = spawnSync('unzip', ['-Z1', path.join(ROOT, vsix)], { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(entries.includes('extension/dist/webview/viewer.js'), entries.join(', '));
    // The helper's Xlib error handler (koffi) on X11: this target's binary only.
    const koffi = entries.filter((e) => e.endsWith('koffi.node'));
    if (process.platform === 'linux') assert.deepEqual(koffi, [`extension/dist/node_modules/koffi/build/koffi/linux_${process.arch}/koffi.node`]);
    // Encrypted sessions' pages start them (P2P, SFU): the webviews from blobs, browser viewers from the embedded server.
    for (const worker of ['e2ee-worker.js', 'livekit-e2ee-worker.js']) assert.ok(entries.includes(`extension/dist/webview/${worker}`), entries.join(', '));
    assert.deepEqual(
      entries.filter((e) => e.includes('test-pages')),
      [],
    );
    const code = spawnSync('unzip', ['-p', path.join(ROOT, vsix), 'extension/dist/*.cjs', 'extension/dist/webview/*'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    }).stdout;
    assert.ok(code.includes('pairuxHostEvent'), 'the packed pages were read');
    assert.doesNotMatch(code, /pairuxHost(?!Event)|pairuxViewer|sendRawInput/);

    x = await startXvfb(1024, 768);
    await startXterm(x, { geometry: '100x30+0+0', bg: '#00b000' });
    server = await startCodeServer({ vsixes: [path.join(ROOT, vsix)], env: { DISPLAY: x.display } });
    const installed = readdirSync(server.extensionsDir);
    assert.ok(
      installed.some((d) => d.startsWith('pairux.pairux-')),
      `installed: ${installed.join(', ')}`,
    );

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const page = await context.newPage();
    await (await context.newCDPSession(page)).send('Emulation.setFocusEmulationEnabled', { enabled: true });
    await page.goto(`${server.url}/?folder=${encodeURIComponent(server.workspace)}`);
    await waitForWorkbench(page);
    // An installed extension's contributions arrive a few seconds after the workbench shows.
    await until('PairUX in the palette', 60_000, async () =>
      (await paletteItems(page, 'PairUX: Start')).includes('PairUX: Start Pairing Session') ? true : undefined,
    );
    await runCommand(page, 'PairUX: Start Pairing Session', 30_000);
    await pickItem(page, 'P2P');
    await pickItem(page, 'Not encrypted');
    await until('the sharing notification', 30_000, async () => (await notifications(page)).find((m) => m.includes('You are sharing your screen (1024×768)')));
    const link = await until('the link on the clipboard', 10_000, async () => {
      const t = await readClipboard(page);
      return t.includes('/s/') ? t : undefined;
    });
    const viewer = await context.newPage();
    await viewer.goto(link);
    // The copied link is a controller link: its guest waits in the lobby until the host admits them.
    await clickNotificationButton(page, 'wants to join your PairUX session', 'Admit', 30_000);
    const stats = await until("the host's screen in a browser viewer", 30_000, async () => {
      const s = await framePixels(viewer.mainFrame(), 'video');
      return s.width === 1024 && s.mean[1] > s.mean[0] * 2 ? s : undefined;
    });
    assert.equal(stats.height, 768);
  });
});
