#!/usr/bin/env node
// Lint and format check, run by `npm test` before the suites (and alone by `npm run lint`):
// ESLint with typescript-eslint's type-aware rules, then Prettier's check. `--fix` mends what
// both can mend by themselves.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const fix = process.argv.includes('--fix');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const FORMATTED = '**/*.{ts,mts,mjs,cjs,css,json}';

const started = Date.now();
const eslint = spawnSync(bin('eslint'), ['.', ...(fix ? ['--fix'] : [])], { cwd: root, stdio: 'inherit' });
const prettier = spawnSync(bin('prettier'), [fix ? '--write' : '--check', FORMATTED, '--log-level', 'warn'], { cwd: root, stdio: 'inherit' });
const failed = [eslint.status !== 0 && 'ESLint', prettier.status !== 0 && 'Prettier'].filter(Boolean);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failed.length) {
  console.error(`[lint] ${failed.join(' and ')} found problems (${seconds} s); \`npm run lint -- --fix\` mends the mechanical ones.`);
  process.exit(1);
}
console.error(`[lint] ESLint and Prettier clean (${seconds} s)`);
