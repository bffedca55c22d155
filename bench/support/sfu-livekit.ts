/**
 * The SFU rig of test/support/livekit.ts (real LiveKit on loopback, webhooks to the control
 * plane's port), with one bench knob: LiveKit's PLI throttle (`rtc.pli_throttle`, how often it
 * passes a keyframe request on to the publisher; its defaults: 500 ms low, 1 s mid and high).
 *
 * Why: the non-decoding subscribers (sfu-browser-subscribers.ts) ask for a keyframe every
 * ~200 ms each, an artifact of not decoding; at LiveKit's default throttle the host then sends
 * a keyframe about every second on every layer, several times its normal bitrate. A long
 * throttle keeps the host's stream what real viewers would get. The knob is applied by running
 * the pinned LiveKit binary through a small wrapper that adds the setting to the generated
 * config before exec'ing it (demo/livekit-server.ts writes the config; this file only adds to it).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { ensureLiveKitServer, startLocalLiveKit } from '../../demo/livekit-server';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/sfu/webhooks';
import { freePort, startSfuRig, type SfuRig } from '../../test/support/livekit';

export async function startBenchSfuRig(pliThrottleSeconds?: number): Promise<SfuRig & { stop(): Promise<void> }> {
  if (!pliThrottleSeconds) {
    const rig = await startSfuRig();
    return { ...rig, stop: () => rig.livekit.stop() };
  }
  const real = ensureLiveKitServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'pairux-bench-livekit-'));
  const wrapper = path.join(dir, 'livekit-server');
  const t = `${pliThrottleSeconds}s`;
  // Called as `<binary> --config <path>`.
  writeFileSync(
    wrapper,
    `#!/bin/sh\nsed -i 's/^rtc:$/rtc:\\n  pli_throttle:\\n    low_quality: ${t}\\n    mid_quality: ${t}\\n    high_quality: ${t}/' "$2"\nexec '${real}' "$@"\n`,
  );
  chmodSync(wrapper, 0o700);
  try {
    const planePort = await freePort();
    const livekit = await startLocalLiveKit({ webhookUrl: `http://127.0.0.1:${planePort}${LIVEKIT_WEBHOOK_PATH}`, logLevel: 'warn', binary: wrapper });
    const api = new RoomServiceClient(livekit.url.replace(/^ws/, 'http'), livekit.apiKey, livekit.apiSecret);
    return {
      livekit,
      api,
      planePort,
      async stop() {
        await livekit.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
