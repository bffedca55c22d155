/**
 * Quality tiers on the control plane (issue 16): the deployment's table and role tiers
 * (server/config.ts), a session's own laid over them and held within them at creation, and what
 * each participant's tier is. The pages do the encoding; the server only keeps and tells the
 * numbers, so every page of a session reads the same table.
 */
import type { AppliedTiers, CreateSessionRequest } from '../protocol/http-api';
import {
  clampTiers,
  DEFAULT_ROLE_TIERS,
  DEFAULT_TIERS,
  mergeRoleTiers,
  mergeTiers,
  type RoleTiersOverride,
  type SessionTiers,
  type TierTableOverride,
} from '../protocol/tiers';
import type { ServerConfig } from './config';
import type { SessionRecord } from './room-state-store';

/**
 * A new session's tiers: the deployment's, with the session's own laid over them and clamped so no
 * tier asks for more than the deployment's `high` (nor than the tier above it). Never refuses: a
 * host asking for too much gets what the deployment allows, and is told.
 */
export function sessionTiersFor(
  deployment: Pick<ServerConfig, 'tiers' | 'roleTiers'>,
  request: Pick<CreateSessionRequest, 'tiers' | 'roleTiers'> = {},
): AppliedTiers {
  const asked = mergeTiers(deployment.tiers, request.tiers as TierTableOverride | undefined);
  const { table, clamped } = clampTiers(asked, deployment.tiers.high);
  return { table, roles: mergeRoleTiers(deployment.roleTiers, request.roleTiers as RoleTiersOverride | undefined), clamped };
}

/** The tiers a session runs with; one recorded by an instance older than the tiers has the defaults. */
export function tiersOf(session: Pick<SessionRecord, 'tiers'> | undefined): SessionTiers {
  return session?.tiers ?? { table: DEFAULT_TIERS, roles: DEFAULT_ROLE_TIERS };
}
