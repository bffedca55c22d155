/**
 * Talking to a deployed control plane over HTTP (protocol/http-api.ts): creating a session as
 * host and previewing a share link as guest. A server that does not answer is tried again a few
 * times with growing pauses, each attempt reported, before the error says what to check.
 */
import { ERROR_CODES, ErrorCode, PairuxError } from '../../protocol/errors';
import { lanAddresses, type LanAddress } from '../../server/lan-addresses';
import { unreachableAdvice } from './reach-advice';
import {
  CREATE_SESSION_PATH,
  CreateSessionResponse,
  HttpErrorResponse,
  SESSION_PREVIEW_PATH,
  SessionPreview,
  type CreateSessionRequest,
} from '../../protocol/http-api';

export interface RetryPolicy {
  attempts: number;
  /** Pause before attempt n+1 is delays[n-1] (the last one repeats). */
  delaysMs: number[];
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, delaysMs: [500, 1000, 2000], timeoutMs: 5000 };

/** fetch with retries on network failures and 5xx; answers with the response or a clear error. */
export async function fetchWithRetry(
  url: string,
  init: RequestInit,
  progress: (line: string) => void,
  policy: RetryPolicy = DEFAULT_RETRY,
  purpose: 'link' | 'server' = 'server',
  here: () => LanAddress[] = lanAddresses,
): Promise<Response> {
  const where = new URL(url).host;
  let last = '';
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    progress(attempt === 1 ? `contacting ${where}…` : `contacting ${where}… (attempt ${attempt} of ${policy.attempts}: ${last})`);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(policy.timeoutMs) });
      if (res.status < 500 || res.status === 503) return res;
      last = `it answered ${res.status}`;
    } catch (err) {
      const certificate = certificateProblem(err);
      // Not a passing fault: trying again changes nothing.
      if (certificate) throw new PairuxError(ErrorCode.Unavailable, `The PairUX server at ${where} ${certificate}`, { url });
      last = describeNetworkError(err);
    }
    if (attempt < policy.attempts) {
      const delay = policy.delaysMs[Math.min(attempt - 1, policy.delaysMs.length - 1)] ?? 1000;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  throw new PairuxError(
    ErrorCode.Unavailable,
    `The PairUX server at ${where} cannot be reached (${last}) after ${policy.attempts} attempt${policy.attempts === 1 ? '' : 's'}. ${unreachableAdvice(url, here(), purpose)}`,
    { url },
  );
}

/** What is wrong with the server's certificate, in words, when that is why the request failed. */
function certificateProblem(err: unknown): string | undefined {
  const code = (err as { cause?: { code?: string } }).cause?.code ?? '';
  switch (code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return 'has a self-signed certificate, which this computer does not trust: ask its operator for one from a public CA (Caddy or certbot get one), or add their CA to this computer’s trusted certificates.';
    case 'CERT_HAS_EXPIRED':
      return 'has an expired certificate: its operator must renew it.';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return 'has a certificate for another name: check the address, or ask its operator for a certificate for this one.';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'has a certificate this computer cannot verify (an incomplete chain, or a private CA): its operator should serve the full chain, or add their CA to this computer’s trusted certificates.';
    default:
      return undefined;
  }
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused';
  if (cause?.code === 'ENOTFOUND') return 'no such host';
  if ((err as Error).name === 'TimeoutError') return 'no answer in time';
  return cause?.code ?? (err as Error).message;
}

/** An error body larger than this is not a PairUX error: it is not read further. */
export const MAX_ERROR_BODY_BYTES = 16 * 1024;
/** The most of a server's error text shown to the user. */
export const MAX_ERROR_TEXT_CHARS = 300;

/** At most `max` bytes of a response body; undefined when there is more (the rest is never read). */
export async function readBounded(res: Response, max: number): Promise<string | undefined> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    return undefined;
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/**
 * The server's own error, when its body is a bounded, valid PairUX error; otherwise only the
 * status. A share link may name anyone's server: its text is capped here and shown as literal
 * text by the UI, never trusted as markup.
 */
export async function errorFrom(res: Response): Promise<PairuxError> {
  const text = await readBounded(res, MAX_ERROR_BODY_BYTES).catch(() => undefined);
  let json: unknown;
  try {
    json = text === undefined ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  const body = HttpErrorResponse.safeParse(json);
  const status = `the server answered ${res.status}${res.statusText ? ` ${res.statusText.slice(0, 64)}` : ''}`;
  if (!body.success || !(ERROR_CODES as readonly string[]).includes(body.data.error.code)) return new PairuxError(ErrorCode.Internal, status);
  const message = body.data.error.message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  const shown = message.length > MAX_ERROR_TEXT_CHARS ? `${message.slice(0, MAX_ERROR_TEXT_CHARS - 1)}…` : message;
  // The data is the server's too: only what the UI reads from it (a suggested mode) is kept.
  const mode = body.data.error.data?.mode;
  return new PairuxError(body.data.error.code as ErrorCode, shown || status, mode === 'p2p' || mode === 'sfu' ? { mode } : undefined);
}

export async function createRemoteSession(
  serverUrl: string,
  hostKey: string | undefined,
  request: CreateSessionRequest,
  progress: (line: string) => void,
  policy?: RetryPolicy,
): Promise<CreateSessionResponse> {
  const res = await fetchWithRetry(
    new URL(CREATE_SESSION_PATH, serverUrl).toString(),
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(hostKey ? { authorization: `Bearer ${hostKey}` } : {}) },
      body: JSON.stringify(request),
    },
    progress,
    policy,
  );
  if (res.status === 401) {
    throw new PairuxError(
      ErrorCode.Unauthorized,
      'The server needs its host key to start sessions. Run “PairUX: Set Server Host Key” and paste the key its operator gave you.',
    );
  }
  if (!res.ok) throw await errorFrom(res);
  const parsed = CreateSessionResponse.safeParse(await res.json());
  if (!parsed.success)
    throw new PairuxError(ErrorCode.BadMessage, 'The server answered with something that is not a PairUX session. Is “pairux.server.url” a PairUX server?');
  return parsed.data;
}

/** What a share link leads to, checked by its server (expired, ended, damaged → the server's words). */
export async function previewLink(
  origin: string,
  token: string,
  progress: (line: string) => void,
  policy?: RetryPolicy,
  here?: () => LanAddress[],
): Promise<SessionPreview> {
  const url = new URL(SESSION_PREVIEW_PATH, origin).toString();
  const res = await fetchWithRetry(url, { headers: { authorization: `Bearer ${token}` } }, progress, policy, 'link', here);
  if (!res.ok) throw await errorFrom(res);
  const parsed = SessionPreview.safeParse(await res.json());
  if (!parsed.success) throw new PairuxError(ErrorCode.BadMessage, `${new URL(origin).host} is not a PairUX server (or a much older one).`);
  return parsed.data;
}
