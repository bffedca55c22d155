/**
 * Runs the inner extension tests in a real VS Code workbench: code-server on loopback, its
 * workbench opened in Debian's Chromium with the repo as the extension under development and
 * the bundled inner suite as the extension tests (the workbench URL's `payload`). Mocha's output
 * arrives through `codeAutomationLog`, the exit code through `codeAutomationExit`, and each test's
 * result through the UI driver, which also drives the page for the tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../../demo/chromium';
import { startCodeServer, type CodeServer, type StartOptions } from './code-server';
import { startUiDriver, type UiDriverServer } from './ui-driver';
import { waitForWorkbench } from './ui';
import { INNER_FILES_ENV, INNER_GREP_ENV, UI_DRIVER_ENV, type TestResult } from './ui-protocol';

export const ROOT = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/** Built by esbuild.config.mjs from test/vscode/suite/. */
export const INNER_SUITE_INDEX = path.join(ROOT, 'dist', 'vscode-suite', 'index.cjs');
export const RESULTS_DIR = path.join(ROOT, 'test-results', 'vscode');

export interface InnerRun {
  /** codeAutomationExit's code: 0 when every inner test passed, 1 otherwise. */
  exitCode: number;
  results: TestResult[];
  /** Everything the workbench logged through codeAutomationLog (mocha's spec output among it). */
  log: string[];
  wallMs: number;
  /** Where the full log and screenshots went. */
  logFile: string;
}

export interface RunOptions {
  /** Inner mocha grep. */
  grep?: string;
  timeoutMs?: number;
  /** Extra environment for the extension host. */
  env?: Record<string, string>;
  codeServer?: Omit<StartOptions, 'env'>;
  /** Called with each result as it arrives (progress for the outer reporter). */
  onResult?(r: TestResult): void;
}

/** The workbench with this repo as the extension under development (and, with `tests`, the inner suite as its tests). */
export function developmentWorkbenchUrl(server: Pick<CodeServer, 'url' | 'workspace'>, tests = false): string {
  const payload = [
    ['extensionDevelopmentPath', `vscode-remote://remote${ROOT}`],
    ...(tests ? [['extensionTestsPath', `vscode-remote://remote${INNER_SUITE_INDEX}`]] : []),
  ];
  return `${server.url}/?folder=${encodeURIComponent(server.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/**
 * The workbench forwards console calls as (format, ...args): mocha's spec reporter writes
 * `✔ %s (%dms)`, the remote console adds `%c` styles. Formatted as console.log would.
 */
export function formatLogArgs(args: unknown): string {
  const list = Array.isArray(args) ? [...args] : [args];
  if (typeof list[0] !== 'string') return list.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  let rest = list.slice(1);
  const head = list[0].replace(/%([sdifoOjc%])/g, (all, spec: string) => {
    if (spec === '%') return '%';
    if (rest.length === 0) return all;
    const [value] = rest;
    rest = rest.slice(1);
    if (spec === 'c') return '';
    if (spec === 'd' || spec === 'i') return String(spec === 'i' ? Math.trunc(Number(value)) : Number(value));
    if (spec === 'f') return String(Number(value));
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
  return [head, ...rest.map((a) => (typeof a === 'string' ? a : JSON.stringify(a)))].join(' ');
}

export async function runInnerSuite(options: RunOptions = {}): Promise<InnerRun> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? Number(process.env.PAIRUX_VSCODE_TIMEOUT_MS ?? 10 * 60_000);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const logFile = path.join(RESULTS_DIR, 'workbench.log');
  const log: string[] = [];
  const phase = (what: string) => {
    const line = `[harness] ${what} at ${Date.now() - started} ms`;
    log.push(line);
    if (process.env.PAIRUX_VSCODE_VERBOSE) process.stderr.write(`  ${line}\n`);
  };
  let driver: UiDriverServer | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  try {
    driver = await startUiDriver({ screenshotDir: RESULTS_DIR });
    if (options.onResult) driver.onResult(options.onResult);
    const grep = options.grep ?? process.env[INNER_GREP_ENV];
    server = await startCodeServer({
      ...options.codeServer,
      files: { 'README.md': '# PairUX test workspace\n', ...options.codeServer?.files },
      env: {
        [UI_DRIVER_ENV]: driver.url,
        ...(grep ? { [INNER_GREP_ENV]: grep } : {}),
        ...(process.env[INNER_FILES_ENV] ? { [INNER_FILES_ENV]: process.env[INNER_FILES_ENV] } : {}),
        ...options.env,
      },
    });
    phase(`code-server listening on ${server.url}`);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const ctx = context;
    const focused = async (): Promise<Page> => {
      const p = await ctx.newPage();
      // Headless Chromium's page never has focus, and the async clipboard refuses an unfocused
      // document (vscode.env.clipboard would silently fall back to an in-memory copy).
      await (await ctx.newCDPSession(p)).send('Emulation.setFocusEmulationEnabled', { enabled: true });
      return p;
    };
    const page: Page = await focused();
    let exit!: (code: number) => void;
    const exited = new Promise<number>((r) => {
      exit = r;
    });
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
      const line = `${type === 'info' ? '' : `[${type}] `}${formatLogArgs(args)}`;
      log.push(line);
      if (process.env.PAIRUX_VSCODE_VERBOSE) process.stderr.write(`  [workbench] ${line}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => exit(code));
    page.on('pageerror', (err) => log.push(`[pageerror] ${err.message}`));
    // The webviews' own lines (their loggers write "[pairux:…]"): what a panel did, for a failure's log.
    page.on('console', (m) => {
      if (/pairux/.test(m.text())) log.push(`[console] ${m.text()}`);
    });
    const cs = server;
    const workbenchUrl = (tests: boolean): string => developmentWorkbenchUrl(cs, tests);
    driver.attach(page, async (name, openTimeoutMs, plainUrl) => {
      const other = await focused();
      if (plainUrl) {
        await other.goto(plainUrl, { timeout: openTimeoutMs });
        return other;
      }
      // Another window: its own extension host with the extension under development, no tests.
      other.on('pageerror', (err) => log.push(`[pageerror ${name}] ${err.message}`));
      other.on('console', (m) => {
        if (/pairux/.test(m.text())) log.push(`[console ${name}] ${m.text()}`);
        if (process.env.PAIRUX_VSCODE_VERBOSE) process.stderr.write(`  [${name}] ${m.text()}\n`);
      });
      await other.goto(workbenchUrl(false));
      await waitForWorkbench(other, openTimeoutMs);
      phase(`window '${name}' visible`);
      return other;
    });

    const url = workbenchUrl(true);
    await page.goto(url);
    phase('workbench page loaded');
    await waitForWorkbench(page);
    phase('workbench visible');

    let timer: NodeJS.Timeout | undefined;
    const exitCode = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the inner suite did not finish within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    phase(`workbench exit ${exitCode}`);
    if (exitCode !== 0) await page.screenshot({ path: path.join(RESULTS_DIR, 'workbench-at-exit.png') }).catch(() => {});
    if (driver.problems.length) log.push(...driver.problems.map((p) => `[ui-driver] ${p}`));
    return { exitCode, results: [...driver.results], log, wallMs: Date.now() - started, logFile };
  } catch (err) {
    const tail = [...log.slice(-40), ...(server ? ['--- code-server:', ...server.output().split('\n').slice(-20)] : [])].join('\n');
    throw new Error(`${err instanceof Error ? err.message : err}\n--- workbench log (tail):\n${tail}`, { cause: err });
  } finally {
    writeFileSync(logFile, `${log.join('\n')}\n${server ? `\n--- code-server output:\n${server.output()}` : ''}`);
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await driver?.close();
    phase('stopped');
  }
}
