#!/usr/bin/env node
// `npm run fuzz`: every boundary's fuzz harness (test/fuzz/*.test.ts) with 100,000 generated
// messages each, then one table of what happened. `npm test` runs the same files with a small
// slice. Options: --count=N (per boundary), --seed=N, and test files to run only those.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const option = (name, fallback) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
};
const count = option('count', '100000');
const seed = option('seed', String(Date.now() % 1_000_000));
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const report = path.join(mkdtempSync(path.join(tmpdir(), 'pairux-fuzz-')), 'rows.jsonl');
const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');

console.log(`fuzz: ${count} messages per boundary, seed ${seed} (replay with --seed=${seed})`);
const r = spawnSync(process.execPath, [mocha, ...(files.length ? files : ['test/fuzz/*.test.ts'])], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PAIRUX_FUZZ_COUNT: count, PAIRUX_FUZZ_SEED: seed, PAIRUX_FUZZ_REPORT: report },
});

const rows = existsSync(report)
  ? readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
const mb = (m) => (m.heapMb ? `heap ${m.heapMb.toFixed(1)}` : `RSS ${m.rssMb.toFixed(1)}`);
const table = [
  ['boundary', 'messages', 'refused (error)', 'accepted', 'no answer', 'crashes', 'memory before → after (MB)', 'injected without grant', 'seconds'],
  ...rows.map((x) => [
    x.boundary,
    x.messages,
    x.refused,
    x.accepted,
    x.silent,
    x.crashes,
    `${mb(x.before)} → ${mb(x.after).replace(/^\w+ /, '')}`,
    x.injectedWithoutGrant,
    x.seconds,
  ]),
].map((cells) => cells.map(String));
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
console.log('');
for (const [i, row] of table.entries()) {
  console.log(`| ${row.map((c, j) => c.padEnd(widths[j])).join(' | ')} |`);
  if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
}
for (const x of rows) console.log(`  ${x.boundary}: ${x.memoryNote}`);
const bad = rows.filter((x) => x.crashes > 0 || x.injectedWithoutGrant > 0);
if (bad.length) console.log(`\nFAILED: ${bad.map((x) => x.boundary).join(', ')} (crashes or input without a grant)`);
process.exit(r.status ?? 1);
