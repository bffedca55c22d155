/**
 * The key never leaves the clients (issue 15): during an encrypted auto session with a host page
 * and two guests in Chromium, which starts peer-to-peer, moves to a real LiveKit SFU when the
 * third participant arrives, and re-keys when the host removes a guest there, everything the
 * servers could have seen is recorded, and no media key, in any encoding, is in any of it:
 * - every line the server process printed (it runs as its own process, so all of it is caught);
 * - every HTTP request head that reached it (request line and headers, through a recording proxy
 *   in front of it: the share links' fragments must never be in them);
 * - every command Redis ran (MONITOR) and a dump of every key it holds at the end;
 * - every line LiveKit logged, at its debug level.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost, type HostKeyEvent } from '../../demo/headless-host';
import { withMediaKey } from '../../protocol/share-link';
import { ViewerPage } from '../support/browser-viewer';
import { createSession } from '../support/control-plane';
import { startPlaneProcess, type PlaneProcess } from '../support/plane-process';
import { startRedis, type TestRedis } from '../support/redis';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import { eventually } from '../support/livekit';

/** A TCP proxy that records the head of every HTTP request (up to the blank line) before passing bytes on. */
async function recordingProxy(targetPort: number): Promise<{ url: string; heads: string[]; close(): Promise<void> }> {
  const heads: string[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    let head = '';
    let upgraded = false;
    client.on('data', (chunk: Buffer) => {
      // Until a WebSocket upgrade, every request on the connection (keep-alive) has its head recorded.
      if (!upgraded) {
        head += chunk.toString('latin1');
        let end: number;
        while ((end = head.indexOf('\r\n\r\n')) >= 0) {
          const one = head.slice(0, end);
          heads.push(one);
          if (/^upgrade:\s*websocket/im.test(one)) upgraded = true;
          head = upgraded ? '' : head.slice(end + 4).replace(/^[^A-Z]*/, '');
          if (upgraded) break;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (d) => client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, heads, close: () => new Promise((r) => server.close(() => r())) };
}

/** Every encoding of a 32-byte key a leak could take. */
function encodings(key: string): string[] {
  const bytes = Buffer.from(key, 'base64url');
  assert.equal(bytes.length, 32);
  return [
    key,
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(key),
  ];
}

describe('end to end: the media key of an encrypted session never reaches the server, its logs or Redis', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let plane: PlaneProcess;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let monitor: ChildProcess;
  let monitored = '';
  let livekit: LocalLiveKit;
  const livekitLog: string[] = [];
  let browser: Browser;
  let host: HeadlessHost | undefined;
  const viewers: ViewerPage[] = [];

  before(async () => {
    redis = await startRedis();
    monitor = spawn('redis-cli', ['-p', String(redis.port), 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    monitor.stdout!.on('data', (d: Buffer) => (monitored += d.toString()));
    livekit = await startLocalLiveKit({ logLevel: 'debug', log: (line) => livekitLog.push(line) });
    plane = await startPlaneProcess({
      PAIRUX_REDIS_URL: redis.url,
      PAIRUX_TOKEN_SECRET: 'key-leak-test-token-secret-of-32-chars',
      PAIRUX_LOBBY: 'off',
      PAIRUX_LIVEKIT_URL: livekit.url,
      PAIRUX_LIVEKIT_API_KEY: livekit.apiKey,
      PAIRUX_LIVEKIT_API_SECRET: livekit.apiSecret,
      PAIRUX_AUTO_SFU_AT: '3',
    });
    proxy = await recordingProxy(plane.port);
    browser = await launchChromium();
  });
  after(async () => {
    for (const v of viewers) await v.close();
    await host?.close();
    await browser?.close();
    await proxy?.close();
    await plane?.kill('SIGTERM');
    monitor?.kill();
    await redis?.stop();
    await livekit?.stop();
  });

  it('no key, in any encoding, in the server output, the HTTP request heads, Redis commands or its data, or LiveKit’s log', async () => {
    const session = await createSession({ url: proxy.url }, { name: 'Leak check', e2ee: true, mode: 'auto' });
    const keys: HostKeyEvent[] = [];
    host = await startHeadlessHost(proxy.url, session.sessionId, session.hostToken, {
      width: 640,
      height: 360,
      fps: 15,
      browser,
      name: 'Host',
      onEvent: (e) => void (e.type === 'e2ee' && keys.push(e)),
    });
    const first = await host.mediaKey();
    const guests = await Promise.all(
      ['Ann', 'Ben'].map(async (name, i) => {
        const issued = i === 0 ? session.links.viewer.url : session.links.controller.url;
        // Through the recording proxy: the server names itself in its links.
        const link = withMediaKey(issued.replace(new URL(issued).origin, proxy.url), first.key, first.gen);
        const v = await ViewerPage.open(browser, link, name);
        viewers.push(v);
        await v.waitForState('live');
        await v.markerAdvance(300);
        return v;
      }),
    );
    // The third participant moved the session to LiveKit: both guests show its picture there.
    for (const g of guests)
      await eventually(
        () =>
          g.page.evaluate(() =>
            (window as unknown as { pairuxViewer: { media(): { mode?: string } } }).pairuxViewer.media().mode === 'sfu' ? true : undefined,
          ),
        'the guest on the SFU',
        40_000,
      );
    await guests[0]!.markerAdvance(500);
    // A removal makes the host re-key: the fresh key travels wrapped, through the server.
    const benId = (await guests[1]!.selfId())!;
    await host.page.evaluate((id) => window.pairuxHostActions!.remove(id), benId);
    const deadline = Date.now() + 10_000;
    while (!keys.some((k) => k.why === 'rekey') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(
      keys.some((k) => k.why === 'rekey'),
      'the host re-keyed',
    );
    await guests[0]!.markerAdvance(500);
    // A link the host hands out now (the host page keys it) passes through nothing of the server either.
    await host.page.evaluate(() => window.pairuxHostActions!.createLink('viewer'));
    await new Promise((r) => setTimeout(r, 500));

    const dump = spawnSync('redis-cli', ['-p', String(redis.port), '--scan'], { encoding: 'utf8' });
    const dumped: string[] = [];
    for (const k of dump.stdout.split('\n').filter(Boolean)) {
      const type = spawnSync('redis-cli', ['-p', String(redis.port), 'type', k], { encoding: 'utf8' }).stdout.trim();
      const read = { string: ['get'], hash: ['hgetall'], set: ['smembers'], zset: ['zrange', '0', '-1', 'withscores'], list: ['lrange', '0', '-1'] }[type] ?? [
        'dump',
      ];
      const [cmd, ...rest] = read;
      dumped.push(k, spawnSync('redis-cli', ['-p', String(redis.port), cmd!, k, ...rest], { encoding: 'utf8' }).stdout);
    }
    const places: Record<string, string> = {
      'the server output': plane.allOutput(),
      'the HTTP request heads': proxy.heads.join('\n'),
      'Redis MONITOR': monitored,
      'the Redis data': dumped.join('\n'),
      "LiveKit's log": livekitLog.join('\n'),
    };
    // Each place saw the session (so an empty recording cannot pass for a clean one).
    assert.match(places['the HTTP request heads']!, /GET \/s\/[^ ]+ HTTP\/1\.1/, 'the guests loaded their link');
    assert.match(places['Redis MONITOR']!, new RegExp(session.sessionId), 'Redis saw the session');
    assert.match(places['the Redis data']!, new RegExp(session.sessionId), 'the session is in Redis');
    assert.match(places["LiveKit's log"]!, new RegExp(session.sessionId), 'LiveKit logged the session’s room');
    assert.match(places['Redis MONITOR']!, /e2ee/, 'the encrypted flag (not the key) is stored');
    assert.ok(keys.length >= 2, `${keys.length} keys made`);
    for (const k of keys)
      for (const form of encodings(k.key))
        for (const [where, text] of Object.entries(places)) assert.ok(!text.includes(form), `the key (as ${form.length} characters) is in ${where}`);
    for (const [where, text] of Object.entries(places)) assert.ok(!/[#&]k=/.test(text), `a link fragment with a key is in ${where}`);
  });
});
