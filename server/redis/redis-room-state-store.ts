/**
 * RoomStateStore in Redis, shared by every control-plane instance. Same behaviour as
 * `MemoryRoomStateStore` (the reference; `test/server/room-state-store.test.ts` runs one spec
 * against both). Every rule that reads then writes is one Lua script, so it is atomic across
 * instances: the role-limit check and the insert, the role change, the session's compare-and-set
 * on `version`, ending a session once.
 *
 * Layout (one standalone Redis, or a primary; not Redis Cluster: scripts touch keys they compute):
 *   s:<sid>        hash, one field per record field, each value JSON; `_dep` = SFU deployment id
 *   p:<sid>:<pid>  hash, one field per participant field, each value JSON
 *   r:<sid>        hash pid → role (raw): the member list and the role counts
 *   x:<sid>        set of ids the host removed
 *   l:<sid>        hash link id (its token's jti) → the link's record as JSON
 *   k:<sid>        set of revoked link ids
 *   n:<sid>        hash name key → participant id (one participant per name; its hash keeps `_nk`)
 *   a:<sid>        list of control audit entries (JSON), oldest first, capped
 *   sfu:<dep>      set of live session ids whose media is on that deployment
 *   live           number of live (not ended) sessions
 * Field-per-field values let scripts merge a patch (HSET/HDEL) without decoding JSON in Lua.
 * Everything read back is validated; a value that fails is a `CorruptStateError` naming the key.
 *
 * While Redis does not answer (see `RedisLink`), reads of sessions this instance holds (it has
 * connections in them) are answered from the copy of the last values it read or wrote; other
 * calls fail with UNAVAILABLE. A join's insert that was sent but not answered may still land
 * when Redis answers again: `takeUncertainAdds` lists them for the resync to undo.
 */
import { z } from 'zod';
import { Media, Mode } from '../../protocol/common';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { ParticipantRole } from '../../protocol/limits';
import { describeIssues } from '../../protocol/rpc';
import { ControlAuditEntry, MoveReason, Participant } from '../../protocol/signaling';
import { SessionTiersSchema, TierNameSchema } from '../../protocol/tiers';
import type {
  AddResult,
  LinkRecord,
  ParticipantRecord,
  RoleChangeResult,
  RoomStateStore,
  SessionPatch,
  SessionRecord,
  TransferResult,
} from '../room-state-store';
import type { Redis } from 'ioredis';
import type { RedisLink } from './redis-link';

export class CorruptStateError extends Error {
  override name = 'CorruptStateError';
}

// Loose: fields a newer instance adds pass through instead of being dropped on the way.
const SessionRecordSchema = z.looseObject({
  id: z.string().min(1),
  mode: Mode,
  media: Media,
  version: z.int().min(0),
  epoch: z.int().min(0),
  region: z.string().optional(),
  sfu: z.object({ deploymentId: z.string(), region: z.string(), room: z.string() }).optional(),
  cascade: z.record(z.string(), z.object({ deploymentId: z.string(), region: z.string(), room: z.string() })).optional(),
  moving: z.object({ by: z.string(), until: z.number(), reason: MoveReason }).optional(),
  moveFailedAt: z.number().optional(),
  movedFor: MoveReason.optional(),
  viewersLowered: z.object({ at: z.number(), why: z.string(), times: z.int().min(1).optional() }).optional(),
  viewersRestored: z.object({ at: z.number(), times: z.int().min(1) }).optional(),
  name: z.string().optional(),
  e2ee: z.boolean().optional(),
  lobbyEveryone: z.boolean().optional(),
  tiers: SessionTiersSchema.optional(),
  hostId: z.string().min(1),
  createdAt: z.number(),
  ended: z.object({ at: z.number(), reason: z.enum(['host-ended', 'host-left', 'server-shutdown']), message: z.string() }).optional(),
});
const LinkRecordSchema = z.looseObject({
  id: z.string().min(1),
  role: z.enum(['controller', 'viewer']),
  label: z.string(),
  singleUse: z.boolean(),
  personal: z.boolean(),
  createdAt: z.number(),
  expiresAt: z.number(),
});
const ParticipantRecordSchema = Participant.omit({ tier: true, tierChosen: true })
  .extend({ resumeHash: z.string(), disconnectedAt: z.number().optional(), chosenTier: TierNameSchema.optional() })
  .loose();

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if ARGV[3] == '0' then
  redis.call('INCR', KEYS[2])
  if ARGV[2] ~= '' then
    redis.call('SADD', KEYS[3], ARGV[1])
    redis.call('HSET', KEYS[1], '_dep', ARGV[2])
  end
end
return 1`;

// ARGV: expected version, #pairs to set, sfu index mode (keep|set|del), new deployment, sfu key prefix, sid, pairs…, fields to delete…
const UPDATE_SESSION = `
local v = redis.call('HGET', KEYS[1], 'version')
if not v or redis.call('HEXISTS', KEYS[1], 'ended') == 1 or tonumber(v) ~= tonumber(ARGV[1]) then return false end
local nset = tonumber(ARGV[2])
if nset > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 7, 6 + 2 * nset)) end
if #ARGV >= 7 + 2 * nset then redis.call('HDEL', KEYS[1], unpack(ARGV, 7 + 2 * nset)) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
if ARGV[3] ~= 'keep' then
  local old = redis.call('HGET', KEYS[1], '_dep')
  if old then
    redis.call('SREM', ARGV[5] .. old, ARGV[6])
    redis.call('HDEL', KEYS[1], '_dep')
  end
  if ARGV[3] == 'set' then
    redis.call('SADD', ARGV[5] .. ARGV[4], ARGV[6])
    redis.call('HSET', KEYS[1], '_dep', ARGV[4])
  end
end
return redis.call('HGETALL', KEYS[1])`;

const END = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'ended') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'ended', ARGV[1])
for _, pid in ipairs(redis.call('HKEYS', KEYS[2])) do redis.call('DEL', ARGV[2] .. pid) end
redis.call('DEL', KEYS[2], KEYS[4])
local dep = redis.call('HGET', KEYS[1], '_dep')
if dep then
  redis.call('SREM', ARGV[3] .. dep, ARGV[4])
  redis.call('HDEL', KEYS[1], '_dep')
end
redis.call('DECR', KEYS[3])
return 1`;

const DELETE = `
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], 'ended') == 0 then
  redis.call('DECR', KEYS[4])
  local dep = redis.call('HGET', KEYS[1], '_dep')
  if dep then redis.call('SREM', ARGV[2] .. dep, ARGV[3]) end
end
for _, pid in ipairs(redis.call('HKEYS', KEYS[2])) do redis.call('DEL', ARGV[1] .. pid) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[7])
return 1`;

// KEYS: revoked set. ARGV: link ids. The ids this call revoked (not those revoked before).
const REVOKE_LINKS = `
local out = {}
for _, id in ipairs(ARGV) do
  if redis.call('SADD', KEYS[1], id) == 1 then out[#out + 1] = id end
end
return out`;

// KEYS: session, audit list. ARGV: entry JSON, cap. Nothing for a deleted session (no orphan list).
const APPEND_AUDIT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return 1`;

// KEYS: a bridge's lease. ARGV: owner, ttl ms. Taken when free, renewed by its owner; 0 while another holds it.
const CLAIM_BRIDGE = `
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// KEYS: a bridge's lease. ARGV: owner. Freed only by its owner.
const RELEASE_BRIDGE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

const COUNT_ROLE = `
local function count(roles, role)
  local n = 0
  for _, r in ipairs(redis.call('HVALS', roles)) do if r == role then n = n + 1 end end
  return n
end`;

// KEYS: session, roles, participant, names. ARGV: pid, role, limit, name key ('' for none), pairs…
const ADD = `${COUNT_ROLE}
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'ended') == 1 then return -1 end
if ARGV[4] ~= '' then
  local holder = redis.call('HGET', KEYS[4], ARGV[4])
  if holder and holder ~= ARGV[1] then return 2 end
end
if count(KEYS[2], ARGV[2]) >= tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], unpack(ARGV, 5))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[4], ARGV[1])
  redis.call('HSET', KEYS[3], '_nk', ARGV[4])
end
return 1`;

const CHANGE_ROLE = `${COUNT_ROLE}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or redis.call('EXISTS', KEYS[2]) == 0 then return {0} end
if cur ~= ARGV[2] then
  if count(KEYS[1], ARGV[2]) >= tonumber(ARGV[4]) then return {1} end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('HSET', KEYS[2], 'role', ARGV[3])
  redis.call('HDEL', KEYS[2], 'chosenTier')
end
return {2, redis.call('HGETALL', KEYS[2])}`;

// ARGV: pid, #pairs to set, new role ('' when unchanged), pairs…, fields to delete…
const UPDATE_PARTICIPANT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local nset = tonumber(ARGV[2])
if nset > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * nset)) end
if #ARGV >= 4 + 2 * nset then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * nset)) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
return redis.call('HGETALL', KEYS[1])`;

// KEYS: session, roles, from's hash, to's hash. ARGV: fromId, toId, JSON fromId, JSON toId.
const TRANSFER_HOST = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'ended') == 1 then return {0} end
if redis.call('HGET', KEYS[1], 'hostId') ~= ARGV[3] or redis.call('HGET', KEYS[2], ARGV[1]) ~= 'host' then return {1} end
local r = redis.call('HGET', KEYS[2], ARGV[2])
if not r then return {2} end
if r ~= 'controller' then return {3} end
redis.call('HSET', KEYS[2], ARGV[1], 'controller', ARGV[2], 'host')
redis.call('HSET', KEYS[3], 'role', '"controller"', 'controlState', '"none"')
redis.call('HSET', KEYS[4], 'role', '"host"', 'controlState', '"none"')
redis.call('HDEL', KEYS[3], 'chosenTier')
redis.call('HDEL', KEYS[4], 'chosenTier')
redis.call('HSET', KEYS[1], 'hostId', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return {4, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[3]), redis.call('HGETALL', KEYS[4])}`;

const REMOVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local nk = redis.call('HGET', KEYS[1], '_nk')
if nk and redis.call('HGET', KEYS[4], nk) == ARGV[1] then redis.call('HDEL', KEYS[4], nk) end
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[2] == '1' then redis.call('SADD', KEYS[3], ARGV[1]) end
return all`;

const LIST = `
local out = {}
for _, pid in ipairs(redis.call('HKEYS', KEYS[1])) do
  local h = redis.call('HGETALL', ARGV[1] .. pid)
  if #h > 0 then out[#out + 1] = h end
end
return out`;

type Script = (keys: string[], args: Array<string | number>) => Promise<unknown>;

/** What this instance last knew of a session it holds, for reads while Redis does not answer. */
interface Held {
  session?: SessionRecord;
  participants: Map<string, ParticipantRecord>;
  /** The participant map is the whole list (a `listParticipants` filled it). */
  complete: boolean;
}

export class RedisRoomStateStore implements RoomStateStore {
  private readonly s: Record<
    | 'create'
    | 'updateSession'
    | 'end'
    | 'delete'
    | 'add'
    | 'changeRole'
    | 'updateParticipant'
    | 'transferHost'
    | 'remove'
    | 'list'
    | 'revokeLinks'
    | 'appendAudit'
    | 'claimBridge'
    | 'releaseBridge',
    Script
  >;
  private readonly cache = new Map<string, Held>();
  private uncertainAdds: Array<{ sessionId: string; participantId: string }> = [];
  /** Whether this instance holds connections in the session (set by the scale-out wiring). */
  holds: (sessionId: string) => boolean = () => true;

  constructor(private readonly link: RedisLink) {
    const d = (name: string, keys: number, lua: string) => link.script(`pairuxStore${name}`, keys, lua);
    this.s = {
      create: d('Create', 3, CREATE),
      updateSession: d('UpdateSession', 1, UPDATE_SESSION),
      end: d('End', 4, END),
      delete: d('Delete', 7, DELETE),
      add: d('Add', 4, ADD),
      changeRole: d('ChangeRole', 2, CHANGE_ROLE),
      updateParticipant: d('UpdateParticipant', 2, UPDATE_PARTICIPANT),
      transferHost: d('TransferHost', 4, TRANSFER_HOST),
      remove: d('Remove', 4, REMOVE),
      list: d('List', 1, LIST),
      revokeLinks: d('RevokeLinks', 1, REVOKE_LINKS),
      appendAudit: d('AppendAudit', 2, APPEND_AUDIT),
      claimBridge: d('ClaimBridge', 1, CLAIM_BRIDGE),
      releaseBridge: d('ReleaseBridge', 1, RELEASE_BRIDGE),
    };
  }

  private get k() {
    return this.link.keys;
  }

  async createSession(record: SessionRecord): Promise<void> {
    const dep = record.sfu?.deploymentId ?? '';
    const created = await this.link.run(() =>
      this.s.create([this.k.session(record.id), this.k.live(), this.k.sfu(dep)], [record.id, dep, record.ended ? '1' : '0', ...encodePairs(record)]),
    );
    if (created !== 1) throw new Error(`session ${record.id} already exists`);
    this.held(record.id).session = { ...record };
  }

  async getSession(sessionId: string): Promise<SessionRecord | undefined> {
    const key = this.k.session(sessionId);
    const fields = await this.read(
      sessionId,
      (r) => r.hgetall(key),
      (h) => h.session,
    );
    if (fields === CACHED) {
      const cached = this.cache.get(sessionId)?.session;
      return cached && { ...cached };
    }
    const session = decodeSession(fields, key);
    if (session) this.held(sessionId).session = session;
    else this.cache.delete(sessionId);
    return session && { ...session };
  }

  async updateSession(sessionId: string, expectedVersion: number, patch: SessionPatch): Promise<SessionRecord | undefined> {
    const { sets, dels } = splitPatch(patch);
    const sfuMode = !Object.hasOwn(patch, 'sfu') ? 'keep' : patch.sfu ? 'set' : 'del';
    const key = this.k.session(sessionId);
    const reply = await this.link.run(() =>
      this.s.updateSession([key], [expectedVersion, sets.length / 2, sfuMode, patch.sfu?.deploymentId ?? '', this.k.sfuPrefix(), sessionId, ...sets, ...dels]),
    );
    if (reply === null) return undefined;
    const session = decodeSession(pairsToObject(reply, key), key);
    if (session) this.held(sessionId).session = session;
    return session && { ...session };
  }

  async claimBridge(sessionId: string, region: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.link.run(() => this.s.claimBridge([this.k.bridgeLease(sessionId, region)], [owner, Math.max(1, Math.round(ttlMs))]))) === 1;
  }

  async releaseBridge(sessionId: string, region: string, owner: string): Promise<void> {
    await this.link.run(() => this.s.releaseBridge([this.k.bridgeLease(sessionId, region)], [owner]));
  }

  async sessionsOnSfu(deploymentId: string): Promise<string[]> {
    const ids = await this.link.run((r) => r.smembers(this.k.sfu(deploymentId)));
    return ids.sort();
  }

  async endSession(sessionId: string, ended: NonNullable<SessionRecord['ended']>): Promise<boolean> {
    const reply = await this.link.run(() =>
      this.s.end(
        [this.k.session(sessionId), this.k.roles(sessionId), this.k.live(), this.namesKey(sessionId)],
        [JSON.stringify(ended), this.k.participantPrefix(sessionId), this.k.sfuPrefix(), sessionId],
      ),
    );
    this.cache.delete(sessionId);
    return reply === 1;
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.link.run(() =>
      this.s.delete(
        [
          this.k.session(sessionId),
          this.k.roles(sessionId),
          this.k.removed(sessionId),
          this.k.live(),
          this.linksKey(sessionId),
          this.revokedKey(sessionId),
          this.namesKey(sessionId),
        ],
        [this.k.participantPrefix(sessionId), this.k.sfuPrefix(), sessionId],
      ),
    );
    // After the session's key is gone no append can recreate the list (the append checks it).
    await this.link.run((r) => r.del(this.auditKey(sessionId)));
    this.cache.delete(sessionId);
  }

  async countLiveSessions(): Promise<number> {
    const raw = await this.link.run((r) => r.get(this.k.live()));
    const n = raw === null ? 0 : Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new CorruptStateError(`Redis holds a corrupt live-session count at ${this.k.live()}: ${JSON.stringify(raw)}`);
    return n;
  }

  async addParticipant(sessionId: string, participant: ParticipantRecord, limits: Record<ParticipantRole, number>, nameKey?: string): Promise<AddResult> {
    const limit = limits[participant.role];
    const sent = this.link.isUp;
    let reply: unknown;
    try {
      reply = await this.link.run(() =>
        this.s.add(
          [this.k.session(sessionId), this.k.roles(sessionId), this.k.participant(sessionId, participant.id), this.namesKey(sessionId)],
          [participant.id, participant.role, limit, nameKey ?? '', ...encodePairs(participant)],
        ),
      );
    } catch (err) {
      if (sent && isUnavailable(err)) this.uncertainAdds.push({ sessionId, participantId: participant.id });
      throw err;
    }
    if (reply === -1) throw new Error(`session ${sessionId} is not live`);
    if (reply === 0) return { ok: false, role: participant.role, limit };
    if (reply === 2) return { ok: false, nameTaken: true };
    const h = this.held(sessionId);
    h.participants.set(participant.id, { ...participant });
    return { ok: true };
  }

  async changeRole(sessionId: string, participantId: string, role: ParticipantRole, limits: Record<ParticipantRole, number>): Promise<RoleChangeResult> {
    const limit = limits[role];
    const key = this.k.participant(sessionId, participantId);
    const reply = await this.link.run(() => this.s.changeRole([this.k.roles(sessionId), key], [participantId, role, JSON.stringify(role), limit]));
    if (!Array.isArray(reply)) throw new CorruptStateError(`unexpected reply to changeRole for ${key}`);
    if (reply[0] === 0) return undefined;
    if (reply[0] === 1) return { ok: false, role, limit };
    const participant = decodeParticipant(pairsToObject(reply[1], key), key);
    if (!participant) return undefined;
    this.held(sessionId).participants.set(participantId, participant);
    return { ok: true, participant: { ...participant } };
  }

  async updateParticipant(sessionId: string, participantId: string, patch: Partial<ParticipantRecord>): Promise<ParticipantRecord | undefined> {
    const { sets, dels } = splitPatch(patch);
    const key = this.k.participant(sessionId, participantId);
    const reply = await this.link.run(() =>
      this.s.updateParticipant([key, this.k.roles(sessionId)], [participantId, sets.length / 2, patch.role ?? '', ...sets, ...dels]),
    );
    if (reply === null) {
      this.cache.get(sessionId)?.participants.delete(participantId);
      return undefined;
    }
    const participant = decodeParticipant(pairsToObject(reply, key), key);
    if (participant) this.held(sessionId).participants.set(participantId, participant);
    return participant && { ...participant };
  }

  async transferHost(sessionId: string, fromId: string, toId: string): Promise<TransferResult> {
    const sessionKey = this.k.session(sessionId);
    const fromKey = this.k.participant(sessionId, fromId);
    const toKey = this.k.participant(sessionId, toId);
    const reply = await this.link.run(() =>
      this.s.transferHost([sessionKey, this.k.roles(sessionId), fromKey, toKey], [fromId, toId, JSON.stringify(fromId), JSON.stringify(toId)]),
    );
    if (!Array.isArray(reply)) throw new CorruptStateError(`unexpected reply to transferHost for ${sessionKey}`);
    const refused = (['gone', 'not-host', 'not-found', 'not-controller'] as const)[reply[0] as number];
    if (refused) return { ok: false, reason: refused };
    const session = decodeSession(pairsToObject(reply[1], sessionKey), sessionKey);
    const from = decodeParticipant(pairsToObject(reply[2], fromKey), fromKey);
    const to = decodeParticipant(pairsToObject(reply[3], toKey), toKey);
    if (!session || !from || !to) throw new CorruptStateError(`transferHost left an unreadable record in ${sessionKey}`);
    const held = this.held(sessionId);
    held.session = session;
    held.participants.set(fromId, from);
    held.participants.set(toId, to);
    return { ok: true, session: { ...session }, from: { ...from }, to: { ...to } };
  }

  async removeParticipant(sessionId: string, participantId: string, byHost = false): Promise<ParticipantRecord | undefined> {
    const key = this.k.participant(sessionId, participantId);
    const reply = await this.link.run(() =>
      this.s.remove([key, this.k.roles(sessionId), this.k.removed(sessionId), this.namesKey(sessionId)], [participantId, byHost ? '1' : '0']),
    );
    this.cache.get(sessionId)?.participants.delete(participantId);
    return reply === null ? undefined : decodeParticipant(pairsToObject(reply, key), key);
  }

  async wasRemovedByHost(sessionId: string, participantId: string): Promise<boolean> {
    return (await this.link.run((r) => r.sismember(this.k.removed(sessionId), participantId))) === 1;
  }

  async addLink(sessionId: string, link: LinkRecord): Promise<void> {
    await this.link.run((r) => r.hset(this.linksKey(sessionId), link.id, JSON.stringify(link)));
  }

  async getLink(sessionId: string, linkId: string): Promise<LinkRecord | undefined> {
    const key = this.linksKey(sessionId);
    const raw = await this.link.run((r) => r.hget(key, linkId));
    return raw === null ? undefined : decodeLink(raw, key);
  }

  async listLinks(sessionId: string): Promise<LinkRecord[]> {
    const key = this.linksKey(sessionId);
    const [all, revoked] = await Promise.all([this.link.run((r) => r.hgetall(key)), this.link.run((r) => r.smembers(this.revokedKey(sessionId)))]);
    const gone = new Set(revoked);
    return Object.entries(all)
      .filter(([id]) => !gone.has(id))
      .map(([, raw]) => decodeLink(raw, key))
      .sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : 1));
  }

  async revokeLinks(sessionId: string, linkIds: string[]): Promise<string[]> {
    if (linkIds.length === 0) return [];
    const reply = await this.link.run(() => this.s.revokeLinks([this.revokedKey(sessionId)], linkIds));
    if (!Array.isArray(reply)) throw new CorruptStateError(`unexpected reply revoking links of ${sessionId}`);
    return reply.map(String);
  }

  async isLinkRevoked(sessionId: string, linkId: string): Promise<boolean> {
    return (await this.link.run((r) => r.sismember(this.revokedKey(sessionId), linkId))) === 1;
  }

  async appendControlAudit(sessionId: string, entry: ControlAuditEntry, max: number): Promise<void> {
    await this.link.run(() => this.s.appendAudit([this.k.session(sessionId), this.auditKey(sessionId)], [JSON.stringify(entry), max]));
  }

  async listControlAudit(sessionId: string): Promise<ControlAuditEntry[]> {
    const key = this.auditKey(sessionId);
    const raw = await this.link.run((r) => r.lrange(key, 0, -1));
    return raw.map((item) => {
      const value = safeJson(item);
      const parsed = ControlAuditEntry.safeParse(value);
      if (!parsed.success)
        throw new CorruptStateError(`Redis holds a corrupt control audit entry in ${key}: ${value === undefined ? 'not JSON' : describeIssues(parsed.error)}`);
      return parsed.data;
    });
  }

  async getParticipant(sessionId: string, participantId: string): Promise<ParticipantRecord | undefined> {
    const key = this.k.participant(sessionId, participantId);
    const fields = await this.read(
      sessionId,
      (r) => r.hgetall(key),
      (h) => (h.participants.has(participantId) || h.complete ? true : undefined),
    );
    if (fields === CACHED) {
      const p = this.cache.get(sessionId)?.participants.get(participantId);
      return p && { ...p };
    }
    const p = decodeParticipant(fields, key);
    if (p) this.held(sessionId).participants.set(participantId, p);
    else this.cache.get(sessionId)?.participants.delete(participantId);
    return p && { ...p };
  }

  async listParticipants(sessionId: string): Promise<ParticipantRecord[]> {
    const reply = await this.read(
      sessionId,
      () => this.s.list([this.k.roles(sessionId)], [this.k.participantPrefix(sessionId)]),
      (h) => (h.complete ? true : undefined),
    );
    if (reply === CACHED) return [...(this.cache.get(sessionId)?.participants.values() ?? [])].map((p) => ({ ...p }));
    if (!Array.isArray(reply)) throw new CorruptStateError(`unexpected reply listing the participants of ${sessionId}`);
    const list: ParticipantRecord[] = [];
    for (const pairs of reply) {
      const fields = pairsToObject(pairs, this.k.roles(sessionId));
      const key = this.k.participant(sessionId, String(safeJson(fields.id ?? '""')));
      const p = decodeParticipant(fields, key);
      if (p) list.push(p);
    }
    // Redis keeps no order; the memory store's is the order of joining.
    list.sort((a, b) => a.joinedAt - b.joinedAt || (a.id < b.id ? -1 : 1));
    const h = this.held(sessionId);
    h.participants = new Map(list.map((p) => [p.id, p]));
    h.complete = true;
    return list.map((p) => ({ ...p }));
  }

  /** Joins whose insert was sent but not answered before Redis went away (they may have landed); clears the list. */
  takeUncertainAdds(): Array<{ sessionId: string; participantId: string }> {
    const out = this.uncertainAdds;
    this.uncertainAdds = [];
    return out;
  }

  /** Sessions in the local copy (for the resync to re-read). */
  cachedSessions(): string[] {
    return [...this.cache.keys()];
  }

  /** What the local copy says of a session's participants (the resync compares it with Redis). */
  cachedParticipants(sessionId: string): ParticipantRecord[] {
    return [...(this.cache.get(sessionId)?.participants.values() ?? [])].map((p) => ({ ...p }));
  }

  /** Forgets sessions this instance no longer holds. */
  prune(): void {
    for (const id of this.cache.keys()) if (!this.holds(id)) this.cache.delete(id);
  }

  /**
   * A read through the breaker; when Redis does not answer and this instance holds the session
   * with what the read needs in its copy, CACHED (the caller reads its copy).
   */
  private async read<T>(sessionId: string, op: (r: Redis) => Promise<T>, fromCache: (h: Held) => unknown): Promise<T | typeof CACHED> {
    try {
      return await this.link.run(op);
    } catch (err) {
      const h = this.cache.get(sessionId);
      if (isUnavailable(err) && h && this.holds(sessionId) && fromCache(h) !== undefined) return CACHED;
      throw err;
    }
  }

  private linksKey(sessionId: string): string {
    return `${this.k.prefix}l:${sessionId}`;
  }

  private namesKey(sessionId: string): string {
    return `${this.k.prefix}n:${sessionId}`;
  }

  private auditKey(sessionId: string): string {
    return `${this.k.prefix}a:${sessionId}`;
  }

  private revokedKey(sessionId: string): string {
    return `${this.k.prefix}k:${sessionId}`;
  }

  private held(sessionId: string): Held {
    let h = this.cache.get(sessionId);
    if (!h) this.cache.set(sessionId, (h = { participants: new Map(), complete: false }));
    return h;
  }
}

const CACHED = Symbol('cached');

function isUnavailable(err: unknown): boolean {
  return err instanceof PairuxError && err.code === ErrorCode.Unavailable;
}

/** A record as HSET pairs: every defined field, its value as JSON. */
function encodePairs(record: object): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(record)) if (v !== undefined) out.push(k, JSON.stringify(v));
  return out;
}

/** A patch as fields to set (pairs) and fields to delete (a key set to undefined). */
function splitPatch(patch: object): { sets: string[]; dels: string[] } {
  const sets: string[] = [];
  const dels: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('_')) continue;
    if (v === undefined) dels.push(k);
    else sets.push(k, JSON.stringify(v));
  }
  return { sets, dels };
}

function pairsToObject(reply: unknown, key: string): Record<string, string> {
  if (!Array.isArray(reply) || reply.length % 2 !== 0) throw new CorruptStateError(`unexpected reply for ${key}: not field/value pairs`);
  const out: Record<string, string> = {};
  for (let i = 0; i < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decodeFields<T>(schema: z.ZodType<T>, fields: Record<string, string>, key: string, what: string): T | undefined {
  const names = Object.keys(fields).filter((f) => !f.startsWith('_'));
  if (names.length === 0) return undefined;
  const raw: Record<string, unknown> = {};
  for (const name of names) {
    try {
      raw[name] = JSON.parse(fields[name]!);
    } catch {
      throw new CorruptStateError(`Redis holds a corrupt ${what} at ${key}: field ${name} is not JSON (${JSON.stringify(fields[name]!.slice(0, 80))})`);
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new CorruptStateError(`Redis holds a corrupt ${what} at ${key}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

function decodeSession(fields: Record<string, string>, key: string): SessionRecord | undefined {
  return decodeFields(SessionRecordSchema, fields, key, 'session') as SessionRecord | undefined;
}

function decodeParticipant(fields: Record<string, string>, key: string): ParticipantRecord | undefined {
  return decodeFields(ParticipantRecordSchema, fields, key, 'participant') as ParticipantRecord | undefined;
}

function decodeLink(raw: string, key: string): LinkRecord {
  const value = safeJson(raw);
  const parsed = LinkRecordSchema.safeParse(value);
  if (!parsed.success)
    throw new CorruptStateError(`Redis holds a corrupt share link in ${key}: ${value === undefined ? 'not JSON' : describeIssues(parsed.error)}`);
  return parsed.data as LinkRecord;
}
