/** Quality tiers by role at the control plane (issue 16, item 1): the deployment's table and role tiers. */
import assert from 'node:assert/strict';
import { DEFAULT_TIERS } from '../../protocol/tiers';
import { configFromEnv, resolveConfig, type ServerConfigInput } from '../../server/config';

describe('control plane: the deployment tiers setting', () => {
  it('lays the deployment over the defaults, from the settings and from PAIRUX_TIERS / PAIRUX_ROLE_TIERS', () => {
    const defaults = resolveConfig({});
    assert.deepEqual(defaults.tiers, DEFAULT_TIERS);
    assert.deepEqual(defaults.roleTiers, { host: 'high', controller: 'high', viewer: 'standard' });
    const env = resolveConfig(configFromEnv({ PAIRUX_TIERS: '{"standard":{"maxKbps":1500,"maxFps":24}}', PAIRUX_ROLE_TIERS: '{"viewer":"low"}' }));
    assert.deepEqual(env.tiers.standard, { ...DEFAULT_TIERS.standard, maxKbps: 1500, maxFps: 24 });
    assert.deepEqual(env.tiers.high, DEFAULT_TIERS.high);
    assert.deepEqual(env.roleTiers, { host: 'high', controller: 'high', viewer: 'low' });
  });

  it('refuses bad tiers at start, naming the setting and what is wrong', () => {
    const bad = (input: unknown) => () => resolveConfig(input as ServerConfigInput);
    assert.throws(bad({ tiers: { standard: { maxKbps: 90_000 } } }), /invalid server configuration: tiers\.standard\.maxKbps: .*50000/);
    assert.throws(bad({ tiers: { hgh: { maxKbps: 1000 } } }), /tiers: Unrecognized key: "hgh"/);
    assert.throws(bad({ tiers: { low: { rtcPriority: 'urgent' } } }), /tiers\.low\.rtcPriority/);
    // A lower tier may not get more than the one above it.
    assert.throws(bad({ tiers: { standard: { maxKbps: 5000 } } }), /tiers: standard\.maxKbps \(5000\) asks for more than high\.maxKbps \(4000\)/);
    assert.throws(bad({ tiers: { low: { maxScaleDown: 1.2 } } }), /low\.maxScaleDown \(1\.2\) asks for more than standard\.maxScaleDown \(1\.5\)/);
    assert.throws(bad({ roleTiers: { viewer: 'ultra' } }), /roleTiers\.viewer/);
    assert.throws(bad({ roleTiers: { guest: 'low' } }), /roleTiers: Unrecognized key: "guest"/);
    assert.throws(() => configFromEnv({ PAIRUX_TIERS: '{"high":' }), /PAIRUX_TIERS is not valid JSON/);
    assert.throws(() => configFromEnv({ PAIRUX_ROLE_TIERS: 'viewer=low' }), /PAIRUX_ROLE_TIERS is not valid JSON/);
    assert.throws(() => configFromEnv({ PAIRUX_TIERS: '@/nonexistent/tiers.json' }), /PAIRUX_TIERS names \/nonexistent\/tiers\.json, which cannot be read/);
  });
});
