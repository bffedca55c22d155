/**
 * How the session service reaches a participant's connection. Locally that is a map of open
 * sockets; with several instances a Redis adapter routes to whichever instance holds the socket.
 */
import type { NotificationType } from '../protocol/rpc';

/** One participant's live connection, as the session service sees it. */
export interface ParticipantSink {
  notify<P>(type: NotificationType<P>, params: P): void;
  close(code: number, reason: string): void;
}

export interface SignalingTransport {
  /** Registers the participant's connection, returning the one it replaces, if any. */
  attach(sessionId: string, participantId: string, sink: ParticipantSink): ParticipantSink | undefined;
  /** Unregisters it, unless a newer connection has taken its place. */
  detach(sessionId: string, participantId: string, sink: ParticipantSink): void;
  /** Whether the participant has a live connection (on any instance). */
  has(sessionId: string, participantId: string): Promise<boolean>;
  /** Delivers to one participant (on whichever instance holds it); false when it has no live connection. */
  send<P>(sessionId: string, participantId: string, type: NotificationType<P>, params: P): Promise<boolean>;
  /**
   * Fire and forget, to every connection of the session on every instance. Deliveries from one
   * instance keep their order (a `send` then a `disconnect` arrive in that order).
   */
  broadcast<P>(sessionId: string, type: NotificationType<P>, params: P, exceptParticipantId?: string): void;
  disconnect(sessionId: string, participantId: string, code: number, reason: string): void;
  disconnectAll(sessionId: string, code: number, reason: string): void;
}

export class LocalSignalingTransport implements SignalingTransport {
  private readonly sessions = new Map<string, Map<string, ParticipantSink>>();

  attach(sessionId: string, participantId: string, sink: ParticipantSink): ParticipantSink | undefined {
    let members = this.sessions.get(sessionId);
    if (!members) this.sessions.set(sessionId, (members = new Map()));
    const previous = members.get(participantId);
    members.set(participantId, sink);
    return previous === sink ? undefined : previous;
  }

  detach(sessionId: string, participantId: string, sink: ParticipantSink): void {
    const members = this.sessions.get(sessionId);
    if (members?.get(participantId) !== sink) return;
    members.delete(participantId);
    if (members.size === 0) this.sessions.delete(sessionId);
  }

  async has(sessionId: string, participantId: string): Promise<boolean> {
    return this.sessions.get(sessionId)?.has(participantId) ?? false;
  }

  async send<P>(sessionId: string, participantId: string, type: NotificationType<P>, params: P): Promise<boolean> {
    const sink = this.sessions.get(sessionId)?.get(participantId);
    if (!sink) return false;
    sink.notify(type, params);
    return true;
  }

  broadcast<P>(sessionId: string, type: NotificationType<P>, params: P, exceptParticipantId?: string): void {
    const members = this.sessions.get(sessionId);
    if (!members) return;
    for (const [id, sink] of members) if (id !== exceptParticipantId) sink.notify(type, params);
  }

  disconnect(sessionId: string, participantId: string, code: number, reason: string): void {
    const sink = this.sessions.get(sessionId)?.get(participantId);
    if (!sink) return;
    this.detach(sessionId, participantId, sink);
    sink.close(code, reason);
  }

  disconnectAll(sessionId: string, code: number, reason: string): void {
    const members = this.sessions.get(sessionId);
    if (!members) return;
    this.sessions.delete(sessionId);
    for (const sink of members.values()) sink.close(code, reason);
  }
}
