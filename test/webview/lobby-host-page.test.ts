/**
 * The lobby through the real host page in Chromium (the bundle the demo and the extension load):
 * a knock reaches the page, the page asks its runner over the host bridge (here the stand-in
 * runner, which says yes and records who it was asked about), and the guest gets in. Without a
 * runner the page turns the knock away at once instead of leaving the guest to the deadline.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { ErrorCode } from '../../protocol/errors';
import type { ControlPlane } from '../../server/control-plane';
import { rejects } from '../support/assertions';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { startRecordingRunner, type RecordingRunner } from '../support/recording-runner';
import { TestClient } from '../support/signaling-client';

describe('lobby: the host page asks its runner over the bridge', function () {
  this.timeout(60_000);
  let browser: Browser;
  let plane: ControlPlane;
  let host: HeadlessHost | undefined;
  let runner: RecordingRunner | undefined;
  const clients: TestClient[] = [];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await host?.close();
    await runner?.close();
    host = runner = undefined;
    await plane.close();
  });

  async function guest(s: { sessionId: string }, token: string, name: string) {
    const c = await TestClient.connect(plane.url);
    clients.push(c);
    return c.join(s.sessionId, token, name, { client: { kind: 'browser' } });
  }

  it("a controller is let in on the runner's word, which was asked by name", async () => {
    plane = await startTestServer({ lobbyTimeoutMs: 20_000 });
    const s = await createSession(plane, { mode: 'p2p' });
    runner = await startRecordingRunner({ width: 640, height: 360, fps: 10 });
    host = await startHeadlessHost(plane.url, s.sessionId, s.hostToken, { browser, name: 'Hana', bridge: runner.url, width: 640, height: 360, fps: 10 });
    const started = Date.now();
    const joined = await guest(s, tokenOf(s.links.controller.url), 'Ada');
    assert.equal(joined.self.role, 'controller');
    assert.deepEqual(runner.knocks, ['Ada']);
    assert.ok(Date.now() - started < 10_000);
  });

  it('a runner that wants the lobby for everyone makes the page turn it on: viewers are asked about too', async () => {
    plane = await startTestServer({ lobbyTimeoutMs: 20_000 });
    const s = await createSession(plane, { mode: 'p2p' });
    runner = await startRecordingRunner({ width: 640, height: 360, fps: 10 });
    runner.lobbyEveryone = true;
    host = await startHeadlessHost(plane.url, s.sessionId, s.hostToken, { browser, name: 'Hana', bridge: runner.url, width: 640, height: 360, fps: 10 });
    const store = (plane.service as unknown as { deps: { store: { getSession(id: string): Promise<{ lobbyEveryone?: boolean } | undefined> } } }).deps.store;
    for (let i = 0; i < 100 && !(await store.getSession(s.sessionId))?.lobbyEveryone; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await store.getSession(s.sessionId))?.lobbyEveryone, true, 'the page turned the lobby on for everyone');
    assert.equal((await guest(s, tokenOf(s.links.viewer.url), 'Vic')).self.role, 'viewer');
    assert.deepEqual(runner.knocks, ['Vic']);
  });

  it('a host page with no runner turns the knock away at once', async () => {
    plane = await startTestServer({ lobbyTimeoutMs: 30_000 });
    const s = await createSession(plane, { mode: 'p2p' });
    host = await startHeadlessHost(plane.url, s.sessionId, s.hostToken, { browser, name: 'Hana', width: 640, height: 360, fps: 10 });
    const started = Date.now();
    const refused = await rejects(guest(s, tokenOf(s.links.controller.url), 'Gus'), ErrorCode.Forbidden);
    assert.equal(refused.data?.reason, 'lobby-denied');
    assert.ok(Date.now() - started < 5000, `turned away after ${Date.now() - started} ms, not at the 30 s deadline`);
    // Viewers are not asked: they come straight in.
    assert.equal((await guest(s, tokenOf(s.links.viewer.url), 'Vic')).self.role, 'viewer');
  });
});
