/**
 * Where room state lives. In memory for the embedded server; Redis (several instances) and
 * Postgres (the strategy's Supabase option) are adapters behind this same interface. Methods are
 * async for those adapters; the limit check and the insert are one atomic step in each.
 */
import type { ControlAuditEntry, MoveReason, Participant } from '../protocol/signaling';
import type { MediaMode, ParticipantRole, SessionMode } from '../protocol/limits';
import type { SessionTiers, TierName } from '../protocol/tiers';

/** Which SFU a session's media is on: the deployment the focus chose and the LiveKit room there. */
export interface SfuAssignment {
  deploymentId: string;
  region: string;
  room: string;
}

export interface SessionRecord {
  id: string;
  mode: SessionMode;
  /** Where the media flows now. */
  media: MediaMode;
  /**
   * Bumped by every `updateSession`: the compare-and-set that lets several control-plane
   * instances race on a session's topology with exactly one winner.
   */
  version: number;
  /** Bumped by each move of the media (P2P → SFU, SFU → another SFU). */
  epoch: number;
  /** The host's region hint. */
  region?: string;
  sfu?: SfuAssignment;
  /**
   * Cascaded (issue 17): by far region, the deployment and room its viewers there watch in, fed
   * by a cascade bridge from `sfu` (the origin). Absent while everyone is on the origin.
   */
  cascade?: Record<string, SfuAssignment>;
  /** An instance moving the media: others leave it alone until `until` (epoch ms). */
  moving?: { by: string; until: number; reason: MoveReason };
  /** When the last move failed (no SFU could take the session): the next try waits. */
  moveFailedAt?: number;
  /** Why the media last moved (what `session.topology` says when everyone has arrived). */
  movedFor?: MoveReason;
  /**
   * Since when its viewers are on the `low` tier because the host could not keep up and no SFU
   * could take the session (`media.hostLoad`), and the how-manieth time in this session (absent:
   * the first); cleared when it moves to an SFU, or when the host keeps up again long enough.
   */
  viewersLowered?: { at: number; why: string; times?: number };
  /** When the lowered viewers last got their tiers back, and how many lowerings that closed (the next one's back-off). */
  viewersRestored?: { at: number; times: number };
  name?: string;
  /** End-to-end encrypted (only the fact: the key never reaches a server). */
  e2ee?: boolean;
  /** The host turned the lobby on for every guest, viewers too (`lobby.setMode`). */
  lobbyEveryone?: boolean;
  /**
   * The quality tiers it was created with (the deployment's, with the session's own clamped in).
   * Absent only from sessions an instance older than the tiers created; they read the defaults.
   */
  tiers?: SessionTiers;
  hostId: string;
  createdAt: number;
  /** Set once; an ended session refuses joins until it is purged. */
  ended?: { at: number; reason: 'host-ended' | 'host-left' | 'server-shutdown'; message: string };
}

/**
 * A guest share link as the server remembers it: its token's `jti` as the id, never the token.
 * Which link a participant came through, and whether a link still lets anyone in, hang on it.
 */
export interface LinkRecord {
  id: string;
  role: 'controller' | 'viewer';
  /** What the host sees beside those who came through it ('controller link', or the host's own label). */
  label: string;
  /** A personal link: revoked by the join that first uses it. */
  singleUse: boolean;
  /** Made for one person (links.create with a label or singleUse), not one of the session's shared links. */
  personal: boolean;
  createdAt: number;
  expiresAt: number;
}

/** What `Participant` shows is worked out from the record (`tier` from the role and the session's tiers). */
export interface ParticipantRecord extends Omit<Participant, 'tier' | 'tierChosen'> {
  /** sha256 of the resume secret; the secret itself is only ever with the client. */
  resumeHash: string;
  disconnectedAt?: number;
  /** The host's choice of tier for this guest (`participant.setTier`); a role change clears it. */
  chosenTier?: TierName;
}

/** `transferHost`: the swap made (both records after it), or why not. */
export type TransferResult =
  | { ok: true; session: SessionRecord; from: ParticipantRecord; to: ParticipantRecord }
  | { ok: false; reason: 'gone' | 'not-host' | 'not-found' | 'not-controller' };

export type AddResult = { ok: true } | { ok: false; role: ParticipantRole; limit: number } | { ok: false; nameTaken: true };
export type RoleChangeResult = { ok: true; participant: ParticipantRecord } | { ok: false; role: ParticipantRole; limit: number } | undefined;

/** What `updateSession` may change; `version` is the store's to bump. */
export type SessionPatch = Partial<
  Pick<
    SessionRecord,
    'media' | 'epoch' | 'region' | 'sfu' | 'cascade' | 'moving' | 'moveFailedAt' | 'movedFor' | 'viewersLowered' | 'viewersRestored' | 'lobbyEveryone'
  >
>;

export interface RoomStateStore {
  createSession(record: SessionRecord): Promise<void>;
  getSession(sessionId: string): Promise<SessionRecord | undefined>;
  /**
   * Compare-and-set: applies `patch` (a key set to undefined is removed) and bumps `version` only
   * when the stored version is still `expectedVersion` and the session is not ended. Returns the
   * updated record, or undefined when another writer got there first (or the session is gone).
   */
  updateSession(sessionId: string, expectedVersion: number, patch: SessionPatch): Promise<SessionRecord | undefined>;
  /** Live sessions whose media is on this SFU deployment (for failover). */
  sessionsOnSfu(deploymentId: string): Promise<string[]>;
  /**
   * The lease on running a session's cascade bridge to a region (one bridge however many
   * instances place viewers there): taken when free, renewed when `owner` holds it, refused (false)
   * while another instance holds it. A lease not renewed within `ttlMs` is free again: its
   * instance died, and another one takes the bridge over.
   */
  claimBridge(sessionId: string, region: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Frees `owner`'s lease on the bridge, if it holds it. */
  releaseBridge(sessionId: string, region: string, owner: string): Promise<void>;
  /** Marks the session ended and drops its participants; false when it was already ended or unknown. */
  endSession(sessionId: string, ended: NonNullable<SessionRecord['ended']>): Promise<boolean>;
  deleteSession(sessionId: string): Promise<void>;
  countLiveSessions(): Promise<number>;
  /**
   * Adds the participant unless its role is at its limit (participants in their grace period
   * count) or, with `nameKey` (its name as compared, see display-names.ts), someone else in the
   * session holds that key; the key is held until the participant is removed.
   */
  addParticipant(sessionId: string, participant: ParticipantRecord, limits: Record<ParticipantRole, number>, nameKey?: string): Promise<AddResult>;
  /**
   * Gives the participant `role` unless that role is at its limit (same counting as
   * `addParticipant`, one atomic step); undefined when the participant is not there. A real change
   * of role drops the host's choice of tier in the same step: the new role's tier applies.
   */
  changeRole(sessionId: string, participantId: string, role: ParticipantRole, limits: Record<ParticipantRole, number>): Promise<RoleChangeResult>;
  updateParticipant(sessionId: string, participantId: string, patch: Partial<ParticipantRecord>): Promise<ParticipantRecord | undefined>;
  /**
   * Host transfer, one atomic step: `fromId` (the session's host) becomes a controller and `toId`
   * (a controller) the host, the session's `hostId` follows (and its version is bumped), and
   * neither keeps a control request or grant, nor a chosen tier.
   */
  transferHost(sessionId: string, fromId: string, toId: string): Promise<TransferResult>;
  /** With `byHost`, the id is remembered until the session is deleted, so its ticket is refused with a reason. */
  removeParticipant(sessionId: string, participantId: string, byHost?: boolean): Promise<ParticipantRecord | undefined>;
  wasRemovedByHost(sessionId: string, participantId: string): Promise<boolean>;
  /** Remembers a guest link issued for the session (until the session is deleted). */
  addLink(sessionId: string, link: LinkRecord): Promise<void>;
  getLink(sessionId: string, linkId: string): Promise<LinkRecord | undefined>;
  /** The session's links not revoked, oldest first. */
  listLinks(sessionId: string): Promise<LinkRecord[]>;
  /**
   * Adds the ids to the session's revocation list (kept until the session is deleted), one atomic
   * step; returns those that were not revoked before, so exactly one of two racing revocations of
   * a single-use link wins it.
   */
  revokeLinks(sessionId: string, linkIds: string[]): Promise<string[]>;
  isLinkRevoked(sessionId: string, linkId: string): Promise<boolean>;
  /** Appends a control event to the session's audit, keeping the newest `max`; nothing once the session is deleted. */
  appendControlAudit(sessionId: string, entry: ControlAuditEntry, max: number): Promise<void>;
  /** The session's control events, oldest first; kept after the session ends, gone with its purge. */
  listControlAudit(sessionId: string): Promise<ControlAuditEntry[]>;
  getParticipant(sessionId: string, participantId: string): Promise<ParticipantRecord | undefined>;
  listParticipants(sessionId: string): Promise<ParticipantRecord[]>;
}
