/**
 * `npm run demo -- --e2ee` as a user runs it (dist/demo.js, its embedded server, its headless
 * host): the links it prints carry the key after the #, with the safety code beside them, and a
 * guest opening the printed link in Chromium decodes the host's screen and shows the same code.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { parseShareLink } from '../../protocol/share-link';
import { ViewerPage } from '../support/browser-viewer';
import { stopChild } from '../support/stop-child';
import { eventually } from '../support/livekit';
import { TEST_PAGES_ENV } from '../support/test-pages';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('end to end: the demo with --e2ee', function () {
  this.timeout(90_000);
  let demo: ChildProcess | undefined;
  let out = '';
  let browser: Browser | undefined;

  after(async () => {
    await browser?.close();
    await stopChild(demo);
  });

  it('prints keyed links and the safety code; a guest with the printed link decodes and shows the same code', async () => {
    demo = spawn(process.execPath, ['dist/demo.js', '--generated', '--e2ee', '--size', '640x360', '--fps', '15', '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, ...TEST_PAGES_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const viewer = (await eventually(
      () => /Watch in a browser:\s+(\S+)/.exec(out)?.[1],
      () => `the demo's links (it printed: ${out.slice(-2000)})`,
      60_000,
    ))!;
    const code = /Safety code: (\d{3} \d{3} \d{3})/.exec(out)?.[1];
    assert.ok(code, `the safety code is printed: ${out.slice(-1500)}`);
    const link = parseShareLink(viewer);
    assert.match(link.key ?? '', /^[A-Za-z0-9_-]{43}$/, 'the printed link carries the key');
    assert.ok(!new URL(viewer).pathname.includes(link.key!), 'in the fragment only');
    const controller = /Controller link:\s+(\S+)/.exec(out)?.[1];
    assert.equal(parseShareLink(controller!).key, link.key);
    assert.match(
      out,
      new RegExp(`In VS Code:\\s+vscode://pairux\\.pairux/join\\?link=\\S+${encodeURIComponent(`&k=${link.key}`).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );

    browser = await launchChromium();
    const guest = await ViewerPage.open(browser, viewer, 'Demo guest');
    await guest.waitForState('live', 30_000);
    await guest.markerAdvance(500);
    const lock = await eventually(
      () => guest.page.evaluate(() => document.getElementById('lock')?.textContent || undefined),
      () => 'the lock line',
      10_000,
    );
    assert.match(lock!, new RegExp(`safety code ${code}`));
  });
});
