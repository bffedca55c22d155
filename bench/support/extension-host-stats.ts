/**
 * The host page's own counters, read the same way in the VS Code host webview and in the
 * headless host page: `window.pairuxHost` (webview/pages/host-page.ts). A string, not a function,
 * so no transpiler helper ends up inside the page. The hook is in the test pages only
 * (dist/test-pages, which the bench's own servers serve); the extension's webview loads the
 * product bundle, so there it reads undefined and the VS Code case prints no host counters.
 */
export interface HostPageCounters {
  /** Frames the bridge delivered into the page (over postMessage in VS Code, a WebSocket in the browser host). */
  delivered: number;
  /** Frames handed to the video track. */
  written: number;
  /** Frames the page dropped under back-pressure. */
  dropped: number;
  /** The one guest's encoder: frames encoded and sent, ms per frame, why quality is limited. */
  encoded: number;
  encodeMsPerFrame: number;
  limitation: string;
  encoder: string;
}

export const HOST_COUNTERS_EXPRESSION = `(async () => {
  const h = window.pairuxHost;
  if (!h) return undefined;
  const s = (await h.stats())[0];
  const b = h.bridge ? h.bridge() : null;
  return {
    delivered: b ? b.framesDelivered : 0,
    written: h.framesWritten,
    dropped: h.framesDropped,
    encoded: s ? s.framesEncoded : 0,
    encodeMsPerFrame: s ? s.encodeMsPerFrame : 0,
    limitation: s ? s.qualityLimitationReason : '',
    encoder: s ? s.encoderImplementation : '',
  };
})()`;
