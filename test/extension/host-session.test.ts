/**
 * A hosted session without an editor: the embedded server, the real helper on a real X screen,
 * and the failures a host can meet (no display, an unreachable deployed server, bad settings),
 * each answered with words that say what to do.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { SessionPreview } from '../../protocol/http-api';
import { HostSession, TAKE_OVER_WITHOUT_KEY_MESSAGE } from '../../extension/core/host-session';
import { fetchWithRetry } from '../../extension/core/remote-server';
import { QUALITY, readHostSettings, type HostSettings } from '../../extension/core/settings';
import { formatShareLink, parseShareLink } from '../../protocol/share-link';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { ShellE2eeKey, ShellReady, ShellStatus, webviewShellBoundary } from '../../protocol/webview-shell';
import { DEFAULT_ROLE_TIERS, DEFAULT_TIERS, mergeTiers } from '../../protocol/tiers';
import { JoinTokens } from '../../server/join-tokens';
import { WebviewPort } from '../../extension/core/webview-port';
import { startXvfb, type Xvfb } from '../helper/support/xvfb';
import { startLocalLiveKit } from '../../demo/livekit-server';
import { eventually } from '../support/livekit';

function settings(over: Partial<HostSettings> = {}): HostSettings {
  return {
    mode: 'p2p',
    serverUrl: '',
    hostKey: undefined,
    embeddedPort: 0,
    fps: 15,
    ...QUALITY.text,
    maxKbps: 0,
    display: '',
    region: undefined,
    allowControlRequests: true,
    linkTtlMinutes: 60,
    hostName: 'Ada',
    sessionName: "Ada's session",
    sfuRegion: undefined,
    livekit: undefined,
    ...over,
  };
}

const quietUi = { askControl: async () => ({ allow: false, reason: 'denied' as const }), progress: () => undefined };

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof PairuxError && err.code === code && pattern.test(err.message));
}

describe('extension: hosting without an editor', function () {
  this.timeout(30_000);
  let x: Xvfb | undefined;
  afterEach(async () => {
    await x?.stop();
    x = undefined;
  });

  it('starts the embedded server and the helper on the chosen display; the share links lead to it', async () => {
    x = await startXvfb(800, 600);
    const steps: string[] = [];
    const session = new HostSession(settings({ display: x.display }), { ...quietUi, progress: (s) => steps.push(s) });
    const status = await session.start();
    try {
      assert.deepEqual([status.screen.width, status.screen.height, status.screen.display], [800, 600, x.display]);
      assert.ok(steps.includes('starting the embedded server…') && steps.includes('starting screen capture…'), steps.join(' / '));
      const link = parseShareLink(status.links!.controller.url);
      assert.match(link.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${link.origin}/api/preview`, { headers: { authorization: `Bearer ${link.token}` } });
      const preview = SessionPreview.parse(await res.json());
      assert.deepEqual([preview.name, preview.role, preview.hostConnected], ["Ada's session", 'controller', false]);
    } finally {
      await session.end();
    }
    await assert.rejects(fetch(`${parseShareLink(status.links!.viewer.url).origin}/healthz`), 'the embedded server stops with the session');
  });

  it('hosts an SFU session on the LiveKit from the settings, and says P2P would work when LiveKit does not answer', async function () {
    this.timeout(120_000);
    x = await startXvfb(640, 480);
    const lk = await startLocalLiveKit();
    try {
      const session = new HostSession(
        settings({ display: x.display, mode: 'sfu', livekit: { url: lk.url, apiKey: lk.apiKey, apiSecret: lk.apiSecret } }),
        quietUi,
      );
      const status = await session.start();
      try {
        assert.equal(status.sfuUrl, lk.url);
        const link = parseShareLink(status.links!.viewer.url);
        const preview = SessionPreview.parse(await (await fetch(`${link.origin}/api/preview`, { headers: { authorization: `Bearer ${link.token}` } })).json());
        assert.equal(preview.mode, 'sfu');
      } finally {
        await session.end();
      }
    } finally {
      await lk.stop();
    }
    const gone = new HostSession(settings({ display: x.display, mode: 'sfu', livekit: { url: lk.url, apiKey: lk.apiKey, apiSecret: lk.apiSecret } }), quietUi);
    await assert.rejects(
      gone.start(),
      (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.Unavailable && err.data?.mode === 'p2p' && /P2P/.test(err.message),
    );
  });

  it('an encrypted session: the server is told so, no link exists until the host page gives the key, and then every link carries the latest one', async () => {
    x = await startXvfb(640, 480);
    const KEY = 'q0dJ3kTzWw5x_Yv-8bN2mL4pR6sU9cE1fH7jK0aZ3oQ';
    const NEXT = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGw';
    const session = new HostSession(settings({ display: x.display, mode: 'auto', e2ee: true }), quietUi);
    const lines: string[] = [];
    session.on('log', (l) => lines.push(l.line));
    const status = await session.start();
    try {
      assert.equal(status.links, undefined, 'no link before the key');
      assert.deepEqual(status.e2ee, { safetyCode: undefined, gen: 0 });
      // The host page, as the webview would speak to the extension.
      let page!: RpcEndpoint;
      const port = new WebviewPort({ post: (m) => (page.receive((m as { text: string }).text), Promise.resolve(true)) }, () => undefined);
      page = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => port.receive({ ch: 'shell', text }) });
      session.attachPage(port);
      await assert.rejects(
        session.whenKeyed(200),
        (err: unknown) => err instanceof PairuxError && /did not make the session's end-to-end encryption key/.test(err.message),
      );
      const keyed = session.whenKeyed(5000);
      page.notify(ShellE2eeKey, { gen: 0, key: KEY, safetyCode: '123 456 789', why: 'start' });
      await keyed;
      const links = session.status!.links!;
      const link = parseShareLink(links.controller.url);
      assert.deepEqual([link.key, parseShareLink(links.viewer.url).key], [KEY, KEY]);
      assert.deepEqual(session.status!.e2ee, { safetyCode: '123 456 789', gen: 0 });
      const preview = SessionPreview.parse(await (await fetch(`${link.origin}/api/preview`, { headers: { authorization: `Bearer ${link.token}` } })).json());
      assert.equal(preview.e2ee, true, 'the server knows the session is encrypted (and nothing of its key)');
      // A re-key after a guest left: Copy Share Link gives links with the new key.
      const changed: string[] = [];
      session.on('keyChanged', (k) => changed.push(`${k.why} ${k.gen}`));
      page.notify(ShellE2eeKey, { gen: 1, key: NEXT, safetyCode: '987 654 321', why: 'rekey' });
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(changed, ['rekey 1']);
      const after = parseShareLink(session.status!.links!.viewer.url);
      assert.deepEqual([after.key, after.keyGen, after.token], [NEXT, 1, parseShareLink(links.viewer.url).token]);
      assert.ok(
        lines.some((l) => l.includes('safety code 987 654 321')),
        lines.join('\n'),
      );
      assert.ok(!lines.some((l) => l.includes(KEY) || l.includes(NEXT)), 'a key reached the log');
    } finally {
      await session.end();
    }
  });

  it('host transfer in an encrypted session: the new host page boots with the key schedule the guest page held, and without one nothing starts', async () => {
    const OLD = 'q0dJ3kTzWw5x_Yv-8bN2mL4pR6sU9cE1fH7jK0aZ3oQ';
    const HELD = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGw';
    const token = (await new JoinTokens('a-test-secret-that-is-long-enough-32').issue('sess1', 'controller', 600)).token;
    // The guest's own link, keyed as it was handed out (generation 0): the session has moved on since.
    const guestLink = formatShareLink('http://127.0.0.1:7420', 'sess1', token, OLD, 0);
    const joined = { sessionId: 'sess1', token, signalingUrl: 'ws://127.0.0.1:7420/ws', resume: () => undefined, link: guestLink };
    // No schedule: refused before anything starts (no display is set, so a start would say that instead).
    await rejectsWith(new HostSession(settings({ e2ee: true }), quietUi).takeOver(joined), ErrorCode.Unavailable, /did not hand over its key/);
    assert.match(TAKE_OVER_WITHOUT_KEY_MESSAGE, /a key of its own would show your guests nothing/);

    x = await startXvfb(640, 480);
    const session = new HostSession(settings({ display: x.display, e2ee: true }), quietUi);
    const lines: string[] = [];
    session.on('log', (l) => lines.push(l.line));
    const status = await session.takeOver({ ...joined, mediaKey: { key: HELD, gen: 5 } });
    try {
      assert.equal(status.links, undefined, 'no link before the host page reports the key it continues');
      let page!: RpcEndpoint;
      const port = new WebviewPort({ post: (m) => (page.receive((m as { text: string }).text), Promise.resolve(true)) }, () => undefined);
      page = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => port.receive({ ch: 'shell', text }) });
      session.attachPage(port);
      const boot = await page.request(ShellReady, { page: 'host', origin: 'vscode-webview://x' });
      assert.ok(boot.page === 'host');
      assert.deepEqual(boot.mediaKey, { key: HELD, gen: 5 }, 'the host page continues the schedule every guest holds');
      // The page reports the key it continues: links carry it at its generation, the safety code the guests already see.
      page.notify(ShellE2eeKey, { gen: 5, key: HELD, safetyCode: '123 456 789', why: 'start' });
      await session.whenKeyed(5000);
      const link = parseShareLink(session.status!.links!.controller.url);
      assert.deepEqual([link.key, link.keyGen, link.token], [HELD, 5, token]);
      assert.deepEqual(session.status!.e2ee, { safetyCode: '123 456 789', gen: 5 });
      assert.ok(!lines.some((l) => l.includes(HELD) || l.includes(OLD)), 'a key reached the log');
    } finally {
      await session.end();
    }
  });

  it('a plain session taken over boots its host page with no key, whatever it was handed', async () => {
    x = await startXvfb(640, 480);
    const session = new HostSession(settings({ display: x.display }), quietUi);
    await session.takeOver({
      sessionId: 'sess1',
      token: 't',
      signalingUrl: 'ws://127.0.0.1:7420/ws',
      resume: () => undefined,
      link: formatShareLink('http://127.0.0.1:7420', 'sess1', 't'),
      mediaKey: { key: 'q0dJ3kTzWw5x_Yv-8bN2mL4pR6sU9cE1fH7jK0aZ3oQ', gen: 1 },
    });
    try {
      let page!: RpcEndpoint;
      const port = new WebviewPort({ post: (m) => (page.receive((m as { text: string }).text), Promise.resolve(true)) }, () => undefined);
      page = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => port.receive({ ch: 'shell', text }) });
      session.attachPage(port);
      const boot = await page.request(ShellReady, { page: 'host', origin: 'vscode-webview://x' });
      assert.ok(boot.page === 'host' && boot.mediaKey === undefined);
      // No creation response here: the session's tiers come from what the host page heard at its join.
      assert.equal(session.status?.tiers, undefined);
      const tiers = { table: mergeTiers(DEFAULT_TIERS, { low: { maxKbps: 300 } }), roles: DEFAULT_ROLE_TIERS };
      page.notify(ShellStatus, { state: 'live', message: '', participants: [], driverId: null, tiers });
      const heard = await eventually(() => session.status?.tiers, "the page's tiers in the status", 5000);
      assert.equal(heard?.table.low.maxKbps, 300);
    } finally {
      await session.end();
    }
  });

  it('says how to fix a missing X display instead of sharing nothing', async () => {
    await rejectsWith(new HostSession(settings({ display: '' }), quietUi).start(), ErrorCode.Unavailable, /no X display.*pairux\.capture\.display/);
    await rejectsWith(
      new HostSession(settings({ display: ':87' }), quietUi).start(),
      ErrorCode.Unavailable,
      /capture is not possible here.*pairux\.capture\.display/s,
    );
  });

  it('retries an unreachable deployed server, reporting each attempt, then says what to check', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const lines: string[] = [];
    const policy = { attempts: 3, delaysMs: [20], timeoutMs: 500 };
    await rejectsWith(
      fetchWithRetry(`http://127.0.0.1:${closed}/api/sessions`, {}, (l) => lines.push(l), policy),
      ErrorCode.Unavailable,
      /cannot be reached \(connection refused\) after 3 attempts/,
    );
    assert.deepEqual(
      lines.map((l) => l.replace(/\d+/g, 'N')),
      ['contacting N.N.N.N:N…', 'contacting N.N.N.N:N… (attempt N of N: connection refused)', 'contacting N.N.N.N:N… (attempt N of N: connection refused)'],
    );
  });

  it('on the local network: the embedded server listens on the proposed address, the links and the status say so, and its host key guards it', async () => {
    x = await startXvfb(800, 600);
    // 127.0.0.2 stands in for a network card's address: a loopback alias this test may use.
    const card = { address: '127.0.0.2', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '02:00:00:00:00:01', internal: false, cidr: '127.0.0.2/8' };
    const interfaces = () => ({ lo: [{ ...card, address: '127.0.0.1', internal: true }], eth7: [card] });
    const logs: string[] = [];
    const steps: string[] = [];
    const key = 'k'.repeat(32);
    const session = new HostSession(
      settings({ display: x.display, network: 'local-network', embeddedHostKey: key }),
      { ...quietUi, progress: (p) => steps.push(p) },
      interfaces,
    );
    session.on('log', (l) => logs.push(l.line));
    const status = await session.start();
    try {
      const origin = parseShareLink(status.links!.controller.url).origin;
      assert.match(origin, /^http:\/\/127\.0\.0\.2:\d+$/);
      assert.deepEqual(status.reach, { address: '127.0.0.2', network: '127.0.0.0/8', interface: 'eth7' });
      assert.ok(steps.includes('starting the embedded server for your network (127.0.0.2, eth7)…'), steps.join(' / '));
      assert.ok(
        logs.some((l) => l === `Guests on your network 127.0.0.0/8 (eth7) connect at ${origin}.`),
        logs.join('\n'),
      );
      // Someone else on the network cannot create sessions on it; the host key can.
      const body = JSON.stringify({ mode: 'p2p', name: 'intruder' });
      const headers = { 'content-type': 'application/json' };
      assert.equal((await fetch(`${origin}/api/sessions`, { method: 'POST', headers, body })).status, 401);
      assert.equal((await fetch(`${origin}/api/sessions`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${key}` }, body })).status, 201);
    } finally {
      await session.end();
    }
  });

  it('on the local network with an address this computer does not have: says which it has, and starts nothing', async () => {
    x = await startXvfb(800, 600);
    const interfaces = () => ({
      eth0: [{ address: '10.1.2.3', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '02:00:00:00:00:02', internal: false, cidr: '10.1.2.3/24' }],
    });
    const session = new HostSession(settings({ display: x.display, network: 'local-network', networkAddress: '192.168.9.9' }), quietUi, interfaces);
    await rejectsWith(
      session.start(),
      'UNAVAILABLE',
      /“pairux\.server\.address” is 192\.168\.9\.9, which is not an address of this computer \(it has 10\.1\.2\.3 \(eth0\)\)/,
    );
    const lonely = new HostSession(settings({ display: x.display, network: 'local-network' }), quietUi, () => ({}));
    await rejectsWith(lonely.start(), 'UNAVAILABLE', /on no network/);
  });

  it('reads settings with their defaults and names every bad one', () => {
    const s = readHostSettings(() => undefined, { mode: 'auto', hostKey: undefined, env: { DISPLAY: ':5' }, userName: 'ada' });
    assert.deepEqual([s.mode, s.fps, s.codec, s.display, s.linkTtlMinutes, s.hostName, s.region], ['auto', 30, 'av1', ':5', 1440, 'ada', undefined]);
    assert.equal(s.sfuRegion, undefined);
    const values: Record<string, unknown> = {
      'capture.fps': 0,
      'capture.quality': 'ultra',
      'capture.region': '1,2,3',
      'server.url': 'pairux.example.com',
      'links.expiryMinutes': 1.5,
      'session.region': 'EU West',
      'server.network': 'internet',
      'server.address': 'my-laptop',
    };
    assert.throws(
      () => readHostSettings((k) => values[k], { mode: 'p2p', hostKey: undefined, env: {}, userName: 'ada' }),
      (err: Error) =>
        ['capture.fps', 'capture.quality', 'capture.region', 'server.url', 'links.expiryMinutes', 'session.region', 'server.network', 'server.address'].every(
          (k) => err.message.includes(`pairux.${k}`),
        ),
    );
    assert.equal(readHostSettings((k) => ({ 'session.region': 'eu' })[k], { mode: 'auto', hostKey: undefined, env: {}, userName: '' }).sfuRegion, 'eu');
    const region = readHostSettings((k) => ({ 'capture.region': '1920, 0, 1920, 1080', 'capture.quality': 'motion' })[k], {
      mode: 'p2p',
      hostKey: undefined,
      env: {},
      userName: '',
    });
    assert.deepEqual(region.region, { x: 1920, y: 0, width: 1920, height: 1080 });
    assert.equal(region.contentHint, 'motion');
  });
});
