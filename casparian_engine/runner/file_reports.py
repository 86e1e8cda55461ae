"""Files finished inside a worker's batch, reported to its pool before the batch commits.

A batch handler commits its jobs together at the end of a batch (one part per output, one
transaction), so the store's job counts move in jumps: a 40-file run sat at 0/40 for seconds and
then read done. Each worker therefore writes one short line to a pipe its pool holds as each file
of a batch finishes, and one line just before the batch's commit; the pool adds the files
reported but not yet committed to what the store counts (see ``FileReports``).

Lines (ASCII, one writer per pipe): ``o<rows quarantined>`` a file went through, ``f`` a file
failed, ``c`` the files reported so far are about to be committed (from then on the store counts
them). A write never blocks the worker: a full pipe drops the line (the figure then catches up at
the commit) and a closed one stops the reports.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

COMMITTING = b"c\n"
FAILED = b"f\n"
READ_CHUNK = 65536


class FileReporter:
    """The worker's end: ``file_done`` per file of a batch, ``committing`` before its commit."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        if fd is not None:
            os.set_blocking(fd, False)

    def _write(self, line: bytes) -> None:
        if self.fd is None:
            return
        try:
            os.write(self.fd, line)
        except BlockingIOError:
            pass  # the pool is behind: this file shows at the commit instead
        except OSError:
            self.close()  # the pool is gone

    def file_done(self, ok: bool, rows_quarantined: int = 0) -> None:
        self._write(b"o%d\n" % rows_quarantined if ok else FAILED)

    def committing(self) -> None:
        self._write(COMMITTING)

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


@dataclass
class Uncommitted:
    """What one worker reported and has not committed yet."""

    finished: int = 0
    failed: int = 0
    rows_quarantined: int = 0


class FileReports:
    """The pool's end: one pipe per worker, read without blocking on each progress tick."""

    def __init__(self) -> None:
        self._pipes: dict[int, tuple[int, bytearray, Uncommitted]] = {}  # by worker pid

    def new_pipe(self) -> tuple[int, int]:
        """A (read, write) pair for a worker about to start; ``attach`` the read end."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        return read_fd, write_fd

    def attach(self, pid: int, read_fd: int) -> None:
        self._pipes[pid] = (read_fd, bytearray(), Uncommitted())

    def read(self) -> bool:
        """Read every pipe; True when some worker reported something."""
        changed = False
        for read_fd, pending, uncommitted in self._pipes.values():
            while True:
                try:
                    chunk = os.read(read_fd, READ_CHUNK)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if not chunk:
                    break
                pending.extend(chunk)
            if b"\n" not in pending:
                continue
            complete, _, rest = bytes(pending).rpartition(b"\n")
            pending[:] = rest
            for line in complete.split(b"\n"):
                changed = True
                if line == b"c":
                    uncommitted.finished = uncommitted.failed = 0
                    uncommitted.rows_quarantined = 0
                elif line == b"f":
                    uncommitted.finished += 1
                    uncommitted.failed += 1
                elif line[:1] == b"o" and line[1:].isdigit():
                    uncommitted.finished += 1
                    uncommitted.rows_quarantined += int(line[1:])
        return changed

    def forget(self, pid: int) -> None:
        """A worker exited: what it reported is committed or, if it died, back in the queue."""
        entry = self._pipes.pop(pid, None)
        if entry is not None:
            with contextlib.suppress(OSError):
                os.close(entry[0])

    def close(self) -> None:
        for pid in list(self._pipes):
            self.forget(pid)

    @property
    def uncommitted(self) -> Uncommitted:
        """Files reported by every worker and not committed yet."""
        total = Uncommitted()
        for _, _, uncommitted in self._pipes.values():
            total.finished += uncommitted.finished
            total.failed += uncommitted.failed
            total.rows_quarantined += uncommitted.rows_quarantined
        return total
