/**
 * Where a PairUX page inside a VS Code webview starts its E2EE workers from: PairUX's encoded-
 * transform worker (peer-to-peer) and LiveKit's E2EE worker (the SFU). A webview's document and
 * the extension's resources (`asWebviewUri`) are different origins, and a worker must be
 * same-origin with its page, so `new Worker(<resource URL>)` throws a SecurityError (checked in
 * code-server): the page fetches each script (connect-src allows the extension's resources) and
 * starts it from a `blob:` URL (worker-src allows `blob:` only). The extension names the scripts
 * in the shell's `data-e2ee-worker` and `data-livekit-e2ee-worker` attributes, and only for an
 * encrypted session (extension/ui/page-shell.ts).
 */
import type { Logger } from '../engine/logger';

export interface E2eeWorkerUrls {
  e2eeWorkerUrl?: string;
  livekitE2eeWorkerUrl?: string;
}

/** The workers' scripts as `blob:` URLs, for the page's options; none in a plain session (or for one that cannot be read, which is logged). */
export async function e2eeWorkerBlobUrls(log: Logger): Promise<E2eeWorkerUrls> {
  const { e2eeWorker, livekitE2eeWorker } = document.body.dataset;
  const [transform, livekit] = await Promise.all([blobOf(e2eeWorker, log), blobOf(livekitE2eeWorker, log)]);
  return { ...(transform ? { e2eeWorkerUrl: transform } : {}), ...(livekit ? { livekitE2eeWorkerUrl: livekit } : {}) };
}

async function blobOf(source: string | undefined, log: Logger): Promise<string | undefined> {
  if (!source) return undefined;
  try {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`it answered ${res.status}`);
    // A module worker needs a JavaScript MIME type, whatever the resource loader answered with.
    return URL.createObjectURL(new Blob([await res.text()], { type: 'text/javascript' }));
  } catch (err) {
    log('error', `an end-to-end encryption worker could not be loaded (${String(err)}): this encrypted session shows no video here`);
    return undefined;
  }
}
