/**
 * Host rights follow the seat, not the connection. The role a connection joined with goes stale:
 * a host transfer moves the seat, and a socket the server has closed can still be heard until
 * its closing handshake ends. So every host-only action reads the session's `hostId` from the
 * store at the moment it acts.
 */
import { ErrorCode, PairuxError } from '../protocol/errors';
import type { RoomStateStore, SessionRecord } from './room-state-store';

/** The live session when `participantId` holds its host seat now; otherwise refused with why. */
export async function requireCurrentHost(store: RoomStateStore, member: { sessionId: string; participantId: string }, what: string): Promise<SessionRecord> {
  const session = await store.getSession(member.sessionId);
  if (!session || session.ended) throw new PairuxError(ErrorCode.SessionEnded, 'This session has ended.');
  if (session.hostId !== member.participantId) {
    throw new PairuxError(ErrorCode.Forbidden, `Only the host can ${what}, and you do not hold the host's seat in this session (now).`);
  }
  return session;
}

/** Whether `participantId` holds the host seat now (false for an ended or unknown session). */
export async function isCurrentHost(store: RoomStateStore, sessionId: string, participantId: string): Promise<boolean> {
  const session = await store.getSession(sessionId);
  return session !== undefined && !session.ended && session.hostId === participantId;
}
