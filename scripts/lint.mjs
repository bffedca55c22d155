#!/usr/bin/env node
// Lint and format check, run by `npm test` beside the suites (and alone by `npm run lint`):
// ESLint with typescript-eslint's type-aware rules, then Prettier's check. `--fix` mends what
// both can mend by themselves.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const fix = process.argv.includes('--fix');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const FORMATTED = '**/*.{ts,mts,mjs,cjs,css,json}';

/** Exit status of a command run with the terminal's output. */
const run = (command, args) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
    child.on('error', () => resolve(1));
    child.on('exit', (code) => resolve(code ?? 1));
  });

const started = Date.now();
const eslintArgs = ['.', ...(fix ? ['--fix'] : [])];
const prettierArgs = [fix ? '--write' : '--check', FORMATTED, '--log-level', 'warn'];
// A check runs both side by side (ESLint's type-aware rules take most of the time); a fix runs
// them in turn, so Prettier formats what ESLint rewrote.
const [eslint, prettier] = fix
  ? [await run(bin('eslint'), eslintArgs), await run(bin('prettier'), prettierArgs)]
  : await Promise.all([run(bin('eslint'), eslintArgs), run(bin('prettier'), prettierArgs)]);
const failed = [eslint !== 0 && 'ESLint', prettier !== 0 && 'Prettier'].filter(Boolean);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failed.length) {
  console.error(`[lint] ${failed.join(' and ')} found problems (${seconds} s); \`npm run lint -- --fix\` mends the mechanical ones.`);
  process.exit(1);
}
console.error(`[lint] ESLint and Prettier clean (${seconds} s)`);
