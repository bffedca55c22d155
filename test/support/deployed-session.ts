/**
 * A PairUX deployment on the namespaced internet (test/support/internet.ts), as deploy/README.md
 * describes one: on the public machine the control plane serving HTTPS and WSS itself (a test
 * certificate every client is told to trust, as a company CA would be), a host key and coturn
 * with a TURN secret; `npm run demo -- --server …` as the host behind its NAT (its own Xvfb,
 * helper, runner and headless host page); a Chromium per guest machine asked for.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { findChromium, launchChromium, trustArgs } from '../../demo/chromium';
import { ViewerPage } from './browser-viewer';
import { makeCert } from './certs';
import { DESKTOP, runKept, stopKept, type Kept } from './demo-machines';
import { startCoturn, type Coturn } from './coturn';
import { startInternet, type Internet, type NatKind } from './internet';
import { eventually } from './livekit';
import { TEST_PAGES } from './test-pages';

export const SCREEN = { width: 1280, height: 720 };
const PORT = 7800;

/** The deployed server, coturn and the demo host on a small internet, with a Chromium per guest. */
export interface World {
  net: Internet;
  turn: Coturn;
  server: Kept;
  demo: Kept;
  browsers: Record<string, Browser>;
  /** The server certificate's PEM: what a client on another machine must trust. */
  trustFile: string;
  proof: string;
  said(): string;
  /** A link the demo printed (`Controller link:` or `Watch in a browser:`). */
  link(label: RegExp): Promise<string>;
  close(): Promise<void>;
}

/**
 * `behind`: the host's NAT and each guest machine's; `browsers`: the guest machines that get a
 * Chromium (default: all). `certs`: a directory for the certificate.
 */
export async function deploy(behind: { host: NatKind } & Record<string, NatKind>, certs: string, browsers?: string[]): Promise<World> {
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
    for (const name of browsers ?? Object.keys(behind).filter((n) => n !== 'host'))
      parts.browsers![name] = await launchChromium({ executablePath: net.wrapper(net.machines[name]!, findChromium()), args: trustArgs(tls.cert) });
    const said = () => `the demo said:\n${demo.out().slice(-2500)}\nthe server said:\n${server.out().slice(-1500)}`;
    const link = async (label: RegExp) => {
      const found = await eventually(
        () => new RegExp(`${label.source}\\s+(\\S+)`).exec(demo.out())?.[1],
        () => `the demo's links; ${said()}`,
        60_000,
      );
      // An editor link (vscode://) wraps a share link: the test checks the one inside.
      if (/^https?:/.test(found!)) assert.equal(new URL(found!).origin, url, 'the link names the public server');
      return found!;
    };
    return { net, turn, server, demo, browsers: parts.browsers!, trustFile: tls.cert, proof, said, link, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Opens `link` in the guest's browser and waits for the host's desktop in its picture. */
export async function watch(world: World, guest: string, link: string, name: string): Promise<ViewerPage> {
  const page = await ViewerPage.open(world.browsers[guest]!, link, name);
  await page.waitForState('live', 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${world.said()}`);
  });
  assert.ok(await eventually(() => page.colourAt(640, 700, DESKTOP), `the host's desktop in ${name}'s picture`, 30_000));
  return page;
}
