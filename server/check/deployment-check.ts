/**
 * `npm run server -- --check`: what an operator needs to hear before guests find out. Each check
 * reads the same settings the server runs with and tries the real thing from this machine: the
 * public URL answers, TURN relays with this secret, each LiveKit takes these keys, the TLS files
 * are a usable pair. A check that cannot pass says what to do.
 */
import { RoomServiceClient } from 'livekit-server-sdk';
import { isLoopbackHost, sfuPoolsOf, type ServerConfig } from '../config';
import { describeTlsPair, loadTlsPair } from '../tls-files';
import { probeTurn } from './turn-probe';
import { whyUnreachable } from './why-unreachable';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface CheckOptions {
  timeoutMs?: number;
}

async function checkPublicUrl(config: ServerConfig, timeoutMs: number): Promise<CheckResult> {
  const name = 'public URL';
  if (!config.publicUrl) {
    return isLoopbackHost(config.host)
      ? {
          name,
          status: 'warn',
          detail: `not set: links point at http://${config.host}:${config.port || '<port>'}, which only this machine reaches. Set PAIRUX_PUBLIC_URL to the address guests open`,
        }
      : { name, status: 'warn', detail: `not set: links carry the listening address ${config.host}. Set PAIRUX_PUBLIC_URL to the address guests open` };
  }
  const url = `${config.publicUrl.replace(/\/+$/, '')}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => null)) as { ok?: unknown; sessions?: unknown } | null;
    if (res.status !== 200 || body?.ok !== true) {
      return { name, status: 'fail', detail: `${url} answered HTTP ${res.status}, not PairUX's health (is the proxy forwarding to the right port?)` };
    }
    const secure = config.publicUrl.startsWith('https:');
    return secure
      ? { name, status: 'ok', detail: `${url} answers over HTTPS` }
      : {
          name,
          status: isLoopbackHost(new URL(config.publicUrl).hostname) ? 'ok' : 'warn',
          detail: `${url} answers, but over plain HTTP: join tokens cross the network readable and browsers give the page no secure context. Serve TLS (PAIRUX_TLS_CERT) or put a TLS proxy in front`,
        };
  } catch (err) {
    return { name, status: 'fail', detail: `${url}: ${whyUnreachable(err)}` };
  }
}

function checkTls(config: ServerConfig): CheckResult {
  const name = 'TLS';
  if (!config.tls) {
    return { name, status: 'ok', detail: 'not served by PairUX itself (plain HTTP; fine on loopback or behind a TLS proxy)' };
  }
  try {
    const pair = loadTlsPair(config.tls);
    const line = describeTlsPair(pair);
    return { name, status: /renew it|self-signed/.test(line) ? 'warn' : 'ok', detail: line };
  } catch (err) {
    return { name, status: 'fail', detail: (err as Error).message };
  }
}

async function checkTurn(config: ServerConfig, timeoutMs: number): Promise<CheckResult[]> {
  if (!config.turn) {
    return [
      {
        name: 'TURN',
        status: 'warn',
        detail:
          'not configured: guests behind a symmetric NAT or a strict firewall cannot reach the host peer-to-peer. Run coturn and set PAIRUX_TURN_URLS and PAIRUX_TURN_SECRET',
      },
    ];
  }
  const turn = config.turn;
  return Promise.all(
    turn.urls.map(async (url): Promise<CheckResult> => {
      const name = `TURN ${url}`;
      const r = await probeTurn(url, turn.secret, timeoutMs);
      if (r.ok)
        return { name, status: 'ok', detail: `relays with the configured secret (relay ${r.relayed}${r.mapped ? `, this machine seen as ${r.mapped}` : ''})` };
      if (r.problem === 'credentials')
        return { name, status: 'fail', detail: `${r.detail}: PAIRUX_TURN_SECRET must equal coturn's static-auth-secret (and coturn needs use-auth-secret)` };
      if (r.problem === 'unreachable')
        return { name, status: 'fail', detail: `no TURN answer (${r.detail}): is coturn running, and is its port open to this machine and to guests?` };
      return { name, status: 'fail', detail: r.detail };
    }),
  );
}

async function checkLiveKit(config: ServerConfig, timeoutMs: number): Promise<CheckResult[]> {
  const pools = sfuPoolsOf(config);
  if (!pools) return [{ name: 'LiveKit', status: 'ok', detail: 'not configured: sessions are peer-to-peer only (set PAIRUX_LIVEKIT_* for SFU mode)' }];
  return Promise.all(
    pools.deployments.map(async (d): Promise<CheckResult> => {
      const name = `LiveKit ${d.id} (${d.url})`;
      const client = new RoomServiceClient(d.url.replace(/^ws/, 'http'), d.apiKey, d.apiSecret, { requestTimeout: timeoutMs / 1000 });
      try {
        const rooms = await client.listRooms();
        return { name, status: 'ok', detail: `takes the API key ${d.apiKey} (${rooms.length} room(s) open)` };
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (status === 401 || status === 403) {
          return { name, status: 'fail', detail: `refused the API key ${d.apiKey} and its secret (HTTP ${status}): they must match a pair in LiveKit's keys` };
        }
        return { name, status: 'fail', detail: `not reachable: ${whyUnreachable(err)}` };
      }
    }),
  );
}

function checkSecrets(config: ServerConfig, input: { tokenSecretSet: boolean }): CheckResult[] {
  const out: CheckResult[] = [];
  out.push(
    config.hostKey
      ? { name: 'host key', status: 'ok', detail: 'set: only hosts with the key create sessions' }
      : { name: 'host key', status: 'warn', detail: 'not set: anyone who reaches this server creates sessions (refused beyond loopback)' },
  );
  out.push(
    input.tokenSecretSet
      ? { name: 'token secret', status: 'ok', detail: 'set: links survive a restart' }
      : {
          name: 'token secret',
          status: 'warn',
          detail: 'not set: a random one per run, so every link dies when the server restarts. Set PAIRUX_TOKEN_SECRET (32+ characters)',
        },
  );
  return out;
}

export async function checkDeployment(config: ServerConfig, input: { tokenSecretSet: boolean }, options: CheckOptions = {}): Promise<CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const [publicUrl, turn, livekit] = await Promise.all([checkPublicUrl(config, timeoutMs), checkTurn(config, timeoutMs), checkLiveKit(config, timeoutMs)]);
  return [...checkSecrets(config, input), checkTls(config), publicUrl, ...turn, ...livekit];
}

/** The report as printed: one line per check, then a verdict. */
export function formatReport(results: CheckResult[]): string {
  const mark = { ok: '✔', warn: '!', fail: '✘' } as const;
  const lines = results.map((r) => `${mark[r.status]} ${r.name}: ${r.detail}`);
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  lines.push(failed ? `${failed} problem(s) to fix before guests can rely on this server.` : warned ? `Ready, with ${warned} warning(s).` : 'Ready.');
  return lines.join('\n');
}
