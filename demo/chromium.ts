/**
 * Starts Debian's Chromium through playwright-core, with the flags that keep it on this machine:
 * no mDNS host candidates (they would multicast), no background traffic, a throwaway profile.
 * Shared by the demo's headless host, the end-to-end tests and the benchmarks.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/**
 * Chromium's `--ignore-certificate-errors-spki-list` for the certificates in `pemFile`: a chain
 * that holds one of them is accepted. The demo passes NODE_EXTRA_CA_CERTS here, so its headless
 * Chromium trusts what its Node side does (a deployment's own CA, a test certificate).
 */
export function trustArgs(pemFile: string | undefined): string[] {
  if (!pemFile) return [];
  let text: string;
  try {
    text = readFileSync(pemFile, 'utf8');
  } catch (err) {
    throw new Error(`NODE_EXTRA_CA_CERTS names ${pemFile}, which cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const hashes = pems.map((pem) =>
    createHash('sha256')
      .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64'),
  );
  return hashes.length ? [`--ignore-certificate-errors-spki-list=${hashes.join(',')}`] : [];
}

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function findChromium(): string {
  const fromEnv = process.env.PAIRUX_CHROMIUM;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`PAIRUX_CHROMIUM points at ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const found = CHROMIUM_CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error('Chromium is not installed. Run `npm run bootstrap` (as root it installs it), or: sudo apt-get install -y chromium');
  }
  return found;
}

const DISABLED_FEATURES = ['WebRtcHideLocalIpsWithMdns', 'Translate', 'MediaRouter', 'OptimizationHints'];

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--disable-features=${DISABLED_FEATURES.join(',')}`,
  // Background tabs must keep decoding and painting: tests and benches run many viewers at once.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * `disableFeatures`: more Chromium features off (Chromium reads one --disable-features switch, so
 * they join the defaults' list).
 */
export async function launchChromium(options: LaunchOptions & { disableFeatures?: string[] } = {}): Promise<Browser> {
  const { disableFeatures, ...launch } = options;
  const args = disableFeatures?.length
    ? CHROMIUM_ARGS.map((a) => (a.startsWith('--disable-features=') ? `--disable-features=${[...DISABLED_FEATURES, ...disableFeatures].join(',')}` : a))
    : CHROMIUM_ARGS;
  return chromium.launch({
    executablePath: findChromium(),
    headless: true,
    // The runner shuts Chromium down itself, in order; Playwright's own Ctrl-C handler would kill
    // it mid-shutdown (and with it the session's goodbye).
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    ...launch,
    args: [...args, ...(launch.args ?? [])],
  });
}
