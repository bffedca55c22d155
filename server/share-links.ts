/**
 * Guest share links as the host hands them out: each one is remembered by its token's `jti`
 * (never the token) with a role and a label, and may be revoked. A join through a revoked link is
 * refused; a single-use link is revoked by the join that first uses it; removing a guest revokes
 * the link it came through, and a shared link revoked that way is replaced for everyone else.
 */
import { ErrorCode, PairuxError } from '../protocol/errors';
import type { JoinClaims } from '../protocol/share-link';
import { formatShareLink } from '../protocol/share-link';
import type { ParticipantLink, ShareLinkInfo } from '../protocol/signaling';
import type { JoinTokens } from './join-tokens';
import type { LinkRecord, ParticipantRecord, RoomStateStore } from './room-state-store';
import type { z } from 'zod';

type GuestRole = LinkRecord['role'];

/** The longest a link may live, whatever the host asks. */
export const MAX_LINK_TTL_SECONDS = 30 * 24 * 3600;

export interface ShareLinksDeps {
  store: RoomStateStore;
  tokens: JoinTokens;
  origin(): string;
  defaultTtlSeconds(): number;
  now: () => number;
}

export interface LinkOptions {
  ttlSeconds?: number;
  /** Shown beside whoever joins through it; given, the link is personal. */
  label?: string;
  singleUse?: boolean;
}

const sharedLabel = (role: GuestRole) => `${role} link`;

export class ShareLinks {
  constructor(private readonly deps: ShareLinksDeps) {}

  /** A new link, remembered before it is handed out. */
  async issue(sessionId: string, role: GuestRole, options: LinkOptions = {}): Promise<ShareLinkInfo> {
    const ttl = Math.min(options.ttlSeconds ?? this.deps.defaultTtlSeconds(), MAX_LINK_TTL_SECONDS);
    const { token, expiresAt, id } = await this.deps.tokens.issue(sessionId, role, ttl);
    const singleUse = options.singleUse ?? false;
    const personal = options.label !== undefined || singleUse;
    const label = options.label ?? (singleUse ? `single-use ${sharedLabel(role)}` : sharedLabel(role));
    const record: LinkRecord = { id, role, label, singleUse, personal, createdAt: this.deps.now(), expiresAt };
    await this.deps.store.addLink(sessionId, record);
    return { url: formatShareLink(this.deps.origin(), sessionId, token), role, expiresAt, id, label, singleUse };
  }

  /** Refuses a link the host revoked (what a preview or a join must check first). */
  async requireLive(sessionId: string, claims: JoinClaims): Promise<void> {
    if (claims.role === 'host') return;
    if (await this.deps.store.isLinkRevoked(sessionId, claims.jti)) throw revokedError(await this.deps.store.getLink(sessionId, claims.jti));
  }

  /**
   * A fresh join through a guest link: refused when revoked. Returns what the participant records,
   * and for a single-use link the id to `useUp` once the seat is taken (a join refused for a full
   * role does not spend it).
   */
  async admit(sessionId: string, claims: JoinClaims): Promise<{ link: z.infer<typeof ParticipantLink>; singleUse: boolean } | undefined> {
    if (claims.role === 'host') return undefined;
    await this.requireLive(sessionId, claims);
    const link = await this.deps.store.getLink(sessionId, claims.jti);
    return { link: { id: claims.jti, label: link?.label ?? sharedLabel(claims.role) }, singleUse: link?.singleUse ?? false };
  }

  /** Spends a single-use link, atomically: of two joins racing on it, exactly one gets true. */
  async useUp(sessionId: string, linkId: string): Promise<boolean> {
    const [won] = await this.deps.store.revokeLinks(sessionId, [linkId]);
    return won !== undefined;
  }

  /** Why a join through a link it could not spend is refused. */
  async spentError(sessionId: string, linkId: string): Promise<PairuxError> {
    return revokedError(await this.deps.store.getLink(sessionId, linkId));
  }

  /**
   * The host removed `removed`: the link it came through stops working. A shared link is replaced
   * (same role and label) so everyone else can still be invited; undefined when nothing changed.
   */
  async revokeForRemoval(sessionId: string, removed: ParticipantRecord): Promise<{ revoked: string[]; fresh?: ShareLinkInfo } | undefined> {
    if (!removed.link) return undefined;
    const link = await this.deps.store.getLink(sessionId, removed.link.id);
    const revoked = await this.deps.store.revokeLinks(sessionId, [removed.link.id]);
    if (revoked.length === 0) return undefined;
    if (!link || link.personal) return { revoked };
    const ttlSeconds = Math.max(60, Math.ceil((link.expiresAt - this.deps.now()) / 1000));
    return { revoked, fresh: await this.issue(sessionId, link.role, { ttlSeconds }) };
  }

  /**
   * The links that still let someone in (not revoked, not expired), without their tokens: the
   * shared ones first (controller, then viewer), then personal links oldest first. The order is
   * fixed here, not by creation time: the two shared links are made in the same millisecond.
   */
  async list(sessionId: string): Promise<Array<Omit<ShareLinkInfo, 'url'>>> {
    const now = this.deps.now();
    const rank = (l: { personal: boolean; role: string }) => (l.personal ? 2 : l.role === 'controller' ? 0 : 1);
    return (await this.deps.store.listLinks(sessionId))
      .filter((l) => l.expiresAt > now)
      .sort((x, y) => rank(x) - rank(y) || x.createdAt - y.createdAt)
      .slice(0, 1000)
      .map(({ id, role, label, singleUse, expiresAt }) => ({ id, role, label, singleUse, expiresAt }));
  }

  /** One link stops working; false when it already had. */
  async revoke(sessionId: string, linkId: string): Promise<boolean> {
    if (!(await this.deps.store.getLink(sessionId, linkId))) {
      throw new PairuxError(ErrorCode.PeerNotFound, 'There is no such link in this session (links.list shows the ones that work).');
    }
    return (await this.deps.store.revokeLinks(sessionId, [linkId])).length > 0;
  }

  /** Every current guest link stops working; new shared links for both roles. */
  async rotate(sessionId: string, ttlSeconds?: number): Promise<{ controller: ShareLinkInfo; viewer: ShareLinkInfo; revoked: number }> {
    const current = await this.deps.store.listLinks(sessionId);
    const revoked = await this.deps.store.revokeLinks(
      sessionId,
      current.map((l) => l.id),
    );
    const options = ttlSeconds === undefined ? {} : { ttlSeconds };
    const [controller, viewer] = await Promise.all([this.issue(sessionId, 'controller', options), this.issue(sessionId, 'viewer', options)]);
    return { controller, viewer, revoked: revoked.length };
  }
}

function revokedError(link: LinkRecord | undefined): PairuxError {
  const why = link?.singleUse ? 'it was a single-use link and someone has already joined through it' : 'the host has withdrawn it';
  return new PairuxError(ErrorCode.TokenRevoked, `This link no longer works: ${why}. Ask the host for a new link.`);
}
