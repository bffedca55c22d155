/**
 * `npm run demo -- --server <url>`: host the demo's session on a deployed PairUX server instead of
 * the embedded one (to try a deployment end to end, and for the tests that put the server on
 * another machine). Creating the session is the only thing the demo asks of the server over HTTP;
 * the headless host page does the rest over signaling, as the extension does.
 */
import { CreateSessionResponse, HttpErrorResponse, type CreateSessionRequest } from '../protocol/http-api';
import { whyUnreachable } from '../server/check/why-unreachable';
import { terminalText } from './terminal-text';

export interface RemoteServer {
  /** The server's public URL (its origin). */
  url: string;
  hostKey: string | undefined;
}

/** `--server`'s value as an origin, or why it is not one. */
export function parseServerUrl(value: string): string | Error {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return new Error(`--server must be a URL such as https://pairux.example.com, not ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return new Error(`--server must be an http:// or https:// URL, not ${url.protocol}`);
  if (url.pathname !== '/' || url.search || url.hash) return new Error(`--server is the server's address alone (${url.origin}), without a path`);
  return url.origin;
}

function unreachable(url: string, err: unknown): Error {
  return new Error(`could not reach the PairUX server at ${url}: ${whyUnreachable(err)}`, { cause: err });
}

export async function createRemoteSession(server: RemoteServer, body: CreateSessionRequest, timeoutMs = 10_000): Promise<CreateSessionResponse> {
  const url = `${server.url}/api/sessions`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(server.hostKey ? { authorization: `Bearer ${server.hostKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw unreachable(server.url, err);
  }
  const json: unknown = await res.json().catch(() => null);
  if (res.status === 401) {
    throw new Error(
      server.hostKey
        ? `the PairUX server at ${server.url} refused the host key (HTTP 401): check --host-key / PAIRUX_HOST_KEY against its PAIRUX_HOST_KEY`
        : `the PairUX server at ${server.url} needs a host key: pass --host-key or set PAIRUX_HOST_KEY`,
    );
  }
  if (res.status !== 201) {
    const error = HttpErrorResponse.safeParse(json);
    // The server's words are anyone's (the operator typed --server): plain text, never terminal controls.
    throw new Error(
      `the PairUX server at ${server.url} did not create the session (HTTP ${res.status}${error.success ? `: ${terminalText(error.data.error.message)}` : ''})`,
    );
  }
  const parsed = CreateSessionResponse.safeParse(json);
  if (!parsed.success) throw new Error(`the server at ${server.url} answered, but not as a PairUX server does (is that the right address?)`);
  return parsed.data;
}
