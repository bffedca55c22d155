/**
 * What a user may paste or click to join: the share link itself (`http(s)://…/s/<id>#t=…`), the
 * same link wrapped for VS Code (`vscode://pairux.pairux/join?link=<encoded>`, also from other
 * editor builds' schemes), or `pairux://join?link=<encoded>`. Everything comes down to the share
 * link, which `parseShareLink` checks; the messages say what to do about a bad one. An end-to-end
 * encrypted session's link carries its media key in the fragment (`&k=`): it stays in `link`,
 * whole, for the guest page; only the token ever goes to the link's server (the preview).
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { EXTENSION_ID, parseShareLink, peekClaims, type ShareLink } from '../../protocol/share-link';

export interface JoinTarget extends ShareLink {
  /** The plain share link (what the guest page joins). */
  link: string;
  role: 'host' | 'controller' | 'viewer' | undefined;
  /** From the token, unverified (the server checks); undefined when unreadable. */
  expiresAt: number | undefined;
}

/** Schemes VS Code builds register for their URI handlers. */
const EDITOR_SCHEMES = new Set(['vscode:', 'vscode-insiders:', 'code-oss:', 'vscodium:', 'cursor:']);

export function parseJoinInput(input: string, now = Date.now()): JoinTarget {
  const text = input.trim();
  if (!text) throw new PairuxError(ErrorCode.TokenInvalid, 'Paste the share link the host sent you (it starts with http:// or https://).');
  const link = unwrap(text);
  const parsed = parseShareLink(link);
  const claims = peekClaims(parsed.token);
  if (claims && claims.sid !== parsed.sessionId) {
    throw new PairuxError(ErrorCode.TokenWrongSession, 'This link is damaged: its token is for another session. Ask the host to copy the link again.');
  }
  const expiresAt = claims ? claims.exp * 1000 : undefined;
  // Clocks differ a little; the server has the last word, this only spares a round trip.
  if (expiresAt !== undefined && expiresAt < now - 30_000) {
    throw new PairuxError(ErrorCode.TokenExpired, `This link expired on ${new Date(expiresAt).toLocaleString()}. Ask the host for a new one.`, {
      expiredAt: expiresAt,
    });
  }
  if (claims?.role === 'host') {
    throw new PairuxError(ErrorCode.Forbidden, "That is the host's own token, not a share link. Use “PairUX: Copy Share Link” on the host to get one.");
  }
  return { ...parsed, link: link.trim(), role: claims?.role, expiresAt };
}

/**
 * What a `vscode://pairux.pairux/join?link=…` URI opened from outside gives the URI handler, as
 * join input. VS Code hands the handler its URI parsed, with the query percent-decoded: the share
 * link's own `&k=` and `&kg=` (an encrypted session's key) then read as more parameters of the
 * editor's link, and neither `uri.toString()` nor `toString(true)` brings them back. The share
 * link is the URI's only parameter, so everything after `link=` is that link, whole.
 */
export function joinInputFromUri(uri: { query: string; toString(skipEncoding?: boolean): string }): string {
  if (!uri.query.startsWith('link=')) return uri.toString(true); // parseJoinInput says what is missing
  const link = uri.query.slice('link='.length);
  // An editor that passes the query still encoded: decode it once.
  if (/^https?%3A/i.test(link)) {
    try {
      return decodeURIComponent(link);
    } catch {
      return link;
    }
  }
  return link;
}

function unwrap(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text; // parseShareLink explains what a link looks like
  }
  if (EDITOR_SCHEMES.has(url.protocol) || url.protocol === 'pairux:') {
    const inner = url.searchParams.get('link');
    if (!inner) {
      throw new PairuxError(
        ErrorCode.TokenInvalid,
        `This ${url.protocol}// link has no share link in it (expected …?link=https://…). Ask the host to copy the link again.`,
      );
    }
    if (EDITOR_SCHEMES.has(url.protocol) && url.host.toLowerCase() !== EXTENSION_ID) {
      throw new PairuxError(ErrorCode.TokenInvalid, `This link is for the extension “${url.host}”, not PairUX.`);
    }
    return inner;
  }
  return text;
}
