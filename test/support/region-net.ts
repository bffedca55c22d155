/**
 * Two regions on one machine with real distance between them, for the cascade's tests (issue 17):
 *
 *   region a   this namespace (the control plane, the host, a's LiveKit, the bridges the control
 *              plane starts), at `aAddress` on a link to the router
 *   router     a namespace between the regions; its end of the long link counts what a sends b
 *   region b   a namespace (b's data centre: its LiveKit at `b.address`) at the long link's other
 *              end, `long` delay and loss each way
 *   people     b's users, each a namespace on an access link of its own to b (`access` delay and
 *              loss each way), as homes near b's data centre; one may hold several browser pages
 *
 * The long link and the access links are TUN pairs carried by test/support/delay-line.py (this
 * kernel has no netem). Needs root, as every namespace test; everything is removed on close.
 */
import { execFileSync } from 'node:child_process';
import { startDelayLine, type DelayLine, type LinkShape } from './delay-line';
import { machineIn, namespaceSet, requireRoot, type Machine } from './netns';

export type { LinkShape } from './delay-line';

export interface RegionNet {
  /** This namespace's address, which region b and its people reach region a by. */
  aAddress: string;
  /** Region b's data centre. */
  b: Machine;
  /** b's people by name. */
  people: Record<string, Machine>;
  /** A script that runs `binary` inside `machine` (Chromium's executablePath). */
  wrapper(machine: Machine, binary: string): string;
  /** Bytes sent from region a towards region b over the long link since it was made. */
  bytesAtoB(): number;
  /** The long link's delay and loss from now on. */
  shapeLong(shape: LinkShape): Promise<void>;
  /** One person's access link from now on. */
  shapeAccess(person: string, shape: LinkShape): Promise<void>;
  close(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function sysctl(ns: string, setting: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', setting], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function startRegionNet(people: string[], shapes: { long: LinkShape; access: LinkShape }): Promise<RegionNet> {
  requireRoot();
  const set = namespaceSet();
  // A /16 of its own per process, so a run beside another one (CI and a developer's) does not meet it.
  const net = `10.${100 + (Number(set.tag) % 100)}`;
  const aAddress = `${net}.0.2`;
  const ours = `pxa${set.tag}`.slice(0, 15);
  let line: DelayLine | undefined;
  let routed = false;
  try {
    const router = set.add('router');
    const b = set.add('regionb');
    ip('link', 'add', ours, 'type', 'veth', 'peer', 'name', 'a0', 'netns', router);
    ip('addr', 'add', `${aAddress}/24`, 'dev', ours);
    ip('link', 'set', ours, 'up');
    ip('route', 'add', `${net}.0.0/16`, 'via', `${net}.0.1`);
    routed = true;
    ip('-n', router, 'addr', 'add', `${net}.0.1/24`, 'dev', 'a0');
    ip('-n', router, 'link', 'set', 'a0', 'up');
    sysctl(router, 'net.ipv4.ip_forward=1');

    const pairs: Array<[string, string]> = [];
    /** A TUN pair between `left` (device `leftDev`, `prefix`.1) and `right` (`rightDev`, `prefix`.2), carried by the delay line. */
    const tunLink = (left: string, leftDev: string, right: string, rightDev: string, prefix: string) => {
      ip('-n', left, 'tuntap', 'add', 'dev', leftDev, 'mode', 'tun');
      ip('-n', right, 'tuntap', 'add', 'dev', rightDev, 'mode', 'tun');
      ip('-n', left, 'addr', 'add', `${prefix}.1/24`, 'dev', leftDev);
      ip('-n', right, 'addr', 'add', `${prefix}.2/24`, 'dev', rightDev);
      ip('-n', left, 'link', 'set', leftDev, 'up');
      ip('-n', right, 'link', 'set', rightDev, 'up');
      pairs.push([`${left}:${leftDev}`, `${right}:${rightDev}`]);
    };
    tunLink(router, 'long', b, 'long', `${net}.1`);
    // Everything of region b (its people's networks included) lies beyond the long link.
    ip('-n', router, 'route', 'add', `${net}.0.0/16`, 'dev', 'long');
    ip('-n', b, 'route', 'add', 'default', 'dev', 'long');
    sysctl(b, 'net.ipv4.ip_forward=1');

    const machines: Record<string, Machine> = {};
    people.forEach((name, i) => {
      const ns = set.add(name);
      tunLink(b, `home${i}`, ns, 'eth0', `${net}.${10 + i}`);
      // Chromium's WebRTC gathers candidates only on the interface its default route leaves by.
      ip('-n', ns, 'route', 'add', 'default', 'dev', 'eth0');
      machines[name] = machineIn(ns, `${net}.${10 + i}.2`);
    });
    // The TUN devices carry nothing until the delay line holds them.
    line = await startDelayLine(pairs);
    const shaper = line;
    await shaper.set(0, shapes.long);
    for (let i = 0; i < people.length; i++) await shaper.set(1 + i, shapes.access);
    return {
      aAddress,
      b: machineIn(b, `${net}.1.2`),
      people: machines,
      wrapper: set.wrapper,
      bytesAtoB: () => Number(execFileSync('ip', ['netns', 'exec', router, 'cat', '/sys/class/net/long/statistics/tx_bytes'], { encoding: 'utf8' }).trim()),
      shapeLong: (shape) => shaper.set(0, shape),
      async shapeAccess(person, shape) {
        const i = people.indexOf(person);
        if (i < 0) throw new Error(`no person "${person}" in region b (people: ${people.join(', ')})`);
        await shaper.set(1 + i, shape);
      },
      close() {
        shaper.close();
        removeOurs(ours, net);
        set.close();
      },
    };
  } catch (err) {
    line?.close();
    if (routed) removeOurs(ours, net);
    set.close();
    throw err;
  }
}

/** This namespace's end of the link and its route (deleting the router's namespace takes the veth too; this is for a half-built net). */
function removeOurs(device: string, net: string): void {
  for (const args of [
    ['route', 'del', `${net}.0.0/16`],
    ['link', 'del', device],
  ]) {
    try {
      ip(...args);
    } catch {
      // already gone with the router's namespace
    }
  }
}
