#!/usr/bin/env python3
"""A delay line with loss for the test internet's access links (test/support/internet.ts).

This kernel has no netem qdisc (sch_netem is not built in and cannot be loaded), so a link's
delay and loss are made here, in user space: each access link is a pair of TUN devices, one in
the private machine's namespace and one in its NAT router's, and every IP packet read from one is
written to the other after the link's one-way delay, or dropped with the link's loss probability.
A constant delay keeps packets in order, as netem's does.

argv: pairs of "NETNS:DEVICE,NETNS:DEVICE" (persistent TUN devices made with `ip tuntap`).
stdin: lines "INDEX DELAY_MS LOSS_PERCENT [RATE_KBPS]" set pair INDEX (both directions); each is
answered "ok INDEX" on stdout. EOF on stdin ends it (the parent went away).

A rate (0: none) makes the link a bottleneck as an access line is: packets leave one after
another at that rate, wait in a queue of at most QUEUE_MS of it, and are dropped when it is full
(tail drop, as a home router's FIFO), so congestion shows as delay, then loss.
"""
import collections
import ctypes
import fcntl
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
QUEUE_MS = 200

libc = ctypes.CDLL(None, use_errno=True)


def enter(netns):
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {netns}")
    finally:
        os.close(fd)


def attach(spec):
    netns, device = spec.split(":")
    enter(netns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", device.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Direction:
    def __init__(self, src, dst):
        self.src, self.dst = src, dst
        self.queue = collections.deque()
        self.delay = 0.0
        self.loss = 0.0
        self.rate = 0.0  # bytes per second; 0: no bottleneck
        self.free_at = 0.0  # when the bottleneck has sent what it holds

    def read(self):
        while True:
            try:
                packet = os.read(self.src, 65536)
            except BlockingIOError:
                return
            if self.loss and random.random() < self.loss:
                continue
            now = time.monotonic()
            if self.rate:
                start = max(now, self.free_at)
                if start - now > QUEUE_MS / 1000:
                    continue  # the queue is full
                self.free_at = start + len(packet) / self.rate
                self.queue.append((self.free_at + self.delay, packet))
            else:
                self.queue.append((now + self.delay, packet))

    def flush(self, now):
        while self.queue and self.queue[0][0] <= now:
            _, packet = self.queue.popleft()
            try:
                os.write(self.dst, packet)
            except OSError:
                pass  # the far device is down: the packet is lost, as on a cut cable

    def due(self):
        return self.queue[0][0] if self.queue else None


def main():
    links = []
    for arg in sys.argv[1:]:
        a, b = (attach(spec) for spec in arg.split(","))
        links.append((Direction(a, b), Direction(b, a)))
    by_fd = {d.src: d for pair in links for d in pair}
    stdin = sys.stdin.fileno()
    print("ready", flush=True)
    pending = b""
    while True:
        dues = [t for t in (d.due() for d in by_fd.values()) if t is not None]
        timeout = max(0.0, min(dues) - time.monotonic()) if dues else None
        readable, _, _ = select.select([stdin, *by_fd], [], [], timeout)
        for fd in readable:
            if fd != stdin:
                by_fd[fd].read()
                continue
            chunk = os.read(stdin, 4096)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                index, delay_ms, loss_percent, *rest = line.split()
                for d in links[int(index)]:
                    d.delay = float(delay_ms) / 1000
                    d.loss = float(loss_percent) / 100
                    d.rate = float(rest[0]) * 1000 / 8 if rest else 0.0
                print(f"ok {int(index)}", flush=True)
        now = time.monotonic()
        for d in by_fd.values():
            d.flush(now)


if __name__ == "__main__":
    main()
