/**
 * Runs the host's media engine in headless Chromium: the host page of the control plane, joined
 * with the host token. The demo uses it as the host; tests and benches use it as a real host.
 * Until the helper captures the real screen, the page shares a generated screen.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium, trustArgs } from './chromium';

export interface HostPageOptions {
  width?: number;
  height?: number;
  fps?: number;
  codec?: 'vp8' | 'vp9' | 'av1' | 'h264';
  /** Offer P2P guests direct video (WebCodecs over a data channel); default true, false sends RTP video only. */
  direct?: boolean;
  /** Cap P2P guests' RTP encoders by tier and the bandwidth allocator (default true). */
  allocator?: boolean;
  /** Lines a second the generated screen's code scrolls by (a busy screen; at `fps`, a line every frame). */
  scroll?: number;
  /** SFU simulcast layers (default 2; 3 adds the standard tier's ÷1.5). */
  layers?: 2 | 3;
  hint?: 'detail' | 'motion' | 'text' | '';
  degradation?: 'maintain-resolution' | 'maintain-framerate' | 'balanced';
  maxKbps?: number;
  /** Force TURN relay for every peer connection. */
  relayOnly?: boolean;
  name?: string;
  /** The runner's host-bridge WebSocket URL: frames (and control) come from the runner, not the generated screen. */
  bridge?: string;
  /** The host's region hint: where the session's SFU is picked. */
  region?: string;
  /** An encrypted session: how often its key ratchets, in seconds (default 10 minutes). */
  ratchetSeconds?: number;
}

/** An encrypted session's key as the host page made it: for the links this process prints, never for a server. */
export interface HostKeyEvent {
  type: 'e2ee';
  gen: number;
  key: string;
  safetyCode: string;
  why: string;
}

export type HostEvent =
  | { type: 'state'; state: string }
  | { type: 'guest'; id: string; name: string; role: string; state: string }
  | { type: 'error'; message: string }
  | { type: 'control'; driverId: string | null; driverName: string | null; reason: string }
  | { type: 'bridge'; state: string; message?: string }
  | { type: 'topology'; media: string; phase: string; reason: string; message: string }
  | { type: 'links'; reason: string; message: string; revoked: string[]; controller?: string; viewer?: string }
  | { type: 'offerEnded'; participantId: string; reason: string; message: string }
  | { type: 'hostLoad'; overloaded: boolean; reason?: string; sentFps: number; expectedFps: number }
  | HostKeyEvent;

export interface HeadlessHost {
  readonly page: Page;
  readonly browser: Browser;
  /** An encrypted session's current key (the page's last 'e2ee' event); resolves once the page has made one. */
  mediaKey(timeoutMs?: number): Promise<HostKeyEvent>;
  close(): Promise<void>;
}

export function hostPageUrl(serverUrl: string, sessionId: string, hostToken: string, o: HostPageOptions = {}): string {
  const params = new URLSearchParams({ sid: sessionId, token: hostToken, name: o.name ?? 'Host' });
  if (o.width) params.set('w', String(o.width));
  if (o.height) params.set('h', String(o.height));
  if (o.fps) params.set('fps', String(o.fps));
  if (o.codec) params.set('codec', o.codec);
  if (o.direct === false) params.set('direct', '0');
  if (o.allocator === false) params.set('alloc', '0');
  if (o.scroll) params.set('scroll', String(o.scroll));
  if (o.layers) params.set('layers', String(o.layers));
  if (o.hint !== undefined) params.set('hint', o.hint);
  if (o.degradation) params.set('degradation', o.degradation);
  if (o.maxKbps) params.set('maxKbps', String(o.maxKbps));
  if (o.relayOnly) params.set('ice', 'relay');
  if (o.bridge) params.set('bridge', o.bridge);
  if (o.region) params.set('region', o.region);
  if (o.ratchetSeconds) params.set('ratchet', String(o.ratchetSeconds));
  return `${serverUrl}/host#${params}`;
}

export async function startHeadlessHost(
  serverUrl: string,
  sessionId: string,
  hostToken: string,
  options: HostPageOptions & {
    browser?: Browser;
    onEvent?: (e: HostEvent) => void;
    timeoutMs?: number;
    /** Runs in the page before its own scripts (tests inject faults with it). */
    initScript?: string;
  } = {},
): Promise<HeadlessHost> {
  const ownBrowser = !options.browser;
  // The page comes from the server (a deployed one is a public origin) and reads the screen from
  // the runner on this machine's loopback: Chromium's Local Network Access checks block a public
  // page from reaching loopback unless the user allows it, and this browser has no user to ask.
  // It trusts the certificates Node is told to (NODE_EXTRA_CA_CERTS), as the demo's own requests do.
  const browser =
    options.browser ?? (await launchChromium({ disableFeatures: ['LocalNetworkAccessChecks'], args: trustArgs(process.env.NODE_EXTRA_CA_CERTS) }));
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (options.initScript) await context.addInitScript(options.initScript);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (process.env.PAIRUX_HOST_CONSOLE) page.on('console', (m) => process.stderr.write(`[host page] ${m.text()}\n`));
  // Ready is what the page itself tells its embedder (joined; with a bridge, the bridge open), so the
  // demo works with the product page, which has no test hooks.
  let joined = false;
  let bridge: string | undefined;
  let changed: () => void = () => undefined;
  let key: HostKeyEvent | undefined;
  const keyWaiters: Array<(k: HostKeyEvent) => void> = [];
  await page.exposeFunction('pairuxHostEvent', (event: HostEvent) => {
    if (event.type === 'state') joined = event.state === 'joined';
    if (event.type === 'bridge') bridge = event.state;
    if (event.type === 'e2ee') {
      key = event;
      for (const wake of keyWaiters.splice(0)) wake(event);
    }
    changed();
    options.onEvent?.(event);
  });
  const ready = (): boolean => joined && (!options.bridge || bridge === 'open');
  try {
    await page.goto(hostPageUrl(serverUrl, sessionId, hostToken, options));
    const timeoutMs = options.timeoutMs ?? 20_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ${joined ? 'connected to the runner' : 'joined'} after ${timeoutMs} ms`)), timeoutMs);
      changed = () => {
        if (!ready()) return;
        clearTimeout(timer);
        resolve();
      };
      changed();
    });
  } catch (err) {
    const state = await page.evaluate(() => document.body?.innerText.slice(0, 500)).catch(() => '');
    await (ownBrowser ? browser.close() : context.close());
    throw new Error(`the host page did not join: ${errors.join('; ') || state || String(err)}`, { cause: err });
  }
  return {
    page,
    browser,
    mediaKey: (timeoutMs = 10_000) =>
      key
        ? Promise.resolve(key)
        : new Promise<HostKeyEvent>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`the host page made no media key within ${timeoutMs} ms (is the session encrypted?)`)), timeoutMs);
            keyWaiters.push((k) => {
              clearTimeout(timer);
              resolve(k);
            });
          }),
    async close() {
      await context.close().catch(() => undefined);
      if (ownBrowser) await browser.close().catch(() => undefined);
    },
  };
}
