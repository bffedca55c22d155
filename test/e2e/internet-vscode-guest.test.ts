/**
 * A guest in VS Code on another network joins by the editor link (issue 14): the deployment of
 * test/support/deployed-session.ts on the namespaced internet, the host (`npm run demo -- --server
 * …`) behind one cone NAT, and behind another a real VS Code: code-server running in the guest's
 * namespace with this repo as the extension under development, its workbench in a Chromium there
 * too. The guest opens the `In VS Code:` link the demo printed (Developer: Open URL, as the OS
 * hands an editor a clicked link), says Join, and the guest panel shows the host's screen, fetched
 * across both NATs from the public server. The server's certificate is a test one, added to the
 * guest machine's system trust store as PairUX's certificate error tells a user to (and given to
 * its Chromium, which keeps its own list).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { findChromium, launchChromium, trustArgs } from '../../demo/chromium';
import { deploy, SCREEN, type World } from '../support/deployed-session';
import { DESKTOP } from '../support/demo-machines';
import { trustInMachine } from '../support/netns';
import { startCodeServer, type CodeServer } from '../vscode/support/code-server';
import { clickDialogButton, fillInput, notifications, paletteItems, runCommand, until, waitForWorkbench, webviewFrame } from '../vscode/support/ui';
import { developmentWorkbenchUrl } from '../vscode/support/workbench';

/** The colour at (x, y) of the host's screen in the guest panel's video, once it has the screen's size. */
async function panelColour(page: Page, x: number, y: number): Promise<{ width: number; rgb: number[] } | undefined> {
  const frame = await webviewFrame(page, { timeoutMs: 2000 }).catch(() => undefined);
  return frame?.evaluate(
    ([px, py]) => {
      const v = document.querySelector('video');
      if (!v || !v.videoWidth) return undefined;
      const c = new OffscreenCanvas(v.videoWidth, v.videoHeight).getContext('2d')!;
      c.drawImage(v, 0, 0);
      return { width: v.videoWidth, rgb: [...c.getImageData(px!, py!, 1, 1).data.slice(0, 3)] };
    },
    [x, y],
  );
}

describe('end to end: a VS Code guest behind a NAT joins by the editor link (code-server in a network namespace)', function () {
  this.timeout(240_000);
  const certs = mkdtempSync(join(tmpdir(), 'pairux-inet-vscode-'));
  let world: World | undefined;
  let editor: CodeServer | undefined;
  let browser: Browser | undefined;

  before(async () => {
    world = await deploy({ host: 'cone', editor: 'cone' }, certs, []);
    const machine = world.net.machines.editor!;
    // What the extension's error for an untrusted server tells its user to do: the machine's
    // system store gets the server's CA, and VS Code's extension host reads that store.
    trustInMachine(machine, world.trustFile);
    editor = await startCodeServer({ argv: machine.argv, startTimeoutMs: 60_000 });
    browser = await launchChromium({ executablePath: world.net.wrapper(machine, findChromium()), args: trustArgs(world.trustFile) });
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    await editor?.stop();
    await world?.close();
    rmSync(certs, { recursive: true, force: true });
  });

  it('Developer: Open URL with the demo’s “In VS Code” link asks to join, naming the host, and the guest panel shows the host’s screen', async () => {
    const w = world!;
    const link = await w.link(/In VS Code:/);
    assert.match(link, /^vscode:\/\/pairux\.pairux\/join\?link=https%3A%2F%2F203\.0\.113\.10%3A7800%2F/);
    const context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await (await context.newCDPSession(page)).send('Emulation.setFocusEmulationEnabled', { enabled: true });
    await page.goto(developmentWorkbenchUrl(editor!));
    await waitForWorkbench(page);
    await until('PairUX in the palette', 60_000, async () => ((await paletteItems(page, 'PairUX: Join')).includes('PairUX: Join Session') ? true : undefined));

    await runCommand(page, 'Developer: Open URL');
    // code-server's own scheme is code-oss (desktop VS Code's is vscode): the link is the same otherwise.
    await fillInput(page, link.replace(/^vscode:/, 'code-oss:'));
    await clickDialogButton(page, '', 'Open', 15_000);
    const asked = await clickDialogButton(page, "'s session", 'Join', 30_000).catch(async (err: Error) => {
      throw new Error(`${err.message}; the guest's notifications: ${(await notifications(page)).join(' | ') || 'none'}`);
    });
    assert.match(asked, /Join Demo host's session/);

    let last: Awaited<ReturnType<typeof panelColour>>;
    const seen = await until("the host's screen in the guest panel", 60_000, async () => {
      const p = (last = await panelColour(page, 640, 700));
      return p && p.width === SCREEN.width && p.rgb.every((v, i) => Math.abs(v - DESKTOP[i]!) <= 12) ? p : undefined;
    }).catch(async (err: Error) => {
      await page.screenshot({ path: 'test-results/vscode-guest-across-nat.png' }).catch(() => undefined);
      const panel = await (
        await webviewFrame(page, { timeoutMs: 1000 }).catch(() => undefined)
      )
        ?.evaluate(() => document.body.innerText)
        .catch(() => undefined);
      throw new Error(
        `${err.message} (last read ${JSON.stringify(last)}; the panel says: ${panel ?? 'no panel'}; notifications: ${(await notifications(page)).join(' | ') || 'none'}); ${w.said().slice(-1500)}`,
      );
    });
    assert.equal(seen.width, SCREEN.width);
    await context.close();
  });
});
