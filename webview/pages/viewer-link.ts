/**
 * What the viewer page needs from its own URL: `/s/<sessionId>#t=<token>[&name=…][&ice=relay][&region=…][&direct=0][&paced=1]`.
 * Parsing is separate from the page so it can be tested and reused by the VS Code panel, which
 * gets the link pasted rather than as its location.
 */
import { Region } from '../../protocol/common';
import { parseShareLink } from '../../protocol/share-link';
import { MAX_NAME_CHARS } from '../../protocol/limits';
import { PairuxError } from '../../protocol/errors';

export interface ViewerParams {
  sessionId: string;
  token: string;
  /** From `name=`; undefined means "pick a default". */
  name: string | undefined;
  iceTransportPolicy: RTCIceTransportPolicy;
  /** `jb=<ms>`: the receiver's jitter-buffer target; undefined leaves Chromium's own. */
  jitterBufferMs: number | undefined;
  /** `region=<pool>`: which SFU pool this guest is nearest to; a malformed one is ignored. */
  region: string | undefined;
  /** `paced=1`: an SFU picture shown at WebRTC's render times instead of each frame as soon as it is decoded. */
  paced: boolean;
  /** `direct=0` asks for RTP video even where direct video (WebCodecs over a data channel) would work. */
  directVideo: boolean;
  /** An encrypted session's media key (`k=`, 43 base64url characters) and its generation (`kg=`). */
  key: { text: string; gen: number } | undefined;
}

export type ViewerLink = { ok: true; params: ViewerParams } | { ok: false; message: string };

export function readViewerLink(href: string): ViewerLink {
  let link;
  try {
    link = parseShareLink(href);
  } catch (err) {
    return { ok: false, message: err instanceof PairuxError ? err.message : 'This link could not be read.' };
  }
  const fragment = new URLSearchParams(new URL(href).hash.replace(/^#/, ''));
  const name = cleanName(fragment.get('name'));
  return {
    ok: true,
    params: {
      sessionId: link.sessionId,
      token: link.token,
      name,
      iceTransportPolicy: fragment.get('ice') === 'relay' ? 'relay' : 'all',
      jitterBufferMs: jitterBuffer(fragment.get('jb')),
      region: regionHint(fragment.get('region')),
      directVideo: fragment.get('direct') !== '0',
      paced: fragment.get('paced') === '1',
      key: link.key === undefined ? undefined : { text: link.key, gen: link.keyGen ?? 0 },
    },
  };
}

/** A region hint the server accepts (lower-case letters, digits and -, ≤ 32), or undefined. */
export function regionHint(raw: string | null): string | undefined {
  return raw && Region.safeParse(raw).success ? raw : undefined;
}

function jitterBuffer(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 4000 ? n : undefined;
}

/** A display name the server will accept (printable, trimmed, ≤ 64), or undefined. */
export function cleanName(raw: string | null | undefined): string | undefined {
  if (!raw) return undefined;

  const name = raw
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, MAX_NAME_CHARS)
    .trim();
  return name || undefined;
}

/** "Guest 1234", kept for the tab's lifetime so a reload shows the same name. */
export function defaultGuestName(storage: Storage | undefined): string {
  const key = 'pairux.guestName';
  try {
    const saved = cleanName(storage?.getItem(key));
    if (saved) return saved;
  } catch {
    // No storage in this context: a fresh name per load is fine.
  }
  const name = `Guest ${1000 + Math.floor(Math.random() * 9000)}`;
  try {
    storage?.setItem(key, name);
  } catch {
    // As above.
  }
  return name;
}
