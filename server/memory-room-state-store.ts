/** RoomStateStore in process memory: the embedded server's store. Synchronous inside, so atomic. */
import type { ParticipantRole } from '../protocol/limits';
import type { ControlAuditEntry } from '../protocol/signaling';
import type {
  AddResult,
  LinkRecord,
  ParticipantRecord,
  RoleChangeResult,
  RoomStateStore,
  SessionPatch,
  SessionRecord,
  TransferResult,
} from './room-state-store';

interface Room {
  session: SessionRecord;
  participants: Map<string, ParticipantRecord>;
  removedByHost: Set<string>;
  links: Map<string, LinkRecord>;
  revokedLinks: Set<string>;
  /** Name key → the participant holding it. */
  names: Map<string, string>;
  /** Control events, oldest first, capped. */
  audit: ControlAuditEntry[];
}

export class MemoryRoomStateStore implements RoomStateStore {
  private readonly rooms = new Map<string, Room>();

  async createSession(record: SessionRecord): Promise<void> {
    if (this.rooms.has(record.id)) throw new Error(`session ${record.id} already exists`);
    this.rooms.set(record.id, {
      session: { ...record },
      participants: new Map(),
      removedByHost: new Set(),
      links: new Map(),
      revokedLinks: new Set(),
      names: new Map(),
      audit: [],
    });
  }

  async getSession(sessionId: string): Promise<SessionRecord | undefined> {
    const room = this.rooms.get(sessionId);
    return room && { ...room.session };
  }

  async updateSession(sessionId: string, expectedVersion: number, patch: SessionPatch): Promise<SessionRecord | undefined> {
    const room = this.rooms.get(sessionId);
    if (!room || room.session.ended || room.session.version !== expectedVersion) return undefined;
    const next: SessionRecord = { ...room.session, ...patch, version: expectedVersion + 1 };
    for (const key of Object.keys(patch) as Array<keyof SessionPatch>) if (patch[key] === undefined) delete next[key];
    room.session = next;
    return { ...next };
  }

  private readonly bridgeLeases = new Map<string, { owner: string; until: number }>();

  async claimBridge(sessionId: string, region: string, owner: string, ttlMs: number): Promise<boolean> {
    const key = `${sessionId}/${region}`;
    const held = this.bridgeLeases.get(key);
    if (held && held.owner !== owner && held.until > Date.now()) return false;
    this.bridgeLeases.set(key, { owner, until: Date.now() + ttlMs });
    return true;
  }

  async releaseBridge(sessionId: string, region: string, owner: string): Promise<void> {
    const key = `${sessionId}/${region}`;
    if (this.bridgeLeases.get(key)?.owner === owner) this.bridgeLeases.delete(key);
  }

  async sessionsOnSfu(deploymentId: string): Promise<string[]> {
    const ids: string[] = [];
    for (const [id, room] of this.rooms) if (!room.session.ended && room.session.sfu?.deploymentId === deploymentId) ids.push(id);
    return ids;
  }

  async endSession(sessionId: string, ended: NonNullable<SessionRecord['ended']>): Promise<boolean> {
    const room = this.rooms.get(sessionId);
    if (!room || room.session.ended) return false;
    room.session.ended = ended;
    room.participants.clear();
    room.names.clear();
    return true;
  }

  async deleteSession(sessionId: string): Promise<void> {
    this.rooms.delete(sessionId);
  }

  async countLiveSessions(): Promise<number> {
    let n = 0;
    for (const room of this.rooms.values()) if (!room.session.ended) n++;
    return n;
  }

  async addParticipant(sessionId: string, participant: ParticipantRecord, limits: Record<ParticipantRole, number>, nameKey?: string): Promise<AddResult> {
    const room = this.rooms.get(sessionId);
    if (!room || room.session.ended) throw new Error(`session ${sessionId} is not live`);
    const holder = nameKey === undefined ? undefined : room.names.get(nameKey);
    if (holder !== undefined && holder !== participant.id) return { ok: false, nameTaken: true };
    const limit = limits[participant.role];
    if (countRole(room, participant.role) >= limit) return { ok: false, role: participant.role, limit };
    room.participants.set(participant.id, { ...participant });
    if (nameKey !== undefined) room.names.set(nameKey, participant.id);
    return { ok: true };
  }

  async changeRole(sessionId: string, participantId: string, role: ParticipantRole, limits: Record<ParticipantRole, number>): Promise<RoleChangeResult> {
    const room = this.rooms.get(sessionId);
    const p = room?.participants.get(participantId);
    if (!room || !p) return undefined;
    if (p.role !== role) {
      const limit = limits[role];
      if (countRole(room, role) >= limit) return { ok: false, role, limit };
      p.role = role;
      delete p.chosenTier;
    }
    return { ok: true, participant: { ...p } };
  }

  async updateParticipant(sessionId: string, participantId: string, patch: Partial<ParticipantRecord>): Promise<ParticipantRecord | undefined> {
    const p = this.rooms.get(sessionId)?.participants.get(participantId);
    if (!p) return undefined;
    Object.assign(p, patch);
    return { ...p };
  }

  async transferHost(sessionId: string, fromId: string, toId: string): Promise<TransferResult> {
    const room = this.rooms.get(sessionId);
    if (!room || room.session.ended) return { ok: false, reason: 'gone' };
    const from = room.participants.get(fromId);
    if (room.session.hostId !== fromId || from?.role !== 'host') return { ok: false, reason: 'not-host' };
    const to = room.participants.get(toId);
    if (!to) return { ok: false, reason: 'not-found' };
    if (to.role !== 'controller') return { ok: false, reason: 'not-controller' };
    Object.assign(from, { role: 'controller', controlState: 'none' });
    Object.assign(to, { role: 'host', controlState: 'none' });
    delete from.chosenTier;
    delete to.chosenTier;
    room.session = { ...room.session, hostId: toId, version: room.session.version + 1 };
    return { ok: true, session: { ...room.session }, from: { ...from }, to: { ...to } };
  }

  async removeParticipant(sessionId: string, participantId: string, byHost = false): Promise<ParticipantRecord | undefined> {
    const room = this.rooms.get(sessionId);
    const p = room?.participants.get(participantId);
    if (!room || !p) return undefined;
    room.participants.delete(participantId);
    for (const [key, holder] of room.names) if (holder === participantId) room.names.delete(key);
    if (byHost) room.removedByHost.add(participantId);
    return p;
  }

  async wasRemovedByHost(sessionId: string, participantId: string): Promise<boolean> {
    return this.rooms.get(sessionId)?.removedByHost.has(participantId) ?? false;
  }

  async addLink(sessionId: string, link: LinkRecord): Promise<void> {
    this.rooms.get(sessionId)?.links.set(link.id, { ...link });
  }

  async getLink(sessionId: string, linkId: string): Promise<LinkRecord | undefined> {
    const link = this.rooms.get(sessionId)?.links.get(linkId);
    return link && { ...link };
  }

  async listLinks(sessionId: string): Promise<LinkRecord[]> {
    const room = this.rooms.get(sessionId);
    if (!room) return [];
    return [...room.links.values()]
      .filter((l) => !room.revokedLinks.has(l.id))
      .sort((x, y) => x.createdAt - y.createdAt)
      .map((l) => ({ ...l }));
  }

  async revokeLinks(sessionId: string, linkIds: string[]): Promise<string[]> {
    const room = this.rooms.get(sessionId);
    if (!room) return [];
    const fresh = linkIds.filter((id) => !room.revokedLinks.has(id));
    for (const id of fresh) room.revokedLinks.add(id);
    return [...new Set(fresh)];
  }

  async isLinkRevoked(sessionId: string, linkId: string): Promise<boolean> {
    return this.rooms.get(sessionId)?.revokedLinks.has(linkId) ?? false;
  }

  async appendControlAudit(sessionId: string, entry: ControlAuditEntry, max: number): Promise<void> {
    const audit = this.rooms.get(sessionId)?.audit;
    if (!audit) return;
    audit.push(structuredClone(entry));
    if (audit.length > max) audit.splice(0, audit.length - max);
  }

  async listControlAudit(sessionId: string): Promise<ControlAuditEntry[]> {
    return structuredClone(this.rooms.get(sessionId)?.audit ?? []);
  }

  async getParticipant(sessionId: string, participantId: string): Promise<ParticipantRecord | undefined> {
    const p = this.rooms.get(sessionId)?.participants.get(participantId);
    return p && { ...p };
  }

  async listParticipants(sessionId: string): Promise<ParticipantRecord[]> {
    const room = this.rooms.get(sessionId);
    return room ? [...room.participants.values()].map((p) => ({ ...p })) : [];
  }
}

function countRole(room: Room, role: ParticipantRole): number {
  let n = 0;
  for (const p of room.participants.values()) if (p.role === role) n++;
  return n;
}
