#!/usr/bin/env node
// Runs every test (mocha, TypeScript through tsx). Extra arguments go to mocha, e.g.
// `npm test -- --grep limits` or `npm test -- test/server/*.test.ts`.
// test/vscode/suite/ holds the extension tests, which run inside VS Code, not in this mocha:
// naming one of them runs test/vscode/workbench.test.ts with just that inner file.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
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
const spec = named ? [] : ['test/**/*.test.ts'];
const env = inner.length ? { ...process.env, PAIRUX_VSCODE_FILES: inner.join(',') } : { ...process.env };
// The whole suite runs lint and the format check beside the tests from the start (ESLint's
// type-aware rules take most of a minute of one core, which the first suites leave free);
// test/static-checks.test.ts waits for its verdict, so a lint failure fails the run and is counted.
if (!named && !given.some((a) => a.startsWith('--grep'))) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pairux-lint-'));
  const out = openSync(path.join(dir, 'output'), 'w');
  const lint = spawn(process.execPath, [path.join(root, 'scripts', 'lint.mjs')], { cwd: root, stdio: ['ignore', out, out] });
  lint.on('exit', (code) => writeFileSync(path.join(dir, 'status'), String(code ?? 1)));
  env.PAIRUX_LINT_RESULT = dir;
}
const tests = spawn(process.execPath, [mocha, ...spec, '--ignore', `${INNER}**`, ...args], { cwd: root, stdio: 'inherit', env });
tests.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
