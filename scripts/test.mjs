#!/usr/bin/env node
// Runs every test (mocha, TypeScript through tsx). Extra arguments go to mocha, e.g.
// `npm test -- --grep limits` or `npm test -- test/server/*.test.ts`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const args = process.argv.slice(2);
// Files or globs given: run just those; otherwise the whole suite.
const named = args.some((a) => /\.ts$|\//.test(a) && !a.startsWith('-'));
const spec = named ? [] : ['test/**/*.test.ts'];
const r = spawnSync(process.execPath, [mocha, ...spec, ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
