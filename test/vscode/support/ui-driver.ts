/**
 * The outer end of the UI driver: a loopback WebSocket the inner tests (in the extension host)
 * connect to, to have the workbench page driven for them and to report their results. The URL
 * carries a random key; anything else connecting is turned away.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import { RpcEndpoint } from '../../../protocol/rpc-endpoint';
import * as ui from './ui';
import {
  TestResultReport, UI_DRIVER, UiClickNotificationButton, UiClickStatusBarItem, UiClipboardRead, UiClipboardWrite, UiCommand,
  UiInput, UiKeyboard, UiNotifications, UiPaletteItems, UiPick, UiQuickInputItems, UiScreenshot, UiStatusBarText, UiType,
  UiWebviewEval, UiWebviewPixels, UiWorkbenchEval, type TestResult,
} from './ui-protocol';

export interface UiDriverServer {
  /** `ws://127.0.0.1:PORT/KEY`: goes into the extension host's PAIRUX_UI_DRIVER. */
  readonly url: string;
  /** Set once the workbench page exists; requests before that wait for it. */
  attach(page: Page): void;
  readonly results: TestResult[];
  onResult(listener: (r: TestResult) => void): void;
  /** Protocol problems seen (bad messages), for the harness to assert there were none. */
  readonly problems: string[];
  close(): Promise<void>;
}

/** An error whose message reaches the inner test (PairuxError.from would hide it as 'Internal error'). */
function asPairuxError(err: unknown): PairuxError {
  if (err instanceof PairuxError) return err;
  const message = (err instanceof Error ? err.message : String(err)).slice(0, 1900);
  const timeout = err instanceof Error && (err.name === 'TimeoutError' || /timed out|Timeout \d+ms exceeded/.test(err.message));
  return new PairuxError(timeout ? ErrorCode.Timeout : ErrorCode.Internal, message);
}

export async function startUiDriver({ screenshotDir }: { screenshotDir: string }): Promise<UiDriverServer> {
  const key = randomBytes(18).toString('base64url');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: `/${key}`, maxPayload: UI_DRIVER.maxMessageBytes });
  await new Promise<void>((resolve, reject) => { wss.once('listening', resolve); wss.once('error', reject); });
  const port = (wss.address() as AddressInfo).port;

  let setPage!: (p: Page) => void;
  const pageReady = new Promise<Page>((r) => { setPage = r; });
  const results: TestResult[] = [];
  const listeners: ((r: TestResult) => void)[] = [];
  const problems: string[] = [];
  const sockets = new Set<WebSocket>();

  wss.on('connection', (socket) => {
    sockets.add(socket);
    const rpc = new RpcEndpoint({
      boundary: UI_DRIVER,
      side: 'b',
      send: (t) => socket.send(t),
      onProtocolError: (e) => problems.push(`${e.code}: ${e.message}`),
    });
    const handle = <P, R>(type: Parameters<typeof rpc.onRequest<P, R>>[0], fn: (page: Page, params: P) => Promise<R>) =>
      rpc.onRequest(type, async (params) => {
        try {
          return await fn(await pageReady, params);
        } catch (err) {
          throw asPairuxError(err);
        }
      });
    handle(UiCommand, async (page, p) => { await ui.runCommand(page, p.title, p.timeoutMs); return null; });
    handle(UiPaletteItems, async (page, p) => ({ labels: await ui.paletteItems(page, p.text, p.timeoutMs) }));
    handle(UiPick, async (page, p) => { await ui.pickItem(page, p.label, p.timeoutMs); return null; });
    handle(UiQuickInputItems, (page, p) => ui.quickInputItems(page, p.timeoutMs));
    handle(UiInput, async (page, p) => { await ui.fillInput(page, p.text, { submit: p.submit ?? true, timeoutMs: p.timeoutMs }); return null; });
    handle(UiType, async (page, p) => { await page.keyboard.type(p.text); return null; });
    handle(UiKeyboard, async (page, p) => { await ui.pressKeys(page, p.keys); return null; });
    handle(UiNotifications, async (page) => ({ messages: await ui.notifications(page) }));
    handle(UiClickNotificationButton, async (page, p) => { await ui.clickNotificationButton(page, p.message, p.button, p.timeoutMs); return null; });
    handle(UiStatusBarText, (page, p) => ui.statusBarText(page, p.item, p.timeoutMs));
    handle(UiClickStatusBarItem, async (page, p) => { await ui.clickStatusBarItem(page, p.item, p.timeoutMs); return null; });
    handle(UiWebviewEval, async (page, p) => ({ value: await ui.webviewEval(page, p.expression, { title: p.title, timeoutMs: p.timeoutMs }) }));
    handle(UiWebviewPixels, (page, p) => ui.webviewPixels(page, p.selector, { title: p.title, timeoutMs: p.timeoutMs }));
    handle(UiWorkbenchEval, async (page, p) => ({ value: await page.evaluate(`(async () => { ${/\breturn\b/.test(p.expression) ? p.expression : `return (${p.expression});`} })()`) }));
    handle(UiClipboardRead, async (page) => ({ text: await ui.readClipboard(page) }));
    handle(UiClipboardWrite, async (page, p) => { await ui.writeClipboard(page, p.text); return null; });
    handle(UiScreenshot, async (page, p) => {
      mkdirSync(screenshotDir, { recursive: true });
      const file = path.join(screenshotDir, `${p.name.replace(/\.png$/, '')}.png`);
      await page.screenshot({ path: file });
      return { path: file };
    });
    rpc.onRequest(TestResultReport, (r) => {
      results.push(r);
      for (const l of listeners) l(r);
      return null;
    });
    socket.on('message', (data, isBinary) => {
      if (isBinary) return socket.close(1003, 'text only');
      rpc.receive(data.toString());
    });
    socket.on('close', () => { sockets.delete(socket); rpc.close(); });
  });

  return {
    url: `ws://127.0.0.1:${port}/${key}`,
    attach: (page) => setPage(page),
    results,
    onResult: (l) => listeners.push(l),
    problems,
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
