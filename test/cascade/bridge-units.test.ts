/**
 * The cascade bridge's own unit tests (cascade/*_test.go: sequence numbers kept continuous across
 * a change of origin source, key frames found in H.264 and VP8 payloads, its configuration refused
 * with the field named), run with the Go that builds it, so `npm test` runs them too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

describe('cascade bridge: its Go unit tests', function () {
  // Compiling the test binary shares the bridge build's cache (-trimpath): seconds when warm.
  this.timeout(600_000);

  it('pass (go test)', () => {
    const r = spawnSync('go', ['test', '-trimpath', '-count=1', '-v', './...'], {
      cwd: path.resolve(import.meta.dirname, '../../cascade'),
      env: { ...process.env, GOFLAGS: [process.env.GOFLAGS, '-mod=mod'].filter(Boolean).join(' '), GOWORK: 'off' },
      encoding: 'utf8',
    });
    assert.equal(r.error, undefined, `go could not run: ${r.error?.message}`);
    assert.equal(r.status, 0, `go test failed:\n${r.stdout}\n${r.stderr}`);
    // Each test ran, by name: a file that stopped compiling into the run would not say so otherwise.
    for (const name of ['TestMungerKeepsOneStreamAcrossASourceChange', 'TestKeyFrameStarts', 'TestConfigIsRefusedWithTheFieldNamed'])
      assert.match(r.stdout, new RegExp(`--- PASS: ${name}`));
  });
});
