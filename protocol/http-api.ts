/** Boundary: host tooling (extension, demo runner) → server over HTTP. */
import { z } from 'zod';
import { DisplayName, Id, Media, Mode, Region } from './common';
import { ERROR_CODES } from './errors';
import { MAX_LINK_TTL_SECONDS } from './limits';
import { RoleTiersOverrideSchema, SessionTiersSchema, TierClampSchema, TierTableOverrideSchema, TIER_NAMES } from './tiers';

export const CREATE_SESSION_PATH = '/api/sessions';
export const MAX_HTTP_BODY_BYTES = 16 * 1024;

export const CreateSessionRequest = z.object({
  /** `auto` (default): P2P, moved to the SFU by the server when the session grows. */
  mode: Mode.default('auto'),
  /** The host's region hint: where the session's SFU is picked when it needs one. */
  region: Region.optional(),
  name: DisplayName.optional(),
  hostName: DisplayName.optional(),
  linkTtlSeconds: z.int().min(60).max(MAX_LINK_TTL_SECONDS).optional(),
  /**
   * End-to-end encrypted: the server records only that it is, so every page shows it and the
   * server refuses a client that cannot encrypt; the key never reaches it (it travels in the
   * share link's fragment, which no HTTP request carries).
   */
  e2ee: z.boolean().optional(),
  /**
   * Which tier each role gets in this session (left out: the deployment's). `{"viewer": "low"}`
   * for an audience on poor links.
   */
  roleTiers: RoleTiersOverrideSchema.optional(),
  /**
   * This session's own numbers for any tier, laid over the deployment's. Clamped: no tier above
   * the deployment's `high`, none above the tier over it; the response says what was applied.
   */
  tiers: TierTableOverrideSchema.optional(),
});
export type CreateSessionRequest = z.input<typeof CreateSessionRequest>;

/** The tiers a new session got: its table and role tiers, and each value that was lowered to fit the deployment. */
export const AppliedTiers = SessionTiersSchema.extend({
  clamped: z.array(TierClampSchema).max(TIER_NAMES.length * 5),
});
export type AppliedTiers = z.infer<typeof AppliedTiers>;

const Link = z.object({ url: z.string(), expiresAt: z.number() });

export const CreateSessionResponse = z.object({
  sessionId: Id,
  /** The host's own join token: never put it in a share link. */
  hostToken: z.string(),
  wsUrl: z.string(),
  links: z.object({ controller: Link, viewer: Link }),
  /** Absent from servers older than the tiers. */
  tiers: AppliedTiers.optional(),
});
export type CreateSessionResponse = z.infer<typeof CreateSessionResponse>;

/** Longest error message a server may send (ours cut theirs to this); longer ones are refused. */
export const MAX_HTTP_ERROR_MESSAGE_CHARS = 500;
/** `data` of an error, as JSON: a few small machine-readable fields. */
export const MAX_HTTP_ERROR_DATA_CHARS = 2048;

/**
 * An error answer of a PairUX server. The server may be anyone's (a share link names it), so its
 * text is bounded here and shown as literal text by whoever displays it.
 */
export const HttpErrorResponse = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string().max(MAX_HTTP_ERROR_MESSAGE_CHARS),
    data: z
      .record(z.string().max(64), z.unknown())
      .refine(
        (d) => Object.keys(d).length <= 16 && (JSON.stringify(d)?.length ?? 0) <= MAX_HTTP_ERROR_DATA_CHARS,
        `error data is limited to 16 fields and ${MAX_HTTP_ERROR_DATA_CHARS} characters`,
      )
      .optional(),
  }),
});
export type HttpErrorResponse = z.infer<typeof HttpErrorResponse>;

/**
 * `GET /api/host` with `Authorization: Bearer <host key>`: whether this host may start sessions
 * here (200; 401 with a wrong key), and what sessions can use: the extension's "test connection"
 * checks a deployment with it before the first session. Rate-limited like session creation.
 */
export const HOST_CHECK_PATH = '/api/host';

export const HostCheckResponse = z.object({
  ok: z.literal(true),
  /** SFU sessions can be started (LiveKit configured). */
  sfu: z.boolean(),
  /** Guests are offered a TURN relay (for networks where peer-to-peer cannot connect). */
  turn: z.boolean(),
});
export type HostCheckResponse = z.infer<typeof HostCheckResponse>;

/**
 * `GET /api/preview` with `Authorization: Bearer <join token>`: what a share link leads to,
 * before joining (the VS Code extension's "Join Ada's session?" confirmation). Answers with the
 * same errors a join would (expired, invalid, ended, not found), so a bad link is explained up
 * front; reveals nothing without a genuine token for that session.
 */
export const SESSION_PREVIEW_PATH = '/api/preview';

export const SessionPreview = z.object({
  sessionId: Id,
  name: z.string().optional(),
  /** The host's display name once the host has joined. */
  hostName: z.string().optional(),
  hostConnected: z.boolean(),
  mode: Mode,
  media: Media,
  /** The role this link gives. */
  role: z.enum(['host', 'controller', 'viewer']),
  expiresAt: z.number(),
  participants: z.int(),
  /** The session is end-to-end encrypted (the link must carry its key). */
  e2ee: z.boolean().optional(),
});
export type SessionPreview = z.infer<typeof SessionPreview>;
