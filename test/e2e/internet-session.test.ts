/**
 * Host and guests on three different networks, each behind its own NAT, and the server on the
 * internet between them (test/support/internet.ts builds it in network namespaces):
 *
 *   public 203.0.113.10: the deployed control plane (`dist/server.js` serving HTTPS and WSS itself,
 *          host key, TURN secret) and coturn
 *   host   192.168.1.2 behind a cone NAT (203.0.113.20): `npm run demo -- --server …` (its own Xvfb,
 *          helper, runner and headless host page)
 *   guest  192.168.2.2 behind a cone NAT: Chromium, the controller link
 *   far    192.168.3.2 behind a symmetric NAT: Chromium, the viewer link
 *
 * Through two cone NATs the media goes peer-to-peer on the addresses the NATs gave (server-
 * reflexive candidates), and the guest drives the host's terminal. Behind the symmetric NAT the
 * address coturn saw is useless to the host, so only the relay connects them: the selected
 * candidate pair is a relay, and the picture still arrives.
 *
 * The server's certificate is a test one that the browsers and the demo are told to trust
 * (Chromium's SPKI list, NODE_EXTRA_CA_CERTS), as a company CA would be: links are https://, the
 * signaling wss://, and the viewer page is a secure context, so a Chromium guest gets direct video
 * (WebCodecs), which plain HTTP on a network address does not allow.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { findChromium, launchChromium, trustArgs } from '../../demo/chromium';
import { ViewerPage } from '../support/browser-viewer';
import { makeCert } from '../support/certs';
import { DESKTOP, runKept, stopKept, typeIntoHostTerminal, type Kept } from '../support/demo-machines';
import { startCoturn, type Coturn } from '../support/coturn';
import { startInternet, type Internet } from '../support/internet';
import { eventually } from '../support/livekit';
import { TEST_PAGES } from '../support/test-pages';

const SCREEN = { width: 1280, height: 720 };
const PORT = 7800;

/** The selected candidate pair's types, once the viewer's connection has one. */
async function pairTypes(viewer: ViewerPage): Promise<{ local: string; remote: string }> {
  return (await eventually(
    async () => {
      const s = await viewer.stats();
      return s.localCandidateType && s.remoteCandidateType ? { local: s.localCandidateType, remote: s.remoteCandidateType } : undefined;
    },
    "the viewer's selected candidate pair",
    20_000,
  ))!;
}

describe('end to end: host and guests behind NATs, the server on the internet (network namespaces)', function () {
  this.timeout(180_000);
  let net: Internet;
  let turn: Coturn;
  let server: Kept | undefined;
  let demo: Kept | undefined;
  const browsers: Browser[] = [];
  const proof = `/tmp/pairux-nat-${process.pid}`;
  const hostKey = randomBytes(18).toString('base64url');
  const url = `https://203.0.113.10:${PORT}`;
  const certs = mkdtempSync(join(tmpdir(), 'pairux-inet-tls-'));

  before(async () => {
    net = startInternet({ host: 'cone', guest: 'cone', far: 'symmetric' });
    turn = await startCoturn({ address: net.pub.address, port: 3478, argv: net.pub.argv });
    const tls = makeCert(certs, 'pairux-public', 2, `IP:${net.pub.address}`);
    server = runKept(net.pub.argv(process.execPath, 'dist/server.js'), {
      PAIRUX_HOST: net.pub.address,
      PAIRUX_PORT: String(PORT),
      PAIRUX_PUBLIC_URL: url,
      PAIRUX_HOST_KEY: hostKey,
      PAIRUX_TLS_CERT: tls.cert,
      PAIRUX_TLS_KEY: tls.key,
      PAIRUX_TURN_URLS: turn.url,
      PAIRUX_TURN_SECRET: turn.secret,
      // The pages with their test hooks: the viewers' stats name the candidate pair.
      PAIRUX_PAGES_DIR: TEST_PAGES.webviewDist,
    });
    await eventually(
      () => (/listening on/.test(server!.out()) ? true : undefined),
      () => `the server to listen (it said: ${server!.out()})`,
      20_000,
    );
    demo = runKept(
      net.machines.host!.argv(process.execPath, 'dist/demo.js', '--server', url, '--virtual', '--allow-control', '--size', `${SCREEN.width}x${SCREEN.height}`),
      { DISPLAY: '', PAIRUX_HOST_KEY: hostKey, PAIRUX_HOST_CONSOLE: '1', NODE_EXTRA_CA_CERTS: tls.cert },
    );
    for (const name of ['guest', 'far'] as const)
      browsers.push(await launchChromium({ executablePath: net.wrapper(net.machines[name]!, findChromium()), args: trustArgs(tls.cert) }));
  });
  after(async () => {
    for (const b of browsers) await b.close().catch(() => undefined);
    await stopKept(demo?.child, 'SIGINT');
    await stopKept(server?.child);
    await turn?.stop();
    net?.close();
    rmSync(proof, { force: true });
    rmSync(certs, { recursive: true, force: true });
  });

  const said = () => `the demo said:\n${demo?.out().slice(-2500)}\nthe server said:\n${server?.out().slice(-1500)}`;

  it('through two cone NATs the guest connects peer-to-peer on the NATs’ addresses, sees the screen, drives, and a typed command runs on the host', async () => {
    const controller = (await eventually(
      () => /Controller link:\s+(\S+)/.exec(demo!.out())?.[1],
      () => `the demo's links; ${said()}`,
      60_000,
    ))!;
    assert.equal(new URL(controller).origin, url, 'the link names the public server');
    assert.match(demo!.out(), /The session is on the PairUX server at https:\/\/203\.0\.113\.10:7800/);

    const guest = await ViewerPage.open(browsers[0]!, controller, 'Guest behind a NAT');
    await guest.waitForState('live', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${said()}`);
    });
    assert.ok(await eventually(() => guest.colourAt(640, 700, DESKTOP), "the host's desktop in the guest's picture", 30_000));
    const pair = await pairTypes(guest);
    // Neither side's own address is reachable from the other's network: the pair is the NATs' mappings.
    assert.notEqual(pair.local, 'relay', `a direct path, not the relay (pair ${JSON.stringify(pair)})`);
    assert.notEqual(pair.remote, 'relay', `a direct path, not the relay (pair ${JSON.stringify(pair)})`);
    assert.ok(['srflx', 'prflx'].includes(pair.remote), `the host reached at its NAT's address (pair ${JSON.stringify(pair)})`);
    // Over HTTPS the page is a secure context: WebCodecs, so direct video.
    assert.equal(await guest.page.evaluate(() => window.isSecureContext), true);
    assert.equal((await guest.stats()).path, 'direct', 'a Chromium guest on a secure page gets direct video');

    await typeIntoHostTerminal(guest, SCREEN, proof, 'nat-ok', said);
    await guest.close();
  });

  it('behind a symmetric NAT the guest is connected through the TURN relay, and the picture arrives', async () => {
    const viewerLink = (await eventually(
      () => /Watch in a browser:\s+(\S+)/.exec(demo!.out())?.[1],
      () => `the demo's links; ${said()}`,
      60_000,
    ))!;
    const far = await ViewerPage.open(browsers[1]!, viewerLink, 'Guest behind a symmetric NAT');
    await far.waitForState('live', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${said()}`);
    });
    assert.ok(await eventually(() => far.colourAt(640, 700, DESKTOP), "the host's desktop in the far guest's picture", 30_000));
    const pair = await pairTypes(far);
    assert.ok(pair.local === 'relay' || pair.remote === 'relay', `the selected pair goes through the relay (pair ${JSON.stringify(pair)})`);
    // coturn relayed it: an allocation from the symmetric NAT's public address.
    assert.ok(
      turn.log().includes(net.machines.far!.publicAddress),
      `coturn saw the far guest (${net.machines.far!.publicAddress}); its log:\n${turn.log().slice(-3000)}`,
    );
    await far.close();
  });

  it('ending the demo ends the session on the deployed server', async () => {
    await stopKept(demo?.child, 'SIGINT');
    assert.match(demo!.out(), /session ended; bye/);
    assert.doesNotMatch(demo!.out(), /could not end the session/);
  });
});
