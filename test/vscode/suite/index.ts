/**
 * The extension tests' entry point (`extensionTestsPath`): VS Code's extension host calls
 * `run()` and reports its outcome as the workbench's exit code. Runs mocha (bdd) over every
 * test/vscode/suite/**\/*.test.ts, each bundled by esbuild.config.mjs to
 * dist/vscode-suite/**\/*.test.cjs, and reports each test to the outer harness (which counts
 * them in npm test's total). Used by both runners: code-server + Chromium, and test-electron.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';
import { closeUi, reportResult } from './ui';
import { INNER_FILES_ENV, INNER_GREP_ENV } from '../support/ui-protocol';

// This file is dist/vscode-suite/index.cjs at run time.
const distDir = __dirname;
const root = path.resolve(distDir, '..', '..');
const sourceDir = path.join(root, 'test', 'vscode', 'suite');

/** Source files decide what runs, so a bundle left in dist by a deleted test does not. */
function testFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.test.ts')) found.push(path.relative(sourceDir, full));
    }
  };
  walk(sourceDir);
  // `npm test -- test/vscode/suite/x.test.ts` narrows the run to the files named.
  const only = process.env[INNER_FILES_ENV]?.split(',').filter(Boolean);
  const chosen = only ? found.filter((rel) => only.some((o) => rel === o || rel.startsWith(`${o.replace(/\/$/, '')}/`))) : found;
  if (only && chosen.length === 0) throw new Error(`${INNER_FILES_ENV}=${only.join(',')} matches no test under test/vscode/suite/`);
  return chosen.sort().map((rel) => {
    const built = path.join(distDir, rel.replace(/\.ts$/, '.cjs'));
    if (!existsSync(built)) throw new Error(`${rel} is not built (${built} missing): run node esbuild.config.mjs`);
    return built;
  });
}

function errorOf(err: unknown): { message: string; stack?: string } {
  if (err instanceof Error) return { message: err.message.slice(0, 20_000), ...(err.stack ? { stack: err.stack.slice(0, 20_000) } : {}) };
  return { message: String(err).slice(0, 20_000) };
}

export async function run(): Promise<void> {
  const grep = process.env[INNER_GREP_ENV];
  // forbidPending: a skipped test fails the run (its missing part named by requireParts), as outside.
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 20_000, forbidPending: true, ...(grep ? { grep } : {}) });
  // mocha.run() requires them (CommonJS): no ESM loader needed in the extension host.
  for (const file of testFiles()) mocha.addFile(file);

  const reports: Promise<void>[] = [];
  const report = (test: Mocha.Runnable, state: 'passed' | 'failed' | 'pending', err?: unknown) => {
    reports.push(
      reportResult({
        title: test.title.slice(0, 2000),
        fullTitle: test.fullTitle().slice(0, 4000),
        ...(test.file ? { file: path.relative(root, test.file) } : {}),
        state,
        ...(test.duration !== undefined ? { durationMs: test.duration } : {}),
        ...(err !== undefined ? { error: errorOf(err) } : {}),
      }).catch((e: unknown) => console.error(`could not report "${test.fullTitle()}" to the harness: ${errorOf(e).message}`)),
    );
  };

  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run((n) => resolve(n));
    runner.on('pass', (t) => report(t, 'passed'));
    runner.on('fail', (t, err) => report(t, 'failed', err));
    runner.on('pending', (t) => report(t, 'pending'));
  });
  await Promise.all(reports);
  await closeUi();
  if (failures > 0) throw new Error(`${failures} extension test${failures === 1 ? '' : 's'} failed`);
}
