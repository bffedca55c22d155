/**
 * Where room state lives. In memory for the embedded server; Redis (several instances) and
 * Postgres (the strategy's Supabase option) are adapters behind this same interface. Methods are
 * async for those adapters; the limit check and the insert are one atomic step in each.
 */
import type { Participant } from '../protocol/signaling';
import type { ParticipantRole, SessionMode } from '../protocol/limits';

export interface SessionRecord {
  id: string;
  mode: SessionMode;
  name?: string;
  hostId: string;
  createdAt: number;
  /** Set once; an ended session refuses joins until it is purged. */
  ended?: { at: number; reason: 'host-ended' | 'host-left' | 'server-shutdown'; message: string };
}

export interface ParticipantRecord extends Participant {
  /** sha256 of the resume secret; the secret itself is only ever with the client. */
  resumeHash: string;
  disconnectedAt?: number;
}

export type AddResult = { ok: true } | { ok: false; role: ParticipantRole; limit: number };
export type RoleChangeResult = { ok: true; participant: ParticipantRecord } | { ok: false; role: ParticipantRole; limit: number } | undefined;

export interface RoomStateStore {
  createSession(record: SessionRecord): Promise<void>;
  getSession(sessionId: string): Promise<SessionRecord | undefined>;
  /** Marks the session ended and drops its participants; false when it was already ended or unknown. */
  endSession(sessionId: string, ended: NonNullable<SessionRecord['ended']>): Promise<boolean>;
  deleteSession(sessionId: string): Promise<void>;
  countLiveSessions(): Promise<number>;
  /** Adds the participant unless its role is at its limit; participants in their grace period count. */
  addParticipant(sessionId: string, participant: ParticipantRecord, limits: Record<ParticipantRole, number>): Promise<AddResult>;
  /**
   * Gives the participant `role` unless that role is at its limit (same counting as
   * `addParticipant`, one atomic step); undefined when the participant is not there.
   */
  changeRole(sessionId: string, participantId: string, role: ParticipantRole, limits: Record<ParticipantRole, number>): Promise<RoleChangeResult>;
  updateParticipant(sessionId: string, participantId: string, patch: Partial<ParticipantRecord>): Promise<ParticipantRecord | undefined>;
  /** With `byHost`, the id is remembered until the session is deleted, so its ticket is refused with a reason. */
  removeParticipant(sessionId: string, participantId: string, byHost?: boolean): Promise<ParticipantRecord | undefined>;
  wasRemovedByHost(sessionId: string, participantId: string): Promise<boolean>;
  getParticipant(sessionId: string, participantId: string): Promise<ParticipantRecord | undefined>;
  listParticipants(sessionId: string): Promise<ParticipantRecord[]>;
}
