/**
 * The walkthrough's "Where do your guests connect?" test (extension/core/connection-check.ts and
 * the server's `GET /api/host`): for a deployed server it asks the real server whether it answers
 * and takes this host's key, and says what its sessions can use; for the embedded server it says
 * who can reach it; each failure says how to fix it.
 */
import assert from 'node:assert/strict';
import { checkGuestReach } from '../../extension/core/connection-check';
import type { ControlPlane } from '../../server/control-plane';
import type { LanAddress } from '../../server/lan-addresses';
import { startTestServer } from '../support/control-plane';
import { freePort } from '../support/livekit';

const KEY = 'a-host-key-of-enough-length';
const office: LanAddress[] = [
  { interface: 'eth0', address: '192.168.1.77', network: '192.168.1.0/24', kind: 'private' },
  { interface: 'wg0', address: '100.80.1.2', network: '100.80.0.0/16', kind: 'vpn' },
];
const quick = { attempts: 1, delaysMs: [10], timeoutMs: 1000 };

describe('extension: where do your guests connect?', () => {
  let plane: ControlPlane | undefined;
  afterEach(async () => {
    await plane?.close();
    plane = undefined;
  });

  it('a deployed server that takes the key: guests join through it, with what its sessions can use', async () => {
    plane = await startTestServer({ hostKey: KEY, turn: { urls: ['turn:127.0.0.1:3478'], secret: 'turn-secret' } });
    const report = await checkGuestReach({ serverUrl: plane.url, network: 'this-computer', address: '' }, KEY, { policy: quick });
    assert.equal(report.ok, true, report.summary);
    assert.match(report.summary, /Guests join through 127\.0\.0\.1:\d+: it answers and takes this host's key/);
    assert.deepEqual(report.details, [
      'SFU sessions: not on this server (peer-to-peer only).',
      'TURN relay: offered, for guests whose network blocks peer-to-peer.',
    ]);
  });

  it('a wrong or missing host key is refused by the server and the fix named', async () => {
    plane = await startTestServer({ hostKey: KEY });
    const wrong = await checkGuestReach({ serverUrl: plane.url, network: 'this-computer', address: '' }, 'not-the-key-at-all-000', { policy: quick });
    assert.equal(wrong.ok, false);
    assert.match(wrong.summary, /answers, but refuses this host key/);
    assert.match(wrong.details.join(' '), /Set Server Host Key/);
    const none = await checkGuestReach({ serverUrl: plane.url, network: 'this-computer', address: '' }, undefined, { policy: quick });
    assert.match(none.summary, /needs a host key/);
    // Without TURN the host is warned who may not get through.
    const open = await startTestServer();
    try {
      const r = await checkGuestReach({ serverUrl: open.url, network: 'this-computer', address: '' }, undefined, { policy: quick });
      assert.match(r.details.join(' '), /TURN relay: none\. Guests behind strict firewalls or symmetric NATs may not connect/);
    } finally {
      await open.close();
    }
  });

  it('a server that does not answer: where it was tried and what to check', async () => {
    const port = await freePort();
    const report = await checkGuestReach({ serverUrl: `http://127.0.0.1:${port}`, network: 'this-computer', address: '' }, KEY, { policy: quick });
    assert.equal(report.ok, false);
    assert.match(
      report.summary,
      new RegExp(`The PairUX server at 127\\.0\\.0\\.1:${port} cannot be reached \\(connection refused\\).*Check that it is running`),
    );
    // Something else on the port: not taken for a PairUX server.
    const other = (await import('node:http')).createServer((_q, r) => r.writeHead(404).end('nope'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const { port: otherPort } = other.address() as { port: number };
      const r = await checkGuestReach({ serverUrl: `http://127.0.0.1:${otherPort}`, network: 'this-computer', address: '' }, KEY, { policy: quick });
      assert.equal(r.ok, false);
      assert.match(r.summary, /answers, but it is not a PairUX server/);
    } finally {
      other.close();
    }
  });

  it('the embedded server: this computer only, or the network PairUX would serve, or why it cannot', async () => {
    const alone = await checkGuestReach({ serverUrl: '', network: 'this-computer', address: '' }, undefined, { here: () => office });
    assert.equal(alone.ok, true);
    assert.match(alone.summary, /from this computer only/);
    const lan = await checkGuestReach({ serverUrl: '', network: 'local-network', address: '' }, undefined, { here: () => office });
    assert.match(lan.summary, /^Guests on 192\.168\.1\.0\/24 \(eth0\) join through 192\.168\.1\.77\.$/);
    const vpn = await checkGuestReach({ serverUrl: '', network: 'local-network', address: '100.80.1.2' }, undefined, { here: () => office });
    assert.match(vpn.details.join(' '), /wg0 is a VPN: only its members reach you there/);
    const foreign = await checkGuestReach({ serverUrl: '', network: 'local-network', address: '10.1.1.1' }, undefined, { here: () => office });
    assert.equal(foreign.ok, false);
    assert.match(foreign.summary, /is 10\.1\.1\.1, which this computer does not have/);
    assert.match(foreign.details[0]!, /192\.168\.1\.77 \(eth0\), 100\.80\.1\.2 \(wg0\)/);
    const nowhere = await checkGuestReach({ serverUrl: '', network: 'local-network', address: '' }, undefined, { here: () => [] });
    assert.match(nowhere.summary, /on no network but loopback/);
  });
});
