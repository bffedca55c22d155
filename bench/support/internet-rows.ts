/**
 * bench:latency's internet rows (issue 14): the generated screen, frame grabbed → presented,
 * across the namespaced internet of test/support/internet.ts with each access link shaped (the
 * delay line standing in for netem, which this kernel lacks), beside a bare-WebRTC floor over the
 * same links.
 *
 *   public 203.0.113.10: Caddy (`tls internal`) in front of the control plane, of LiveKit's
 *          signaling and of the bench pages; coturn; a LiveKit node on the public address
 *   host   behind a cone NAT: the host page in its own Chromium
 *   guest  behind a cone NAT: P2P direct (server-reflexive) and SFU viewers
 *   far    behind a symmetric NAT: the P2P viewer only TURN can connect
 *   this process (203.0.113.2): the control plane, the bench pages
 *
 * A condition "20 ms one way, 1 % loss" gives every access link half of each (10 ms, 0.5 % each
 * way), so any path between two private machines, direct or through the public machine, crosses
 * two links: 20 ms and about 1 %. The floors: sender page on the host machine, receiver on the
 * guest's (direct) or the far one's (through coturn), the bench carrying offer and answer.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { findChromium, launchChromium, trustArgs } from '../../demo/chromium';
import { startHeadlessHost } from '../../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { turnCredentials } from '../../server/turn-credentials';
import { ViewerPage } from '../../test/support/browser-viewer';
import { startCaddy, type Caddy } from '../../test/support/caddy';
import { startCoturn, type Coturn } from '../../test/support/coturn';
import { startInternet, type Internet } from '../../test/support/internet';
import { TEST_PAGES } from '../../test/support/test-pages';
import { serveBenchPages } from './browsers';
import { grabToPresent } from './change-latency';
import { percentile } from './stats';

export interface Condition {
  label: string;
  oneWayMs: number;
  lossPercent: number;
}

/** "20,80,20+1": 20 ms; 80 ms; 20 ms with 1 % loss (one way, end to end). */
export function parseConditions(spec: string): Condition[] {
  return spec
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const m = /^(\d+(?:\.\d+)?)(?:\+(\d+(?:\.\d+)?))?$/.exec(part.trim());
      if (!m) throw new Error(`--internet: "${part}" is not DELAY_MS or DELAY_MS+LOSS_PERCENT (e.g. 20,80,20+1)`);
      const oneWayMs = Number(m[1]);
      const lossPercent = Number(m[2] ?? 0);
      if (lossPercent > 50) throw new Error(`--internet: ${lossPercent} % loss is not a network anyone pairs over`);
      return { oneWayMs, lossPercent, label: `${oneWayMs} ms${lossPercent ? `, ${lossPercent} % loss` : ''}` };
    });
}

export type InternetPath = 'floor direct' | 'floor relay' | 'P2P direct' | 'P2P TURN' | 'SFU';

export interface InternetRow {
  condition: string;
  path: InternetPath;
  /** The selected candidate pair at the viewer, local/remote. */
  pair: string;
  p50: number;
  p95: number;
  fps: number;
  received: string;
}

export interface InternetOptions {
  conditions: Condition[];
  fps: number;
  seconds: number;
  width: number;
  height: number;
  codec: 'vp9' | 'vp8' | 'av1' | 'h264';
  direct: boolean;
  say(line: string): void;
}

const PLANE_PORT = 7901;

interface World {
  net: Internet;
  publicUrl: string;
  plane: ControlPlane;
  turn: Coturn;
  pagesUrl: string;
  browsers: Record<'host' | 'guest' | 'far', Browser>;
  close(): Promise<void>;
}

async function build(say: (line: string) => void): Promise<World> {
  say('building the namespaced internet (NATs, coturn, LiveKit, Caddy)…');
  const net = await startInternet({ host: 'cone', guest: 'cone', far: 'symmetric' }, { operator: true, shaped: true });
  const pub = net.pub.address;
  const operator = net.operatorAddress!;
  const parts: { turn?: Coturn; livekit?: LocalLiveKit; caddy?: Caddy; plane?: ControlPlane; pages?: { close(): Promise<void> }; browsers: Browser[] } = {
    browsers: [],
  };
  const close = async () => {
    for (const b of parts.browsers) await b.close().catch(() => undefined);
    await parts.plane?.close();
    await parts.pages?.close();
    await parts.caddy?.stop();
    await parts.livekit?.stop();
    await parts.turn?.stop();
    net.close();
  };
  try {
    const turn = (parts.turn = await startCoturn({ address: pub, port: 3478, argv: net.pub.argv }));
    const livekit = (parts.livekit = await startLocalLiveKit({
      node: { address: pub, argv: net.pub.argv },
      webhookUrl: `http://${operator}:${PLANE_PORT}/livekit/webhook`,
      logLevel: 'warn',
    }));
    const pages = (parts.pages = await serveBenchPages(operator));
    const caddy = (parts.caddy = await startCaddy(
      [
        { address: `https://${pub}:443`, upstream: `${operator}:${PLANE_PORT}` },
        { address: `https://${pub}:7443`, upstream: `127.0.0.1:${livekit.ports.signal}` },
        { address: `https://${pub}:8444`, upstream: new URL(pages.url).host },
      ],
      net.pub.argv,
    ));
    const publicUrl = `https://${pub}`;
    const plane = (parts.plane = await startControlPlane({
      host: operator,
      port: PLANE_PORT,
      publicUrl,
      trustProxy: true,
      // Sessions are made in this process; the key only satisfies the rule for a served network address.
      hostKey: randomBytes(18).toString('base64url'),
      viewerLimitP2p: 25,
      turn: { urls: [turn.url], secret: turn.secret, ttlSeconds: 3600 },
      livekit: { url: `http://${pub}:${livekit.ports.signal}`, publicUrl: `wss://${pub}:7443`, apiKey: livekit.apiKey, apiSecret: livekit.apiSecret },
      ...TEST_PAGES,
    }));
    const launchIn = async (name: 'host' | 'guest' | 'far') => {
      const b = await launchChromium({
        executablePath: net.wrapper(net.machines[name]!, findChromium()),
        args: trustArgs(caddy.trustFile),
        disableFeatures: ['LocalNetworkAccessChecks'],
      });
      parts.browsers.push(b);
      return b;
    };
    const browsers = { host: await launchIn('host'), guest: await launchIn('guest'), far: await launchIn('far') };
    return { net, publicUrl, plane, turn, pagesUrl: `https://${pub}:8444`, browsers, close };
  } catch (err) {
    await close();
    throw err;
  }
}

interface FloorPage {
  page: Page;
  call<T>(fn: string, arg?: unknown): Promise<T>;
}

async function floorPage(browser: Browser, pagesUrl: string): Promise<FloorPage> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${pagesUrl}/page`);
  await page.addScriptTag({ url: `${pagesUrl}/floor.js`, type: 'module' });
  await page.waitForFunction(() => 'pairuxFloor' in window);
  return {
    page,
    call: <T>(fn: string, arg?: unknown) =>
      page.evaluate(([f, a]) => (window as unknown as { pairuxFloor: Record<string, (x: unknown) => Promise<unknown>> }).pairuxFloor[f as string]!(a), [
        fn,
        arg,
      ] as const) as Promise<T>,
  };
}

/** Bare WebRTC from the host machine to `to`: the same generated screen, codec and links, no product in between. */
async function floorRow(w: World, o: InternetOptions, c: Condition, to: 'guest' | 'far'): Promise<InternetRow> {
  const iceServers = [{ urls: [`stun:${w.net.pub.address}:3478`] }, turnCredentials({ urls: [w.turn.url], secret: w.turn.secret, ttlSeconds: 600 }, 'bench')];
  const sender = await floorPage(w.browsers.host, w.pagesUrl);
  const receiver = await floorPage(w.browsers[to], w.pagesUrl);
  try {
    const offer = await sender.call<string>('send', { width: o.width, height: o.height, fps: o.fps, codec: o.codec, iceServers });
    const answer = await receiver.call<string>('receive', { offer, iceServers, relay: to === 'far' });
    await sender.call('accept', answer);
    const r = await receiver.call<{ latencies: number[]; frames: number; seconds: number; width: number; height: number; pair: string }>(
      'measure',
      o.seconds * 1000,
    );
    return {
      condition: c.label,
      path: to === 'far' ? 'floor relay' : 'floor direct',
      pair: r.pair,
      p50: percentile(r.latencies, 50),
      p95: percentile(r.latencies, 95),
      fps: r.frames / r.seconds,
      received: `${r.width}×${r.height}`,
    };
  } finally {
    await sender.call('stop').catch(() => undefined);
    await receiver.call('stop').catch(() => undefined);
    await sender.page.context().close();
    await receiver.page.context().close();
  }
}

/** A session of `mode` hosted on the host machine, watched from each of `viewers` in turn. */
async function sessionRows(
  w: World,
  o: InternetOptions,
  c: Condition,
  mode: 'p2p' | 'sfu',
  viewers: Array<{ from: 'guest' | 'far'; path: InternetPath }>,
): Promise<InternetRow[]> {
  const session = await w.plane.service.createSession({ mode });
  const host = await startHeadlessHost(w.publicUrl, session.sessionId, session.hostToken, {
    width: o.width,
    height: o.height,
    fps: o.fps,
    codec: o.codec,
    direct: o.direct,
    browser: w.browsers.host,
  });
  const rows: InternetRow[] = [];
  try {
    for (const { from, path } of viewers) {
      const viewer = await ViewerPage.open(w.browsers[from], session.links.viewer.url, `Bench from ${from}`);
      try {
        await viewer.waitForState('live', 60_000);
        await viewer.waitForMarker(30_000);
        await new Promise((r) => setTimeout(r, 2000));
        const frames = await viewer.collect(o.seconds * 1000);
        const { latencies, distinct, resolution: received } = grabToPresent(frames);
        const s = await viewer.stats();
        rows.push({
          condition: c.label,
          path,
          pair: `${s.localCandidateType ?? '?'}/${s.remoteCandidateType ?? '?'}${s.path === 'direct' ? ' (direct video)' : ''}`,
          p50: percentile(latencies, 50),
          p95: percentile(latencies, 95),
          fps: distinct / o.seconds,
          received,
        });
      } finally {
        await viewer.close();
      }
    }
  } finally {
    // The host leaving ends the session.
    await host.close();
  }
  return rows;
}

/** Every condition's rows; a row that fails is reported and the run goes on. */
export async function internetRows(o: InternetOptions): Promise<{ rows: InternetRow[]; failures: string[] }> {
  const rows: InternetRow[] = [];
  const failures: string[] = [];
  const attempt = async (what: string, run: () => Promise<InternetRow[] | InternetRow>) => {
    try {
      const r = await run();
      rows.push(...(Array.isArray(r) ? r : [r]));
    } catch (err) {
      const line = `${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      failures.push(line);
      o.say(`  FAILED ${line}`);
    }
  };
  let world: World;
  try {
    world = await build(o.say);
  } catch (err) {
    return { rows, failures: [`the namespaced internet: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`] };
  }
  try {
    for (const c of o.conditions) {
      for (const name of ['host', 'guest', 'far']) await world.net.shape(name, { delayMs: c.oneWayMs / 2, lossPercent: c.lossPercent / 2 });
      o.say(`internet rows at ${c.label} (each access link ${c.oneWayMs / 2} ms, ${c.lossPercent / 2} % loss each way), ${o.fps} fps…`);
      await attempt(`floor direct, ${c.label}`, () => floorRow(world, o, c, 'guest'));
      await attempt(`floor relay, ${c.label}`, () => floorRow(world, o, c, 'far'));
      await attempt(`P2P, ${c.label}`, () =>
        sessionRows(world, o, c, 'p2p', [
          { from: 'guest', path: 'P2P direct' },
          { from: 'far', path: 'P2P TURN' },
        ]),
      );
      await attempt(`SFU, ${c.label}`, () => sessionRows(world, o, c, 'sfu', [{ from: 'guest', path: 'SFU' }]));
    }
  } finally {
    await world.close();
  }
  return { rows, failures };
}

/** The floor a row is held against: the direct floor for a direct path, the relayed one for paths through the public machine. */
export function floorFor(rows: InternetRow[], r: InternetRow): InternetRow | undefined {
  const kind: InternetPath = r.path === 'P2P direct' || r.path === 'floor direct' ? 'floor direct' : 'floor relay';
  return rows.find((f) => f.condition === r.condition && f.path === kind);
}
