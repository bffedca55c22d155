#!/usr/bin/env node
// Runs every test (mocha, TypeScript through tsx). Extra arguments go to mocha, e.g.
// `npm test -- --grep limits` or `npm test -- test/server/*.test.ts`.
// test/vscode/suite/ holds the extension tests, which run inside VS Code, not in this mocha:
// naming one of them runs test/vscode/workbench.test.ts with just that inner file.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const INNER = 'test/vscode/suite/';
const isInner = (a) => !a.startsWith('-') && path.relative(root, path.resolve(root, a)).split(path.sep).join('/').startsWith(INNER);
const given = process.argv.slice(2);
const inner = given.filter(isInner).map((a) => path.relative(path.join(root, INNER), path.resolve(root, a)).split(path.sep).join('/'));
const args = given.filter((a) => !isInner(a));
if (inner.length) args.push('test/vscode/workbench.test.ts');
// Files or globs given: run just those; otherwise the whole suite.
const named = args.some((a) => /\.ts$|\//.test(a) && !a.startsWith('-'));
const whole = !named && !given.some((a) => a.startsWith('--grep'));
const env = inner.length ? { ...process.env, PAIRUX_VSCODE_FILES: inner.join(',') } : { ...process.env };
const mochaArgs = (spec) => [mocha, ...spec, '--ignore', `${INNER}**`, ...args];
const run = (argv, extraEnv, stdio) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: root, stdio, env: { ...env, ...extraEnv } });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

if (!whole) process.exit(await run(mochaArgs(named ? [] : ['test/**/*.test.ts']), {}, 'inherit'));

// The whole suite, in two processes side by side on a 2-core machine whose suites mostly wait:
// the helper's suites (an X server or a headless sway each, about two minutes), then the unit
// tests of the pages, the extension and the runner (short bursts of CPU, no timing they assert)
// beside the control plane's (which wait on their processes, not the clock); the end-to-end
// suites and the workbench's after those, in the first process. The helper's go first so their
// pacing and injection run beside the control plane's waits, not beside the end-to-end suites.
// Lint and the format check run beside them from the start too (ESLint's type-aware rules take
// most of a minute of one core); test/static-checks.test.ts waits for its verdict, so a lint
// failure is counted.
const BESIDE = ['helper', 'extension', 'protocol', 'runner', 'support', 'webview'];
const FIRST = ['server'];
const entries = readdirSync(path.join(root, 'test'), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
const specOf = (e) => (e.isDirectory() ? `test/${e.name}/**/*.test.ts` : `test/${e.name}`);
const tested = entries.filter((e) => e.isDirectory() || e.name.endsWith('.test.ts'));
const beside = BESIDE.flatMap((name) => tested.filter((e) => e.name === name)).map(specOf);
const main = [...tested.filter((e) => FIRST.includes(e.name)), ...tested.filter((e) => !FIRST.includes(e.name) && !BESIDE.includes(e.name))].map(specOf);

const work = mkdtempSync(path.join(os.tmpdir(), 'pairux-test-'));
const lintOut = openSync(path.join(work, 'lint-output'), 'w');
const lint = spawn(process.execPath, [path.join(root, 'scripts', 'lint.mjs')], { cwd: root, stdio: ['ignore', lintOut, lintOut] });
lint.on('exit', (code) => writeFileSync(path.join(work, 'lint-status'), String(code ?? 1)));
const counts = (name) => path.join(work, `${name}-counts.json`);
const besideLog = path.join(work, 'beside.log');
const besideOut = openSync(besideLog, 'w');
const [mainCode, besideCode] = await Promise.all([
  run(mochaArgs(main), { PAIRUX_LINT_RESULT: work, PAIRUX_COUNTS_FILE: counts('main') }, 'inherit'),
  run(mochaArgs(beside), { PAIRUX_COUNTS_FILE: counts('beside') }, ['ignore', besideOut, besideOut]),
]);
// The second process's report after the first's, whole, so the two do not interleave.
process.stdout.write(`\n--- the unit tests run beside the suites above (${beside.join(' ')}) ---\n${readFileSync(besideLog, 'utf8')}`);
const read = (name) => {
  try {
    return JSON.parse(readFileSync(counts(name), 'utf8'));
  } catch {
    return { passes: 0, failures: 1, pending: 0 };
  }
};
const total = [read('main'), read('beside')].reduce((t, c) => ({
  passes: t.passes + c.passes,
  failures: t.failures + c.failures,
  pending: t.pending + c.pending,
}));
process.stdout.write(`\n${total.passes} passed, ${total.failures} failed${total.pending ? `, ${total.pending} skipped` : ''}\n`);
process.exit(mainCode || besideCode || (total.failures ? 1 : 0));
