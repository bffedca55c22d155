/**
 * Which `Host` and `Origin` values the control plane answers to. A DNS-rebinding page reaches a
 * loopback server under the attacker's own name (`rebind.evil:PORT`) with a matching Origin, so
 * neither may be compared with the other: both are compared with this list.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { ServerConfig } from './config';

/** `example.com:8080` → `example.com`; `[::1]:80` → `::1`; lower case, no trailing dot. */
function nameOf(hostHeader: string): string | undefined {
  const h = hostHeader.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([^:[\]]+)(?::\d{1,5})?$/.exec(h);
  return m?.[1]?.replace(/\.$/, '');
}

export class HostAllowlist {
  private readonly names = new Set<string>();
  private readonly origins: Set<string>;

  constructor(private readonly config: Pick<ServerConfig, 'publicUrl' | 'allowedHosts' | 'allowedOrigins'>) {
    for (const n of ['localhost', hostname()]) this.names.add(n.toLowerCase());
    const publicUrl = config.publicUrl === undefined ? undefined : new URL(config.publicUrl);
    if (publicUrl) this.names.add(nameOf(publicUrl.host) ?? '');
    for (const h of config.allowedHosts) {
      const n = nameOf(h);
      if (n) this.names.add(n);
    }
    this.origins = new Set(config.allowedOrigins);
    if (publicUrl) this.origins.add(publicUrl.origin);
  }

  /**
   * An IP address (a rebinding page needs a name of its own, so an address is no rebinding) or a
   * listed name. The port is not compared: behind a proxy it is the proxy's.
   */
  hostAllowed(hostHeader: string | undefined): boolean {
    if (!hostHeader) return false;
    const n = nameOf(hostHeader);
    if (n === undefined) return false;
    return isIP(n) !== 0 || this.names.has(n);
  }

  /**
   * The server's own pages (an allowed host on the port it listens on, or on the port the request
   * itself came to when its Host is allowed: a proxy in front), the public URL, the configured
   * origins, and VS Code webviews (each on its own origin; the join token is the gate).
   */
  originAllowed(origin: string, listeningPort: number, hostHeader?: string): boolean {
    // Today's extension opens the pages' sockets itself (no Origin); desktop webviews of older ones connect directly.
    if (this.origins.has(origin) || this.config.allowedOrigins.includes(origin) || origin.startsWith('vscode-webview://')) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (!this.hostAllowed(url.host)) return false;
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    if (port === listeningPort) return true;
    return hostHeader !== undefined && this.hostAllowed(hostHeader) && url.host === hostHeader.toLowerCase();
  }
}
