/**
 * Where a control plane's signaling socket is: one path, and the ws(s):// URL for a page or
 * server origin, for every part that opens or serves it (server, extension, pages).
 */

/** The control plane's WebSocket path (protocol/signaling.ts speaks over it). */
export const SIGNALING_PATH = '/ws';

/** `ws(s)://<server base>/ws` for a server's base URL (its origin, or a public URL with a path, no trailing slash). */
export function signalingUrlAt(base: string): string {
  return `${base.replace(/^http/, 'ws')}${SIGNALING_PATH}`;
}

/** `ws(s)://<host>/ws` for a page served by the control plane, or for its origin (the path is absolute). */
export function signalingUrlFor(pageUrl: string, path = SIGNALING_PATH): string {
  const url = new URL(path, pageUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  url.search = '';
  return url.toString();
}
