/**
 * LiveKit tokens by PairUX role. The SFU enforces these, so a guest's page cannot talk its way
 * past them: the host publishes the screen share (only that source) and data; controllers send
 * control events as data but publish no media; viewers only watch. The identity is the PairUX
 * participant id and the metadata carries the role, so the host checks a data message's sender
 * against what the SFU vouches for, never against the payload.
 */
import { AccessToken, TrackSource, type VideoGrant } from 'livekit-server-sdk';
import type { ParticipantRole } from '../../protocol/limits';
import type { SfuAccess } from '../../protocol/signaling';

export function grantFor(role: ParticipantRole, room: string): VideoGrant {
  const base: VideoGrant = { roomJoin: true, room, canSubscribe: true, canUpdateOwnMetadata: false };
  switch (role) {
    case 'host':
      return { ...base, canPublish: true, canPublishSources: [TrackSource.SCREEN_SHARE], canPublishData: true };
    case 'controller':
      return { ...base, canPublish: false, canPublishData: true };
    case 'viewer':
      return { ...base, canPublish: false, canPublishData: false };
  }
}

/** Only the permission part, for LiveKit's UpdateParticipant when the host changes a role. */
export function permissionFor(role: ParticipantRole): {
  canPublish: boolean;
  canPublishData: boolean;
  canSubscribe: boolean;
  canPublishSources: TrackSource[];
} {
  const g = grantFor(role, '');
  return { canPublish: g.canPublish ?? false, canPublishData: g.canPublishData ?? false, canSubscribe: true, canPublishSources: g.canPublishSources ?? [] };
}

export interface SfuIdentity {
  room: string;
  participantId: string;
  name: string;
  role: ParticipantRole;
}

export async function issueAccess(
  key: { apiKey: string; apiSecret: string },
  publicUrl: string,
  ttlSeconds: number,
  who: SfuIdentity,
  now = Date.now(),
): Promise<SfuAccess> {
  const token = new AccessToken(key.apiKey, key.apiSecret, {
    identity: who.participantId,
    name: who.name,
    metadata: JSON.stringify({ role: who.role }),
    ttl: ttlSeconds,
  });
  token.addGrant(grantFor(who.role, who.room));
  return { url: publicUrl, token: await token.toJwt(), room: who.room, expiresAt: now + ttlSeconds * 1000 };
}

/**
 * A cascade bridge's token for one side (server/cascade): in the origin room a hidden subscriber
 * that publishes nothing (no guest or host page ever lists it); in a far room the host's identity
 * and grants, publishing its screen share and room-wide data. It subscribes to nothing there (it
 * joins with auto-subscribe off), but keeps the right to: LiveKit tells a participant that may
 * not subscribe nothing of who joins, and the bridge greets each far viewer with the host's
 * latest notices.
 */
export async function issueBridgeToken(
  key: { apiKey: string; apiSecret: string },
  ttlSeconds: number,
  side: { origin: true; room: string; identity: string } | { origin: false; room: string; hostId: string; hostName: string },
): Promise<string> {
  const identity = side.origin ? side.identity : side.hostId;
  const token = new AccessToken(key.apiKey, key.apiSecret, {
    identity,
    ...(side.origin ? {} : { name: side.hostName, metadata: JSON.stringify({ role: 'host' }) }),
    ttl: ttlSeconds,
  });
  token.addGrant(
    side.origin
      ? { roomJoin: true, room: side.room, canSubscribe: true, canPublish: false, canPublishData: false, hidden: true, canUpdateOwnMetadata: false }
      : grantFor('host', side.room),
  );
  return token.toJwt();
}
