/**
 * The control plane's own TLS (PAIRUX_TLS_CERT / PAIRUX_TLS_KEY, server/tls-files.ts): links and
 * the signaling socket are https:// and wss://, a renewed certificate is served without a
 * restart, a renewal that cannot be used leaves the running one in place, and every bad pair is
 * refused at start with the file and the reason. Certificates are made by the real openssl.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import WebSocket from 'ws';
import { configFromEnv } from '../../server/config';
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { describeTlsPair, loadTlsPair } from '../../server/tls-files';
import { makeCert } from '../support/certs';
import { startTestServer } from '../support/control-plane';
import { eventually } from '../support/livekit';
import { TEST_PAGES } from '../support/test-pages';

/** The certificate a new TLS connection to `port` is served (its SHA-256 fingerprint). */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.once('error', reject);
  });
}

function httpsJson(url: string, ca: Buffer, method = 'GET', body?: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as unknown) : null }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

describe('control plane: built-in TLS', function () {
  this.timeout(30_000);
  let dir: string;
  let plane: ControlPlane | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pairux-tls-'));
  });
  afterEach(async () => {
    await plane?.close();
    plane = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves https:// links and wss:// signaling with the certificate it was given', async () => {
    const made = makeCert(dir, 'first');
    plane = await startTestServer({ tls: { certFile: made.cert, keyFile: made.key } });
    assert.match(plane.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = loadTlsPair({ certFile: made.cert, keyFile: made.key }).cert;
    const health = await httpsJson(`${plane.url}/healthz`, ca);
    assert.equal(health.status, 200);
    const created = await httpsJson(`${plane.url}/api/sessions`, ca, 'POST', '{}');
    assert.equal(created.status, 201);
    const session = created.json as { links: { viewer: { url: string } }; wsUrl: string };
    assert.match(session.links.viewer.url, /^https:\/\/127\.0\.0\.1:\d+\/s\//);
    assert.match(session.wsUrl, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
    // The signaling socket opens over TLS with that certificate trusted, and not without it.
    const ws = new WebSocket(session.wsUrl, { ca });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.close();
    const untrusted = new WebSocket(session.wsUrl);
    const refused = await new Promise<Error>((resolve) => untrusted.once('error', resolve));
    assert.match(refused.message, /self.signed|certificate/i);
  });

  it('serves a renewed certificate to new connections without a restart, and keeps the old one when the renewal is broken', async () => {
    const first = makeCert(dir, 'first');
    const live = { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') };
    copyFileSync(first.cert, live.certFile);
    copyFileSync(first.key, live.keyFile);
    const logs: string[] = [];
    plane = await startControlPlane({ host: '127.0.0.1', port: 0, ...TEST_PAGES, tls: live }, { tlsPollMs: 100, log: (_l, m) => logs.push(m) });
    const firstFp = loadTlsPair(live).fingerprint256;
    assert.equal(await servedFingerprint(plane.port), firstFp);

    // A broken renewal: the certificate file half written. The old certificate stays.
    writeFileSync(live.certFile, '-----BEGIN CERTIFICATE-----\nMIIB\n');
    await eventually(async () => logs.some((l) => /cannot be used, still serving the previous certificate/.test(l)), 'the broken renewal reported', 10_000);
    assert.equal(await servedFingerprint(plane.port), firstFp);

    // A good renewal: new connections get the new certificate.
    const second = makeCert(dir, 'second');
    copyFileSync(second.key, live.keyFile);
    copyFileSync(second.cert, live.certFile);
    const secondFp = loadTlsPair(live).fingerprint256;
    assert.notEqual(secondFp, firstFp);
    const port = plane.port;
    await eventually(async () => (await servedFingerprint(port)) === secondFp, 'the renewed certificate served', 10_000);
    assert.ok(
      logs.some((l) => /reloaded: TLS certificate for 127\.0\.0\.1, localhost/.test(l)),
      logs.join('\n'),
    );
    assert.equal(plane.tls?.fingerprint256, secondFp);
  });

  it('refuses to start on a pair it cannot serve, naming the file and the reason', async () => {
    const a = makeCert(dir, 'a');
    const b = makeCert(dir, 'b');
    await assert.rejects(startTestServer({ tls: { certFile: a.cert, keyFile: b.key } }), /b\.key is not the key of the certificate in .*a\.crt/);
    await assert.rejects(
      startTestServer({ tls: { certFile: join(dir, 'missing.crt'), keyFile: a.key } }),
      /TLS certificate .*missing\.crt cannot be read: ENOENT/,
    );
    writeFileSync(join(dir, 'junk.crt'), 'not a certificate');
    await assert.rejects(startTestServer({ tls: { certFile: join(dir, 'junk.crt'), keyFile: a.key } }), /junk\.crt is not a PEM certificate/);
    // Expired: checked against a clock a year ahead.
    const later = new Date(Date.now() + 365 * 86_400_000);
    assert.throws(() => loadTlsPair({ certFile: a.cert, keyFile: a.key }, later), /a\.crt expired on .*renew it/);
    // Half configured in the environment.
    assert.throws(() => configFromEnv({ PAIRUX_TLS_CERT: a.cert }), /TLS is half configured: set PAIRUX_TLS_KEY too/);
    assert.deepEqual(configFromEnv({ PAIRUX_TLS_CERT: a.cert, PAIRUX_TLS_KEY: a.key }).tls, { certFile: a.cert, keyFile: a.key });
  });

  it('says when a certificate is self-signed or about to expire', () => {
    const short = makeCert(dir, 'short', 3);
    const line = describeTlsPair(loadTlsPair({ certFile: short.cert, keyFile: short.key }));
    assert.match(line, /TLS certificate for 127\.0\.0\.1, localhost, valid until \d{4}-\d\d-\d\d/);
    assert.match(line, /expires in [23] day\(s\): renew it/);
    assert.match(line, /self-signed: browsers warn/);
  });
});
