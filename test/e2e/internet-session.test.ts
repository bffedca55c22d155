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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ViewerPage } from '../support/browser-viewer';
import { deploy, SCREEN, watch, type World } from '../support/deployed-session';
import { stopKept, typeIntoHostTerminal } from '../support/demo-machines';
import { eventually } from '../support/livekit';

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
