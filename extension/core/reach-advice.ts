/**
 * What to tell someone whose link's server does not answer, from where the link points and the
 * networks this computer is on: a loopback link works only on the host's computer, a link to a
 * local-network address only on that network (the embedded server's `local-network` links), and
 * for either a guest on the wrong network learns it at once instead of waiting on a spinner.
 */
import { BlockList, isIPv4 } from 'node:net';
import { inNetwork, type LanAddress } from '../../server/lan-addresses';

/** Addresses no one outside their own network reaches (RFC 1918, CGNAT as VPNs use it, link-local). */
const LOCAL_ONLY = new BlockList();
LOCAL_ONLY.addSubnet('10.0.0.0', 8);
LOCAL_ONLY.addSubnet('172.16.0.0', 12);
LOCAL_ONLY.addSubnet('192.168.0.0', 16);
LOCAL_ONLY.addSubnet('100.64.0.0', 10);
LOCAL_ONLY.addSubnet('169.254.0.0', 16);

/**
 * `purpose`: `link`, a guest's share link (the host's server, wherever it is); `server`, the
 * deployed server this host is configured with (`pairux.server.url`).
 */
export function unreachableAdvice(url: string, here: LanAddress[], purpose: 'link' | 'server' = 'link'): string {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  const onNetworks = here.length ? `this computer is on ${[...new Set(here.map((a) => a.network))].join(', ')}` : 'this computer is on no network';
  if (purpose === 'server') {
    const remote = isIPv4(host) && LOCAL_ONLY.check(host, 'ipv4') && !here.some((a) => inNetwork(host, a.network));
    return remote
      ? `“pairux.server.url” points to ${host}, a local-network address, and ${onNetworks}: connect to that network (or its VPN), or change the setting.`
      : `Check that it is running and that this computer reaches ${target.host} (a firewall, proxy or VPN in the way?), then try again.`;
  }
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) {
    return `The link points to ${host}, so it works only on the host's own computer: if that is this one, the session has ended or PairUX stopped there; otherwise ask the host to share on the network (setting “pairux.server.network”: local-network) or through a PairUX server.`;
  }
  if (isIPv4(host) && LOCAL_ONLY.check(host, 'ipv4')) {
    const mine = here.find((a) => inNetwork(host, a.network));
    if (!mine) {
      return `This link only works on the host's network: it points to ${host}, a local-network address, and ${onNetworks}. Join the host's network (the same Wi-Fi or office, or their VPN), or ask the host for a link through a PairUX server.`;
    }
    return `${host} is on this computer's network (${mine.network}) but does not answer on port ${port}: the host may have stopped sharing, or a firewall on the host's computer blocks port ${port} (allow VS Code through it).`;
  }
  return `Check that the server at ${target.host} is running, that this computer reaches it (a firewall, proxy or VPN in the way?), and that the link was copied whole.`;
}
