/**
 * A link whose server does not answer says where it points and what to check (issue 14): a
 * local-network link opened off that network says it only works there, naming the networks this
 * computer is on; one on this computer's network points at the host's firewall; a loopback link
 * works only on the host's computer. A real refused connection carries the advice to the guest.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { unreachableAdvice } from '../../extension/core/reach-advice';
import { previewLink } from '../../extension/core/remote-server';
import type { LanAddress } from '../../server/lan-addresses';
import { makeCert } from '../support/certs';
import { freePort } from '../support/livekit';

const cafe: LanAddress[] = [{ interface: 'wlan0', address: '10.20.30.40', network: '10.20.30.0/24', kind: 'private' }];
const office: LanAddress[] = [{ interface: 'eth0', address: '192.168.1.77', network: '192.168.1.0/24', kind: 'private' }];

/** The error a guest's link check ends with against `origin` (seen from the office network), checked to be UNAVAILABLE. */
async function previewFailure(
  origin: string,
  progress: (line: string) => void,
  policy: { attempts: number; delaysMs: number[]; timeoutMs: number },
): Promise<PairuxError> {
  const err = await previewLink(origin, 'token', progress, policy, () => office).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof PairuxError);
  assert.equal(err.code, ErrorCode.Unavailable);
  return err;
}

describe('extension: what an unreachable link says', () => {
  it('a local-network link opened on another network: it only works on the host’s network', () => {
    const advice = unreachableAdvice('http://192.168.1.20:7420/s/abc', cafe);
    assert.match(
      advice,
      /^This link only works on the host's network: it points to 192\.168\.1\.20, a local-network address, and this computer is on 10\.20\.30\.0\/24\./,
    );
    assert.match(advice, /Join the host's network \(the same Wi-Fi or office, or their VPN\)/);
    assert.match(unreachableAdvice('http://192.168.1.20:7420/s/abc', []), /this computer is on no network/);
  });

  it('a local-network link on this computer’s own network: the host stopped sharing, or its firewall', () => {
    assert.match(
      unreachableAdvice('http://192.168.1.20:7420/s/abc', office),
      /192\.168\.1\.20 is on this computer's network \(192\.168\.1\.0\/24\) but does not answer on port 7420: .*firewall/,
    );
  });

  it('a loopback link works only on the host’s computer; a public one gets the general checks', () => {
    assert.match(
      unreachableAdvice('http://127.0.0.1:7420/s/abc', office),
      /points to 127\.0\.0\.1, so it works only on the host's own computer: if that is this one, the session has ended/,
    );
    assert.match(unreachableAdvice('https://pairux.example.com/s/abc', office), /Check that the server at pairux\.example\.com is running/);
  });

  it('the host’s own configured server is checked as a server, not as a link', () => {
    assert.match(unreachableAdvice('http://127.0.0.1:7420/api/sessions', office, 'server'), /^Check that it is running/);
    assert.match(
      unreachableAdvice('http://10.9.8.7:7420/api/sessions', office, 'server'),
      /“pairux\.server\.url” points to 10\.9\.8\.7, a local-network address, and this computer is on 192\.168\.1\.0\/24/,
    );
  });

  it('a guest whose link’s server refuses the connection gets the advice in the error', async () => {
    const closed = await freePort();
    const err = await previewFailure(`http://127.0.0.1:${closed}`, () => undefined, { attempts: 1, delaysMs: [10], timeoutMs: 500 });
    assert.match(
      err.message,
      /cannot be reached \(connection refused\) after 1 attempt\. The link points to 127\.0\.0\.1, so it works only on the host's own computer/,
    );
  });

  it('a server whose certificate this computer does not trust: said at once, not retried as if it were down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairux-untrusted-'));
    const made = makeCert(dir, 'self-signed');
    let requests = 0;
    const server = createHttpsServer({ cert: readFileSync(made.cert), key: readFileSync(made.key) }, (_q, r) => {
      requests++;
      r.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const lines: string[] = [];
    try {
      const { port } = server.address() as { port: number };
      const err = await previewFailure(`https://127.0.0.1:${port}`, (l) => lines.push(l), { attempts: 4, delaysMs: [200], timeoutMs: 2000 });
      assert.match(err.message, /^The PairUX server at 127\.0\.0\.1:\d+ has a self-signed certificate, which this computer does not trust/);
      assert.equal(lines.length, 1, `one attempt, no retries: ${lines.join(' | ')}`);
      assert.equal(requests, 0, 'the TLS handshake failed before any request');
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
