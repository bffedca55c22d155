/**
 * Machines on one local network, for tests of what crosses it: a network namespace per machine
 * (its own interfaces, routes and loopback; X servers' abstract sockets too), each wired by a veth
 * pair to a bridge in a namespace of its own, the network's switch. Needs root (`ip netns`);
 * `requireRoot` says so plainly. Everything is removed on close, and names carry this process's id
 * so parallel runs do not meet.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Machine {
  /** The namespace's name (for `ip netns exec`). */
  ns: string;
  /** Its address on the network. */
  address: string;
  /** `argv` run inside this machine. */
  argv(command: string, ...args: string[]): [string, string[]];
}

export interface Lan {
  /** The network, as CIDR. */
  network: string;
  machines: Record<string, Machine>;
  /** A script that runs `binary` (with its arguments) inside `machine`: an executablePath for Chromium. */
  wrapper(machine: Machine, binary: string): string;
  close(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Fails with what to do when this process cannot make namespaces. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('network namespace tests need root (`ip netns add`); run them as root, as CI does');
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`\`ip netns\` does not work here (iproute2 missing?): ${(err as Error).message}`, { cause: err });
  }
}

/** `names` on one switched network 10.<subnet>.0.0/24, the first at .1, the next at .2, … */
export function startLan(names: string[], subnet = 77): Lan {
  requireRoot();
  const set = namespaceSet();
  const sw = set.add('sw');
  try {
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'br0', 'up');
    const machines: Record<string, Machine> = {};
    names.forEach((name, i) => {
      const ns = set.add(name);
      // Interface names are at most 15 characters; each end is created in its namespace at once.
      ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', sw);
      ip('-n', sw, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
      const address = `10.${subnet}.0.${i + 1}`;
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      // A default route, as every real network gives: Chromium's WebRTC offers only the interface
      // its default route leaves by (without one a page gathers no candidates at all).
      ip('-n', ns, 'route', 'add', 'default', 'dev', 'eth0');
      machines[name] = machineIn(ns, address);
    });
    return { network: `10.${subnet}.0.0/24`, machines, wrapper: set.wrapper, close: set.close };
  } catch (err) {
    set.close();
    throw err;
  }
}

/** `ip netns exec NAME` bind-mounts each entry of /etc/netns/NAME over /etc: a machine's own configuration. */
const NETNS_ETC = '/etc/netns';

/**
 * Adds the certificates in `pemFile` to `machine`'s system trust store, as its owner would add a
 * company CA (`update-ca-certificates`): the machine sees its own /etc/ssl (a copy of this one's,
 * through `ip netns exec`), whose bundle has them appended. Programs that read the system store
 * (VS Code's extension host, OpenSSL) then trust them; nothing outside the machine changes.
 * Removed with the machine's namespace set.
 */
export function trustInMachine(machine: Machine, pemFile: string): void {
  const ssl = path.join(NETNS_ETC, machine.ns, 'ssl');
  mkdirSync(ssl, { recursive: true });
  cpSync('/etc/ssl', ssl, { recursive: true, verbatimSymlinks: true });
  appendFileSync(path.join(ssl, 'certs', 'ca-certificates.crt'), `\n${readFileSync(pemFile, 'utf8')}`);
}

/** A machine that is the namespace `ns`, at `address`. */
export function machineIn(ns: string, address: string): Machine {
  return { ns, address, argv: (command, ...args) => ['ip', ['netns', 'exec', ns, command, ...args]] };
}

/**
 * Namespaces made for one test, named after this process (parallel runs do not meet), each with
 * its loopback up; `close` deletes them all (and the veths into them) and the wrapper scripts.
 */
export function namespaceSet(): { add(name: string): string; wrapper(machine: Machine, binary: string): string; close(): void; tag: string } {
  const tag = String(process.pid % 100000);
  const made: string[] = [];
  const scripts = mkdtempSync(path.join(tmpdir(), 'pairux-netns-'));
  return {
    tag,
    add(name) {
      const ns = `px${tag}-${name}`;
      ip('netns', 'add', ns);
      made.push(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      return ns;
    },
    // A script that runs `binary` inside `machine`: an executablePath for Chromium.
    wrapper(machine, binary) {
      const file = path.join(scripts, `${machine.ns}-${path.basename(binary)}`);
      writeFileSync(file, `#!/bin/sh\nexec ip netns exec ${machine.ns} ${binary} "$@"\n`);
      chmodSync(file, 0o755);
      return file;
    },
    close() {
      for (const ns of [...made].reverse()) {
        try {
          ip('netns', 'del', ns);
        } catch {
          // already gone
        }
      }
      for (const ns of made) rmSync(path.join(NETNS_ETC, ns), { recursive: true, force: true });
      made.length = 0;
      rmSync(scripts, { recursive: true, force: true });
    },
  };
}
