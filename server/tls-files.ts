/**
 * The control plane's own TLS (PAIRUX_TLS_CERT / PAIRUX_TLS_KEY): reads and checks a PEM
 * certificate chain and its key, and reads them again when either file changes, so a renewal
 * (certbot, acme.sh, a Kubernetes secret) takes effect without a restart. A renewal that cannot be
 * used (half written, key and certificate not a pair) leaves the running certificate in place
 * and says why; it is tried again on the next change.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
  /** The leaf certificate's subject and names, for the log line. */
  subject: string;
  names: string[];
  validTo: Date;
  /** Signed by its own key: browsers warn unless it is trusted by hand. */
  selfSigned: boolean;
  fingerprint256: string;
}

/** Days left before a certificate expires below which the server warns at start and on reload. */
export const EXPIRY_WARNING_DAYS = 14;

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`the TLS ${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** Reads and checks the pair; every problem is an Error that names the file and what is wrong. */
export function loadTlsPair(files: TlsFiles, now = new Date()): TlsPair {
  const cert = read(files.certFile, 'certificate');
  const key = read(files.keyFile, 'key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${files.certFile} is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`${files.keyFile} is not a PEM private key (or it is encrypted): ${(err as Error).message}`, { cause: err });
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new Error(`${files.keyFile} is not the key of the certificate in ${files.certFile} (they are not a pair)`);
  }
  const validTo = new Date(leaf.validTo);
  if (validTo.getTime() <= now.getTime()) {
    throw new Error(`the certificate in ${files.certFile} expired on ${validTo.toISOString()}: browsers refuse it; renew it`);
  }
  if (new Date(leaf.validFrom).getTime() > now.getTime()) {
    throw new Error(`the certificate in ${files.certFile} is not valid before ${new Date(leaf.validFrom).toISOString()} (check this machine's clock)`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`TLS cannot use ${files.certFile} with ${files.keyFile}: ${(err as Error).message}`, { cause: err });
  }
  const names = (leaf.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean);
  return {
    cert,
    key,
    subject: leaf.subject.replace(/\n/g, ', '),
    names,
    validTo,
    selfSigned: leaf.issuer === leaf.subject && leaf.verify(leaf.publicKey),
    fingerprint256: leaf.fingerprint256,
  };
}

/** One line for the log: what is served, until when, and what a browser will make of it. */
export function describeTlsPair(pair: TlsPair, now = new Date()): string {
  const days = Math.floor((pair.validTo.getTime() - now.getTime()) / 86_400_000);
  const names = pair.names.length ? pair.names.join(', ') : pair.subject;
  const warnings = [
    days < EXPIRY_WARNING_DAYS ? `expires in ${days} day(s): renew it` : '',
    pair.selfSigned ? 'self-signed: browsers warn unless it is trusted by hand (fine for tests, not for guests)' : '',
  ].filter(Boolean);
  return `TLS certificate for ${names}, valid until ${pair.validTo.toISOString().slice(0, 10)}${warnings.length ? ` (${warnings.join('; ')})` : ''}`;
}

/**
 * Calls `onPair` with each new usable pair after either file changes, `onError` with why a change
 * could not be used. Polls (every `intervalMs`): renewals replace files by rename or symlink,
 * which inotify watches on the old inode miss. Returns the function that stops watching.
 */
export function watchTlsFiles(files: TlsFiles, onPair: (pair: TlsPair) => void, onError: (err: Error) => void, intervalMs = 2000): () => void {
  let stopped = false;
  const changed = (now: Stats, before: Stats): void => {
    if (stopped || (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino)) return;
    try {
      onPair(loadTlsPair(files));
    } catch (err) {
      onError(err as Error);
    }
  };
  watchFile(files.certFile, { interval: intervalMs, persistent: false }, changed);
  watchFile(files.keyFile, { interval: intervalMs, persistent: false }, changed);
  return () => {
    stopped = true;
    unwatchFile(files.certFile, changed);
    unwatchFile(files.keyFile, changed);
  };
}
