/**
 * The headless host page's settings, from its fragment:
 * `/host#sid=…&token=…&name=…&w=1280&h=720&fps=30&codec=vp9&hint=detail&degradation=maintain-resolution&maxKbps=2500&ice=relay&direct=1&bridge=<ws url>`.
 * `direct=0` sends P2P guests RTP video only, no direct video (WebCodecs over a data channel).
 * `scroll=<lines a second>` makes the generated screen busy: its code scrolls by (at the frame
 * rate or more, a line every frame).
 * `layers=3` publishes a third simulcast layer in SFU mode, at the standard tier's ÷1.5 (default 2: full and half size).
 * `alloc=0` leaves P2P guests' RTP encoders uncapped by tier and allocator (bench:tiers' control column).
 * `ratchet=<seconds>` moves an encrypted session's key on that often (default 10 minutes).
 * Without `bridge` the page shares its generated screen and has nobody to ask about control;
 * with it (URL-encoded `ws://` URL of the runner's host bridge), the runner decides both.
 * The fragment keeps the host token out of server logs, as share links do.
 */
import { parseCodecName, type VideoCodecName } from '../engine/codecs';
import { cleanName, regionHint } from './viewer-link';

export type ContentHint = '' | 'detail' | 'text' | 'motion';

export interface HostParams {
  sessionId: string;
  token: string;
  name: string;
  width: number;
  height: number;
  fps: number;
  codec: VideoCodecName;
  contentHint: ContentHint;
  degradationPreference: RTCDegradationPreference;
  maxBitrateKbps: number | undefined;
  iceTransportPolicy: RTCIceTransportPolicy;
  /** The runner's host bridge (ws:// or wss://), or undefined for the stand-alone generated screen. */
  bridgeUrl: string | undefined;
  /** `region=<pool>`: where the session's SFU is picked when it needs one. */
  region: string | undefined;
  /** `direct=0|1` (default 1): offer direct video to P2P guests that can take it. */
  directVideo: boolean;
  /** `scroll=<0..240>` (default 0): lines a second the generated screen's code scrolls by (a busy screen). */
  scroll: number;
  /** `alloc=0|1` (default 1): cap P2P guests' RTP encoders by tier and the bandwidth allocator. */
  allocator: boolean;
  /** `layers=2|3` (default 2): SFU simulcast layers. */
  simulcastLayers: 2 | 3;
  /** `ratchet=<seconds>` (5-86400): how often an encrypted session's key moves on; undefined: the default (10 minutes). */
  ratchetMs: number | undefined;
}

export type HostParamsResult = { ok: true; params: HostParams } | { ok: false; message: string };

function int(value: string | null, fallback: number, min: number, max: number): number | string {
  if (value === null || value === '') return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= min && n <= max ? n : `must be an integer from ${min} to ${max}`;
}

export function readHostParams(hash: string): HostParamsResult {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const problems: string[] = [];
  const sessionId = q.get('sid') ?? '';
  const token = q.get('token') ?? '';
  if (!sessionId) problems.push('sid is missing');
  if (!token) problems.push('token is missing');
  const w = int(q.get('w'), 1280, 160, 7680);
  const h = int(q.get('h'), 720, 90, 4320);
  const fps = int(q.get('fps'), 30, 1, 120);
  if (typeof w === 'string') problems.push(`w ${w}`);
  if (typeof h === 'string') problems.push(`h ${h}`);
  if (typeof fps === 'string') problems.push(`fps ${fps}`);
  // Even dimensions: 4:2:0 encoders would crop or pad an odd edge.
  if (typeof w === 'number' && w % 2) problems.push('w must be even');
  if (typeof h === 'number' && h % 2) problems.push('h must be even');
  const codecRaw = q.get('codec');
  const codec = codecRaw ? parseCodecName(codecRaw) : 'av1';
  if (!codec) problems.push(`codec must be vp9, vp8, av1 or h264 (got ${codecRaw})`);
  const hintRaw = q.get('hint') ?? 'detail';
  const hints: ContentHint[] = ['', 'detail', 'text', 'motion'];
  const contentHint = hints.find((x) => x === hintRaw);
  if (contentHint === undefined) problems.push(`hint must be detail, motion, text or empty (got ${hintRaw})`);
  const degRaw = q.get('degradation') ?? 'maintain-resolution';
  const degradations: RTCDegradationPreference[] = ['maintain-resolution', 'maintain-framerate', 'balanced'];
  const degradationPreference = degradations.find((x) => x === degRaw);
  if (!degradationPreference) problems.push(`degradation must be maintain-resolution, maintain-framerate or balanced (got ${degRaw})`);
  const kbps = int(q.get('maxKbps'), 0, 0, 100_000);
  if (typeof kbps === 'string') problems.push(`maxKbps ${kbps}`);
  const ratchet = int(q.get('ratchet'), 0, 5, 86_400);
  if (typeof ratchet === 'string') problems.push(`ratchet ${ratchet}`);
  const directRaw = q.get('direct') ?? '1';
  if (directRaw !== '0' && directRaw !== '1') problems.push(`direct must be 0 or 1 (got ${directRaw})`);
  const scroll = int(q.get('scroll'), 0, 0, 240);
  if (typeof scroll === 'string') problems.push(`scroll ${scroll}`);
  const layersRaw = q.get('layers') ?? '2';
  if (layersRaw !== '2' && layersRaw !== '3') problems.push(`layers must be 2 or 3 (got ${layersRaw})`);
  const allocRaw = q.get('alloc') ?? '1';
  if (allocRaw !== '0' && allocRaw !== '1') problems.push(`alloc must be 0 or 1 (got ${allocRaw})`);
  const bridgeRaw = q.get('bridge');
  let bridgeUrl: string | undefined;
  if (bridgeRaw) {
    try {
      const url = new URL(bridgeRaw);
      if (url.protocol !== 'ws:' && url.protocol !== 'wss:') problems.push(`bridge must be a ws:// or wss:// URL (got ${url.protocol})`);
      else bridgeUrl = url.toString();
    } catch {
      problems.push('bridge is not a URL (URL-encode it in the fragment)');
    }
  }
  if (
    problems.length > 0 ||
    typeof w !== 'number' ||
    typeof h !== 'number' ||
    typeof fps !== 'number' ||
    typeof kbps !== 'number' ||
    typeof ratchet !== 'number' ||
    !codec ||
    contentHint === undefined ||
    !degradationPreference
  ) {
    return { ok: false, message: `Bad host page parameters: ${problems.join('; ')}` };
  }
  return {
    ok: true,
    params: {
      sessionId,
      token,
      name: cleanName(q.get('name')) ?? 'Host',
      width: w,
      height: h,
      fps,
      codec,
      contentHint,
      degradationPreference,
      maxBitrateKbps: kbps > 0 ? kbps : undefined,
      iceTransportPolicy: q.get('ice') === 'relay' ? 'relay' : 'all',
      bridgeUrl,
      region: regionHint(q.get('region')),
      directVideo: directRaw !== '0',
      allocator: allocRaw !== '0',
      simulcastLayers: layersRaw === '3' ? 3 : 2,
      scroll: typeof scroll === 'number' ? scroll : 0,
      ratchetMs: ratchet > 0 ? ratchet * 1000 : undefined,
    },
  };
}
