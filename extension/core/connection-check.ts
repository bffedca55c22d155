/**
 * "Where do your guests connect?" answered for the current settings, before the first session
 * (the walkthrough's Test Connection): the embedded server on this computer or on the local
 * network, or a deployed PairUX server, which is asked for real whether it answers and takes
 * this host's key (`GET /api/host`), and what its sessions can use.
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { HOST_CHECK_PATH, HostCheckResponse } from '../../protocol/http-api';
import { isLoopbackHost } from '../../server/config';
import { lanAddresses, type LanAddress } from '../../server/lan-addresses';
import { errorFrom, fetchWithRetry, type RetryPolicy } from './remote-server';

export interface ReachSettings {
  /** `pairux.server.url`: a deployed server, or '' for the embedded one. */
  serverUrl: string;
  /** `pairux.server.network` for the embedded server. */
  network: 'this-computer' | 'local-network';
  /** `pairux.server.address`: the embedded server's address on the network ('' lets PairUX propose one). */
  address: string;
}

export interface ReachReport {
  ok: boolean;
  /** One sentence: where guests connect, or what stops them. */
  summary: string;
  /** The details, one per line. */
  details: string[];
}

export interface ReachDeps {
  progress?: (line: string) => void;
  policy?: RetryPolicy;
  here?: () => LanAddress[];
}

export async function checkGuestReach(settings: ReachSettings, hostKey: string | undefined, deps: ReachDeps = {}): Promise<ReachReport> {
  const here = deps.here ?? lanAddresses;
  if (settings.serverUrl) return checkServer(settings.serverUrl, hostKey, deps);
  if (settings.network === 'this-computer') {
    return {
      ok: true,
      summary: 'Guests can join from this computer only: the links carry 127.0.0.1.',
      details: [
        'For a pair on your network, set “pairux.server.network” to local-network.',
        'For guests anywhere, set “pairux.server.url” to a PairUX server (deploy/README.md).',
      ],
    };
  }
  const all = here();
  // What the embedded server would take (host-session.ts): the address set, else the best one (lanAddresses' order).
  const chosen = settings.address ? all.find((a) => a.address === settings.address) : all[0];
  if (!chosen) {
    const known = all.map((a) => `${a.address} (${a.interface})`).join(', ');
    return {
      ok: false,
      summary: settings.address
        ? `“pairux.server.address” is ${settings.address}, which this computer does not have.`
        : 'This computer is on no network but loopback: guests elsewhere cannot reach it.',
      details: [known ? `This computer has ${known}.` : 'Connect to a network (Wi-Fi, Ethernet) and test again.'],
    };
  }
  return {
    ok: true,
    summary: `Guests on ${chosen.network} (${chosen.interface}) join through ${chosen.address}.`,
    details: [
      'Guests elsewhere cannot: for them, set “pairux.server.url” to a PairUX server.',
      'The links are plain HTTP on the network: anyone on it can read the signaling.',
      ...(chosen.kind === 'vpn' ? [`${chosen.interface} is a VPN: only its members reach you there.`] : []),
    ],
  };
}

async function checkServer(serverUrl: string, hostKey: string | undefined, deps: ReachDeps): Promise<ReachReport> {
  const where = new URL(serverUrl);
  const details: string[] = [];
  let res: Response;
  try {
    res = await fetchWithRetry(
      new URL(HOST_CHECK_PATH, serverUrl).toString(),
      { headers: hostKey ? { authorization: `Bearer ${hostKey}` } : {} },
      deps.progress ?? (() => undefined),
      deps.policy,
      'server',
      deps.here,
    );
  } catch (err) {
    return { ok: false, summary: (err as Error).message, details };
  }
  if (res.status === 401) {
    return {
      ok: false,
      summary: `${where.host} answers, but ${hostKey ? 'refuses this host key' : 'needs a host key'}.`,
      details: ['Run “PairUX: Set Server Host Key” and paste the key its operator gave you.'],
    };
  }
  if (res.status === 404) {
    // An older PairUX server has no host check, but it has its health; anything else is not PairUX.
    const health = (await fetch(new URL('/healthz', serverUrl), { signal: AbortSignal.timeout(5000) })
      .then((r) => r.json())
      .catch(() => null)) as { ok?: unknown } | null;
    return health?.ok === true
      ? { ok: true, summary: `${where.host} answers (an older PairUX server: the host key is checked at the first session).`, details }
      : { ok: false, summary: `${where.host} answers, but it is not a PairUX server. Is “pairux.server.url” right?`, details };
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    return { ok: false, summary: `${where.host} answers, but not as expected: ${err.message}`, details };
  }
  const parsed = HostCheckResponse.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new PairuxError(ErrorCode.BadMessage, `${where.host} answered, but not as a PairUX server does. Is “pairux.server.url” right?`);
  details.push(parsed.data.sfu ? 'SFU sessions: available (LiveKit).' : 'SFU sessions: not on this server (peer-to-peer only).');
  details.push(
    parsed.data.turn
      ? 'TURN relay: offered, for guests whose network blocks peer-to-peer.'
      : 'TURN relay: none. Guests behind strict firewalls or symmetric NATs may not connect; ask the operator for coturn.',
  );
  if (where.protocol === 'http:' && !isLoopbackHost(where.hostname)) {
    details.push('Plain HTTP: links and signaling cross the network readable. Ask the operator for HTTPS.');
  }
  return { ok: true, summary: `Guests join through ${where.host}: it answers and takes this host's key.`, details };
}
