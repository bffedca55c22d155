/**
 * A machine on a real shaped link: its own network namespace, wired to this one by a veth pair
 * (this side 10.88.0.1, the machine 10.88.0.2, its default route through here), with a token
 * bucket (`tc tbf`) on either end of the pair: on the machine's end everything it sends leaves at
 * most at the rate set (a host's narrow upload, as on a home connection), on this end everything
 * sent to it arrives at most at that rate (a guest's narrow download). The rest of the session
 * stays in this namespace. Needs root, as every namespace test.
 */
import { execFileSync } from 'node:child_process';
import { machineIn, namespaceSet, requireRoot, type Machine } from './netns';

export const MACHINE_SIDE = '10.88.0.2';
export const OUR_SIDE = '10.88.0.1';

export interface ShapedMachine {
  machine: Machine;
  /** A script that runs `binary` inside the machine's namespace (Chromium's executablePath). */
  wrapper(binary: string): string;
  /** The machine's upload rate from now on, kbit/s; null lifts the cap. */
  shapeUp(kbit: number | null): void;
  /** The machine's download rate from now on, kbit/s; null lifts the cap. */
  shapeDown(kbit: number | null): void;
  close(): void;
}

function run(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `tc <qdisc…>` with a token bucket at `kbit`, or the default queue back when null. */
function shape(qdisc: string[], kbit: number | null): void {
  if (kbit === null) {
    run('tc', ...qdisc, 'pfifo_fast');
    return;
  }
  // A queue of ~100 ms at the rate: what a cable modem's buffer holds, not a bufferbloat of seconds.
  const burst = Math.max(16, Math.round(kbit / 100));
  run('tc', ...qdisc, 'tbf', 'rate', `${kbit}kbit`, 'burst', `${burst}kb`, 'latency', '100ms');
}

export function startShapedMachine(): ShapedMachine {
  requireRoot();
  const set = namespaceSet();
  const ns = set.add('shaped');
  const outer = `pxu${set.tag}`.slice(0, 15);
  try {
    run('ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    run('ip', 'addr', 'add', `${OUR_SIDE}/30`, 'dev', outer);
    run('ip', 'link', 'set', outer, 'up');
    run('ip', '-n', ns, 'addr', 'add', `${MACHINE_SIDE}/30`, 'dev', 'eth0');
    run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    // Chromium's WebRTC gathers candidates only on the interface its default route leaves by.
    run('ip', '-n', ns, 'route', 'add', 'default', 'via', OUR_SIDE);
  } catch (err) {
    set.close();
    throw err;
  }
  const machine = machineIn(ns, MACHINE_SIDE);
  return {
    machine,
    wrapper: (binary) => set.wrapper(machine, binary),
    shapeUp: (kbit) => shape(['-n', ns, 'qdisc', 'replace', 'dev', 'eth0', 'root'], kbit),
    shapeDown: (kbit) => shape(['qdisc', 'replace', 'dev', outer, 'root'], kbit),
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
