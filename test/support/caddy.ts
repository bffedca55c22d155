/**
 * A real Caddy (Debian's) as the TLS front of a deployment, for one test: `tls internal` issues
 * certificates from Caddy's own local CA, which the test then hands to whoever must trust it
 * (Chromium's SPKI list, NODE_EXTRA_CA_CERTS). Nothing is installed into any system trust store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CaddySite {
  /** What Caddy serves, e.g. `https://203.0.113.10:443`. */
  address: string;
  /** Where it proxies to, e.g. `127.0.0.1:8443`. */
  upstream: string;
}

export interface Caddy {
  /** PEM file with Caddy's local root and intermediate: what clients must trust. */
  trustFile: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startCaddy(sites: CaddySite[], argv: (command: string, ...args: string[]) => [string, string[]] = (c, ...a) => [c, a]): Promise<Caddy> {
  if (!existsSync('/usr/bin/caddy')) throw new Error('caddy is not installed: run `npm test` as root (bootstrap installs it) or apt-get install caddy');
  const dir = mkdtempSync(path.join(tmpdir(), 'pairux-caddy-'));
  const caddyfile = path.join(dir, 'Caddyfile');
  writeFileSync(
    caddyfile,
    [
      '{',
      '\tadmin off',
      '\tskip_install_trust',
      '\tauto_https disable_redirects',
      `\tstorage file_system ${path.join(dir, 'data')}`,
      '}',
      ...sites.flatMap((s) => [`${s.address} {`, '\ttls internal', `\treverse_proxy ${s.upstream}`, '}']),
      '',
    ].join('\n'),
  );
  let out = '';
  const [command, args] = argv('/usr/bin/caddy', 'run', '--config', caddyfile, '--adapter', 'caddyfile');
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: path.join(dir, 'xdg-data'), XDG_CONFIG_HOME: path.join(dir, 'xdg-config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const ca = path.join(dir, 'data', 'pki', 'authorities', 'local');
  const trustFile = path.join(dir, 'trust.pem');
  const deadline = Date.now() + 15_000;
  // Ready once its CA exists and it says the sites are served.
  while (!(existsSync(path.join(ca, 'root.crt')) && existsSync(path.join(ca, 'intermediate.crt')) && /serving initial configuration/.test(out))) {
    if (child.exitCode !== null) throw new Error(`caddy exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`caddy did not start within 15 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  writeFileSync(trustFile, readFileSync(path.join(ca, 'root.crt'), 'utf8') + readFileSync(path.join(ca, 'intermediate.crt'), 'utf8'));
  return {
    trustFile,
    log: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
