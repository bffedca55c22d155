/**
 * The control plane on its own: `npm run server` (or `node dist/server.js`). Settings come from
 * PAIRUX_* environment variables (server/README.md); SIGINT/SIGTERM end sessions cleanly (with
 * Redis, several instances: they end none, and hand this instance's clients to the others).
 * `npm run server -- --check` checks a deployment instead of serving (server/check/).
 */
import { checkDeployment, formatReport } from './check/deployment-check';
import { configFromEnv, resolveConfig } from './config';
import { startControlPlane } from './control-plane';
import { describeTlsPair } from './tls-files';

if (process.argv.includes('--check')) {
  try {
    const config = resolveConfig(configFromEnv());
    const results = await checkDeployment(config, { tokenSecretSet: Boolean(process.env.PAIRUX_TOKEN_SECRET) });
    console.log(formatReport(results));
    process.exit(results.some((r) => r.status === 'fail') ? 1 : 0);
  } catch (err) {
    console.error(`✘ configuration: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

try {
  const plane = await startControlPlane(configFromEnv(), { processMetrics: true });
  const local = `${plane.tls ? 'https' : 'http'}://${plane.config.host.includes(':') ? `[${plane.config.host}]` : plane.config.host}:${plane.port}`;
  const shared = plane.config.redis
    ? `; instance ${plane.config.instanceId}, sharing sessions with the other instances through Redis at ${plane.config.redis.sentinels ? `the primary “${plane.config.redis.sentinelName}” of the sentinels at ${plane.config.redis.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}` : redisWhere(plane.config.redis.url)} (prefix ${plane.config.redis.keyPrefix})`
    : '';
  const links = plane.url === local ? '' : `; share links point at ${plane.url}`;
  console.log(`PairUX control plane listening on ${local} (health: ${local}/healthz, metrics: ${local}/metrics${links})${shared}`);
  if (plane.tls) console.log(describeTlsPair(plane.tls));
  if (!plane.config.hostKey) console.log('No host key set: anyone on this machine can create sessions (fine on loopback).');
  const stop = async (signal: string) => {
    console.log(
      plane.config.redis ? `${signal}: moving this instance's clients to the others and shutting down…` : `${signal}: ending sessions and shutting down…`,
    );
    await plane.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  console.error(`PairUX control plane could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

/** Where Redis is, without its password. */
function redisWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'the configured url';
  }
}
