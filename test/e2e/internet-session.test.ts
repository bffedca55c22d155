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
 * candidate pair is a relay, and the picture still arrives. With the host behind a symmetric NAT
 * too, neither side's NAT mapping is any use to the other: the guest sees and drives through the
 * relay alone.
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
import { startInternet, type Internet, type NatKind } from '../support/internet';
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

/** The deployed server, coturn and the demo host on a small internet, with a Chromium per guest. */
interface World {
  net: Internet;
  turn: Coturn;
  server: Kept;
  demo: Kept;
  browsers: Record<string, Browser>;
  proof: string;
  said(): string;
  /** A link the demo printed (`Controller link:` or `Watch in a browser:`). */
  link(label: RegExp): Promise<string>;
  close(): Promise<void>;
}

/** `behind`: the host's NAT and each guest's (the guests get a browser each). */
async function deploy(behind: { host: NatKind } & Record<string, NatKind>, certs: string): Promise<World> {
  const net = await startInternet(behind);
  const parts: Partial<World> = { net, browsers: {} };
  const proof = `/tmp/pairux-nat-${process.pid}-${randomBytes(3).toString('hex')}`;
  const close = async () => {
    for (const b of Object.values(parts.browsers ?? {})) await b.close().catch(() => undefined);
    await stopKept(parts.demo?.child, 'SIGINT');
    await stopKept(parts.server?.child);
    await parts.turn?.stop();
    net.close();
    rmSync(proof, { force: true });
  };
  try {
    const hostKey = randomBytes(18).toString('base64url');
    const url = `https://${net.pub.address}:${PORT}`;
    const turn = (parts.turn = await startCoturn({ address: net.pub.address, port: 3478, argv: net.pub.argv }));
    const tls = makeCert(certs, 'pairux-public', 2, `IP:${net.pub.address}`);
    const server = (parts.server = runKept(net.pub.argv(process.execPath, 'dist/server.js'), {
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
    }));
    await eventually(
      () => (/listening on/.test(server.out()) ? true : undefined),
      () => `the server to listen (it said: ${server.out()})`,
      20_000,
    );
    const demo = (parts.demo = runKept(
      net.machines.host!.argv(process.execPath, 'dist/demo.js', '--server', url, '--virtual', '--allow-control', '--size', `${SCREEN.width}x${SCREEN.height}`),
      { DISPLAY: '', PAIRUX_HOST_KEY: hostKey, PAIRUX_HOST_CONSOLE: '1', NODE_EXTRA_CA_CERTS: tls.cert },
    ));
    for (const name of Object.keys(behind).filter((n) => n !== 'host'))
      parts.browsers![name] = await launchChromium({ executablePath: net.wrapper(net.machines[name]!, findChromium()), args: trustArgs(tls.cert) });
    const said = () => `the demo said:\n${demo.out().slice(-2500)}\nthe server said:\n${server.out().slice(-1500)}`;
    const link = async (label: RegExp) => {
      const found = await eventually(
        () => new RegExp(`${label.source}\\s+(\\S+)`).exec(demo.out())?.[1],
        () => `the demo's links; ${said()}`,
        60_000,
      );
      assert.equal(new URL(found!).origin, url, 'the link names the public server');
      return found!;
    };
    return { net, turn, server, demo, browsers: parts.browsers!, proof, said, link, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Opens `link` in the guest's browser and waits for the host's desktop in its picture. */
async function watch(world: World, guest: string, link: string, name: string): Promise<ViewerPage> {
  const page = await ViewerPage.open(world.browsers[guest]!, link, name);
  await page.waitForState('live', 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${world.said()}`);
  });
  assert.ok(await eventually(() => page.colourAt(640, 700, DESKTOP), `the host's desktop in ${name}'s picture`, 30_000));
  return page;
}

describe('end to end: host and guests behind NATs, the server on the internet (network namespaces)', function () {
  this.timeout(180_000);
  const certs = mkdtempSync(join(tmpdir(), 'pairux-inet-tls-'));
  after(() => rmSync(certs, { recursive: true, force: true }));

  describe('the host behind a cone NAT', () => {
    let world: World;
    before(async () => {
      world = await deploy({ host: 'cone', guest: 'cone', far: 'symmetric' }, certs);
    });
    after(async () => world?.close());

    it('through two cone NATs the guest connects peer-to-peer on the NATs’ addresses, sees the screen, drives, and a typed command runs on the host', async () => {
      const controller = await world.link(/Controller link:/);
      assert.match(world.demo.out(), /The session is on the PairUX server at https:\/\/203\.0\.113\.10:7800/);
      const guest = await watch(world, 'guest', controller, 'Guest behind a NAT');
      const pair = await pairTypes(guest);
      // Neither side's own address is reachable from the other's network: the pair is the NATs' mappings.
      assert.notEqual(pair.local, 'relay', `a direct path, not the relay (pair ${JSON.stringify(pair)})`);
      assert.notEqual(pair.remote, 'relay', `a direct path, not the relay (pair ${JSON.stringify(pair)})`);
      assert.ok(['srflx', 'prflx'].includes(pair.remote), `the host reached at its NAT's address (pair ${JSON.stringify(pair)})`);
      // Over HTTPS the page is a secure context: WebCodecs, so direct video.
      assert.equal(await guest.page.evaluate(() => window.isSecureContext), true);
      assert.equal((await guest.stats()).path, 'direct', 'a Chromium guest on a secure page gets direct video');

      await typeIntoHostTerminal(guest, SCREEN, world.proof, 'nat-ok', world.said);
      await guest.close();
    });

    it('behind a symmetric NAT the guest is connected through the TURN relay, and the picture arrives', async () => {
      const far = await watch(world, 'far', await world.link(/Watch in a browser:/), 'Guest behind a symmetric NAT');
      const pair = await pairTypes(far);
      assert.ok(pair.local === 'relay' || pair.remote === 'relay', `the selected pair goes through the relay (pair ${JSON.stringify(pair)})`);
      // coturn relayed it: an allocation from the symmetric NAT's public address.
      assert.ok(
        world.turn.log().includes(world.net.machines.far!.publicAddress),
        `coturn saw the far guest (${world.net.machines.far!.publicAddress}); its log:\n${world.turn.log().slice(-3000)}`,
      );
      await far.close();
    });

    it('ending the demo ends the session on the deployed server', async () => {
      await stopKept(world.demo.child, 'SIGINT');
      assert.match(world.demo.out(), /session ended; bye/);
      assert.doesNotMatch(world.demo.out(), /could not end the session/);
    });
  });

  describe('host and guest both behind symmetric NATs', () => {
    let world: World;
    before(async () => {
      world = await deploy({ host: 'symmetric', guest: 'symmetric' }, certs);
    });
    after(async () => world?.close());

    it('only the relay joins them: the guest sees the screen and drives through TURN, and coturn relayed for both NATs', async () => {
      const guest = await watch(world, 'guest', await world.link(/Controller link:/), 'Guest behind a symmetric NAT');
      const pair = await pairTypes(guest);
      assert.ok(pair.local === 'relay' || pair.remote === 'relay', `the selected pair goes through the relay (pair ${JSON.stringify(pair)})`);
      await typeIntoHostTerminal(guest, SCREEN, world.proof, 'relay-ok', world.said);
      const log = world.turn.log();
      for (const side of ['host', 'guest'])
        assert.ok(
          log.includes(world.net.machines[side]!.publicAddress),
          `coturn saw the ${side}'s NAT (${world.net.machines[side]!.publicAddress}); its log:\n${log.slice(-3000)}`,
        );
      await guest.close();
    });
  });
});
