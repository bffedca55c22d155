/**
 * The boundary between the extension tests inside the VS Code extension host (side a, the
 * client: they connect to PAIRUX_UI_DRIVER) and the outer mocha process that holds the
 * workbench's Playwright page (side b). The inner tests ask for UI actions (palette, quick picks,
 * notification buttons, status bar, webviews, clipboard, keys) and report each test's result.
 * Imported by both ends: the outer harness (tsx) and the inner suite (bundled to CommonJS).
 */
import { z } from 'zod';
import { defineRequest, type Boundary } from '../../../protocol/rpc';

/** How long the outer side may wait for the UI to get there; a request's own timeout is this + a margin. */
const timeoutMs = z.int().min(1).max(300_000).optional();
const text = z.string().max(100_000);
const none = z.null();
/** Which workbench window: 'main' (the one running the tests, the default) or one opened with ui.openWindow. */
export const WindowName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/);
const window = WindowName.optional();

export const UiCommand = defineRequest('ui.command', z.object({ title: text, timeoutMs, window }), none);
export const UiPaletteItems = defineRequest('ui.paletteItems', z.object({ text, timeoutMs, window }), z.object({ labels: z.array(z.string()) }));
export const UiPick = defineRequest('ui.pick', z.object({ label: text, timeoutMs, window }), none);
export const UiQuickInputItems = defineRequest(
  'ui.quickInputItems',
  z.object({ timeoutMs, window }),
  z.object({ title: z.string().nullable(), labels: z.array(z.string()) }),
);
export const UiInput = defineRequest('ui.input', z.object({ text, submit: z.boolean().optional(), timeoutMs, window }), none);
export const UiType = defineRequest('ui.type', z.object({ text, window }), none);
export const UiKeyboard = defineRequest('ui.keyboard', z.object({ keys: z.array(z.string().min(1).max(100)).min(1).max(100), window }), none);
/** `center`: the notification center's too (those VS Code gave no toast), read by opening it for a moment. */
export const UiNotifications = defineRequest(
  'ui.notifications',
  z.object({ window, center: z.boolean().optional() }),
  z.object({ messages: z.array(z.string()) }),
);
export const UiClickNotificationButton = defineRequest('ui.clickNotificationButton', z.object({ message: text, button: text, timeoutMs, window }), none);
/** Clicks a button of VS Code's modal dialog; answers the dialog's text. */
export const UiClickDialogButton = defineRequest(
  'ui.clickDialogButton',
  z.object({ message: text, button: text, timeoutMs, window }),
  z.object({ text: z.string() }),
);
export const UiStatusBarText = defineRequest(
  'ui.statusBarText',
  z.object({ item: text, timeoutMs, window }),
  z.object({ text: z.string(), id: z.string().nullable() }),
);
export const UiClickStatusBarItem = defineRequest('ui.clickStatusBarItem', z.object({ item: text, timeoutMs, window }), none);
/** The hover a status-bar item shows when the pointer rests on it (its tooltip), as text. */
export const UiStatusBarTooltip = defineRequest('ui.statusBarTooltip', z.object({ item: text, timeoutMs, window }), z.object({ text: z.string() }));
const webview = z.object({
  /** Which webview: a substring of its tab or panel title; the first visible one when absent. */
  title: text.optional(),
  timeoutMs,
  window,
});
export const UiWebviewEval = defineRequest('ui.webviewEval', webview.extend({ expression: text }), z.object({ value: z.unknown() }));
export const UiWebviewClick = defineRequest('ui.webviewClick', webview.extend({ selector: text }), none);
export const PixelStatsSchema = z.object({
  width: z.number(),
  height: z.number(),
  /** Mean R, G, B over the element. */
  mean: z.tuple([z.number(), z.number(), z.number()]),
  /** Share of pixels brighter than near-black (0..1): a painted frame is well above 0. */
  nonBlack: z.number(),
  /** Distinct colours on a 16-level-per-channel grid, a cheap "is there content" signal. */
  colours: z.number(),
});
export type PixelStats = z.infer<typeof PixelStatsSchema>;
export const UiWebviewPixels = defineRequest('ui.webviewPixels', webview.extend({ selector: text }), PixelStatsSchema);
export const UiWorkbenchEval = defineRequest('ui.workbenchEval', z.object({ expression: text, window }), z.object({ value: z.unknown() }));
export const UiClipboardRead = defineRequest('ui.clipboardRead', z.object({}), z.object({ text: z.string() }));
export const UiClipboardWrite = defineRequest('ui.clipboardWrite', z.object({ text }), none);
export const UiScreenshot = defineRequest('ui.screenshot', z.object({ name: z.string().regex(/^[\w.-]{1,80}$/), window }), z.object({ path: z.string() }));

/**
 * Opens another workbench window (same code-server, same extension under development, no tests
 * of its own: its own extension host), e.g. a guest beside the host the tests run in.
 */
export const UiOpenWindow = defineRequest(
  'ui.openWindow',
  /** With `url`, a plain browser page instead (a guest in the browser viewer). */
  z.object({ name: WindowName, url: z.string().max(8192).optional(), timeoutMs }),
  none,
);
/** Pixel statistics of an element in a window's own page (a browser viewer's `<video>`). */
export const UiPagePixels = defineRequest('ui.pagePixels', z.object({ selector: text, window }), PixelStatsSchema);
export const UiCloseWindow = defineRequest('ui.closeWindow', z.object({ name: WindowName }), none);

export const TestResultSchema = z.object({
  title: z.string().max(2000),
  fullTitle: z.string().max(4000),
  file: z.string().max(2000).optional(),
  state: z.enum(['passed', 'failed', 'pending']),
  durationMs: z.number().optional(),
  error: z.object({ message: z.string().max(20_000), stack: z.string().max(20_000).optional() }).optional(),
});
export type TestResult = z.infer<typeof TestResultSchema>;
/** A request, not a notification: the suite waits for every answer before it lets the workbench exit. */
export const TestResultReport = defineRequest('test.result', TestResultSchema, none);

export const UI_DRIVER: Boundary = {
  name: 'vscode-ui-driver',
  maxMessageBytes: 4 * 1024 * 1024,
  aToB: {
    requests: [
      UiCommand,
      UiPaletteItems,
      UiPick,
      UiQuickInputItems,
      UiInput,
      UiType,
      UiKeyboard,
      UiNotifications,
      UiClickNotificationButton,
      UiStatusBarText,
      UiClickStatusBarItem,
      UiStatusBarTooltip,
      UiWebviewEval,
      UiWebviewPixels,
      UiWorkbenchEval,
      UiClipboardRead,
      UiClipboardWrite,
      UiScreenshot,
      UiOpenWindow,
      UiCloseWindow,
      UiPagePixels,
      UiClickDialogButton,
      UiWebviewClick,
      TestResultReport,
    ],
    notifications: [],
  },
  bToA: { requests: [], notifications: [] },
};

/** The environment variable that carries the driver's URL (with its key) into the extension host. */
export const UI_DRIVER_ENV = 'PAIRUX_UI_DRIVER';
/** Inner mocha --grep, passed the same way. */
export const INNER_GREP_ENV = 'PAIRUX_VSCODE_GREP';
/** Inner test files to run (paths under test/vscode/suite/, comma-separated); all when unset. */
export const INNER_FILES_ENV = 'PAIRUX_VSCODE_FILES';
