/**
 * The editor's host for the extension-side grant and audit tests: a real HostSession (embedded
 * server, the real helper on Xvfb, the real HostRunner) behind a stand-in host page on the
 * webview port, the page being the shell (its actions) and the host bridge, hello said. The
 * editor's own prompt denies every control request; the test stops `session` and `x` itself.
 */
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { BridgeHello, hostBridgeBoundary } from '../../protocol/host-bridge';
import { ShellAction, webviewShellBoundary } from '../../protocol/webview-shell';
import { HostSession } from '../../extension/core/host-session';
import { QUALITY, type HostSettings } from '../../extension/core/settings';
import { WebviewPort } from '../../extension/core/webview-port';
import { startXvfb, type Xvfb } from '../helper/support/xvfb';

function settings(display: string, sessionName: string): HostSettings {
  return {
    mode: 'p2p',
    serverUrl: '',
    hostKey: undefined,
    embeddedPort: 0,
    fps: 5,
    ...QUALITY.text,
    maxKbps: 0,
    display,
    region: undefined,
    allowControlRequests: true,
    linkTtlMinutes: 60,
    hostName: 'Host',
    sessionName,
    sfuRegion: undefined,
    livekit: undefined,
  };
}

export interface HostSessionRig {
  x: Xvfb;
  session: HostSession;
  /** The host page's end of the host bridge. */
  bridge: RpcEndpoint;
}

/** Starts the rig on an 800×600 Xvfb; the session's log lines go to `logs`, the shell's actions to `actions`. */
export async function startHostSessionRig(sessionName: string, logs: string[], actions?: unknown[]): Promise<HostSessionRig> {
  const x = await startXvfb(800, 600);
  const session = new HostSession(settings(x.display, sessionName), {
    askControl: async () => ({ allow: false, reason: 'denied' }),
    progress: () => undefined,
  });
  session.on('log', ({ line }) => logs.push(line));
  await session.start();
  // The host page, as the webview would be: the shell (its actions) and the host bridge.
  let shell: RpcEndpoint;
  let bridge: RpcEndpoint;
  const port = new WebviewPort(
    {
      post: (m) => {
        const e = m as { ch: string; text?: string };
        if (e.ch === 'shell') shell.receive(e.text!);
        else if (e.ch === 'bridge') bridge.receive(e.text!);
        return Promise.resolve(true);
      },
    },
    () => undefined,
  );
  shell = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => port.receive({ ch: 'shell', text }) });
  bridge = new RpcEndpoint({ boundary: hostBridgeBoundary, side: 'a', send: (text) => port.receive({ ch: 'bridge', text }) });
  shell.onRequest(ShellAction, (a) => (actions?.push(a), {}));
  session.attachPage(port);
  await bridge.request(BridgeHello, { sessionId: session.sessionId!, hostId: 'host' });
  return { x, session, bridge };
}
