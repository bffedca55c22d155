/**
 * libc through koffi, loaded once for the helper's native calls that Node lacks (Unix sockets
 * that pass descriptors, pipes of a chosen size). Linux only: elsewhere, and where koffi or libc
 * cannot be loaded, `libc()` throws the same Error every time.
 */
import { createRequire } from 'node:module';

export interface Libc {
  koffi: typeof import('koffi');
  lib: ReturnType<typeof import('koffi').load>;
}

let loaded: Libc | Error | undefined;

export function libc(): Libc {
  if (loaded instanceof Error) throw loaded;
  if (loaded) return loaded;
  try {
    if (process.platform !== 'linux') throw new Error('libc calls are only wired up on Linux');
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    loaded = { koffi, lib: koffi.load('libc.so.6') };
    return loaded;
  } catch (err) {
    loaded = err instanceof Error ? err : new Error(String(err));
    throw loaded;
  }
}
