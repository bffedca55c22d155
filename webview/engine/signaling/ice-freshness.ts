/**
 * When a page's ICE servers are too old for a new peer connection. TURN credentials from the
 * control plane are short-lived (coturn's REST scheme: the username starts with the expiry in
 * unix seconds, and the operator picks the lifetime, an hour by default, a minute at least): a
 * connection made with expired ones cannot allocate a relay. An allocation already made outlives
 * them (coturn keeps the key it authenticated with), so only new connections need fresh ones.
 */
import type { IceServer } from '../../../protocol/common';

/** Refreshed at least this often whatever the credentials say (servers may change too). */
export const ICE_SERVERS_MAX_AGE_MS = 5 * 60_000;

/** The earliest expiry (epoch ms) among TURN credentials in the REST scheme, if any. */
export function credentialsExpireAt(iceServers: readonly IceServer[]): number | undefined {
  let earliest: number | undefined;
  for (const s of iceServers) {
    const m = /^(\d{9,11}):/.exec(s.username ?? '');
    if (!m) continue;
    const at = Number(m[1]) * 1000;
    earliest = earliest === undefined ? at : Math.min(earliest, at);
  }
  return earliest;
}

/** Stale after the maximum age, or past half the credentials' lifetime (they were fetched at `fetchedAt`). */
export function iceServersStale(iceServers: readonly IceServer[], fetchedAt: number, now = Date.now()): boolean {
  if (now - fetchedAt > ICE_SERVERS_MAX_AGE_MS) return true;
  const expires = credentialsExpireAt(iceServers);
  return expires !== undefined && now >= fetchedAt + (expires - fetchedAt) / 2;
}
