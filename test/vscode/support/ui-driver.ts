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
  TestResultReport,
  UI_DRIVER,
  UiClickNotificationButton,
  UiClickStatusBarItem,
  UiClipboardRead,
  UiClipboardWrite,
  UiCommand,
  UiInput,
  UiKeyboard,
  UiNotifications,
  UiPaletteItems,
  UiPick,
  UiQuickInputItems,
  UiScreenshot,
  UiStatusBarText,
  UiStatusBarTooltip,
  UiType,
  UiWebviewEval,
  UiWebviewPixels,
  UiWorkbenchEval,
  UiOpenWindow,
  UiCloseWindow,
  UiPagePixels,
  UiClickDialogButton,
  UiWebviewClick,
  type TestResult,
} from './ui-protocol';

/** Opens one more workbench window (a page) and resolves once it is visible. */
export type WindowOpener = (name: string, timeoutMs: number, url?: string) => Promise<Page>;

export interface UiDriverServer {
  /** `ws://127.0.0.1:PORT/KEY`: goes into the extension host's PAIRUX_UI_DRIVER. */
  readonly url: string;
  /** Set once the workbench page exists; requests before that wait for it. `open` makes more windows. */
  attach(page: Page, open: WindowOpener): void;
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
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const port = (wss.address() as AddressInfo).port;

  let setPage!: (p: { page: Page; open: WindowOpener }) => void;
  const pageReady = new Promise<{ page: Page; open: WindowOpener }>((r) => {
    setPage = r;
  });
  const windows = new Map<string, Page>();
  async function pageFor(name: string | undefined): Promise<Page> {
    const { page } = await pageReady;
    if (!name || name === 'main') return page;
    const found = windows.get(name);
    if (!found)
      throw new PairuxError(ErrorCode.BadMessage, `no window '${name}' (open it with ui.openWindow first; open: ${[...windows.keys()].join(', ') || 'none'})`);
    return found;
  }
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
          return await fn(await pageFor((params as { window?: string }).window), params);
        } catch (err) {
          throw asPairuxError(err);
        }
      });
    handle(UiCommand, async (page, p) => {
      await ui.runCommand(page, p.title, p.timeoutMs);
      return null;
    });
    handle(UiPaletteItems, async (page, p) => ({ labels: await ui.paletteItems(page, p.text, p.timeoutMs) }));
    handle(UiPick, async (page, p) => {
      await ui.pickItem(page, p.label, p.timeoutMs);
      return null;
    });
    handle(UiQuickInputItems, (page, p) => ui.quickInputItems(page, p.timeoutMs));
    handle(UiInput, async (page, p) => {
      await ui.fillInput(page, p.text, { submit: p.submit ?? true, timeoutMs: p.timeoutMs });
      return null;
    });
    handle(UiType, async (page, p) => {
      await page.keyboard.type(p.text);
      return null;
    });
    handle(UiKeyboard, async (page, p) => {
      await ui.pressKeys(page, p.keys);
      return null;
    });
    handle(UiNotifications, async (page, p) => ({ messages: p.center ? await ui.allNotifications(page) : await ui.notifications(page) }));
    handle(UiClickNotificationButton, async (page, p) => {
      await ui.clickNotificationButton(page, p.message, p.button, p.timeoutMs);
      return null;
    });
    handle(UiStatusBarText, (page, p) => ui.statusBarText(page, p.item, p.timeoutMs));
    handle(UiStatusBarTooltip, async (page, p) => ({ text: await ui.statusBarTooltip(page, p.item, p.timeoutMs) }));
    handle(UiClickStatusBarItem, async (page, p) => {
      await ui.clickStatusBarItem(page, p.item, p.timeoutMs);
      return null;
    });
    handle(UiWebviewEval, async (page, p) => ({ value: await ui.webviewEval(page, p.expression, { title: p.title, timeoutMs: p.timeoutMs }) }));
    handle(UiWebviewPixels, (page, p) => ui.webviewPixels(page, p.selector, { title: p.title, timeoutMs: p.timeoutMs }));
    handle(UiClickDialogButton, async (page, p) => ({ text: await ui.clickDialogButton(page, p.message, p.button, p.timeoutMs) }));
    handle(UiWebviewClick, async (page, p) => {
      await ui.webviewClick(page, p.selector, { title: p.title, timeoutMs: p.timeoutMs });
      return null;
    });
    handle(UiPagePixels, (page, p) => ui.framePixels(page.mainFrame(), p.selector));
    handle(UiWorkbenchEval, async (page, p) => ({
      value: await page.evaluate(`(async () => { ${/\breturn\b/.test(p.expression) ? p.expression : `return (${p.expression});`} })()`),
    }));
    handle(UiClipboardRead, async (page) => ({ text: await ui.readClipboard(page) }));
    handle(UiClipboardWrite, async (page, p) => {
      await ui.writeClipboard(page, p.text);
      return null;
    });
    handle(UiScreenshot, async (page, p) => {
      mkdirSync(screenshotDir, { recursive: true });
      const file = path.join(screenshotDir, `${p.name.replace(/\.png$/, '')}.png`);
      await page.screenshot({ path: file });
      return { path: file };
    });
    rpc.onRequest(UiOpenWindow, async ({ name, url, timeoutMs }) => {
      try {
        if (name === 'main' || windows.has(name)) throw new PairuxError(ErrorCode.BadMessage, `window '${name}' is already open`);
        const { open } = await pageReady;
        windows.set(name, await open(name, timeoutMs ?? 60_000, url));
        return null;
      } catch (err) {
        throw asPairuxError(err);
      }
    });
    rpc.onRequest(UiCloseWindow, async ({ name }) => {
      const page = windows.get(name);
      windows.delete(name);
      await page?.close().catch(() => undefined);
      return null;
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
    socket.on('close', () => {
      sockets.delete(socket);
      rpc.close();
    });
  });

  return {
    url: `ws://127.0.0.1:${port}/${key}`,
    attach: (page, open) => setPage({ page, open }),
    results,
    onResult: (l) => listeners.push(l),
    problems,
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
