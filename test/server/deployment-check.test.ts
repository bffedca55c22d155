/**
 * `npm run server -- --check` (server/check/): against a real coturn, a real LiveKit and real
 * listening (or dead) ports, it finds a wrong TURN secret, an unreachable public URL and wrong
 * LiveKit keys, and says what to do about each; a good deployment passes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { checkDeployment, formatReport, type CheckResult } from '../../server/check/deployment-check';
import { decodeAnswer, encodeRequest, parseTurnUrl, probeTurn } from '../../server/check/turn-probe';
import { resolveConfig } from '../../server/config';
import type { ControlPlane } from '../../server/control-plane';
import { startCoturn, type Coturn } from '../support/coturn';
import { startTestServer } from '../support/control-plane';
import { freePort, startSfuRig, type SfuRig } from '../support/livekit';

/** `server/main.ts --check` with these variables (asynchronously: the plane it checks runs in this process). */
function checkCommand(env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'server/main.ts', '--check'], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function find(results: CheckResult[], name: string): CheckResult {
  const r = results.find((x) => x.name.startsWith(name));
  assert.ok(r, `a check named ${name} among ${results.map((x) => x.name).join(', ')}`);
  return r;
}

describe('server --check: a deployment checked from the operator\u2019s machine', function () {
  this.timeout(60_000);
  let turn: Coturn;
  let rig: SfuRig;
  let plane: ControlPlane;
  before(async () => {
    [turn, rig] = await Promise.all([startCoturn(), startSfuRig({ webhooks: false })]);
    plane = await startTestServer();
  });
  after(async () => {
    await plane?.close();
    await turn?.stop();
    await rig?.livekit.stop();
  });

  it('reads TURN URLs and refuses answers that are not STUN or not to its request', () => {
    assert.deepEqual(parseTurnUrl('turn:turn.example.com:3478?transport=tcp'), {
      host: 'turn.example.com',
      port: 3478,
      transport: 'tcp',
      url: 'turn:turn.example.com:3478?transport=tcp',
    });
    assert.equal(parseTurnUrl('turns:turn.example.com').port, 5349);
    assert.equal(parseTurnUrl('turn:[::1]:3478').host, '::1');
    assert.throws(() => parseTurnUrl('http://turn.example.com'), /not a TURN URL/);
    const id = randomBytes(12);
    const answer = encodeRequest(0x0103, id, [[0x0014, Buffer.from('realm')]]);
    assert.equal(decodeAnswer(answer, id).attrs.get(0x0014)?.toString(), 'realm');
    assert.throws(() => decodeAnswer(answer, randomBytes(12)), /another request/);
    const noCookie = Buffer.from(answer);
    noCookie.writeUInt32BE(0, 4);
    assert.throws(() => decodeAnswer(noCookie, id), /no magic cookie/);
    assert.throws(() => decodeAnswer(answer.subarray(0, 24), id), /truncated|runs past/);
  });

  it('gets a relay from coturn with the right secret, and names the secret when it is wrong', async () => {
    const good = await probeTurn(turn.url, turn.secret);
    assert.ok(good.ok, JSON.stringify(good));
    assert.match(good.relayed, /^127\.0\.0\.1:\d+$/);
    // coturn saw the allocation (and its release).
    assert.match(turn.log(), /ALLOCATE/i);
    const bad = await probeTurn(turn.url, 'not-the-secret');
    assert.deepEqual(bad.ok ? 'ok' : bad.problem, 'credentials');
    assert.match(turn.log(), /401|Unauthorized|check_stun_auth/i, 'coturn refused it itself');
    const silent = await probeTurn(`turn:127.0.0.1:${await freePort()}?transport=udp`, turn.secret, 1200);
    assert.deepEqual(silent.ok ? 'ok' : silent.problem, 'unreachable');
  });

  it('finds a wrong TURN secret, an unreachable public URL and wrong LiveKit keys, and says what to do', async () => {
    const config = resolveConfig({
      publicUrl: `http://127.0.0.1:${await freePort()}`,
      turn: { urls: [turn.url], secret: 'wrong-secret' },
      livekit: { url: rig.livekit.url, apiKey: rig.livekit.apiKey, apiSecret: 'a-wrong-secret-of-enough-length-000' },
    });
    const results = await checkDeployment(config, { tokenSecretSet: false }, { timeoutMs: 2000 });
    const report = formatReport(results);
    assert.equal(find(results, 'public URL').status, 'fail');
    assert.match(find(results, 'public URL').detail, /connection refused: nothing listens there/);
    assert.equal(find(results, 'TURN').status, 'fail');
    assert.match(find(results, 'TURN').detail, /PAIRUX_TURN_SECRET must equal coturn's static-auth-secret/);
    assert.equal(find(results, 'LiveKit').status, 'fail');
    assert.match(find(results, 'LiveKit').detail, /refused the API key .* and its secret \(HTTP 401\)/);
    assert.equal(find(results, 'token secret').status, 'warn');
    assert.match(report, /3 problem\(s\) to fix/);
  });

  it('passes a deployment whose parts all answer', async () => {
    const config = resolveConfig({
      publicUrl: plane.url,
      turn: { urls: [turn.url], secret: turn.secret },
      livekit: { url: rig.livekit.url, apiKey: rig.livekit.apiKey, apiSecret: rig.livekit.apiSecret },
    });
    const results = await checkDeployment(config, { tokenSecretSet: true });
    assert.deepEqual(
      results.filter((r) => r.status === 'fail'),
      [],
    );
    assert.match(find(results, 'public URL').detail, /healthz answers/);
    assert.match(find(results, 'TURN').detail, /relays with the configured secret/);
    assert.match(find(results, 'LiveKit').detail, /takes the API key/);
  });

  it('runs as `server --check` from the environment and exits 1 on a problem', async () => {
    const run = await checkCommand({ PAIRUX_TURN_URLS: turn.url, PAIRUX_TURN_SECRET: 'wrong-secret', PAIRUX_PUBLIC_URL: plane.url });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /✘ TURN turn:127\.0\.0\.1:\d+\?transport=udp: 401/);
    assert.match(run.stdout, /✔ public URL/);
    const half = await checkCommand({ PAIRUX_TLS_CERT: '/nonexistent.crt' });
    assert.equal(half.status, 1);
    assert.match(half.stderr, /TLS is half configured/);
  });
});
