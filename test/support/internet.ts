/**
 * A small internet in network namespaces (issue 14): a switch namespace for the internet
 * (203.0.113.0/24, TEST-NET-3), a public machine on it (the deployed server, coturn), and private
 * machines each behind a NAT router of its own (192.168.<n>.0/24), as homes and offices are.
 *
 * A `cone` NAT is Linux's MASQUERADE: a private socket keeps one public port whatever it talks
 * to, and only the peers it sent to may answer (address- and port-dependent filtering), so two
 * peers that both send reach each other through their server-reflexive addresses. A `symmetric`
 * NAT (`--random-fully`) gives every destination its own random public port, so the address a
 * STUN or TURN server saw is useless to a peer: only a relay connects two such machines.
 * The internet has no route to any private network: nothing reaches a private machine unasked.
 */
import { execFileSync } from 'node:child_process';
import { startDelayLine, type DelayLine, type LinkShape } from './delay-line';
import { machineIn, namespaceSet, requireRoot, type Machine } from './netns';

export type { LinkShape } from './delay-line';

export type NatKind = 'cone' | 'symmetric';

export interface Internet {
  /** The public machine: what guests and hosts both reach. */
  pub: Machine;
  /** Private machines by name, each behind its own NAT. */
  machines: Record<string, Machine & { nat: NatKind; publicAddress: string }>;
  wrapper(machine: Machine, binary: string): string;
  /** With `operator`: this process's own address on the internet (it reaches the public machine). */
  operatorAddress: string | undefined;
  /**
   * With `shaped`: sets the delay and loss of `machine`'s access link (between it and its NAT
   * router), each way. A path between two private machines crosses two access links.
   */
  shape(machine: string, shape: LinkShape): Promise<void>;
  close(): void;
}

const INTERNET = '203.0.113';
const PUBLIC_ADDRESS = `${INTERNET}.10`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNs(ns: string, command: string, ...args: string[]): void {
  execFileSync('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Fails with what to install when `iptables` is missing (bootstrap installs it as root). */
export function requireIptables(): void {
  try {
    execFileSync('iptables', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the NAT tests need iptables: run `npm test` as root (bootstrap installs it) or apt-get install iptables');
  }
}

/**
 * `operator`: also wire the namespace this process runs in to the internet (203.0.113.2), so a
 * test reaches the public machine's services itself (health checks, LiveKit's API). Deleting the
 * internet's namespace removes that link too.
 * `shaped`: each private machine's access link is a pair of TUN devices joined by the delay line
 * (test/support/delay-line.py), whose delay and loss `shape` sets; otherwise a veth pair.
 */
export async function startInternet(behind: Record<string, NatKind>, options: { operator?: boolean; shaped?: boolean } = {}): Promise<Internet> {
  requireRoot();
  requireIptables();
  const set = namespaceSet();
  const { tag } = set;
  const addNs = (name: string): string => set.add(name);
  let line: DelayLine | undefined;
  try {
    const net = addNs('net');
    ip('-n', net, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', net, 'addr', 'add', `${INTERNET}.1/24`, 'dev', 'br0');
    ip('-n', net, 'link', 'set', 'br0', 'up');
    let port = 0;
    /** A veth from `ns` (named `inside`) to the internet's bridge, at `address`. */
    const plugIn = (ns: string, inside: string, address: string) => {
      const outside = `i${port++}`;
      ip('link', 'add', inside, 'netns', ns, 'type', 'veth', 'peer', 'name', outside, 'netns', net);
      ip('-n', net, 'link', 'set', outside, 'master', 'br0', 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', inside);
      ip('-n', ns, 'link', 'set', inside, 'up');
      // Chromium gathers candidates only on the interface the default route leaves by.
      ip('-n', ns, 'route', 'add', 'default', 'via', `${INTERNET}.1`);
    };

    const pubNs = addNs('pub');
    plugIn(pubNs, 'eth0', PUBLIC_ADDRESS);
    let operatorAddress: string | undefined;
    if (options.operator) {
      operatorAddress = `${INTERNET}.2`;
      const own = `pxo${tag}`;
      ip('link', 'add', own, 'type', 'veth', 'peer', 'name', `i${port++}`, 'netns', net);
      ip('-n', net, 'link', 'set', `i${port - 1}`, 'master', 'br0', 'up');
      ip('addr', 'add', `${operatorAddress}/24`, 'dev', own);
      ip('link', 'set', own, 'up');
    }

    const machines: Internet['machines'] = {};
    const tunPairs: Array<[string, string]> = [];
    Object.entries(behind).forEach(([name, kind], i) => {
      const natNs = addNs(`nat${i}`);
      const publicAddress = `${INTERNET}.${20 + i}`;
      plugIn(natNs, 'wan', publicAddress);
      const lan = `192.168.${i + 1}`;
      const ns = addNs(name);
      if (options.shaped) {
        ip('-n', ns, 'tuntap', 'add', 'dev', 'eth0', 'mode', 'tun');
        ip('-n', natNs, 'tuntap', 'add', 'dev', 'lan', 'mode', 'tun');
        tunPairs.push([`${ns}:eth0`, `${natNs}:lan`]);
      } else ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', 'lan', 'netns', natNs);
      ip('-n', natNs, 'addr', 'add', `${lan}.1/24`, 'dev', 'lan');
      ip('-n', natNs, 'link', 'set', 'lan', 'up');
      ip('-n', ns, 'addr', 'add', `${lan}.2/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'route', 'add', 'default', 'via', `${lan}.1`);
      inNs(natNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      inNs(natNs, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE', ...(kind === 'symmetric' ? ['--random-fully'] : []));
      // Only answers come in from the internet (the router's conntrack), as a home router allows.
      inNs(natNs, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
      inNs(natNs, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-j', 'DROP');
      // Unasked packets to the router itself are dropped before conntrack keeps them: a kept entry
      // would take the public port a private socket is about to be mapped to, and the NAT would
      // then map that socket elsewhere, breaking simultaneous hole punching.
      inNs(natNs, 'iptables', '-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP');
      machines[name] = { ...machineIn(ns, `${lan}.2`), nat: kind, publicAddress };
    });
    // The TUN devices carry nothing until the delay line holds them: it starts before anything runs.
    line = tunPairs.length ? await startDelayLine(tunPairs) : undefined;
    const names = Object.keys(behind);
    const shaper = line;
    return {
      pub: machineIn(pubNs, PUBLIC_ADDRESS),
      machines,
      operatorAddress,
      wrapper: set.wrapper,
      async shape(machine, shape) {
        if (!shaper) throw new Error('this internet was started without `shaped`: its links are plain veth pairs');
        const index = names.indexOf(machine);
        if (index < 0) throw new Error(`no private machine "${machine}" (machines: ${names.join(', ')})`);
        await shaper.set(index, shape);
      },
      close() {
        shaper?.close();
        set.close();
      },
    };
  } catch (err) {
    line?.close();
    set.close();
    throw err;
  }
}
