/**
 * How many of each role a session may hold, by where its media flows: an `auto` session has
 * P2P's limits until the focus moves it to an SFU. One place for the join's check and the
 * focus's "does it still fit P2P" before a fallback.
 */
import { ROLE_LIMITS, type MediaMode, type ParticipantRole } from '../protocol/limits';
import type { ServerConfig } from './config';

/** `sfuViewerLimit`: the SFU's own viewer cap when one is configured. */
export function roleLimitsFor(config: ServerConfig, media: MediaMode, sfuViewerLimit?: number): Record<ParticipantRole, number> {
  const base = ROLE_LIMITS[media];
  return {
    host: base.host,
    controller: config.controllerLimit,
    viewer: media === 'p2p' ? config.viewerLimitP2p : (sfuViewerLimit ?? base.viewer),
  };
}
