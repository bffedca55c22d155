/**
 * What an inner test (running in the extension host) uses to drive the real workbench: each
 * call is carried over the UI driver WebSocket to the outer harness, which acts on the
 * Playwright page. One connection per extension host, shared by every test file (each file is
 * its own bundle, hence globalThis).
 *
 *   import { ui } from './ui';
 *   await ui.command('PairUX: Start Pairing Session');
 *   await ui.pick('P2P');
 */
import WebSocket from 'ws';
import { RpcEndpoint } from '../../../protocol/rpc-endpoint';
import type { RequestType } from '../../../protocol/rpc';
import {
  TestResultReport,
  UI_DRIVER,
  UI_DRIVER_ENV,
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
  type PixelStats,
  type TestResult,
} from '../support/ui-protocol';

const DEFAULT_TIMEOUT = 10_000;
/** Margin for the round trip on top of the outer side's own wait. */
const MARGIN = 5_000;

interface Connection {
  rpc: RpcEndpoint;
  socket: WebSocket;
}

const KEY = Symbol.for('pairux.vscode-ui-driver');
type Global = typeof globalThis & { [KEY]?: Promise<Connection> };

function connect(): Promise<Connection> {
  const g = globalThis as Global;
  if (g[KEY]) return g[KEY];
  const url = process.env[UI_DRIVER_ENV];
  if (!url) {
    return Promise.reject(
      new Error(
        `no UI driver: ${UI_DRIVER_ENV} is not set (run through test/vscode/workbench.test.ts; the electron runner has no UI driver, so check ui.available with requireParts)`,
      ),
    );
  }
  g[KEY] = new Promise<Connection>((resolve, reject) => {
    const socket = new WebSocket(url, { maxPayload: UI_DRIVER.maxMessageBytes });
    const rpc = new RpcEndpoint({ boundary: UI_DRIVER, side: 'a', send: (t) => socket.send(t) });
    socket.on('message', (data) => rpc.receive(data.toString()));
    socket.once('open', () => resolve({ rpc, socket }));
    socket.once('error', (err) => {
      delete g[KEY];
      reject(new Error(`UI driver at ${url.replace(/\/[^/]*$/, '/…')}: ${err.message}`));
    });
    socket.on('close', () => {
      delete g[KEY];
      rpc.close('the UI driver went away');
    });
  });
  return g[KEY];
}

async function call<P extends object, R>(type: RequestType<P, R>, params: P): Promise<R> {
  const { rpc } = await connect();
  const wait = 'timeoutMs' in params && typeof params.timeoutMs === 'number' ? params.timeoutMs : DEFAULT_TIMEOUT;
  return rpc.request(type, params, wait + MARGIN);
}

interface Wait {
  timeoutMs?: number;
}
interface WebviewOptions extends Wait {
  /** A substring of the webview document's `<title>`; the first visible webview when absent. */
  title?: string;
}

function makeUi(window: string | undefined) {
  const w = window ? { window } : {};
  return {
    /** Whether this run has a UI driver (the code-server harness does; the electron runner does not). */
    available: Boolean(process.env[UI_DRIVER_ENV]),

    /** Runs a command from the palette by its full label, e.g. `PairUX: Start Pairing Session`. */
    command: (title: string, o: Wait = {}) => call(UiCommand, { title, ...o, ...w }).then(() => undefined),
    /** The palette's rows when `text` is typed after `>` (palette closed again afterwards). */
    paletteItems: (text: string, o: Wait = {}) => call(UiPaletteItems, { text, ...o, ...w }).then((r) => r.labels),
    /** Picks the item labelled exactly `label` in the open quick pick. */
    pick: (label: string, o: Wait = {}) => call(UiPick, { label, ...o, ...w }).then(() => undefined),
    /** Title and row labels of the open quick pick / input box (waits for one to open). */
    quickInput: (o: Wait = {}) => call(UiQuickInputItems, { ...o, ...w }),
    /** Fills the open input box and presses Enter (`submit: false` to only type). */
    input: (text: string, o: Wait & { submit?: boolean } = {}) => call(UiInput, { text, ...o, ...w }).then(() => undefined),
    /** Types text with the keyboard into whatever has focus. */
    type: (text: string) => call(UiType, { text, ...w }).then(() => undefined),
    /** Presses keys in order (Playwright names: 'Control+P', 'Escape', 'F1', 'Shift+Alt+S'). */
    keyboard: (...keys: string[]) => call(UiKeyboard, { keys, ...w }).then(() => undefined),
    /** Messages of the visible notification toasts (`center`: and of the notification center, for those VS Code gave no toast). */
    notifications: (o: { center?: boolean } = {}) => call(UiNotifications, { ...o, ...w }).then((r) => r.messages),
    /** Clicks `button` on the notification whose message contains `message` (waits for it). */
    clickNotificationButton: (message: string, button: string, o: Wait = {}) =>
      call(UiClickNotificationButton, { message, button, ...o, ...w }).then(() => undefined),
    /** Text of a status-bar item, by (a substring of) its id, e.g. 'pairux.pairux.session', or its text. */
    statusBarText: (item: string, o: Wait = {}) => call(UiStatusBarText, { item, ...o, ...w }).then((r) => r.text),
    clickStatusBarItem: (item: string, o: Wait = {}) => call(UiClickStatusBarItem, { item, ...o, ...w }).then(() => undefined),
    /** The tooltip a status-bar item shows when the pointer rests on it. */
    statusBarTooltip: (item: string, o: Wait = {}) => call(UiStatusBarTooltip, { item, ...o, ...w }).then((r) => r.text),
    /**
     * Evaluates JavaScript in a webview's page and returns the (JSON) value: an expression, or a
     * function body with `return` (may `await`).
     */
    webviewEval: <T = unknown>(expression: string, o: WebviewOptions = {}) => call(UiWebviewEval, { expression, ...o, ...w }).then((r) => r.value as T),
    /** Pixel statistics of a `<video>`/`<canvas>`/`<img>` in a webview: live picture vs black. */
    webviewPixels: (selector: string, o: WebviewOptions = {}): Promise<PixelStats> => call(UiWebviewPixels, { selector, ...o, ...w }),
    /** Evaluates JavaScript in the workbench page itself (DOM queries the helpers do not cover). */
    workbenchEval: <T = unknown>(expression: string) => call(UiWorkbenchEval, { expression, ...w }).then((r) => r.value as T),
    /** The browser clipboard, which is where `vscode.env.clipboard` writes in code-server. */
    clipboard: () => call(UiClipboardRead, {}).then((r) => r.text),
    setClipboard: (text: string) => call(UiClipboardWrite, { text }).then(() => undefined),
    /** Saves a screenshot of the workbench under test-results/vscode/NAME.png; returns the path. */
    screenshot: (name: string) => call(UiScreenshot, { name, ...w }).then((r) => r.path),
    /** Opens another workbench window with its own extension host (e.g. a guest); drive it with ui.window(name). */
    openWindow: (name: string, o: Wait = {}) => call(UiOpenWindow, { name, ...o, timeoutMs: o.timeoutMs ?? 60_000 }).then(() => undefined),
    /** Opens a plain browser page (not a workbench) as window `name`, e.g. a share link. */
    openPage: (name: string, url: string, o: Wait = {}) => call(UiOpenWindow, { name, url, ...o, timeoutMs: o.timeoutMs ?? 30_000 }).then(() => undefined),
    closeWindow: (name: string) => call(UiCloseWindow, { name }).then(() => undefined),
    /** Clicks `button` in VS Code's modal dialog containing `message`; resolves with the dialog's text. */
    clickDialogButton: (message: string, button: string, o: Wait = {}) => call(UiClickDialogButton, { message, button, ...o, ...w }).then((r) => r.text),
    /** A real mouse click on an element of a webview (focuses it). */
    webviewClick: (selector: string, o: WebviewOptions = {}) => call(UiWebviewClick, { selector, ...o, ...w }).then(() => undefined),
    /** Pixel statistics of an element in this window's own page (a browser viewer's video). */
    pagePixels: (selector: string): Promise<PixelStats> => call(UiPagePixels, { selector, ...w }),
  };
}

export type Ui = ReturnType<typeof makeUi>;

export const ui = {
  ...makeUi(undefined),
  /** The same calls against another window opened with ui.openWindow. */
  window: (name: string): Ui => makeUi(name),
};

/** Polls `probe` until it returns something other than undefined (the workbench's state arrives late). */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, { timeoutMs = 5000, what = 'the condition' } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until a freshly opened window's extension host has loaded PairUX (its commands reach the
 * palette a few seconds after the workbench shows, later still on a busy machine).
 */
export async function extensionReady(w: Ui, timeoutMs = 60_000): Promise<void> {
  await until(async () => ((await w.paletteItems('PairUX: Join')).includes('PairUX: Join Session') ? true : undefined), {
    timeoutMs,
    what: 'PairUX in the new window',
  });
}

/** Used by the suite's index: one result per test, for the outer mocha to count. */
export async function reportResult(result: TestResult): Promise<void> {
  if (!ui.available) return;
  const { rpc } = await connect();
  await rpc.request(TestResultReport, result);
}

export async function closeUi(): Promise<void> {
  const pending = (globalThis as Global)[KEY];
  if (!pending) return;
  const connection = await pending.catch(() => undefined);
  connection?.socket.close();
}
