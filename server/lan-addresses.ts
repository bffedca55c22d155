/**
 * Where guests on the host's own network can reach an embedded control plane: this machine's
 * IPv4 addresses, best first. A laptop lists many interfaces (Wi-Fi, Ethernet, Docker's bridges,
 * a VPN); the one a pair in the same office shares is a private address on a physical interface,
 * so that comes first, and the bridges that only this machine's containers can reach come last.
 */
import { BlockList, isIPv4 } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export interface LanAddress {
  /** The interface's name (eth0, wlp2s0, en0, docker0, …). */
  interface: string;
  address: string;
  /** The network it is on, as CIDR (192.168.1.0/24): what a link opened elsewhere names. */
  network: string;
  /** In words, for pickers and status lines. */
  kind: 'private' | 'vpn' | 'virtual' | 'public' | 'link-local';
}

/** Interfaces that only this machine's containers and VMs reach. */
const VIRTUAL = /^(docker|br-|veth|virbr|vboxnet|vmnet|lxc|lxd|cni|flannel|cali|podman|tap|kube)/;
/** Tunnels: a VPN's peers may be anywhere (Tailscale and WireGuard give CGNAT or private addresses). */
const TUNNEL = /^(tun|wg|tailscale|utun|zt|ppp|ipsec)/;

const RANK: Record<LanAddress['kind'], number> = { private: 0, vpn: 1, public: 2, virtual: 3, 'link-local': 4 };

/** This machine's non-loopback IPv4 addresses, the one to propose first. */
export function lanAddresses(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): LanAddress[] {
  const out: LanAddress[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      if (info.internal || info.family !== 'IPv4') continue;
      out.push({ interface: name, address: info.address, network: networkOf(info.address, info.netmask), kind: kindOf(name, info.address) });
    }
  }
  // Stable within a rank: the order the OS lists them in (usually the primary interface first).
  return out
    .map((a, i) => ({ a, i }))
    .sort((x, y) => RANK[x.a.kind] - RANK[y.a.kind] || x.i - y.i)
    .map(({ a }) => a);
}

/** The address to propose, or undefined when this machine has no network but loopback. */
export function proposeLanAddress(interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>): LanAddress | undefined {
  return lanAddresses(interfaces)[0];
}

function kindOf(name: string, address: string): LanAddress['kind'] {
  const [a, b] = address.split('.').map(Number) as [number, number];
  if (a === 169 && b === 254) return 'link-local';
  if (VIRTUAL.test(name)) return 'virtual';
  if (TUNNEL.test(name) || (a === 100 && b >= 64 && b < 128)) return 'vpn';
  if (a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168)) return 'private';
  return 'public';
}

/** `address` and `netmask` as a CIDR network (192.168.1.23 / 255.255.255.0 → 192.168.1.0/24). */
export function networkOf(address: string, netmask: string): string {
  const ip = toInt(address);
  const mask = toInt(netmask);
  let bits = 0;
  for (let m = mask; m & 0x80000000; m = (m << 1) >>> 0) bits++;
  return `${fromInt((ip & mask) >>> 0)}/${bits}`;
}

/** Whether `address` lies in `network` (CIDR). */
export function inNetwork(address: string, network: string): boolean {
  const [base, bitsText] = network.split('/') as [string, string | undefined];
  const bits = Number(bitsText);
  if (!isIPv4(address) || !isIPv4(base) || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const list = new BlockList();
  list.addSubnet(base, bits, 'ipv4');
  return list.check(address, 'ipv4');
}

function toInt(address: string): number {
  return address.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
}

function fromInt(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
