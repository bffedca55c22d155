/** Self-signed certificates for tests, made by the real openssl (bootstrap installs it). */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestCert {
  cert: string;
  key: string;
}

/** A P-256 certificate for `names` (openssl subjectAltName syntax), valid `days` days from now, in `dir`. */
export function makeCert(dir: string, name: string, days = 30, names = 'IP:127.0.0.1,DNS:localhost'): TestCert {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', key, '-out', cert, '-days', String(days), '-subj', `/CN=${name}`, '-addext', `subjectAltName=${names}`],
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
