/**
 * Signed, expiring join capabilities (JWT HS256 via jose): who may join which session in which
 * role until when. Every join verifies one; nothing in a session is reachable without it.
 */
import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { ErrorCode, PairuxError } from '../protocol/errors';
import { JOIN_TOKEN_AUDIENCE, JOIN_TOKEN_ISSUER, JoinClaims } from '../protocol/share-link';
import type { ParticipantRole } from '../protocol/limits';

export interface IssuedToken {
  token: string;
  expiresAt: number;
  /** Its `jti`: what a revocation names. */
  id: string;
}

export interface VerifiedToken {
  claims: JoinClaims;
  /** True when the signature is good but `exp` has passed (a resume may still accept it). */
  expired: boolean;
}

export class JoinTokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(sessionId: string, role: ParticipantRole, ttlSeconds: number): Promise<IssuedToken> {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + ttlSeconds;
    const id = randomBytes(9).toString('base64url');
    const token = await new SignJWT({ sid: sessionId, role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(JOIN_TOKEN_ISSUER)
      .setAudience(JOIN_TOKEN_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(id)
      .sign(this.key);
    return { token, expiresAt: exp * 1000, id };
  }

  /**
   * Checks signature, algorithm, issuer, audience and shape. An expired but otherwise genuine
   * token comes back with `expired: true` so the caller picks the error (a dropped participant
   * holding a resume ticket may come back after its link expired); anything else throws.
   */
  async verify(token: string): Promise<VerifiedToken> {
    let payload: JWTPayload;
    let expired = false;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: JOIN_TOKEN_ISSUER,
        audience: JOIN_TOKEN_AUDIENCE,
        currentDate: new Date(this.now()),
        requiredClaims: ['exp', 'iat', 'jti'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        payload = err.payload;
        expired = true;
      } else {
        throw new PairuxError(ErrorCode.TokenInvalid, 'The join token is not valid (bad signature or malformed). Ask the host for a new link.', undefined, {
          cause: err,
        });
      }
    }
    const claims = JoinClaims.safeParse(payload);
    if (!claims.success) {
      throw new PairuxError(ErrorCode.TokenInvalid, 'The join token does not carry a session and role. Ask the host for a new link.');
    }
    return { claims: claims.data, expired };
  }
}
