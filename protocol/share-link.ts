/**
 * Share links: `https://server/s/<sessionId>#t=<join token>[&k=<media key>]`. The token sits in
 * the fragment so it never reaches server logs or Referer headers; an end-to-end encrypted
 * session's media key sits there too (43 base64url characters), which no HTTP request carries, so
 * the server that issues the links never sees it: the host's page adds it to the links it hands out.
 */
import { z } from 'zod';
import { ErrorCode, PairuxError } from './errors';
import { Id, Role } from './common';
import { MAX_TOKEN_CHARS } from './limits';

export const JOIN_TOKEN_ISSUER = 'pairux';
export const JOIN_TOKEN_AUDIENCE = 'pairux-join';

/** Claims of a signed join capability (JWT, HS256). */
export const JoinClaims = z.object({
  sid: Id,
  role: Role,
  exp: z.number(),
  iat: z.number(),
  iss: z.literal(JOIN_TOKEN_ISSUER),
  aud: z.literal(JOIN_TOKEN_AUDIENCE),
  jti: z.string().max(64),
});
export type JoinClaims = z.infer<typeof JoinClaims>;

export interface ShareLink {
  origin: string;
  sessionId: string;
  token: string;
  /** An encrypted session's media key, as the link carries it (base64url, 43 characters). */
  key?: string;
  /** The key's generation (`kg=`; 0 when absent): how far the session's key ratchet had gone when the link was made. */
  keyGen?: number;
}

/** Highest key generation a link may name (the ratchet's and re-keys' counter). */
export const MAX_KEY_GEN = 0xffff;

/** The text form of a media key in a link: 32 bytes, base64url without padding. */
const MEDIA_KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;

export function formatShareLink(origin: string, sessionId: string, token: string, key?: string, keyGen = 0): string {
  const keyPart = key === undefined ? '' : `&k=${key}${keyGen ? `&kg=${keyGen}` : ''}`;
  return `${origin.replace(/\/+$/, '')}/s/${encodeURIComponent(sessionId)}#t=${token}${keyPart}`;
}

/** `link` carrying `key` (of generation `keyGen`) in its fragment, replacing one it had: what an encrypted session's host hands out. */
export function withMediaKey(link: string, key: string, keyGen = 0): string {
  if (!MEDIA_KEY_TEXT.test(key)) throw new RangeError('a media key in a link is 43 base64url characters');
  if (!Number.isInteger(keyGen) || keyGen < 0 || keyGen > MAX_KEY_GEN) throw new RangeError(`a key generation is 0-${MAX_KEY_GEN}`);
  const { origin, sessionId, token } = parseShareLink(link);
  return formatShareLink(origin, sessionId, token, key, keyGen);
}

/** Parses a pasted link; throws a PairuxError whose message tells the user what is wrong. */
export function parseShareLink(input: string): ShareLink {
  const text = input.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PairuxError(ErrorCode.TokenInvalid, 'That is not a link. Paste the whole PairUX share link, starting with http:// or https://.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PairuxError(ErrorCode.TokenInvalid, `A PairUX share link starts with http:// or https://, not ${url.protocol}//.`);
  }
  const match = /^\/s\/([^/]+)\/?$/.exec(url.pathname);
  if (!match?.[1]) {
    throw new PairuxError(ErrorCode.TokenInvalid, 'This link has no session in it (expected …/s/<session>#t=…). Ask the host to copy the share link again.');
  }
  let sessionId: string;
  try {
    sessionId = decodeURIComponent(match[1]);
  } catch {
    throw new PairuxError(
      ErrorCode.TokenInvalid,
      'The session id in this link is malformed (a broken % escape). Copy the link again, or ask the host for a new one.',
    );
  }
  if (!Id.safeParse(sessionId).success) {
    throw new PairuxError(ErrorCode.TokenInvalid, 'The session id in this link is malformed. Ask the host for a new link.');
  }
  const token = new URLSearchParams(url.hash.replace(/^#/, '')).get('t');
  if (!token) {
    throw new PairuxError(
      ErrorCode.TokenInvalid,
      'This link is missing its access token (the part after #t=). It may have been cut off when pasted; copy it again.',
    );
  }
  if (token.length > MAX_TOKEN_CHARS) {
    throw new PairuxError(ErrorCode.TokenInvalid, 'The access token in this link is too long to be genuine.');
  }
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ''));
  const key = fragment.get('k');
  if (key === null) return { origin: url.origin, sessionId, token };
  if (!MEDIA_KEY_TEXT.test(key)) {
    throw new PairuxError(
      ErrorCode.TokenInvalid,
      'This session is end-to-end encrypted and your link’s key is damaged (the part after &k= was cut off or edited): ask the host for the link again.',
    );
  }
  const genText = fragment.get('kg') ?? '0';
  const keyGen = /^\d{1,5}$/.test(genText) ? Number(genText) : NaN;
  if (!(keyGen <= MAX_KEY_GEN)) {
    throw new PairuxError(
      ErrorCode.TokenInvalid,
      'This session is end-to-end encrypted and your link’s key is damaged (the part after &kg= was edited): ask the host for the link again.',
    );
  }
  return { origin: url.origin, sessionId, token, key, keyGen };
}

/**
 * Reads a token's claims WITHOUT checking its signature: for display only (role, expiry on the
 * error page). The server verifies every token on join.
 */
export function peekClaims(token: string): JoinClaims | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = typeof atob === 'function' ? atob(b64) : Buffer.from(b64, 'base64').toString('binary');
    const parsed = JoinClaims.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The extension's id: the authority of the links that open an editor and join. */
export const EXTENSION_ID = 'pairux.pairux';

/** `vscode://pairux.pairux/join?link=…`: a link that opens VS Code (or the editor `scheme` names) and joins. */
export function editorJoinUri(shareLink: string, scheme = 'vscode'): string {
  return `${scheme}://${EXTENSION_ID}/join?link=${encodeURIComponent(shareLink)}`;
}
