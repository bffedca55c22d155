/**
 * The SFU rig of test/support/livekit.ts (real LiveKit on loopback, webhooks to the control
 * plane's port), with one bench knob: LiveKit's PLI throttle (`rtc.pli_throttle`, how often it
 * passes a keyframe request on to the publisher; the launcher's default: 300 ms).
 *
 * Why: the non-decoding subscribers (sfu-browser-subscribers.ts) ask for a keyframe every
 * ~200 ms each, an artifact of not decoding; at a short throttle the host then sends keyframes
 * several times a second on every layer, several times its normal bitrate. A long throttle keeps
 * the host's stream what real viewers would get.
 */
import { RoomServiceClient } from 'livekit-server-sdk';
import { startLocalLiveKit } from '../../demo/livekit-server';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/sfu/webhooks';
import { freePort, type SfuRig } from '../../test/support/livekit';

export async function startBenchSfuRig(pliThrottleSeconds?: number): Promise<SfuRig & { stop(): Promise<void> }> {
  const planePort = await freePort();
  const livekit = await startLocalLiveKit({
    webhookUrl: `http://127.0.0.1:${planePort}${LIVEKIT_WEBHOOK_PATH}`,
    logLevel: 'warn',
    ...(pliThrottleSeconds ? { pliThrottleMs: pliThrottleSeconds * 1000 } : {}),
  });
  const api = new RoomServiceClient(livekit.url.replace(/^ws/, 'http'), livekit.apiKey, livekit.apiSecret);
  return { livekit, api, planePort, stop: () => livekit.stop() };
}
