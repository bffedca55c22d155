/**
 * An Xlib error handler for the helper's process, so an X error is an exception, not an exit.
 *
 * robotjs talks to X through Xlib under its default error handler, which prints "X Error of
 * failed request" and ends the whole process. A grab racing a RandR shrink is such an error
 * (BadMatch on X_GetImage: the strip asked for reaches past the screen's new edge), and no size
 * check made before the grab can close that race (robot-grabber.ts: 7 of 100 shrinks ended the
 * helper). Xlib's handler is one per process, shared by every Xlib connection in it, so setting
 * it here covers robotjs's connection too: XGetImage then returns nothing and robotjs throws
 * "Failed to capture the requested screen rect.", which the capture loop already answers by
 * looking at the screen's size again.
 *
 * Set through koffi (a maintained FFI with prebuilt binaries per platform: nothing compiled on the
 * user's machine), Linux only. The handler only counts and remembers: Xlib forbids calling back
 * into it from there. Where koffi or libX11 cannot be loaded the helper runs as before and says so.
 */
import { createRequire } from 'node:module';

/** The fields of Xlib's XErrorEvent the log names (its layout on LP64 and ILP32 alike, by koffi's struct rules). */
interface XErrorFields {
  error_code: number;
  request_code: number;
  minor_code: number;
}

export interface XErrorHandlerState {
  /** Whether the handler is in place (false: X errors still end the process). */
  installed: boolean;
  /** Why not, when it is not. */
  reason?: string;
  /** X errors handled so far. */
  count: number;
  /** The last one: Xlib's error code and the request that failed (73 = X_GetImage). */
  last?: { errorCode: number; requestCode: number; minorCode: number };
}

const state: XErrorHandlerState = { installed: false, count: 0 };
/** The registered callback, kept referenced for the life of the process: Xlib holds its address. */
let callback: unknown;

/**
 * Installs the handler once (later calls return the same state). `onError` hears each error, at
 * most once a second, for the log.
 */
export function installXErrorHandler(onError?: (s: XErrorHandlerState) => void): XErrorHandlerState {
  if (callback !== undefined || state.reason !== undefined) return state;
  if (process.platform !== 'linux') {
    state.reason = 'not an X11 platform';
    return state;
  }
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libX11.so.6');
    const XErrorEvent = koffi.struct('PairuxXErrorEvent', {
      type: 'int',
      display: 'void *',
      resourceid: 'unsigned long',
      serial: 'unsigned long',
      error_code: 'uint8',
      request_code: 'uint8',
      minor_code: 'uint8',
    });
    const Handler = koffi.proto('int PairuxXErrorHandler(void *display, void *event)');
    const XSetErrorHandler = lib.func('void *XSetErrorHandler(PairuxXErrorHandler *handler)');
    let toldAt = -Infinity;
    callback = koffi.register((_display: unknown, event: unknown): number => {
      state.count++;
      try {
        const e = koffi.decode(event, XErrorEvent) as XErrorFields;
        state.last = { errorCode: e.error_code, requestCode: e.request_code, minorCode: e.minor_code };
      } catch {
        // The count is what matters; the details are for the log.
      }
      const now = performance.now();
      if (onError && now - toldAt >= 1000) {
        toldAt = now;
        onError({ ...state });
      }
      return 0;
    }, koffi.pointer(Handler));
    XSetErrorHandler(callback);
    state.installed = true;
  } catch (err) {
    state.reason = (err as Error).message;
  }
  return state;
}
