/**
 * The whole tree type-checks under the strict config (a broken contract between parts fails
 * here), and, in a whole run of `npm test`, lints and is formatted: scripts/test.mjs starts
 * scripts/lint.mjs beside the suites and names where its verdict will be (PAIRUX_LINT_RESULT).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const LINT_RESULT = process.env.PAIRUX_LINT_RESULT;

describe('static checks', () => {
  it('tsc --noEmit passes on every folder', function () {
    this.timeout(120_000);
    const tsc = path.join(path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  if (LINT_RESULT)
    it('ESLint and Prettier pass (`npm run lint -- --fix` mends the mechanical problems)', async function () {
      this.timeout(300_000);
      const status = path.join(LINT_RESULT, 'lint-status');
      while (!existsSync(status)) await new Promise((r) => setTimeout(r, 500));
      const output = readFileSync(path.join(LINT_RESULT, 'lint-output'), 'utf8');
      assert.equal(readFileSync(status, 'utf8').trim(), '0', output);
    });
});
