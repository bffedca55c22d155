/**
 * Two machines on one network, no server deployed: the host runs `npm run demo -- --lan` on its
 * machine (its own network namespace: its own Xvfb desktop, helper, runner, headless host page
 * and embedded control plane), and a guest on another machine of the same switched network opens
 * the controller link in Chromium. The link carries the host's network address, the guest sees
 * the host's screen, is granted control and types a command into the host's terminal, which runs
 * it. Nothing here goes over loopback between the two.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { findChromium, launchChromium } from '../../demo/chromium';
import { ViewerPage } from '../support/browser-viewer';
import { stopChild } from '../support/stop-child';
import { eventually } from '../support/livekit';
import { startLan, type Lan } from '../support/netns';
import { DESKTOP, typeIntoHostTerminal } from '../support/demo-machines';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCREEN = { width: 1280, height: 720 };

describe('end to end: host and guest on one local network (demo --lan, network namespaces)', function () {
  this.timeout(120_000);
  let lan: Lan;
  let demo: ChildProcess | undefined;
  let out = '';
  let browser: Browser | undefined;
  const proof = `/tmp/pairux-lan-${process.pid}`;

  before(async () => {
    lan = startLan(['host', 'guest']);
    const [cmd, args] = lan.machines.host!.argv(process.execPath, 'dist/demo.js', '--lan', '--virtual', '--allow-control', '--size', '1280x720', '--port', '0');
    demo = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, DISPLAY: '', PAIRUX_HOST_CONSOLE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    browser = await launchChromium({ executablePath: lan.wrapper(lan.machines.guest!, findChromium()) });
  });
  after(async () => {
    await browser?.close();
    await stopChild(demo);
    lan?.close();
    rmSync(proof, { force: true });
  });

  it("the guest opens the link with the host's network address, sees the screen, drives, and a typed command runs on the host", async () => {
    const controller = (await eventually(
      () => /Controller link:\s+(\S+)/.exec(out)?.[1],
      () => `the demo's links (it printed: ${out.slice(-2000)})`,
      60_000,
    ))!;
    const host = lan.machines.host!.address;
    assert.equal(new URL(controller).hostname, host, 'the link names the host on the network, not loopback');
    assert.match(out, new RegExp(`work on this computer's network 10\\.77\\.0\\.0/24 \\(eth0\\)`));

    const guest = await ViewerPage.open(browser!, controller, 'Lan guest');
    const console: string[] = [];
    guest.page.on('console', (m) => console.push(m.text()));
    await guest.waitForState('live', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\nthe guest's console:\n${console.slice(-30).join('\n')}\nthe demo:\n${out.slice(-3000)}`);
    });
    // The picture is the host's desktop (its background is #22384f), not black.
    const colour = await eventually(() => guest.colourAt(640, 700, DESKTOP), "the host's desktop background in the guest's picture", 30_000);
    assert.ok(colour);

    await typeIntoHostTerminal(guest, SCREEN, proof, 'lan-ok', () => `demo said: ${out.slice(-1500)}`);
    await guest.close();
  });
});
