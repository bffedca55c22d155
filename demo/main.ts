/**
 * `npm run demo`: a whole PairUX session on this machine. Starts the control plane on loopback,
 * the host's media engine in headless Chromium, prints the share links and a line for every
 * guest that comes and goes. Ctrl-C ends the session for everyone and exits.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { startControlPlane, type ControlPlane } from '../server/control-plane';
import { lanAddresses, type LanAddress } from '../server/lan-addresses';
import type { ServerConfigInput } from '../server/config';
import { LIVEKIT_WEBHOOK_PATH } from '../server/sfu/webhooks';
import type { HeadlessHost, HostEvent, HostKeyEvent } from './headless-host';
import { startHeadlessHost } from './headless-host';
import { startRealScreen, type RealScreen } from './real-screen';
import { createRemoteSession, parseServerUrl, type RemoteServer } from './remote-server';
import { terminalText } from './terminal-text';
import { editorJoinUri, withMediaKey } from '../protocol/share-link';

const USAGE = `Usage: npm run demo -- [options]
  --port <n>        control-plane port (default 7420; a free one if busy)
  --lan             serve guests on this computer's network, not only this computer: the links carry
                    the address PairUX proposes (a private address on a real interface first)
  --server <url>    host the session on a deployed PairUX server (https://pairux.example.com) instead of
                    the one embedded here; its host key from --host-key or PAIRUX_HOST_KEY
  --host-key <key>  the deployed server's PAIRUX_HOST_KEY (better: the PAIRUX_HOST_KEY variable)
  --lan-address <ip>  the same on this address (one of this computer's), e.g. 192.168.1.23
  --size <WxH>      shared screen size (default 1920x1080)
  --fps <n>         frame rate, 1-60 (default 30)
  --mode <m>        p2p (default: one stream per guest) | sfu (a local LiveKit server fans one stream out)
                    | auto (peer-to-peer, moved to a local LiveKit by the server as the session grows)
  --auto-at <n>     with --mode auto: participants, host included, at which the move happens (default 10)
  --codec <c>       vp9 | vp8 | av1 | h264 (default av1; in SFU mode vp8 or h264, simulcast)
  --rtp-video       P2P: send guests WebRTC video only (default: direct video, WebCodecs over a data
                    channel, to guests that can take it: no WebRTC smoothing delay)
  --ttl <minutes>   share-link lifetime (default 1440 = 24 h)
  --e2ee            end-to-end encrypt the session: the host page makes the key, the links carry it
                    after # (never sent to the server), guests compare the safety code; in every mode
                    (through the SFU too: LiveKit forwards frames and input it cannot read)
  --virtual         share a virtual desktop (Xvfb) even when a display exists (a Wayland session is
                    otherwise shared through its screen-sharing portal, which may ask which screen)
  --generated       share a generated test screen instead of a real one (no helper, no control)
  --allow-control   grant every control request without asking (for scripted demos)
  --deny-control    refuse every control request
  --frames <path>   bridge (default: helper frames relayed by this process) | websocket (page reads the helper directly)
  --monitor <name>  share this monitor of a multi-monitor display (RandR name, e.g. HDMI-1; default the whole screen;
                    the demo prints the monitors it found)
  --help            this text
Environment: PAIRUX_HOST_CONSOLE=1 prints the headless host page's console on stderr (debugging).

While a guest drives, type s then Enter to stop all control at once.`;

interface DemoOptions {
  port: number;
  mode: 'auto' | 'p2p' | 'sfu';
  /** --mode auto: the move's threshold. */
  autoAt: number;
  screen: 'real' | 'virtual' | 'generated';
  controlPolicy: 'ask' | 'allow' | 'deny';
  frames: 'bridge' | 'websocket';
  width: number;
  height: number;
  fps: number;
  codec: 'vp9' | 'vp8' | 'av1' | 'h264';
  /** Offer P2P guests direct video (WebCodecs over a data channel). */
  directVideo: boolean;
  ttlMinutes: number;
  /** A RandR monitor to share, by name; the whole screen when absent. */
  monitor: string | undefined;
  /** --lan: the address guests on this network reach the control plane at; absent: loopback only. */
  lan: LanAddress | undefined;
  /** --server: a deployed control plane to host on; absent: the embedded one. */
  server: RemoteServer | undefined;
  /** --e2ee: an end-to-end encrypted session. */
  e2ee: boolean;
}

function fail(message: string): never {
  console.error(`pairux demo: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseOptions(argv: string[]): DemoOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '7420' },
        size: { type: 'string', default: '1920x1080' },
        fps: { type: 'string', default: '30' },
        codec: { type: 'string', default: 'av1' },
        mode: { type: 'string', default: 'p2p' },
        'auto-at': { type: 'string', default: '10' },
        ttl: { type: 'string', default: '1440' },
        virtual: { type: 'boolean', default: false },
        'rtp-video': { type: 'boolean', default: false },
        generated: { type: 'boolean', default: false },
        'allow-control': { type: 'boolean', default: false },
        'deny-control': { type: 'boolean', default: false },
        frames: { type: 'string', default: 'bridge' },
        monitor: { type: 'string' },
        lan: { type: 'boolean', default: false },
        'lan-address': { type: 'string' },
        server: { type: 'string' },
        'host-key': { type: 'string' },
        e2ee: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0-65535, not ${values.port}`);
  const size = /^(\d{3,5})x(\d{3,5})$/.exec(values.size ?? '');
  if (!size) fail(`--size must look like 1920x1080, not ${values.size}`);
  const [width, height] = [Number(size[1]), Number(size[2])];
  if (width < 320 || height < 240 || width > 3840 || height > 2160 || width % 2 || height % 2) {
    fail(`--size must be even and between 320x240 and 3840x2160, not ${values.size}`);
  }
  const fps = Number(values.fps);
  if (!Number.isInteger(fps) || fps < 1 || fps > 60) fail(`--fps must be a whole number 1-60, not ${values.fps}`);
  const codec = values.codec as DemoOptions['codec'];
  if (!['vp9', 'vp8', 'av1', 'h264'].includes(codec)) fail(`--codec must be vp9, vp8, av1 or h264, not ${values.codec}`);
  const ttlMinutes = Number(values.ttl);
  if (!Number.isInteger(ttlMinutes) || ttlMinutes < 1 || ttlMinutes > 43_200) fail(`--ttl must be 1-43200 minutes, not ${values.ttl}`);
  if (values.virtual && values.generated) fail('choose --virtual or --generated, not both');
  if (values['allow-control'] && values['deny-control']) fail('choose --allow-control or --deny-control, not both');
  if (values.frames !== 'bridge' && values.frames !== 'websocket') fail(`--frames must be bridge or websocket, not ${values.frames}`);
  if (values.mode !== 'p2p' && values.mode !== 'sfu' && values.mode !== 'auto') fail(`--mode must be p2p, sfu or auto, not ${values.mode}`);
  if (values.monitor !== undefined && (values.generated || !/^\S{1,64}$/.test(values.monitor))) {
    fail(
      values.generated ? '--monitor shares a real screen: not with --generated' : `--monitor must be a monitor's name, not ${JSON.stringify(values.monitor)}`,
    );
  }
  let lan: LanAddress | undefined;
  if (values.lan || values['lan-address'] !== undefined) {
    // The local LiveKit listens on loopback only: guests elsewhere could join but never see the screen.
    if (values.mode !== 'p2p') fail('--lan works with --mode p2p: the local LiveKit server serves this computer only');
    // WebCrypto and encoded transforms exist only in secure contexts: a page from http://<lan address> has neither.
    if (values.e2ee)
      fail('--e2ee needs guests on a secure page (https, or this computer): --lan links are plain http. Host on an https server with --server instead');
    const all = lanAddresses();
    const wanted = values['lan-address'];
    lan = wanted === undefined ? all[0] : all.find((a) => a.address === wanted);
    if (!lan) {
      const known = all.map((a) => `${a.address} (${a.interface})`).join(', ');
      fail(
        wanted === undefined
          ? 'this computer has no network address but loopback; connect it to a network, or leave out --lan'
          : `--lan-address ${wanted} is not an address of this computer; it has ${known || 'none but loopback'}`,
      );
    }
  }
  let server: RemoteServer | undefined;
  if (values.server !== undefined) {
    if (lan) fail('choose --server or --lan: with --server the deployed server serves the guests');
    const url = parseServerUrl(values.server);
    if (url instanceof Error) fail(url.message);
    server = { url, hostKey: values['host-key'] ?? (process.env.PAIRUX_HOST_KEY || undefined) };
  } else if (values['host-key'] !== undefined) {
    fail('--host-key goes with --server (the embedded server makes its own)');
  }
  const autoAt = Number(values['auto-at']);
  if (!Number.isInteger(autoAt) || autoAt < 2 || autoAt > 1000) fail(`--auto-at must be a whole number 2-1000, not ${values['auto-at']}`);
  return {
    port,
    width,
    height,
    fps,
    codec,
    directVideo: values['rtp-video'] !== true,
    ttlMinutes,
    mode: values.mode,
    e2ee: values.e2ee,
    autoAt,
    screen: values.generated ? 'generated' : values.virtual ? 'virtual' : 'real',
    controlPolicy: values['allow-control'] ? 'allow' : values['deny-control'] ? 'deny' : 'ask',
    frames: values.frames,
    monitor: values.monitor,
    lan,
    server,
  };
}

const time = () => new Date().toLocaleTimeString('en-GB', { hour12: false });
// Every line may carry a guest's name: printed as plain text, never as terminal controls.
const say = (line: string) => console.log(`${time()}  ${terminalText(line)}`);

async function startPlane(port: number, config: ServerConfigInput = {}): Promise<ControlPlane> {
  const host = config.host ?? '127.0.0.1';
  try {
    return await startControlPlane({ ...config, host, port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    say(`port ${port} is busy; using a free port instead`);
    return startControlPlane({ ...config, host, port: 0 });
  }
}

interface Sfu {
  url: string;
  apiKey: string;
  apiSecret: string;
  stop(): Promise<void>;
}

/** `port` when it is free, else a free one: LiveKit's webhook URL must name the port before the control plane listens. */
async function planePort(port: number): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<number | undefined>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(undefined));
      s.listen(p, '127.0.0.1', () => {
        const chosen = (s.address() as { port: number }).port;
        s.close(() => resolve(chosen));
      });
    });
  const chosen = (await tryPort(port)) ?? (await tryPort(0));
  if (chosen === undefined) throw new Error('no free port for the control plane');
  if (chosen !== port && port !== 0) say(`port ${port} is busy; using ${chosen} instead`);
  return chosen;
}

/** A LiveKit server of our own on loopback (built on first use), for `--mode sfu`; its webhooks go to the control plane. */
async function startSfu(port: number): Promise<Sfu> {
  say('starting the LiveKit server (the SFU; built first if this machine has no build yet)…');
  const { startLocalLiveKit } = await import('./livekit-server');
  const livekit = await startLocalLiveKit({ webhookUrl: `http://127.0.0.1:${port}${LIVEKIT_WEBHOOK_PATH}` });
  say(`LiveKit listening at ${livekit.url}`);
  return livekit;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const remote = options.server;
  // A deployed server brings its own SFU (or says it has none).
  const needsSfu = options.mode !== 'p2p' && !remote;
  const port = needsSfu ? await planePort(options.port) : options.port;
  const sfu = needsSfu ? await startSfu(port) : undefined;
  let plane: ControlPlane | undefined;
  if (!remote) {
    say('starting the control plane…');
    try {
      plane = await startPlane(port, {
        ...(sfu ? { livekit: { url: sfu.url, apiKey: sfu.apiKey, apiSecret: sfu.apiSecret } } : {}),
        // On the network, anyone who reaches the server could create sessions without a host key;
        // this demo creates its own in-process, so nobody needs to know it.
        ...(options.lan ? { host: options.lan.address, hostKey: randomBytes(24).toString('base64url') } : {}),
        focus: { autoSfuAt: options.autoAt },
      });
    } catch (err) {
      await sfu?.stop();
      throw err;
    }
  } else {
    say(`creating the session on the PairUX server at ${remote.url}…`);
  }
  const request = { mode: options.mode, name: 'PairUX demo', linkTtlSeconds: options.ttlMinutes * 60, ...(options.e2ee ? { e2ee: true } : {}) };
  const session = plane ? await plane.service.createSession(request) : await createRemoteSession(remote!, request);
  const serverUrl = plane ? plane.url : remote!.url;
  let via = options.mode === 'sfu' ? 'via the SFU' : 'peer-to-peer';
  const names = new Map<string, string>();
  let watching = 0;
  if (plane) watchPlane(plane);
  function watchPlane(plane: ControlPlane): void {
    plane.service.focus.on('topology', ({ sessionId, media, message }) => {
      if (sessionId !== session.sessionId) return;
      if (media === 'sfu') via = 'via the SFU';
      say(message);
    });

    plane.service.on('participant-joined', ({ sessionId, participant, resumed }) => {
      if (sessionId !== session.sessionId || participant.role === 'host') return;
      names.set(participant.id, participant.name);
      if (!resumed) watching++;
      say(`${resumed ? 'back' : 'joined'}: ${participant.name} (${participant.role}) — ${watching} watching`);
    });
    plane.service.on('participant-disconnected', ({ sessionId, participant }) => {
      if (sessionId === session.sessionId && participant.role !== 'host')
        say(`dropped: ${participant.name}; keeping their place for ${plane.config.reconnectGraceMs / 1000} s`);
    });
    plane.service.on('participant-left', ({ sessionId, participant, reason }) => {
      if (sessionId !== session.sessionId || participant.role === 'host') return;
      watching = Math.max(0, watching - 1);
      say(`left: ${participant.name} (${reason === 'timeout' ? 'did not come back' : reason}) — ${watching} watching`);
    });
  }

  let screen: RealScreen | undefined;
  if (options.screen !== 'generated') {
    try {
      screen = await startRealScreen({
        width: options.width,
        height: options.height,
        fps: options.fps,
        forceVirtual: options.screen === 'virtual',
        controlPolicy: options.controlPolicy,
        frames: options.frames,
        monitor: options.monitor,
        say,
      });
    } catch (err) {
      await plane?.close();
      await sfu?.stop();
      throw err;
    }
  }
  const size = screen ? `${screen.width}×${screen.height}` : `${options.width}×${options.height}`;
  const codec = options.mode === 'sfu' ? `${options.codec === 'h264' ? 'H264' : 'VP8'} simulcast` : options.codec.toUpperCase();
  say(`starting the headless host (Chromium) at ${size} @ ${options.fps} fps, ${codec}, ${via}…`);
  let host: HeadlessHost;
  const onEvent = (e: HostEvent) => {
    if (e.type === 'guest') {
      const who = e.name || names.get(e.id) || e.id;
      if (e.state === 'connected') say(via === 'via the SFU' ? `${who} is in the SFU room` : `video flowing to ${who} (peer-to-peer)`);
      else if (e.state === 'failed') say(`could not reach ${who}; they will retry by themselves`);
    } else if (e.type === 'error') {
      say(`host page error: ${e.message}`);
    } else if (e.type === 'links') {
      // A removed guest's link stops working; a shared one is replaced for everyone else.
      say(e.message);
      if (e.controller) say(`new controller link: ${e.controller}`);
      if (e.viewer) say(`new viewer link: ${e.viewer}`);
    } else if (e.type === 'offerEnded') {
      say(e.message);
    } else if (e.type === 'e2ee' && e.why !== 'start') {
      // The key moved on: links made from now on carry the new one (older links still open the
      // session after a ratchet, not after a re-key).
      say(
        e.why === 'rekey'
          ? `a guest left, so the session has a new key (safety code ${e.safetyCode}); links printed before no longer open it`
          : `the session's key ratcheted (safety code ${e.safetyCode})`,
      );
    }
  };
  try {
    host = await startHeadlessHost(serverUrl, session.sessionId, session.hostToken, {
      width: options.width,
      height: options.height,
      fps: options.fps,
      codec: options.codec,
      direct: options.directVideo,
      name: 'Demo host',
      onEvent,
      ...(screen ? { bridge: screen.bridgeUrl } : {}),
    });
  } catch (err) {
    await screen?.close();
    await plane?.close();
    await sfu?.stop();
    throw err;
  }
  host.browser.on('disconnected', () => {
    if (stopping) return;
    say('the headless host (Chromium) went away; ending the demo');
    void shutdown(1);
  });

  // An encrypted session's links carry the key the host page made, after the #: never the server's to see.
  let key: HostKeyEvent | undefined;
  try {
    key = options.e2ee ? await host.mediaKey() : undefined;
  } catch (err) {
    await host.close();
    await screen?.close();
    await plane?.close();
    await sfu?.stop();
    throw err;
  }
  const links = {
    viewer: key ? withMediaKey(session.links.viewer.url, key.key, key.gen) : session.links.viewer.url,
    controller: key ? withMediaKey(session.links.controller.url, key.key, key.gen) : session.links.controller.url,
  };
  const expires = new Date(session.links.viewer.expiresAt).toLocaleString('en-GB');
  console.log(`
PairUX demo is live (ready in ${((Date.now() - started) / 1000).toFixed(1)} s), ${
    options.mode === 'sfu'
      ? `SFU mode: the host publishes once to LiveKit (${sfu?.url}), which fans it out to every guest`
      : options.mode === 'auto'
        ? `auto mode: peer-to-peer until the session has ${options.autoAt} participants, then the server moves everyone to LiveKit (${sfu?.url}) without anyone noticing`
        : 'peer-to-peer mode: the host sends each guest its own stream'
  }.
${
  screen
    ? `${screen.describe}
A guest with the controller link can ask to drive; you answer here (y/n), and s + Enter stops all control.`
    : 'The host shares a GENERATED screen (code text, a clock and a frame counter), as asked with --generated.'
}

  Watch in a browser:  ${links.viewer}
  Controller link:     ${links.controller}
  In VS Code:          ${editorJoinUri(links.controller)}${
    key
      ? `
  🔒 End-to-end encrypted. Safety code: ${key.safetyCode} (guests see it beside the lock; equal codes mean nobody in between holds the key)`
      : ''
  }
  ${
    remote
      ? `The session is on the PairUX server at ${remote.url}: the links work wherever guests reach it.`
      : options.lan
        ? `The links work on this computer's network ${options.lan.network} (${options.lan.interface}), for anyone who can reach ${options.lan.address}.`
        : 'The links work on this computer only; --lan serves your network.'
  }

Links expire ${expires}. Health: ${serverUrl}/healthz${plane ? ` · metrics: ${plane.url}/metrics` : ''}
Press Ctrl-C to end the session for everyone.
`);

  let stopping = false;
  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    say('ending the session…');
    if (plane) await plane.service.endSession(session.sessionId, 'host-ended', 'The demo host stopped.');
    else
      await endFromPage(host).catch((err: unknown) =>
        say(`could not end the session on the server (${String(err)}); it ends once the host has been gone a while`),
      );
    // Before the stop-all: a stint still open ended with the session, not with a panic.
    if (screen) for (const line of ['control audit of this session:', ...screen.controlAudit()]) say(line);
    await screen?.stopAllControl().catch(() => undefined);
    await host.close();
    await screen?.close();
    await plane?.close();
    await sfu?.stop();
    say('session ended; bye');
    process.exit(code);
  }
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
}

/** Ends the session through the headless host page's own signaling (a deployed server: no plane here to ask). */
async function endFromPage(host: HeadlessHost): Promise<void> {
  await host.page.evaluate(() =>
    (window as unknown as { pairuxHostActions?: { end(reason?: string): Promise<void> } }).pairuxHostActions?.end('The demo host stopped.'),
  );
}

main().catch((err: unknown) => {
  console.error(`pairux demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
