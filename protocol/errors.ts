/**
 * Error codes every boundary can answer with. One closed set so a client can switch on `code`
 * and show the user what to do; `message` is for humans and logs.
 */
export const ErrorCode = {
  /** Not JSON, wrong envelope, or params that fail the schema. */
  BadMessage: 'BAD_MESSAGE',
  /** A method this boundary does not define. */
  UnknownMethod: 'UNKNOWN_METHOD',
  /** The envelope's `v` is not one this peer speaks. */
  UnsupportedVersion: 'UNSUPPORTED_VERSION',
  /** Over a size cap (WebSocket close 1009 for whole messages). */
  TooLarge: 'TOO_LARGE',
  /** A session method before `session.join` succeeded on this connection. */
  NotJoined: 'NOT_JOINED',
  AlreadyJoined: 'ALREADY_JOINED',
  /** The caller's role may not do this. */
  Forbidden: 'FORBIDDEN',
  /** Join token: bad signature, malformed, wrong audience. */
  TokenInvalid: 'TOKEN_INVALID',
  TokenExpired: 'TOKEN_EXPIRED',
  /** A genuine link the host revoked (removed its guest, rotated the links) or a single-use link already used. */
  TokenRevoked: 'TOKEN_REVOKED',
  /** A valid token for another session than the one being joined. */
  TokenWrongSession: 'TOKEN_WRONG_SESSION',
  SessionNotFound: 'SESSION_NOT_FOUND',
  SessionEnded: 'SESSION_ENDED',
  /** A role limit (host 1, controllers 3, viewers 25 in P2P) is full. */
  LimitReached: 'LIMIT_REACHED',
  /** Signaling to someone who is not (or no longer) a member of the caller's session. */
  PeerNotFound: 'PEER_NOT_FOUND',
  RateLimited: 'RATE_LIMITED',
  /** The session is end-to-end encrypted and this client cannot encrypt: it may not join. */
  E2eeRequired: 'E2EE_REQUIRED',
  /** Creating sessions needs the server's host key. */
  Unauthorized: 'UNAUTHORIZED',
  Timeout: 'TIMEOUT',
  /** The capability is missing on this machine (no X display, no desktop portal, no injection). */
  Unavailable: 'UNAVAILABLE',
  /** The user said no in a dialog of their desktop (Wayland's screen-sharing picker): nothing was shared. */
  Cancelled: 'CANCELLED',
  /** The connection closed while a request was pending. */
  Closed: 'CLOSED',
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES = Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]];

/** What crosses the wire for a failed request. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Machine-readable detail, e.g. `{ limit: 25, role: 'viewer' }`. */
  data?: Record<string, unknown>;
}

/**
 * The one error type of every PairUX boundary (like livekit-client's `LivekitError`): a code to
 * switch on, a message for people, optional data and the underlying cause.
 */
export class PairuxError extends Error {
  override name = 'PairuxError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toBody(): ErrorBody {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }

  static fromBody(body: ErrorBody): PairuxError {
    return new PairuxError(body.code, body.message, body.data);
  }

  /** Anything thrown becomes a PairuxError; unknown errors become INTERNAL without leaking internals. */
  static from(err: unknown): PairuxError {
    if (err instanceof PairuxError) return err;
    return new PairuxError(ErrorCode.Internal, 'Internal error', undefined, { cause: err });
  }
}
