# SPDX-License-Identifier: ISC
"""A real terminal for the tests of `corral monit`.

Runs a program on a pseudo-terminal (it becomes the session leader with the
pty as its controlling terminal, like a shell's job) and feeds everything it
writes into a pyte screen, a VT100/xterm emulator, so the tests read the
screen a person would see. Resizing sets the pty's window size, which makes
the kernel send SIGWINCH to the program, as a terminal emulator does.

TERM is xterm-color: its terminfo entry only uses sequences pyte
understands (xterm-256color's REP and scroll sequences it does not).
"""

import errno
import fcntl
import os
import pty
import select
import signal
import struct
import termios
import time

import pyte


class Term:
    def __init__(self, argv, env, cols=80, rows=24):
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.received = 0       # bytes the program wrote
        self.status = None
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.resize(cols, rows)

    def resize(self, cols, rows):
        self.screen.resize(rows, cols)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))

    def pump(self, seconds=0.1):
        """Reads what the program writes for up to `seconds`."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            r, _, _ = select.select([self.fd], [], [], max(0.0, left))
            if not r:
                return
            try:
                data = os.read(self.fd, 65536)
            except OSError as e:
                if e.errno == errno.EIO:        # the program has gone
                    time.sleep(min(0.05, max(0.0, left)))
                    return
                raise
            if not data:
                return
            self.received += len(data)
            self.stream.feed(data)

    def lines(self):
        return [line.rstrip() for line in self.screen.display]

    def text(self):
        return "\n".join(self.lines())

    def wait(self, pred, timeout=15.0, what="condition"):
        """Pumps until pred(text) is true; fails with the screen if not."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            if pred(self.text()):
                return
        raise AssertionError("timed out waiting for %s; screen:\n%s"
                             % (what, self.text()))

    def wait_text(self, s, timeout=15.0):
        self.wait(lambda t: s in t, timeout, repr(s))

    def send(self, keys):
        os.write(self.fd, keys.encode() if isinstance(keys, str) else keys)

    def termios(self):
        """The pty's line discipline flags (shared by both of its ends)."""
        return termios.tcgetattr(self.fd)

    def exited(self, timeout=10.0):
        """Waits for the program to exit; returns its exit status."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.05)
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = os.waitstatus_to_exitcode(st)
                return self.status
        raise AssertionError("corral monit did not exit; screen:\n"
                             + self.text())

    def close(self):
        """Ends the program if it still runs, and closes the pty."""
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)

    def row_of(self, s):
        """Index of the first screen row containing s, or -1."""
        for i, line in enumerate(self.lines()):
            if s in line:
                return i
        return -1
