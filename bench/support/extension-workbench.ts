/**
 * One VS Code workbench with PairUX as the extension under development, for
 * `npm run bench:extension`: code-server (test/vscode/support) opened in a headless Chromium
 * whose pid is known, like test/vscode/support/workbench.ts but without extension tests (so
 * `vscode.env.clipboard` is the browser's clipboard). Finds the extension host and the helper in
 * code-server's process tree and reads the logs VS Code writes under the user-data dir:
 * `logs/<ts>/exthost<N>/remoteexthost.log` (the extension service's "_doActivateExtension") and
 * `logs/<ts>/exthost<N>/pairux.pairux/PairUX.log` (the extension's output channel).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../../demo/chromium';
import { startCodeServer, type CodeServer } from '../../test/vscode/support/code-server';
import { runCommand, waitForWorkbench } from '../../test/vscode/support/ui';
import { tree, type Proc } from './extension-procs';

export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface Workbench {
  server: CodeServer;
  page: Page;
  context: BrowserContext;
  /** The workbench Chromium's browser process (its tree: GPU, network, the workbench and webview renderers). */
  chromiumPid: number;
  /** Epoch ms of `page.goto`, and how long until the status bar was visible. */
  openedAt: number;
  visibleMs: number;
  /** code-server's own process (the launcher; its tree holds the server, the extension host, the helper). */
  codeServerTree(): Proc[];
  extensionHost(): Proc | undefined;
  helpers(): Proc[];
  /** The text of a log under the user-data dir's logs/ (newest window), '' if not there yet. */
  log(which: 'exthost' | 'pairux'): string;
  close(): Promise<void>;
}

function findFiles(dir: string, name: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findFiles(p, name, out);
    else if (e.name === name) out.push(p);
  }
  return out;
}

export async function openWorkbench(options: { env?: Record<string, string>; settings?: Record<string, unknown> } = {}): Promise<Workbench> {
  const server = await startCodeServer({ files: { 'README.md': '# PairUX bench workspace\n' }, env: options.env, settings: options.settings });
  let launched: Awaited<ReturnType<typeof chromium.launchServer>> | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await launched?.close().catch(() => undefined);
    await server.stop();
  };
  try {
    launched = await chromium.launchServer({ executablePath: findChromium(), headless: true, args: CHROMIUM_ARGS });
    browser = await chromium.connect(launched.wsEndpoint());
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const page = await context.newPage();
    // Headless Chromium's page never has focus, and the async clipboard refuses an unfocused document.
    await (await context.newCDPSession(page)).send('Emulation.setFocusEmulationEnabled', { enabled: true });
    const payload = [['extensionDevelopmentPath', `vscode-remote://remote${ROOT}`]];
    const openedAt = Date.now();
    await page.goto(`${server.url}/?folder=${encodeURIComponent(server.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    await waitForWorkbench(page);
    const visibleMs = Date.now() - openedAt;
    const codeServerTree = (): Proc[] => {
      const root = tree(process.pid).find((p) => p.cmd.includes('code-server/out/node/entry') && p.cmd.includes(server.userDataDir));
      return root ? tree(root.pid) : [];
    };
    const logsDir = path.join(server.userDataDir, 'logs');
    return {
      server,
      page,
      context,
      chromiumPid: launched.process().pid!,
      openedAt,
      visibleMs,
      codeServerTree,
      // The newest one: a reloaded window gets a new extension host.
      extensionHost: () =>
        codeServerTree()
          .filter((p) => p.cmd.includes('--type=extensionHost'))
          .sort((a, b) => b.pid - a.pid)[0],
      helpers: () => codeServerTree().filter((p) => /\bdist\/helper\.js\b/.test(p.cmd)),
      log: (which) => {
        const files = findFiles(logsDir, which === 'exthost' ? 'remoteexthost.log' : 'PairUX.log').sort();
        const file = files.at(-1);
        return file ? readFileSync(file, 'utf8') : '';
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** `2026-12-01 13:55:24.179 [info] …` → epoch ms (VS Code logs local time). */
export function logTime(line: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})/.exec(line);
  return m ? new Date(`${m[1]}T${m[2]}`).getTime() : undefined;
}

export interface Activation {
  /** The extension's own log line: time spent inside activate(). */
  insideActivateMs: number;
  /** remoteexthost.log "_doActivateExtension pairux.pairux" → the "activated" line (loading the bundle + activate). */
  hostToActivatedMs: number;
  /** page.goto → the "activated" line. */
  openToActivatedMs: number;
  activationEvent: string;
  /** Developer: Show Running Extensions, "Activation: N ms" (codeLoadingTime + activateCallTime). */
  runningExtensionsMs: number;
}

/** Waits for the extension's "activated" line, then reads the timings from both logs. */
export async function readActivation(wb: Workbench, timeoutMs = 30_000): Promise<Omit<Activation, 'runningExtensionsMs'>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const own = /^.*PairUX \S+ activated in ([\d.]+) ms.*$/m.exec(wb.log('pairux'));
    const host = /^.*ExtensionService#_doActivateExtension pairux\.pairux, startup: \w+, activationEvent: '([^']+)'.*$/m.exec(wb.log('exthost'));
    if (own && host) {
      const activatedAt = logTime(own[0])!;
      return {
        insideActivateMs: Number(own[1]),
        hostToActivatedMs: activatedAt - logTime(host[0])!,
        openToActivatedMs: activatedAt - wb.openedAt,
        activationEvent: host[1]!,
      };
    }
    if (Date.now() > deadline)
      throw new Error(`PairUX did not log its activation within ${timeoutMs} ms (PairUX.log: ${JSON.stringify(wb.log('pairux').slice(-300))})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** "Developer: Show Running Extensions" → PairUX's row's activation time (ms); the editor stays open. */
export async function runningExtensionsActivationMs(wb: Workbench, timeoutMs = 15_000): Promise<number> {
  await runCommand(wb.page, 'Developer: Show Running Extensions', timeoutMs);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await wb.page.evaluate(() =>
      [...document.querySelectorAll('.monaco-list-row')]
        .filter((row) => row.querySelector('.activation-time'))
        .map((row) => ({ name: row.querySelector('.name')?.textContent ?? '', time: row.querySelector('.activation-time')?.textContent ?? '' })),
    );
    const m = /Activation: (\d+(?:\.\d+)?)\s*ms/.exec(rows.find((r) => /pairux/i.test(r.name))?.time ?? '');
    if (m) return Number(m[1]);
    if (Date.now() > deadline) throw new Error(`no PairUX row with an activation time in Running Extensions (rows: ${JSON.stringify(rows).slice(0, 400)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
