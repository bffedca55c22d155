/** What the pages say about end-to-end encryption, and where they find its worker. */

/** The lock line: shown wherever an encrypted session is. */
export function lockText(safetyCode: string | undefined, gen: number): string {
  return `🔒 End-to-end encrypted${safetyCode ? ` · safety code ${safetyCode}` : ''}${gen ? ` (key ${gen})` : ''}`;
}

/** What a guest sees when the host's frames do not open with its link's key. */
export const KEY_REJECTED_MESSAGE = 'This session is end-to-end encrypted and your link’s key does not open it: ask the host for a new link.';

/** A guest link without a key to an encrypted session. */
export const KEY_MISSING_MESSAGE =
  'This session is end-to-end encrypted and your link carries no key (the part after &k= is missing): ask the host for the whole link.';

/** A browser without encoded transforms (RTCRtpScriptTransform) cannot take part. */
export const CANNOT_ENCRYPT_MESSAGE =
  'This session is end-to-end encrypted and this browser cannot decrypt video (it lacks encoded transforms): open the link in a current Chrome, Edge, Firefox or Safari.';

/** The encryption worker would not start (a policy of the page's host, a missing file). */
export const CANNOT_START_WORKER_MESSAGE =
  'This session is end-to-end encrypted and this page could not start its encryption worker, so nothing is shown or sent: reload it, or open the link in a browser';

/** The worker bundle served beside the pages (the server's /dist/webview/). */
export function e2eeWorkerUrl(): string {
  return new URL('/dist/webview/e2ee-worker.js', location.href).href;
}

/** LiveKit's E2EE worker (the SFU path), bundled beside the pages. */
export function livekitE2eeWorkerUrl(): string {
  return new URL('/dist/webview/livekit-e2ee-worker.js', location.href).href;
}
