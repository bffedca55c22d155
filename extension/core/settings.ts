/**
 * The extension's settings (package.json `contributes.configuration`, documented there and in
 * extension/README.md), read through a getter so this stays free of `vscode`. A bad value is
 * never silently replaced: `readHostSettings` lists every problem with the setting's name.
 */
import { isIPv4 } from 'node:net';
import { Region } from '../../protocol/common';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { CaptureRegion } from '../../protocol/helper-link';

export type SessionMode = 'auto' | 'p2p' | 'sfu';
export type Quality = 'text' | 'balanced' | 'motion';

export interface HostSettings {
  /** The mode the server is asked for: 'auto' starts peer-to-peer and the server's session focus moves it to the SFU as it grows. */
  mode: SessionMode;
  /** Deployed control plane, or '' for the embedded one. */
  serverUrl: string;
  hostKey: string | undefined;
  embeddedPort: number;
  /** `pairux.server.network`: whom the embedded server serves: this computer only, or its local network too. */
  network?: 'this-computer' | 'local-network';
  /** `pairux.server.address`: the address the embedded server serves the network on; absent: PairUX proposes one. */
  networkAddress?: string | undefined;
  /** The embedded server's host key on the network (kept in secret storage): nobody else there creates sessions on it. */
  embeddedHostKey?: string | undefined;
  fps: number;
  codec: 'vp9' | 'vp8' | 'av1' | 'h264';
  contentHint: 'detail' | 'motion' | 'text' | '';
  degradation: 'maintain-resolution' | 'maintain-framerate' | 'balanced';
  maxKbps: number;
  /** `pairux.capture.directVideo`: offer P2P guests direct video (WebCodecs over a data channel) instead of RTP video. */
  directVideo?: boolean;
  /** The X display to share (`pairux.capture.display`, else `$DISPLAY`); ignored when `wayland`. */
  display: string;
  /** A Wayland session without `pairux.capture.display`: the desktop portal shares the screen. */
  wayland?: boolean;
  region: CaptureRegion | undefined;
  /** `pairux.capture.monitor`: the RandR monitor to share; absent: ask when there are several. */
  monitor?: string | undefined;
  allowControlRequests: boolean;
  /** `pairux.lobby.everyone`: viewers wait for the host's Admit too, not only controller links. */
  lobbyEveryone?: boolean;
  linkTtlMinutes: number;
  hostName: string;
  sessionName: string;
  /** The region hint for the session's SFU (`pairux.session.region`): where the server picks one when it needs one. */
  sfuRegion: string | undefined;
  /** The LiveKit server the embedded control plane uses for SFU sessions, when configured. */
  livekit: { url: string; apiKey: string; apiSecret: string } | undefined;
  /**
   * End-to-end encrypted (`pairux.e2ee`, or the host's pick at Start): the host page makes the
   * media key and every link carries it in its fragment; peer-to-peer and through the SFU alike.
   */
  e2ee?: boolean;
}

/**
 * What each quality setting means for the encoder (chosen by `npm run bench:tuning`). AV1, not
 * VP9, for text (issue 13): Chromium's VP9 screen-share encoder drops most frames that follow a
 * still stretch (a change on a still screen showed 1-2 s late, or not at all), and on scrolling
 * text AV1 kept more frames at a quarter of VP9's bitrate.
 */
export const QUALITY: Record<Quality, Pick<HostSettings, 'codec' | 'contentHint' | 'degradation'>> = {
  // Sharp text at full resolution; frame rate gives way first. The default for code.
  text: { codec: 'av1', contentHint: 'detail', degradation: 'maintain-resolution' },
  balanced: { codec: 'av1', contentHint: 'detail', degradation: 'balanced' },
  // Smooth motion (scrolling, video); resolution gives way first.
  motion: { codec: 'vp8', contentHint: 'motion', degradation: 'maintain-framerate' },
};

export type SettingGetter = (key: string) => unknown;

export function readHostSettings(
  get: SettingGetter,
  extra: {
    mode: SessionMode;
    hostKey: string | undefined;
    env: NodeJS.ProcessEnv;
    userName: string;
    livekitSecret?: string | undefined;
    embeddedHostKey?: string | undefined;
    /** The host's pick at Start; absent: `pairux.e2ee`. */
    e2ee?: boolean | undefined;
  },
): HostSettings {
  const problems: string[] = [];
  const str = (key: string, fallback = ''): string => {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') {
      problems.push(`“pairux.${key}” must be text`);
      return fallback;
    }
    return v.trim();
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const v = get(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`“pairux.${key}” must be a whole number from ${min} to ${max} (it is ${JSON.stringify(v)})`);
      return fallback;
    }
    return v;
  };
  const serverUrl = str('server.url');
  if (serverUrl && !/^https?:\/\/[^/]+/.test(serverUrl))
    problems.push(`“pairux.server.url” must be an http:// or https:// URL, or empty for the embedded server (it is ${serverUrl})`);
  const networkRaw = str('server.network', 'this-computer');
  const network = (['this-computer', 'local-network'] as const).find((n) => n === networkRaw);
  if (!network) problems.push(`“pairux.server.network” must be this-computer or local-network (it is ${networkRaw})`);
  const networkAddress = str('server.address');
  if (networkAddress && !isIPv4(networkAddress))
    problems.push(`“pairux.server.address” must be an IPv4 address such as 192.168.1.23, or empty (it is ${networkAddress})`);
  const qualityRaw = str('capture.quality', 'text');
  const quality = (['text', 'balanced', 'motion'] as const).find((q) => q === qualityRaw);
  if (!quality) problems.push(`“pairux.capture.quality” must be text, balanced or motion (it is ${qualityRaw})`);
  const region = parseRegion(str('capture.region'), problems);
  const livekitUrl = str('livekit.url');
  const livekitKey = str('livekit.apiKey');
  if (livekitUrl && !/^(wss?|https?):\/\/[^\s/]+/.test(livekitUrl))
    problems.push(`“pairux.livekit.url” must be a ws://, wss://, http:// or https:// URL (it is ${livekitUrl})`);
  const sfuRegion = str('session.region');
  if (sfuRegion && !Region.safeParse(sfuRegion).success)
    problems.push(`“pairux.session.region” must be a region name such as eu or us-west: lower-case letters, digits and - (it is ${sfuRegion})`);
  const e2eeSetting = get('e2ee') ?? false;
  if (typeof e2eeSetting !== 'boolean') problems.push(`“pairux.e2ee” must be true or false (it is ${JSON.stringify(e2eeSetting)})`);
  const e2ee = extra.e2ee ?? e2eeSetting === true;
  const mode = extra.mode === 'sfu' || extra.mode === 'auto' ? extra.mode : 'p2p';
  const settings: HostSettings = {
    mode,
    serverUrl,
    hostKey: extra.hostKey,
    embeddedPort: int('server.port', 0, 0, 65535),
    network: network ?? 'this-computer',
    networkAddress: networkAddress || undefined,
    embeddedHostKey: extra.embeddedHostKey,
    fps: int('capture.fps', 30, 1, 60),
    ...QUALITY[quality ?? 'text'],
    maxKbps: int('capture.maxBitrateKbps', 0, 0, 100_000),
    directVideo: get('capture.directVideo') !== false,
    display: str('capture.display') || extra.env.DISPLAY || '',
    wayland: !str('capture.display') && !!(extra.env.WAYLAND_DISPLAY || extra.env.XDG_SESSION_TYPE === 'wayland'),
    region,
    monitor: str('capture.monitor') || undefined,
    allowControlRequests: get('control.allowRequests') !== false,
    lobbyEveryone: get('lobby.everyone') === true,
    linkTtlMinutes: int('links.expiryMinutes', 1440, 1, 43_200),
    hostName: (str('displayName') || extra.userName || 'Host').slice(0, 64),
    sessionName: str('session.name').slice(0, 64) || `${(str('displayName') || extra.userName || 'PairUX').slice(0, 40)}'s session`,
    sfuRegion: sfuRegion || undefined,
    livekit: livekitUrl && livekitKey && extra.livekitSecret ? { url: livekitUrl, apiKey: livekitKey, apiSecret: extra.livekitSecret } : undefined,
    ...(e2ee ? { e2ee: true } : {}),
  };
  if (problems.length) throw new PairuxError(ErrorCode.BadMessage, `Fix these settings first: ${problems.join('; ')}.`);
  return settings;
}

/** `x,y,width,height` in screen pixels, or empty for the whole screen. */
function parseRegion(text: string, problems: string[]): CaptureRegion | undefined {
  if (!text) return undefined;
  const m = /^(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)$/.exec(text);
  if (!m) {
    problems.push(`“pairux.capture.region” must look like x,y,width,height (for example 0,0,1920,1080), or be empty for the whole screen (it is ${text})`);
    return undefined;
  }
  const [x, y, width, height] = m.slice(1).map(Number) as [number, number, number, number];
  if (width < 16 || height < 16) {
    problems.push('“pairux.capture.region” must be at least 16×16 pixels');
    return undefined;
  }
  return { x, y, width, height };
}
