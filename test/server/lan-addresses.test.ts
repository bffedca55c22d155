/**
 * Which address an embedded control plane proposes for guests on the host's network: a private
 * address on a real interface before a VPN's, a public one, Docker's bridges or link-local; none
 * when the machine has only loopback.
 */
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { inNetwork, lanAddresses, networkOf, proposeLanAddress } from '../../server/lan-addresses';

function v4(address: string, netmask = '255.255.255.0', internal = false): NetworkInterfaceInfo {
  return { address, netmask, family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: null };
}

const v6: NetworkInterfaceInfo = {
  address: 'fe80::1',
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6',
  mac: '00:00:00:00:00:00',
  internal: false,
  cidr: null,
  scopeid: 2,
};

describe('server: the address guests on this network use', () => {
  it("a laptop with Docker, a VPN and Wi-Fi proposes the Wi-Fi's private address", () => {
    const laptop = {
      lo: [v4('127.0.0.1', '255.0.0.0', true)],
      docker0: [v4('172.17.0.1', '255.255.0.0')],
      tailscale0: [v4('100.101.102.103', '255.255.255.255')],
      wlp2s0: [v4('192.168.1.23'), v6],
      'br-5f2a': [v4('172.18.0.1', '255.255.0.0')],
    };
    assert.deepEqual(
      lanAddresses(laptop).map((a) => [a.interface, a.address, a.kind]),
      [
        ['wlp2s0', '192.168.1.23', 'private'],
        ['tailscale0', '100.101.102.103', 'vpn'],
        ['docker0', '172.17.0.1', 'virtual'],
        ['br-5f2a', '172.18.0.1', 'virtual'],
      ],
    );
    assert.deepEqual(proposeLanAddress(laptop), { interface: 'wlp2s0', address: '192.168.1.23', network: '192.168.1.0/24', kind: 'private' });
  });

  it('a public address comes after a private one, link-local last; only loopback proposes nothing', () => {
    const server = { eth0: [v4('203.0.113.7')], eth1: [v4('169.254.3.4', '255.255.0.0')], eth2: [v4('10.0.4.2', '255.255.252.0')] };
    assert.deepEqual(
      lanAddresses(server).map((a) => `${a.address} ${a.kind} ${a.network}`),
      ['10.0.4.2 private 10.0.4.0/22', '203.0.113.7 public 203.0.113.0/24', '169.254.3.4 link-local 169.254.0.0/16'],
    );
    assert.equal(proposeLanAddress({ lo: [v4('127.0.0.1', '255.0.0.0', true)] }), undefined);
  });

  it('tells whether an address is on a network', () => {
    assert.equal(networkOf('192.168.1.23', '255.255.255.0'), '192.168.1.0/24');
    assert.equal(inNetwork('192.168.1.200', '192.168.1.0/24'), true);
    assert.equal(inNetwork('192.168.2.1', '192.168.1.0/24'), false);
    assert.equal(inNetwork('10.0.7.255', '10.0.4.0/22'), true);
    assert.equal(inNetwork('not-an-address', '10.0.4.0/22'), false);
    assert.equal(inNetwork('10.0.0.1', '10.0.0.0/33'), false);
  });
});
