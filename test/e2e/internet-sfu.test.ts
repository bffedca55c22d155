/**
 * SFU mode across the namespaced internet (test/support/internet.ts), deployed as deploy/README.md
 * says: on the public machine, Caddy (real, `tls internal`) in front of the control plane
 * (https://203.0.113.10) and of LiveKit's signaling (wss://203.0.113.10:7443), LiveKit's media on
 * the public address; the host (`npm run demo -- --server … --mode sfu`) behind a cone NAT, one
 * guest behind a cone NAT and one behind a symmetric NAT. A public SFU needs no relay: both guests
 * reach LiveKit's own address from whatever port their NAT gives them, see the host's screen, and
 * the driving guest's keys land on the host through LiveKit's data channel.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { findChromium, launchChromium, trustArgs } from '../../demo/chromium';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import { ViewerPage } from '../support/browser-viewer';
import { startCaddy, type Caddy } from '../support/caddy';
import { DESKTOP, runKept, stopKept, typeIntoHostTerminal, type Kept } from '../support/demo-machines';
import { startInternet, type Internet } from '../support/internet';
import { eventually } from '../support/livekit';
import { TEST_PAGES } from '../support/test-pages';

const SCREEN = { width: 1280, height: 720 };
/** The control plane behind Caddy, on the public machine's loopback. */
const PLANE_PORT = 8443;

describe('end to end: SFU mode across NATs, the deployment behind Caddy (network namespaces)', function () {
  this.timeout(180_000);
  let net: Internet;
  let livekit: LocalLiveKit;
  let caddy: Caddy;
  let server: Kept | undefined;
  let demo: Kept | undefined;
  const browsers: Browser[] = [];
  const proof = `/tmp/pairux-sfu-nat-${process.pid}`;
  const hostKey = randomBytes(18).toString('base64url');

  before(async () => {
    net = await startInternet({ host: 'cone', guest: 'cone', far: 'symmetric' }, { operator: true });
    const pub = net.pub.address;
    livekit = await startLocalLiveKit({
      node: { address: pub, argv: net.pub.argv },
      webhookUrl: `http://127.0.0.1:${PLANE_PORT}/livekit/webhook`,
      logLevel: 'warn',
    });
    caddy = await startCaddy(
      [
        { address: `https://${pub}:443`, upstream: `127.0.0.1:${PLANE_PORT}` },
        { address: `https://${pub}:7443`, upstream: `127.0.0.1:${livekit.ports.signal}` },
      ],
      net.pub.argv,
    );
    server = runKept(net.pub.argv(process.execPath, 'dist/server.js'), {
      PAIRUX_HOST: '127.0.0.1',
      PAIRUX_PORT: String(PLANE_PORT),
      PAIRUX_PUBLIC_URL: `https://${pub}`,
      PAIRUX_TRUST_PROXY: 'true',
      PAIRUX_HOST_KEY: hostKey,
      PAIRUX_LIVEKIT_URL: `http://127.0.0.1:${livekit.ports.signal}`,
      PAIRUX_LIVEKIT_PUBLIC_URL: `wss://${pub}:7443`,
      PAIRUX_LIVEKIT_API_KEY: livekit.apiKey,
      PAIRUX_LIVEKIT_API_SECRET: livekit.apiSecret,
      PAIRUX_PAGES_DIR: TEST_PAGES.webviewDist,
    });
    await eventually(
      () => (/listening on/.test(server!.out()) ? true : undefined),
      () => `the server to listen (it said: ${server!.out()})`,
      20_000,
    );
    demo = runKept(
      net.machines.host!.argv(
        process.execPath,
        'dist/demo.js',
        '--server',
        `https://${pub}`,
        '--mode',
        'sfu',
        '--virtual',
        '--allow-control',
        '--size',
        `${SCREEN.width}x${SCREEN.height}`,
      ),
      { DISPLAY: '', PAIRUX_HOST_KEY: hostKey, PAIRUX_HOST_CONSOLE: '1', NODE_EXTRA_CA_CERTS: caddy.trustFile },
    );
    for (const name of ['guest', 'far'] as const)
      browsers.push(await launchChromium({ executablePath: net.wrapper(net.machines[name]!, findChromium()), args: trustArgs(caddy.trustFile) }));
  });
  after(async () => {
    for (const b of browsers) await b.close().catch(() => undefined);
    await stopKept(demo?.child, 'SIGINT');
    await stopKept(server?.child);
    await caddy?.stop();
    await livekit?.stop();
    net?.close();
    rmSync(proof, { force: true });
  });

  const said = () => `the demo said:\n${demo?.out().slice(-2500)}\nthe server said:\n${server?.out().slice(-1500)}\ncaddy said:\n${caddy?.log().slice(-800)}`;

  async function open(browser: Browser, link: 'Controller link' | 'Watch in a browser', name: string): Promise<ViewerPage> {
    const url = (await eventually(
      () => new RegExp(`${link}:\\s+(\\S+)`).exec(demo!.out())?.[1],
      () => `the demo's links; ${said()}`,
      90_000,
    ))!;
    assert.equal(new URL(url).origin, `https://${net.pub.address}`, 'the link is the deployment behind Caddy');
    const viewer = await ViewerPage.open(browser, url, name);
    await viewer.waitForState('live', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${said()}`);
    });
    assert.ok(await eventually(() => viewer.colourAt(640, 700, DESKTOP), `the host's desktop in ${name}'s picture`, 30_000));
    // The NAT's mapping on the guest's side, LiveKit's own public address on the other: no relay.
    const pair = (await eventually(
      async () => {
        const s = await viewer.stats();
        return s.localCandidateType && s.remoteCandidateType ? `${s.localCandidateType}/${s.remoteCandidateType}` : undefined;
      },
      `${name}'s selected candidate pair`,
      20_000,
    ))!;
    assert.match(pair, /^(srflx|prflx)\/host$/, `a direct path to the SFU's public address (pair ${pair})`);
    return viewer;
  }

  it('a guest behind a cone NAT watches through LiveKit, drives, and a typed command runs on the host', async () => {
    const guest = await open(browsers[0]!, 'Controller link', 'Guest behind a NAT');
    await typeIntoHostTerminal(guest, SCREEN, proof, 'sfu-nat-ok', said);
    await guest.close();
  });

  it('a guest behind a symmetric NAT watches through LiveKit too, without TURN', async () => {
    const far = await open(browsers[1]!, 'Watch in a browser', 'Guest behind a symmetric NAT');
    await far.close();
  });
});
