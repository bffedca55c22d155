/**
 * What each failure means to the person holding the link, and what they can do about it. Every
 * text names the problem and the next step; the host is the only one who can mint a new link.
 */
import { ErrorCode, type PairuxError } from '../../protocol/errors';

export const LINK_INVALID = 'LINK_INVALID';

export interface ErrorScreen {
  code: string;
  title: string;
  /** Problem and next step, one paragraph. */
  message: string;
}

const ASK_FOR_LINK = 'Ask the host for a new link.';

function formatTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? 'an earlier time' : d.toLocaleString();
}

export function linkInvalidScreen(detail: string): ErrorScreen {
  return {
    code: LINK_INVALID,
    title: 'This link is incomplete',
    message: `${detail.replace(/\s*$/, '')} If it looks complete, ask the host to copy the share link again.`,
  };
}

export function expiredScreen(expiresAtMs: number | undefined): ErrorScreen {
  const when = expiresAtMs === undefined ? '' : ` at ${formatTime(expiresAtMs)}`;
  return {
    code: ErrorCode.TokenExpired,
    title: 'This link has expired',
    message: `The share link expired${when}, so it no longer lets anyone in. ${ASK_FOR_LINK}`,
  };
}

export function wrongSessionScreen(): ErrorScreen {
  return {
    code: ErrorCode.TokenWrongSession,
    title: 'This link does not match its session',
    message: `The access token in this link was made for a different session than the one in the address (the link may have been edited or pieced together from two links). ${ASK_FOR_LINK}`,
  };
}

/** A join refusal (or any final error) as a screen. */
/** The encrypted session's key problems: the picture would never open, so they end the page with words. */
export function e2eeScreen(code: 'E2EE_KEY_REJECTED' | 'E2EE_KEY_MISSING' | typeof ErrorCode.E2eeRequired, message: string): ErrorScreen {
  const title = code === ErrorCode.E2eeRequired ? 'This browser cannot join an encrypted session' : 'This link cannot open the encrypted session';
  return { code, title, message };
}

export function errorScreen(error: PairuxError, expiresAtMs?: number): ErrorScreen {
  switch (error.code) {
    case ErrorCode.TokenExpired:
      return expiredScreen(expiresAtMs);
    case ErrorCode.TokenWrongSession:
      return wrongSessionScreen();
    case ErrorCode.TokenInvalid:
      return {
        code: error.code,
        title: 'This link is not valid',
        message: `The server did not accept this link's access token: it may have been cut off when pasted, altered, or made by another server. ${ASK_FOR_LINK}`,
      };
    case ErrorCode.SessionNotFound:
      return {
        code: error.code,
        title: 'Session not found',
        message:
          'There is no such session on this server: it may have ended a while ago, or the server was restarted. Ask the host whether the session is still running and for a current link.',
      };
    case ErrorCode.SessionEnded:
      return {
        code: error.code,
        title: 'The session has ended',
        message: `${error.message.replace(/\s*$/, '') || 'The host has already ended this session.'} If you expected it to be running, ask the host to start a new one and send you its link.`,
      };
    case ErrorCode.LimitReached: {
      // The server's message names the limit ("already has 25 viewers…") and the remedy.
      const role = typeof error.data?.role === 'string' ? error.data.role : undefined;
      const limit = typeof error.data?.limit === 'number' ? error.data.limit : undefined;
      const detail =
        error.message || (role && limit !== undefined ? `This session already has ${limit} ${role}s, the most it allows.` : 'This session is full.');
      return {
        code: error.code,
        title: 'The session is full',
        message: `${detail.replace(/\s*$/, '')} When someone has left, reload this page to try again.`,
      };
    }
    default:
      return {
        code: error.code,
        title: 'Could not join the session',
        message: `${error.message} (${error.code}). Reload the page to try again; if it keeps happening, ask the host for a new link.`,
      };
  }
}
