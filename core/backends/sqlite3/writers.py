"""First come, first served for SQLite's one write lock: a queue shared by every connection to a database file,
threads and processes alike.

SQLite lets waiting writers retry on a timer whose sleeps grow to 100 ms, so a writer that has waited long
retries seldom and the newcomers, which retry after 1 ms, go first: under steady load most writers wait a few
milliseconds and a few wait for seconds. Here a writer takes a ticket before BEGIN IMMEDIATE and waits until every
earlier ticket is done, so the writers take the lock in the order they asked for it.

The queue is a small file beside the database (`<database>-writers`). Its first eight bytes count the tickets
(read and written under flock); a ticket is a one-byte lock (an open file description lock, F_OFD_SETLK) at
offset 8 + ticket, held while its writer waits and writes. The kernel drops a writer's locks when its file is
closed, by the connection or by the death of its process, so a killed writer never blocks the queue, and a writer
that gives up (its wait reached the busy timeout) simply unlocks its byte. The queue only orders the writers: the
exclusion itself is still SQLite's lock, so writers that do not queue (another program, a connection in autocommit)
stay correct and at worst go ahead of the queue.

Linux only (open file description locks); elsewhere, and where the file cannot be opened, writers wait in SQLite's
own way.
"""

from __future__ import annotations

import fcntl
import os
import struct
import time

_FLOCK = "@hhqqi4x"  # struct flock: l_type, l_whence, l_start, l_len, l_pid
_TICKETS = 8  # bytes 0-7 count the tickets; ticket t is the byte at _TICKETS + t
POLL = 0.0005  # seconds between two looks of the writer next in line; one more per writer ahead of it
POLL_MAX = 0.005

SUPPORTED = hasattr(fcntl, "F_OFD_SETLK")


class QueueTimeout(Exception):
    """Earlier writers held the queue for longer than the writer would wait."""


class WriterQueue:
    """The queue of one database file, for one connection (a ticket at a time)."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None
        self.ticket: int | None = None

    def acquire(self, timeout: float) -> float:
        """Take a ticket and wait until every earlier one is done; the seconds waited. Raises QueueTimeout after
        `timeout` seconds (the ticket is then given up) and OSError when the queue's file cannot be used."""
        started = time.monotonic()
        if self.ticket is not None:
            return 0.0
        fd = self.open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            raw = os.pread(fd, _TICKETS, 0)
            ticket = int.from_bytes(raw, "little") if len(raw) == _TICKETS else 0
            os.pwrite(fd, (ticket + 1).to_bytes(_TICKETS, "little"), 0)
            self._lock(fcntl.F_OFD_SETLK, fcntl.F_WRLCK, _TICKETS + ticket, 1)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        self.ticket = ticket
        while (ahead := self._earliest_held()) is not None:
            waited = time.monotonic() - started
            if waited >= timeout:
                self.release()
                raise QueueTimeout(f"waited {waited:.1f} s for earlier writers")
            time.sleep(min(POLL * (ticket - ahead), POLL_MAX, timeout - waited))
        return time.monotonic() - started

    def release(self) -> None:
        """Give the ticket back (done or given up); nothing when there is none."""
        if self.ticket is None:
            return
        ticket, self.ticket = self.ticket, None
        self._lock(fcntl.F_OFD_SETLK, fcntl.F_UNLCK, _TICKETS + ticket, 1)

    def close(self) -> None:
        self.ticket = None
        if self._fd is not None:
            os.close(self._fd)  # drops this file's locks too
            self._fd = None

    def __del__(self):  # a connection dropped without being closed (its thread gone) leaves no file open
        self.close()

    def open(self) -> int:
        """The queue's file (created when missing), open for this connection; OSError when it cannot be."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        return self._fd

    def _lock(self, command: int, kind: int, start: int, length: int) -> bytes:
        return fcntl.fcntl(self._fd, command, struct.pack(_FLOCK, kind, os.SEEK_SET, start, length, 0))

    def _earliest_held(self) -> int | None:
        """An earlier ticket still held (waiting or writing), or None when this one is next."""
        if self.ticket == 0:
            return None  # a length of 0 would mean "to the end of the file"
        answer = self._lock(fcntl.F_OFD_GETLK, fcntl.F_RDLCK, _TICKETS, self.ticket)
        kind, _whence, start, _length, _pid = struct.unpack(_FLOCK, answer)
        return None if kind == fcntl.F_UNLCK else start - _TICKETS
