/**
 * The control plane on its own: `npm run server` (or `node dist/server.js`). Settings come from
 * PAIRUX_* environment variables (server/README.md); SIGINT/SIGTERM end sessions cleanly.
 */
import { configFromEnv } from './config';
import { startControlPlane } from './control-plane';

try {
  const plane = await startControlPlane(configFromEnv(), { processMetrics: true });
  console.log(`PairUX control plane listening on ${plane.url} (health: ${plane.url}/healthz, metrics: ${plane.url}/metrics)`);
  if (!plane.config.hostKey) console.log('No host key set: anyone on this machine can create sessions (fine on loopback).');
  const stop = async (signal: string) => {
    console.log(`${signal}: ending sessions and shutting down…`);
    await plane.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  console.error(`PairUX control plane could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
