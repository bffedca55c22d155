/**
 * The soak's host, as the VS Code extension runs it: the host panel's own bundle
 * (dist/webview/vscode-host.js) in Chromium, talking postMessage to the extension's real receiving
 * code (WebviewPort, WebviewBridge) in front of the real HostRunner, helper and Xvfb; the control
 * plane as its own process. The page's `acquireVsCodeApi` is this process (the only stand-in), so
 * the host's Participants-view actions (remove, grant) reach the page as `shell.action`, as they
 * do from the editor.
 */
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { WebviewBridge } from '../../extension/core/webview-bridge';
import { WebviewPort } from '../../extension/core/webview-port';
import { HelperProcess } from '../../helper/client';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { ShellAction, ShellDriving, ShellReady, ShellStatus, type ShellStatusParams } from '../../protocol/webview-shell';
import { HostRunner } from '../../runner/host-runner';
import { startXvfb, waitFor, type Xvfb } from '../../test/helper/support/xvfb';
import { createSession } from '../../test/support/control-plane';
import { startPlaneProcess } from '../../test/support/plane-process';

const PRODUCT_PAGES_DIR = fileURLToPath(new URL('../../dist/webview', import.meta.url));

export interface SoakHost {
  x: Xvfb;
  helper: HelperProcess;
  runner: HostRunner;
  plane: { url: string; pid: number };
  session: CreateSessionResponse;
  page: Page;
  /** Names the host's user was asked about. */
  asked: string[];
  /** The page's last `shell.status`. */
  status(): ShellStatusParams | undefined;
  /** The Participants view's Remove: `shell.action` to the page, which asks the server. */
  remove(participantId: string): Promise<void>;
  /** A new link from the host's page (a removal withdraws the link the guest came through). */
  createLink(role: 'controller' | 'viewer'): Promise<string>;
  close(): Promise<void>;
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/dist/webview/vscode-host.css">
<script type="module" src="/dist/webview/vscode-host.js"></script></head><body data-state="loading">
<h1>PairUX host <span id="state">loading</span></h1><p id="message"></p><div id="source"></div><p id="bridge"></p>
<p id="control"></p><p id="media"></p><table><tbody id="guests"></tbody></table></body></html>`;

export async function startSoakHost(o: { allow(name: string): boolean; graceMs: number; width: number; height: number }): Promise<SoakHost> {
  const asked: string[] = [];
  const x = await startXvfb(o.width, o.height);
  const helper = new HelperProcess({ env: x.env });
  await helper.start();
  const capture = await helper.startCapture({ fps: 5, patches: true });
  const runner = new HostRunner({
    helper,
    capture,
    prompt: { ask: async (name) => (asked.push(name), o.allow(name) ? { allow: true, reason: 'allowed' } : { allow: false, reason: 'denied' }) },
    // The host panel asks the runner about each knock (as the editor's Admit / Deny would): the
    // soak is about churn, not who may join, so everyone who knocks is let in.
    lobby: { admit: async () => ({ admit: true, reason: 'allowed' }) },
    say: () => undefined,
    frames: 'bridge',
    controlRequests: true,
  });
  // The product's pages (dist/webview): the host panel's bundle is not among the test pages, and the soak reads no test hooks.
  const plane = await startPlaneProcess({ PAIRUX_RECONNECT_GRACE_MS: String(o.graceMs), PAIRUX_PAGES_DIR: PRODUCT_PAGES_DIR });
  const session = await createSession(plane, { mode: 'p2p' });
  const browser: Browser = await launchChromium();
  const page = await browser.newPage();
  const pageLog: string[] = [];
  page.on('console', (m) => pageLog.push(m.text()));
  page.on('pageerror', (e) => pageLog.push(e.message));
  let status: ShellStatusParams | undefined;

  // Extension → page, in order: postMessage as VS Code delivers it (frames as bytes).
  let chain: Promise<unknown> = Promise.resolve();
  const post = (m: unknown): Promise<boolean> => {
    const e = m as { ch: string; text?: string; data?: Uint8Array };
    const wire = e.ch === 'frame' ? { ch: 'frame', b64: Buffer.from(e.data!).toString('base64') } : e;
    chain = chain.then(() =>
      page
        .evaluate((w: { ch: string; text?: string; b64?: string }) => {
          if (w.b64 === undefined) return window.postMessage(w, '*');
          const bin = atob(w.b64);
          const data = new Uint8Array(bin.length);
          for (let i = 0; i < bin.length; i++) data[i] = bin.charCodeAt(i);
          window.postMessage({ ch: 'frame', data }, '*');
        }, wire)
        .catch(() => undefined),
    );
    return chain.then(() => true);
  };
  const port = new WebviewPort({ post }, () => undefined);
  port.shell.onRequest(ShellReady, () => ({
    page: 'host' as const,
    hostParams: new URLSearchParams({ sid: session.sessionId, token: session.hostToken, name: 'Host', fps: '5' }).toString(),
    signalingUrl: `${plane.url.replace(/^http/, 'ws')}/ws`,
  }));
  port.shell.onNotification(ShellStatus, (s) => (status = s));
  port.shell.onNotification(ShellDriving, () => undefined);
  const bridge = new WebviewBridge(port, runner, () => undefined);
  runner.attach(bridge);

  // Page → extension: the webview's acquireVsCodeApi().postMessage.
  await page.exposeFunction('pairuxToExtension', (m: unknown) => port.receive(m));
  // A string, not a function: the bundler's helpers would not exist in the page.
  await page.addInitScript(`window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.pairuxToExtension(m),
    getState: () => undefined,
    setState: () => undefined,
  });`);
  // The server's origin: a secure context (WebCodecs) that may open the signaling socket.
  await page.goto(`${plane.url}/`);
  await page.setContent(PAGE);
  try {
    await waitFor(() => status?.state === 'joined' || status?.state === 'live', 30_000, 'the host panel joined');
  } catch (err) {
    throw new Error(`${(err as Error).message}: status ${JSON.stringify(status)}; page said: ${pageLog.slice(-10).join(' | ')}`, { cause: err });
  }

  return {
    x,
    helper,
    runner,
    plane: { url: plane.url, pid: plane.pid },
    session,
    page,
    asked,
    status: () => status,
    async remove(participantId) {
      await port.shell.request(ShellAction, { action: 'remove', participantId });
    },
    async createLink(role) {
      const { url } = await port.shell.request(ShellAction, { action: 'createLink', role });
      if (!url) throw new Error('the host page made no link');
      return url;
    },
    async close() {
      bridge.close();
      port.close();
      await browser.close().catch(() => undefined);
      await plane.kill('SIGTERM');
      await helper.stop();
      await x.stop();
    },
  };
}
