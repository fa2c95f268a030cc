#!/usr/bin/env python3
"""Pseudo-terminal relay for irqmon's virtual board (Node cannot open /dev/ptmx by itself).

Creates a pty pair, sets the slave raw, prints {"path": "/dev/pts/N", "pid": PID} as the first
line on stdout, then relays bytes: stdin -> master (what a serial client reads) and
master -> stdout (what a serial client wrote). The slave fd stays open here, so a client
closing the port never makes the master read fail with EIO.

Exits when stdin reaches EOF (the Node parent closed it or died) or when the parent pid changes
(reparented: the parent died), so nothing is left behind. SIGINT is ignored: Ctrl-C in the
terminal is the parent's business, which then closes stdin.
Standard library only.
"""
import errno
import fcntl
import json
import os
import select
import signal
import sys
import termios
import time
import tty

# Bytes held for the master while the client is slow: beyond this, stdin is not read (the Node
# side buffers). When the master accepts nothing for STALL_S, nobody is draining the port: a
# USB board with no host attached drops what it cannot send, so the tty's queue and the backlog
# are discarded (and a client opening later starts clean).
MAX_BACKLOG = 64 * 1024
STALL_S = 0.5


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    master, slave = os.openpty()
    tty.setraw(slave, termios.TCSANOW)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    path = os.ttyname(slave)
    os.chmod(path, 0o660)
    for fd in (master,):
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)

    out = sys.stdout.buffer
    out.write((json.dumps({"path": path, "pid": os.getpid()}) + "\n").encode())
    out.flush()
    stdin = sys.stdin.buffer.fileno()
    stdout = out.fileno()

    backlog = bytearray()
    last_progress = time.monotonic()
    while True:
        if os.getppid() != parent:
            return 0
        if not backlog:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > STALL_S:
            termios.tcflush(slave, termios.TCIFLUSH)
            del backlog[:]
            last_progress = time.monotonic()
        rlist = [master] + ([stdin] if len(backlog) < MAX_BACKLOG else [])
        wlist = [master] if backlog else []
        try:
            readable, writable, _ = select.select(rlist, wlist, [], 0.1 if backlog else 0.5)
        except InterruptedError:
            continue
        if stdin in readable:
            data = os.read(stdin, 65536)
            if not data:
                return 0
            backlog += data
        if master in readable:
            try:
                data = os.read(master, 65536)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EINTR):
                    data = None
                else:
                    return 1
            if data:
                view = memoryview(data)
                while view:
                    try:
                        n = os.write(stdout, view)
                    except BrokenPipeError:
                        return 0
                    view = view[n:]
        if backlog:
            try:
                n = os.write(master, backlog)
                if n > 0:
                    del backlog[:n]
                    last_progress = time.monotonic()
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EINTR):
                    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
