/**
 * Keyboard Lock for a driving guest in full screen: without it the browser keeps its reserved
 * shortcuts (Ctrl+W, Ctrl+T, Ctrl+N, Alt+F4…) however the page listens, so the UI has to say so.
 * Only full screen counts: Chromium ignores the lock in a window.
 */
export type KeyboardLockState = 'off' | 'locked' | 'unavailable' | 'failed';

export function keyboardLockSupported(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.keyboard?.lock === 'function';
}

/** Locks (want) or unlocks the keyboard; says what the page has now. */
export async function applyKeyboardLock(want: boolean): Promise<KeyboardLockState> {
  const keyboard = typeof navigator === 'undefined' ? undefined : navigator.keyboard;
  if (!want) {
    keyboard?.unlock();
    return 'off';
  }
  if (!keyboard || typeof keyboard.lock !== 'function') return 'unavailable';
  try {
    await keyboard.lock();
    return 'locked';
  } catch {
    return 'failed';
  }
}
