/**
 * UI-level steps on the real VS Code workbench (a Playwright page on code-server): what a person
 * does with the keyboard and mouse, so tests cover the palette, quick picks, notifications and
 * the status bar as shipped, not only the extension API. Used by the outer harness directly and,
 * through the UI driver, by the inner tests in the extension host.
 */
import type { Frame, Locator, Page } from 'playwright-core';
import type { PixelStats } from './ui-protocol';

const DEFAULT_TIMEOUT = 10_000;
const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = `${QUICK_INPUT} .quick-input-box input`;
const QUICK_ROW = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;

/** Polls `probe` until it returns a value; its last error, if any, is in the timeout message. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message.split('\n')[0]})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The label a quick-input row shows, e.g. `PairUX: Start Pairing Session`. */
async function rowLabels(page: Page): Promise<string[]> {
  return page.$$eval(QUICK_ROW, (rows) => rows.map((row) => (row.querySelector('.label-name')?.textContent ?? row.getAttribute('aria-label') ?? '').trim()));
}

async function quickInputOpen(page: Page): Promise<boolean> {
  return page.locator(QUICK_INPUT_BOX).isVisible();
}

/** Waits for the workbench to have painted its parts; F1 does nothing before that. */
export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
}

/** Opens the command palette with F1 (retried: the first keypress can land before keybindings load). */
async function openPalette(page: Page, timeoutMs: number): Promise<void> {
  await until(
    'the command palette to open on F1',
    timeoutMs,
    async () => {
      if (await quickInputOpen(page)) {
        const value = await page.locator(QUICK_INPUT_BOX).inputValue();
        if (value.startsWith('>')) return true;
        await page.keyboard.press('Escape');
      }
      await page.keyboard.press('F1');
      await page.locator(QUICK_INPUT_BOX).waitFor({ state: 'visible', timeout: 1000 });
      return true;
    },
    200,
  );
}

async function fillPalette(page: Page, query: string, timeoutMs: number): Promise<void> {
  await openPalette(page, timeoutMs);
  // Bounded: the palette can close under us (a panel or notification taking focus), and an
  // unbounded fill would wait Playwright's 30 s for a box that is gone.
  await page.locator(QUICK_INPUT_BOX).fill(`>${query}`, { timeout: Math.min(timeoutMs, 2000) });
}

/**
 * The palette's rows for `text` (typed after `>`), once the list has settled; closes the palette.
 * Settled = two reads 150 ms apart agree, since the list is filtered as you type; a palette that
 * closed meanwhile is opened again. One deadline for it all: the caller's RPC waits `timeoutMs`
 * (and a margin), no more.
 */
export async function paletteItems(page: Page, text: string, timeoutMs = DEFAULT_TIMEOUT): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(500, deadline - Date.now());
  const labels = await until(
    `the palette rows for "${text}"`,
    timeoutMs,
    async () => {
      const showing = async () => (await quickInputOpen(page)) && (await page.locator(QUICK_INPUT_BOX).inputValue({ timeout: 500 })) === `>${text}`;
      if (!(await showing())) await fillPalette(page, text, left());
      const first = JSON.stringify(await rowLabels(page));
      await new Promise((r) => setTimeout(r, 150));
      const now = await rowLabels(page);
      return (await showing()) && JSON.stringify(now) === first ? now : undefined;
    },
    50,
  );
  await page.keyboard.press('Escape');
  return labels;
}

/** Runs a command as a person would: F1, type `>Title`, the row with exactly that label, Enter. */
export async function runCommand(page: Page, title: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
  await fillPalette(page, title, timeoutMs);
  const row = page
    .locator(QUICK_ROW)
    .filter({ has: page.locator('.label-name', { hasText: exactText(title) }) })
    .first();
  try {
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    const seen = await rowLabels(page).catch(() => []);
    await page.keyboard.press('Escape');
    throw new Error(`the palette has no command "${title}" (rows shown: ${seen.length ? seen.slice(0, 8).join(' | ') : 'none'})`);
  }
  await row.click();
  // The palette closes when the command runs; if it stays open the click landed elsewhere.
  await until(`the palette to close after "${title}"`, timeoutMs, async () => {
    const value = await page
      .locator(QUICK_INPUT_BOX)
      .inputValue()
      .catch(() => '');
    return !(await quickInputOpen(page)) || !value.startsWith('>') ? true : undefined;
  });
}

function exactText(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

/** The open quick input's title and row labels (a quick pick or input box an extension showed). */
export async function quickInputItems(page: Page, timeoutMs = DEFAULT_TIMEOUT): Promise<{ title: string | null; labels: string[] }> {
  await page.locator(QUICK_INPUT_BOX).waitFor({ state: 'visible', timeout: timeoutMs });
  const title = await page
    .locator(`${QUICK_INPUT} .quick-input-title`)
    .textContent()
    .catch(() => null);
  return { title: title?.trim() || null, labels: await rowLabels(page) };
}

/** Picks the quick-pick item whose label is exactly `label` (typed into the filter first, so long lists work). */
export async function pickItem(page: Page, label: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
  const box = page.locator(QUICK_INPUT_BOX);
  await box.waitFor({ state: 'visible', timeout: timeoutMs });
  const row = page
    .locator(QUICK_ROW)
    .filter({ has: page.locator('.label-name', { hasText: exactText(label) }) })
    .first();
  if (!(await row.isVisible())) await box.fill(label);
  try {
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    throw new Error(`the quick pick has no item "${label}" (rows: ${(await rowLabels(page).catch(() => [])).join(' | ') || 'none'})`);
  }
  await row.click();
}

/** Fills the open input box (showInputBox, or a quick pick's filter) and, by default, presses Enter. */
export async function fillInput(page: Page, text: string, { submit = true, timeoutMs = DEFAULT_TIMEOUT } = {}): Promise<void> {
  const box = page.locator(QUICK_INPUT_BOX);
  await box.waitFor({ state: 'visible', timeout: timeoutMs });
  await box.fill(text);
  if (submit) await box.press('Enter');
}

/** The visible notification toasts' messages. */
export async function notifications(page: Page): Promise<string[]> {
  return page.$$eval('.notification-toast .notification-list-item-message', (els) => els.map((e) => (e.textContent ?? '').trim()));
}

/**
 * Clicks `button` on the notification whose message contains `message`: on its toast, or in the
 * notification center when VS Code showed no toast. It shows at most three new toasts in 800 ms
 * and puts the rest in the center only (its spam protection), so a notification that follows a
 * burst of others has no toast, and a user finds it behind the bell: so does this.
 */
export async function clickNotificationButton(page: Page, message: string, button: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const toast = page
    .locator('.notification-toast')
    .filter({ has: page.locator('.notification-list-item-message', { hasText: message }) })
    .first();
  const shown = await toast.waitFor({ state: 'visible', timeout: Math.min(TOAST_WAIT_MS, timeoutMs) }).then(
    () => true,
    () => false,
  );
  if (shown) return clickButtonIn(toast, message, button);

  const toasts = await notifications(page);
  await setCenterVisible(page, true);
  try {
    const item = page
      .locator('.notifications-center .notification-list-item')
      .filter({ has: page.locator('.notification-list-item-message', { hasText: message }) })
      .first();
    try {
      await item.waitFor({ state: 'visible', timeout: Math.max(1000, deadline - Date.now()) });
    } catch {
      const listed = await centerMessages(page);
      throw new Error(
        `no notification containing "${message}" (toasts: ${toasts.join(' | ') || 'none'}; notification center: ${listed.join(' | ') || 'empty'})`,
      );
    }
    await clickButtonIn(item, message, button);
  } finally {
    // An open center keeps every later toast from showing.
    await setCenterVisible(page, false);
  }
}

const TOAST_WAIT_MS = 4000;

async function clickButtonIn(notification: Locator, message: string, button: string): Promise<void> {
  const buttons = notification.locator('.notification-list-item-buttons-container .monaco-button');
  const btn = buttons.filter({ hasText: exactText(button) }).first();
  try {
    await btn.waitFor({ state: 'visible', timeout: 2000 });
  } catch {
    throw new Error(`the notification "${message}" has no button "${button}" (buttons: ${(await buttons.allTextContents()).join(' | ') || 'none'})`);
  }
  await btn.click();
}

/**
 * The toasts' messages and the notification center's: a notification that came within VS Code's
 * spam protection (three toasts in 800 ms) has no toast. The center is opened for the reading and
 * closed again, since an open center keeps later toasts from showing.
 */
export async function allNotifications(page: Page): Promise<string[]> {
  const toasts = await notifications(page);
  await setCenterVisible(page, true);
  try {
    return [...new Set([...toasts, ...(await centerMessages(page))])];
  } finally {
    await setCenterVisible(page, false);
  }
}

async function centerMessages(page: Page): Promise<string[]> {
  return page.$$eval('.notifications-center .notification-list-item-message', (els) => els.map((e) => (e.textContent ?? '').trim()));
}

/** Shows or hides the notification center (the bell's list) through VS Code's own commands. */
async function setCenterVisible(page: Page, visible: boolean): Promise<void> {
  const center = page.locator('.notifications-center.visible');
  if ((await center.isVisible()) === visible) return;
  await runCommand(page, visible ? 'Notifications: Show Notifications' : 'Notifications: Hide Notifications');
  await center.waitFor({ state: visible ? 'visible' : 'hidden', timeout: 5000 });
}

/** Clicks `button` in the modal dialog whose message contains `message` (VS Code's own dialog, not the OS's). */
export async function clickDialogButton(page: Page, message: string, button: string, timeoutMs = DEFAULT_TIMEOUT): Promise<string> {
  const dialog = page.locator('.monaco-dialog-box').filter({ hasText: message }).first();
  try {
    await dialog.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    const open = await page.locator('.monaco-dialog-box').allInnerTexts();
    throw new Error(`no dialog containing "${message}" (open: ${open.join(' | ') || 'none'})`);
  }
  const text = await dialog.innerText();
  const btn = dialog.locator('.dialog-buttons .monaco-button', { hasText: exactText(button) }).first();
  try {
    await btn.waitFor({ state: 'visible', timeout: 2000 });
  } catch {
    const labels = await dialog.locator('.dialog-buttons .monaco-button').allTextContents();
    throw new Error(`the dialog "${message}" has no button "${button}" (buttons: ${labels.join(' | ') || 'none'})`);
  }
  await btn.click();
  return text;
}

/** Clicks an element inside a webview with the real mouse (it focuses the webview, as a person's click does). */
export async function webviewClick(page: Page, selector: string, options: { title?: string; timeoutMs?: number } = {}): Promise<void> {
  const frame = await webviewFrame(page, options);
  await frame
    .locator(selector)
    .first()
    .click({ timeout: options.timeoutMs ?? DEFAULT_TIMEOUT });
}

/**
 * A status-bar item by its element id (VS Code uses `<extension id>.<item id>`, e.g.
 * `pairux.pairux.session`; a substring of the id is enough) or, failing that, by its text.
 */
function statusBarItem(page: Page, item: string): Locator {
  const css = item.replace(/["\\]/g, '\\$&');
  return page
    .locator(`.part.statusbar .statusbar-item[id="${css}"], .part.statusbar .statusbar-item[id*="${css}"]`)
    .or(page.locator('.part.statusbar .statusbar-item').filter({ hasText: item }))
    .first();
}

export async function statusBarText(page: Page, item: string, timeoutMs = DEFAULT_TIMEOUT): Promise<{ text: string; id: string | null }> {
  const el = statusBarItem(page, item);
  try {
    await el.waitFor({ state: 'attached', timeout: timeoutMs });
  } catch {
    const ids = await page.$$eval('.part.statusbar .statusbar-item', (els) => els.map((e) => `${e.id}=${(e.textContent ?? '').trim()}`));
    throw new Error(`no status-bar item "${item}" (items: ${ids.join(' | ')})`);
  }
  return { text: ((await el.textContent()) ?? '').trim(), id: await el.getAttribute('id') };
}

/** What a status-bar item's hover says: the pointer rests on it until the hover shows, then leaves. */
export async function statusBarTooltip(page: Page, item: string, timeoutMs = DEFAULT_TIMEOUT): Promise<string> {
  await statusBarText(page, item, timeoutMs);
  const label = statusBarItem(page, item).locator('.statusbar-item-label');
  const hover = page.locator('.workbench-hover, .monaco-hover').filter({ visible: true }).first();
  try {
    await label.hover();
    await hover.waitFor({ state: 'visible', timeout: timeoutMs });
    return ((await hover.textContent()) ?? '').trim();
  } finally {
    // Off the item and out of the way, so the hover does not cover what the next step looks at.
    await page.mouse.move(0, 0).catch(() => undefined);
  }
}

export async function clickStatusBarItem(page: Page, item: string, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
  await statusBarText(page, item, timeoutMs);
  await statusBarItem(page, item).locator('.statusbar-item-label').click();
}

/**
 * The content frame of a webview (the extension's HTML, inside VS Code's two iframes). `title`
 * matches the webview document's `<title>` (which the extension sets); without it, the first
 * visible webview.
 */
export async function webviewFrame(page: Page, { title, timeoutMs = DEFAULT_TIMEOUT }: { title?: string; timeoutMs?: number } = {}): Promise<Frame> {
  return until(
    title ? `a webview titled "${title}"` : 'a visible webview',
    timeoutMs,
    async () => {
      for (const outer of await page.locator('iframe.webview').all()) {
        if (!(await outer.isVisible())) continue;
        const outerFrame = await (await outer.elementHandle())?.contentFrame();
        const inner = await (await outerFrame?.$('iframe#active-frame'))?.contentFrame();
        if (!inner) continue;
        if (title === undefined || (await inner.title()).includes(title)) return inner;
      }
      return undefined;
    },
    200,
  );
}

/**
 * Evaluates `expression` in the webview's page (an async function body is fine: `await x; return y`)
 * and returns its JSON-serialisable value.
 */
export async function webviewEval(page: Page, expression: string, options: { title?: string; timeoutMs?: number } = {}): Promise<unknown> {
  const frame = await webviewFrame(page, options);
  return frame.evaluate(`(async () => { ${/\breturn\b/.test(expression) ? expression : `return (${expression});`} })()`);
}

/**
 * Pixel statistics of a `<video>`, `<canvas>` or `<img>` in the webview, read back through a
 * canvas: enough to tell a live picture from a black or empty one.
 */
export async function webviewPixels(page: Page, selector: string, options: { title?: string; timeoutMs?: number } = {}): Promise<PixelStats> {
  return framePixels(await webviewFrame(page, options), selector);
}

/** The same statistics for an element of any frame (a plain page's main frame, say). */
export async function framePixels(frame: Frame, selector: string): Promise<PixelStats> {
  return frame.evaluate(async (sel) => {
    const el = document.querySelector(sel) as HTMLVideoElement | HTMLCanvasElement | HTMLImageElement | null;
    if (!el) throw new Error(`no element matches ${sel} in the webview`);
    const width = el instanceof HTMLVideoElement ? el.videoWidth : el instanceof HTMLImageElement ? el.naturalWidth : el.width;
    const height = el instanceof HTMLVideoElement ? el.videoHeight : el instanceof HTMLImageElement ? el.naturalHeight : el.height;
    if (!width || !height) return { width, height, mean: [0, 0, 0] as [number, number, number], nonBlack: 0, colours: 0 };
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(el, 0, 0);
    const data = ctx.getImageData(0, 0, width, height).data;
    let r = 0,
      g = 0,
      b = 0,
      bright = 0,
      n = 0;
    const colours = new Set<number>();
    // Every 4th pixel each way: 1/16 of a 1080p frame is plenty for these statistics.
    for (let y = 0; y < height; y += 4) {
      for (let x = 0; x < width; x += 4) {
        const i = (y * width + x) * 4;
        const pr = data[i]!,
          pg = data[i + 1]!,
          pb = data[i + 2]!;
        r += pr;
        g += pg;
        b += pb;
        n++;
        if (pr + pg + pb > 48) bright++;
        colours.add(((pr >> 4) << 8) | ((pg >> 4) << 4) | (pb >> 4));
      }
    }
    return { width, height, mean: [r / n, g / n, b / n] as [number, number, number], nonBlack: bright / n, colours: colours.size };
  }, selector);
}

export async function readClipboard(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

export async function writeClipboard(page: Page, text: string): Promise<void> {
  await page.evaluate((t) => navigator.clipboard.writeText(t), text);
}

/** Presses keys in order, Playwright names: `Control+P`, `Escape`, `F1`, `Shift+Alt+S`. */
export async function pressKeys(page: Page, keys: readonly string[]): Promise<void> {
  for (const key of keys) await page.keyboard.press(key);
}
