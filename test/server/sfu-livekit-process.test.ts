/**
 * demo/livekit-server.ts, which the SFU tests, the e2e tests and the demo start LiveKit with:
 * loopback only, fresh keys per run, and nothing left behind after stop().
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { startLocalLiveKit } from '../../demo/livekit-server';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const configDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('pairux-livekit-'));

describe('local LiveKit server (demo/livekit-server.ts)', function () {
  this.timeout(60_000);
  // A private temp dir: other runs on this machine start LiveKits too, and their configs are not ours to count.
  const savedTmp = process.env.TMPDIR;
  let privateTmp = '';
  beforeEach(() => {
    privateTmp = mkdtempSync(path.join(tmpdir(), 'pairux-lk-test-'));
    process.env.TMPDIR = privateTmp;
  });
  afterEach(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(privateTmp, { recursive: true, force: true });
  });

  it('answers on loopback with per-run keys and leaves no process, port or config behind', async () => {
    const dirsBefore = new Set(configDirs());
    const [a, b] = await Promise.all([startLocalLiveKit(), startLocalLiveKit()]);
    try {
      assert.match(a.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(a.apiKey, b.apiKey);
      assert.notEqual(a.apiSecret, b.apiSecret);
      assert.ok(a.apiSecret.length >= 32, 'LiveKit wants secrets of 32+ characters');
      assert.notEqual(a.ports.signal, b.ports.signal);
      const api = new RoomServiceClient(a.url.replace(/^ws/, 'http'), a.apiKey, a.apiSecret);
      await api.createRoom({ name: 'probe' });
      assert.deepEqual(
        (await api.listRooms()).map((r) => r.name),
        ['probe'],
      );
      // The other instance's keys are not valid here.
      await assert.rejects(new RoomServiceClient(a.url.replace(/^ws/, 'http'), b.apiKey, b.apiSecret).listRooms());
      // Still a participant-free room: the first SIGTERM stops it.
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    for (const lk of [a, b]) {
      assert.equal(alive(lk.pid), false, `LiveKit ${lk.pid} is gone`);
      await assert.rejects(fetch(`http://127.0.0.1:${lk.ports.signal}/`), 'its port no longer answers');
    }
    const left = configDirs().filter((d) => !dirsBefore.has(d));
    assert.deepEqual(left, [], 'the generated configs (they hold the secrets) are deleted');
    await a.stop(); // a second stop is harmless
  });

  it('says which binary could not start, or that it exited, and leaves no config behind', async () => {
    const dirsBefore = new Set(configDirs());
    await assert.rejects(
      startLocalLiveKit({ binary: '/nonexistent/livekit-server' }),
      /could not start LiveKit \(\/nonexistent\/livekit-server\): spawn \/nonexistent\/livekit-server ENOENT/,
    );
    await assert.rejects(startLocalLiveKit({ binary: '/bin/false' }), /LiveKit exited during start \(1\)/);
    assert.deepEqual(
      configDirs().filter((d) => !dirsBefore.has(d)),
      [],
      'its config is deleted too',
    );
  });
});

describe('LiveKit build (scripts/livekit.mjs)', () => {
  const script = path.resolve('scripts/livekit.mjs');

  it('is instant when the pinned binary is already built', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /\.cache\/livekit\/v1\.13\.5\/server$/);
    assert.doesNotMatch(r.stderr, /building/);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  it('names the one command that installs Go when there is none', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'pairux-nogo-'));
    try {
      const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { PATH: '/nonexistent', PAIRUX_LIVEKIT_DIR: empty, HOME: empty } });
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        /needs Go, and `go` is not on PATH\. Install Go 1\.26 .*curl -fsSL https:\/\/go\.dev\/dl\/go1\.26\.\d+\.linux-amd64\.tar\.gz \| sudo tar -C \/usr\/local -xzf -/,
      );
      assert.deepEqual(readdirSync(empty), [], 'nothing half-built is left');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
