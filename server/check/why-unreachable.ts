/**
 * Why a request to a PairUX server (or a LiveKit) failed, in words an operator acts on: the
 * deployment check and the demo's --server both say it this way. Node's fetch keeps the reason
 * in `cause`.
 */
export function whyUnreachable(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused: nothing listens there (is the server running, does the proxy forward to it?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the name does not resolve (DNS)';
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN')
    return 'its certificate is self-signed: guests\u2019 browsers will refuse it (use a certificate from a public CA, e.g. Caddy or certbot)';
  if (code === 'CERT_HAS_EXPIRED') return 'its certificate has expired: renew it';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'its certificate is for another name: get one for this host name';
  if (code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE') return 'its certificate chain is incomplete: serve the full chain (fullchain.pem)';
  if ((err as Error).name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'no answer in time (a firewall dropping packets?)';
  return cause?.message ?? (err as Error).message;
}
