/**
 * Reloads a webview that never started. VS Code's webviews load their script through a service
 * worker that now and then fails to serve it (microsoft/vscode#125993, #326544; seen here in
 * code-server when a panel opens just as another closes): the panel then shows its bare HTML
 * forever. A page that runs always speaks first (its boot request), so silence after
 * `timeoutMs` while the panel is visible means it did not load: the HTML is set again, which
 * makes a fresh frame, up to `attempts` times before the user is told.
 */

export interface PanelLoadWatchOptions {
  /** Sets the panel's HTML again (a fresh frame). */
  reload(attempt: number): void;
  /** Every reload failed too: tell the user (the panel stays open). */
  failed(attempts: number): void;
  /** A panel in a background tab may not load until shown: its time does not count. */
  visible(): boolean;
  timeoutMs?: number;
  attempts?: number;
}

export interface PanelLoadWatch {
  /** The page spoke: it loaded. */
  heard(): void;
  dispose(): void;
}

export const PANEL_LOAD_TIMEOUT_MS = 8000;
export const PANEL_LOAD_ATTEMPTS = 3;

export function watchPanelLoad(options: PanelLoadWatchOptions): PanelLoadWatch {
  const timeoutMs = options.timeoutMs ?? PANEL_LOAD_TIMEOUT_MS;
  const attempts = options.attempts ?? PANEL_LOAD_ATTEMPTS;
  let reloads = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    timer = setTimeout(() => {
      if (!options.visible()) return arm();
      if (reloads >= attempts) {
        timer = undefined;
        options.failed(reloads);
        return;
      }
      reloads++;
      options.reload(reloads);
      arm();
    }, timeoutMs);
  };
  const stop = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  arm();
  return { heard: stop, dispose: stop };
}
