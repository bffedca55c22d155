/**
 * A pipe with room for a large picture, for a child process that writes raw frames (the Wayland
 * capture's GStreamer). A pipe holds 64 KiB by default, so an 8 MB frame took 128 reads, each a
 * fresh buffer and a copy (measured: 0.14 core for the helper while typing at 1080p). Made here
 * with libc through koffi (pipe2, fcntl F_SETPIPE_SZ: Node has neither), read with fs.read
 * straight into the frame's own buffer. Linux only; elsewhere `bigPipe` returns undefined.
 */
import { libc as loadLibc } from './libc';

const O_CLOEXEC = 0o2000000;
const F_SETPIPE_SZ = 1031;

interface PipeLibc {
  pipe2(fds: number[], flags: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
}

let libc: PipeLibc | null | undefined;

function load(): PipeLibc | null {
  if (libc !== undefined) return libc;
  try {
    const { lib } = loadLibc();
    libc = { pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)'), fcntl: lib.func('int fcntl(int, int, int)') };
  } catch {
    libc = null;
  }
  return libc;
}

/**
 * A pipe of (up to) `bytes` capacity: [read end, write end], both close-on-exec (a child gets the
 * write end through `spawn`'s stdio, which clears that flag on its copy). The capacity is what the
 * system allows (/proc/sys/fs/pipe-max-size, 1 MiB by default) when less.
 */
export function bigPipe(bytes: number): { readFd: number; writeFd: number; capacity: number } | undefined {
  const c = load();
  if (!c) return undefined;
  const fds = [0, 0];
  if (c.pipe2(fds, O_CLOEXEC) !== 0) return undefined;
  let capacity = c.fcntl(fds[1]!, F_SETPIPE_SZ, bytes);
  for (let size = bytes >> 1; capacity < 0 && size >= 65536; size >>= 1) capacity = c.fcntl(fds[1]!, F_SETPIPE_SZ, size);
  return { readFd: fds[0]!, writeFd: fds[1]!, capacity: Math.max(capacity, 65536) };
}
