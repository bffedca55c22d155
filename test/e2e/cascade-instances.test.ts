/**
 * A cascaded session served by two control-plane instances (issue 17): real instances as child
 * processes on one real Redis behind a load balancer, two LiveKit deployments (regions a and b)
 * sending their webhooks through the balancer, the host in Chromium, and viewers of region b
 * joined through both instances. Each instance that places a viewer of b asks for the bridge's
 * lease: one runs the bridge, the other stands by. The one running it is SIGKILLed: the other
 * takes the bridge over, and b's viewers see the host again without rejoining.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import { startLocalLiveKit, type LocalLiveKit } from '../../demo/livekit-server';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/sfu/webhooks';
import { expandCaptureTime } from '../../webview/engine/frames/frame-marker';
import { ViewerPage } from '../support/browser-viewer';
import { createSession } from '../support/control-plane';
import { eventually } from '../support/livekit';
import { startPlaneProcess, type PlaneProcess } from '../support/plane-process';
import { startRedis, type TestRedis } from '../support/redis';
import { TcpBalancer } from '../support/tcp-balancer';

const SIZE = { width: 960, height: 540, fps: 15 };

interface Health {
  cascade?: Array<{ region: string; bridges: number; ready: number }>;
}

describe('end to end: a cascade bridge taken over when its control-plane instance dies', function () {
  this.timeout(180_000);
  let browser: Browser;
  let redis: TestRedis;
  let balancer: TcpBalancer;
  const lk: LocalLiveKit[] = [];
  const planes: PlaneProcess[] = [];
  let session: CreateSessionResponse;
  let host: HeadlessHost;
  const viewers: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
    redis = await startRedis();
    balancer = await TcpBalancer.start();
    const webhookUrl = `${balancer.url}${LIVEKIT_WEBHOOK_PATH}`;
    for (let i = 0; i < 2; i++) lk.push(await startLocalLiveKit({ logLevel: 'warn', webhookUrl }));
    const env = {
      PAIRUX_REDIS_URL: redis.url,
      PAIRUX_TOKEN_SECRET: 'e2e-cascade-instances-secret-0123456789',
      PAIRUX_PUBLIC_URL: balancer.url,
      PAIRUX_RECONNECT_GRACE_MS: '20000',
      PAIRUX_LOBBY: 'off',
      PAIRUX_SFU_POOLS: JSON.stringify({
        deployments: lk.map((l, i) => ({ id: `${'ab'[i]}1`, region: 'ab'[i], url: l.url, apiKey: l.apiKey, apiSecret: l.apiSecret })),
        defaultRegion: 'a',
      }),
    };
    for (const id of ['one', 'two']) planes.push(await startPlaneProcess({ ...env, PAIRUX_INSTANCE_ID: id }));
    balancer.setBackends(planes.map((p) => ({ port: p.port })));
    balancer.pin(0);
    session = await createSession({ url: planes[0]!.url }, { mode: 'sfu', name: 'Two instances', region: 'a' });
    host = await startHeadlessHost(balancer.url, session.sessionId, session.hostToken, { ...SIZE, browser, name: 'Hana' });
  });
  after(async () => {
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    for (const p of planes) await p.kill().catch(() => undefined);
    for (const l of lk) await l.stop().catch(() => undefined);
    await balancer?.close();
    await redis?.stop();
    await browser?.close();
  });

  const health = async (p: PlaneProcess) => ((await (await fetch(`${p.url}/healthz`)).json()) as Health).cascade ?? [];
  const bridgesOn = async (p: PlaneProcess) => (await health(p)).find((c) => c.region === 'b')?.bridges ?? 0;
  const watch = async (name: string) => {
    const v = await ViewerPage.open(browser, `${session.links.viewer.url}&region=b`, name);
    viewers.push(v);
    await v.waitForState('live', 60_000);
    await v.markerAdvance(1000);
    return v;
  };

  it('one bridge for b however many instances place its viewers; the other instance takes it over within seconds of the first dying', async () => {
    await watch('Bea'); // through instance one
    await eventually(
      async () => (await bridgesOn(planes[0]!)) === 1,
      async () => `instance one running b's bridge: ${JSON.stringify(await health(planes[0]!))}`,
      20_000,
    );
    balancer.pin(1);
    const bo = await watch('Bo'); // through instance two
    // Two seconds for a duplicate to show (its start, its lease refused or not).
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual([await bridgesOn(planes[0]!), await bridgesOn(planes[1]!)], [1, 0], 'one bridge in all, on the instance that placed b first');

    const killedAt = Date.now();
    await planes[0]!.kill('SIGKILL');
    await eventually(
      async () => (await bridgesOn(planes[1]!)) === 1,
      async () => `instance two taking b's bridge over: ${planes[1]!.output().slice(-2000)}`,
      20_000,
    );
    const fresh = await eventually(
      async () => {
        const frames = await bo.collect(500);
        return frames.find((f) => expandCaptureTime(f.captureTimeLow32, f.presentedAt) > killedAt + 500);
      },
      "Bo seeing frames the host captured after instance one died (carried by instance two's bridge)",
      30_000,
    );
    console.log(`      pixels again at b's viewer ${fresh!.presentedAt - killedAt} ms after the bridge's instance was killed`);
    assert.equal(await bo.state(), 'live');
  });
});
