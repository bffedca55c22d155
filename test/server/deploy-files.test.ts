/**
 * The deployment files (deploy/) stay true to the server they deploy: every PAIRUX_* variable
 * they set is one the server reads and server/README.md documents, and the example settings,
 * once their placeholders are filled in, are a configuration the server accepts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configFromEnv, resolveConfig } from '../../server/config';

const read = (p: string): string => readFileSync(p, 'utf8');
/** Every PAIRUX_ name in `text`, except wildcards such as `PAIRUX_LIVEKIT_*`. */
const variables = (text: string): Set<string> => new Set(text.replace(/PAIRUX_[A-Z0-9_]*\*/g, '').match(/PAIRUX_[A-Z0-9_]*[A-Z0-9]/g) ?? []);

describe('deployment files', () => {
  const readByServer = variables(read('server/config.ts'));
  const documented = variables(read('server/README.md'));

  it('set only variables the server reads and its README documents', () => {
    for (const file of [
      'deploy/server.env',
      'deploy/README.md',
      'deploy/Caddyfile',
      'deploy/livekit.yaml',
      'deploy/turnserver.conf',
      'deploy/systemd/pairux-server.service',
    ]) {
      for (const name of variables(read(file))) {
        assert.ok(readByServer.has(name), `${file} names ${name}, which server/config.ts never reads`);
        assert.ok(documented.has(name), `${file} names ${name}, which server/README.md does not document`);
      }
    }
  });

  it('give, with the placeholders filled in, a configuration the server accepts (host key and all)', () => {
    const env: Record<string, string> = {};
    for (const line of read('deploy/server.env').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m) env[m[1]!] = m[2]!.replace(/^CHANGE-ME.*$/, 'x'.repeat(40));
    }
    assert.ok(env.PAIRUX_HOST_KEY && env.PAIRUX_PUBLIC_URL && env.PAIRUX_TURN_SECRET, 'the example sets the variables the guide calls required');
    const config = resolveConfig(configFromEnv(env));
    assert.equal(config.publicUrl, 'https://pairux.example.com');
    assert.equal(config.turn?.urls.length, 3);
    assert.equal(config.trustProxy, true);
    // Without the host key the same settings are refused: the public URL is not loopback.
    assert.throws(() => resolveConfig(configFromEnv({ ...env, PAIRUX_HOST_KEY: '' })), /without a host key/);
  });

  it('keep coturn and LiveKit on the secrets the server is told to use', () => {
    assert.match(read('deploy/turnserver.conf'), /^use-auth-secret$/m);
    assert.match(read('deploy/turnserver.conf'), /^static-auth-secret=CHANGE-ME-same-as-PAIRUX_TURN_SECRET$/m);
    assert.match(read('deploy/livekit.yaml'), /urls:\n\s+- https:\/\/pairux\.example\.com\/livekit\/webhook/);
    assert.match(read('deploy/systemd/pairux-server.service'), /^EnvironmentFile=\/etc\/pairux\/server\.env$/m);
  });
});
