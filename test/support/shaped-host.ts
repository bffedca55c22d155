/**
 * A host machine whose uplink is a real shaped link: its own network namespace, wired to this
 * one by a veth pair (this side 10.88.0.1, the host 10.88.0.2, its default route through here),
 * with a token bucket (`tc tbf`) on the host's side of the pair, so everything the host sends
 * leaves at most at the rate set. The control plane and the guests stay in this namespace: only
 * the host's upload is narrow, as on a home connection. Needs root, as every namespace test.
 */
import { execFileSync } from 'node:child_process';
import { machineIn, namespaceSet, requireRoot, type Machine } from './netns';

export const HOST_SIDE = '10.88.0.2';
export const OUR_SIDE = '10.88.0.1';

export interface ShapedHost {
  machine: Machine;
  /** A script that runs `binary` inside the host's namespace (Chromium's executablePath). */
  wrapper(binary: string): string;
  /** The host's upload rate from now on, kbit/s; null lifts the cap. */
  shape(kbit: number | null): void;
  close(): void;
}

function run(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function startShapedHost(): ShapedHost {
  requireRoot();
  const set = namespaceSet();
  const ns = set.add('uplink');
  const outer = `pxu${set.tag}`.slice(0, 15);
  try {
    run('ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    run('ip', 'addr', 'add', `${OUR_SIDE}/30`, 'dev', outer);
    run('ip', 'link', 'set', outer, 'up');
    run('ip', '-n', ns, 'addr', 'add', `${HOST_SIDE}/30`, 'dev', 'eth0');
    run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    // Chromium's WebRTC gathers candidates only on the interface its default route leaves by.
    run('ip', '-n', ns, 'route', 'add', 'default', 'via', OUR_SIDE);
  } catch (err) {
    set.close();
    throw err;
  }
  const machine = machineIn(ns, HOST_SIDE);
  return {
    machine,
    wrapper: (binary) => set.wrapper(machine, binary),
    shape(kbit) {
      if (kbit === null) {
        run('tc', '-n', ns, 'qdisc', 'replace', 'dev', 'eth0', 'root', 'pfifo_fast');
        return;
      }
      // A queue of ~100 ms at the rate: what a cable modem's buffer holds, not a bufferbloat of seconds.
      const burst = Math.max(16, Math.round(kbit / 100));
      run('tc', '-n', ns, 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', `${burst}kb`, 'latency', '100ms');
    },
    close() {
      try {
        run('ip', 'link', 'del', outer);
      } catch {
        // Gone with its namespace already.
      }
      set.close();
    },
  };
}
