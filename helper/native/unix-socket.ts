/**
 * A Unix stream socket that can send file descriptors (SCM_RIGHTS), through libc by koffi (the
 * maintained FFI the helper already ships). Node's sockets cannot pass descriptors, and the
 * Wayland protocol needs it: a virtual keyboard's keymap is handed over as a file descriptor.
 *
 * Synchronous, on purpose: the helper's Wayland requests are a few dozen bytes that the
 * compositor reads at once, and replies are awaited only while setting up (a round trip on a
 * local socket, bounded by `poll`'s timeout). Linux only.
 */
import { libc as sharedLibc } from './libc';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const POLLIN = 1;
const EAGAIN = 11;
const EINTR = 4;

interface Libc {
  koffi: typeof import('koffi');
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  sendmsg(fd: number, msg: object, flags: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  poll(fds: Buffer, n: number, timeoutMs: number): number;
  close(fd: number): number;
  strerror(errno: number): string;
}

let libc: Libc | Error | undefined;

function loadLibc(): Libc {
  if (libc instanceof Error) throw libc;
  if (libc) return libc;
  try {
    const { koffi, lib } = sharedLibc();
    koffi.struct('PairuxIovec', { iov_base: 'void *', iov_len: 'size_t' });
    koffi.struct('PairuxMsghdr', {
      msg_name: 'void *',
      msg_namelen: 'uint32_t',
      msg_iov: 'PairuxIovec *',
      msg_iovlen: 'size_t',
      msg_control: 'void *',
      msg_controllen: 'size_t',
      msg_flags: 'int',
    });
    libc = {
      koffi,
      socket: lib.func('int socket(int, int, int)'),
      connect: lib.func('int connect(int, const void *addr, uint32_t)'),
      sendmsg: lib.func('intptr_t sendmsg(int, const PairuxMsghdr *msg, int)'),
      recv: lib.func('intptr_t recv(int, _Out_ void *buf, size_t, int)'),
      poll: lib.func('int poll(_Inout_ void *fds, unsigned long, int)'),
      close: lib.func('int close(int)'),
      strerror: lib.func('const char *strerror(int)'),
    };
    return libc;
  } catch (err) {
    libc = err instanceof Error ? err : new Error(String(err));
    throw libc;
  }
}

export class UnixSocket {
  private fd: number;

  private constructor(
    private readonly c: Libc,
    fd: number,
    readonly path: string,
  ) {
    this.fd = fd;
  }

  /** Connects to the socket at `path`; throws with the system's reason. */
  static connect(path: string): UnixSocket {
    const c = loadLibc();
    const name = Buffer.from(path, 'utf8');
    if (name.length >= 108) throw new Error(`the socket path ${path} is too long`);
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(AF_UNIX, 0);
    name.copy(addr, 2);
    const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket(): ${c.strerror(c.koffi.errno())}`);
    if (c.connect(fd, addr, 2 + name.length + 1) !== 0) {
      const reason = c.strerror(c.koffi.errno());
      c.close(fd);
      throw new Error(`cannot connect to ${path}: ${reason}`);
    }
    return new UnixSocket(c, fd, path);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /** Sends all of `data`, with `fds` attached to its first byte; throws when the peer is gone or will not take it. */
  send(data: Buffer, fds: readonly number[] = []): void {
    if (this.fd < 0) throw new Error('the socket is closed');
    let control: Buffer | null = null;
    if (fds.length) {
      // struct cmsghdr { size_t len; int level; int type; } followed by the descriptors (LP64).
      control = Buffer.alloc(16 + 8 * Math.ceil((fds.length * 4) / 8));
      control.writeBigUInt64LE(BigInt(16 + fds.length * 4), 0);
      control.writeInt32LE(SOL_SOCKET, 8);
      control.writeInt32LE(SCM_RIGHTS, 12);
      fds.forEach((fd, i) => control!.writeInt32LE(fd, 16 + i * 4));
    }
    let at = 0;
    for (let tries = 0; at < data.length; tries++) {
      const chunk = data.subarray(at);
      const n = this.c.sendmsg(
        this.fd,
        {
          msg_name: null,
          msg_namelen: 0,
          msg_iov: [{ iov_base: chunk, iov_len: chunk.length }],
          msg_iovlen: 1,
          msg_control: at === 0 ? control : null,
          msg_controllen: at === 0 && control ? control.length : 0,
          msg_flags: 0,
        },
        MSG_NOSIGNAL,
      );
      if (n < 0) {
        const errno = this.c.koffi.errno();
        if (errno === EINTR && tries < 100) continue;
        throw new Error(`sending on ${this.path}: ${this.c.strerror(errno)}`);
      }
      at += n;
    }
  }

  /**
   * What has arrived, waiting up to `timeoutMs` for the first byte (0: only what is there now).
   * Empty when nothing came; throws when the peer closed the connection.
   */
  receive(timeoutMs = 0): Buffer {
    if (this.fd < 0) throw new Error('the socket is closed');
    const pollfd = Buffer.alloc(8);
    pollfd.writeInt32LE(this.fd, 0);
    pollfd.writeInt16LE(POLLIN, 4);
    if (this.c.poll(pollfd, 1, timeoutMs) <= 0) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    const buf = Buffer.alloc(4096);
    for (;;) {
      const n = this.c.recv(this.fd, buf, buf.length, MSG_DONTWAIT);
      if (n > 0) {
        parts.push(Buffer.from(buf.subarray(0, n)));
        if (n < buf.length) break;
        continue;
      }
      if (n === 0) {
        if (parts.length) break;
        throw new Error(`${this.path} closed the connection`);
      }
      const errno = this.c.koffi.errno();
      if (errno === EAGAIN || errno === EINTR) break;
      throw new Error(`reading ${this.path}: ${this.c.strerror(errno)}`);
    }
    return Buffer.concat(parts);
  }

  close(): void {
    if (this.fd < 0) return;
    this.c.close(this.fd);
    this.fd = -1;
  }
}
