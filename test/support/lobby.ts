/**
 * For tests whose host is the pages' own SignalingClient and which are not about admission: the
 * host lets everyone who knocks in, as a host expecting them would. (The bare TestClient does
 * this itself unless told not to: `autoAdmit`.)
 */
import type { SignalingClient } from '../../webview/engine/signaling/signaling-client';

export function admitKnocks(host: SignalingClient): void {
  host.on('lobbyKnock', ({ participantId }) => void host.admitGuest(participantId).catch(() => undefined));
}
