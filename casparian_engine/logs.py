"""Per-job log files (spec FS-7): ``<logs>/<date>/<job_id>.log``, capped, rotated globally.

A queued job's sideband log lines (and what the host says about the job) go to its own file. Each
file stops growing at the cap and ends with a visible truncation note; ``rotate_logs`` keeps the
last N days or a total size, whichever is smaller, deleting oldest first.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

TRUNCATION_NOTE = "[TRUNCATED] log reached its {cap} byte cap; later output of this job was dropped"


def job_log_path(logs_dir: Path, job_id: int, started_at: float | None = None) -> Path:
    """Where a job's log lives: under the (local) date its run started."""
    day = dt.date.fromtimestamp(time.time() if started_at is None else started_at)
    return logs_dir / day.isoformat() / f"{job_id}.log"


class JobLog:
    """An append-only, size-capped log file for one job; safe to reopen for a retry.

    Lines given to ``note`` (the host's routine remarks) stay in memory until something is
    ``write``-n — a parser's log line, an error — so a quiet successful job creates no file.
    """

    def __init__(self, path: Path, cap_bytes: int = 10 * 1024 * 1024) -> None:
        self.path = path
        self.cap_bytes = cap_bytes
        self._note_line = (TRUNCATION_NOTE.format(cap=cap_bytes) + "\n").encode()
        self._pending: list[bytes] = []
        self._file: BinaryIO | None = None
        self._size = 0
        self.truncated = False
        self.dropped_lines = 0  # lines refused at the cap since this object opened the log

    @property
    def written(self) -> bool:
        """Whether the log file exists on disk for this run."""
        return self._file is not None

    def note(self, level: str, message: str) -> None:
        """Keep a routine line; it reaches the file only if the job writes anything else."""
        if self._file is not None:
            self._append(self._line(level, message))
        else:
            self._pending.append(self._line(level, message))

    def write(self, level: str, message: str) -> None:
        """Append one timestamped line, or the truncation note once the cap is reached."""
        if self._file is None:
            self._open()
        self._append(self._line(level, message))

    @staticmethod
    def _line(level: str, message: str) -> bytes:
        stamp = dt.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        return f"{stamp} {level.upper():<7} {message}\n".encode(errors="replace")

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.truncated = _ends_with(self.path, self._note_line)
        self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._size = self._file.tell()
        pending, self._pending = self._pending, []
        for line in pending:
            self._append(line)

    def _append(self, line: bytes) -> None:
        assert self._file is not None
        if self.truncated:
            self.dropped_lines += 1
            return
        room = self.cap_bytes - self._size - len(self._note_line)
        if len(line) > room:
            self._file.write(self._note_line)
            self._size += len(self._note_line)
            self.truncated = True
            self.dropped_lines += 1
        else:
            self._file.write(line)
            self._size += len(line)
        self._file.flush()

    def write_past_cap(self, level: str, message: str) -> None:
        """Append one short closing line even when the cap was reached (e.g. how many lines the
        guest dropped): the log says what it left out."""
        if self._file is None:
            self._open()
        assert self._file is not None
        line = self._line(level, message[:500])
        self._file.write(line)
        self._size += len(line)
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> JobLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _ends_with(path: Path, tail: bytes) -> bool:
    """Whether an existing log already ends with ``tail`` (a retry reopening a full log)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() < len(tail):
                return False
            handle.seek(-len(tail), os.SEEK_END)
            return handle.read() == tail
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class RotationReport:
    """What a log cleanup removed and what it kept."""

    removed_files: int
    removed_bytes: int
    kept_bytes: int


def rotate_logs(
    logs_dir: Path,
    retention_days: int = 7,
    total_bytes: int = 1024 * 1024 * 1024,
    now: float | None = None,
) -> RotationReport:
    """Delete logs older than ``retention_days``, then the oldest until under ``total_bytes``."""
    if not logs_dir.is_dir():
        return RotationReport(0, 0, 0)
    cutoff = (time.time() if now is None else now) - retention_days * 86400
    entries: list[tuple[float, int, Path]] = []
    for day_dir in logs_dir.iterdir():
        if not day_dir.is_dir():
            continue
        for entry in os.scandir(day_dir):
            if entry.is_file():
                info = entry.stat()
                entries.append((info.st_mtime, info.st_size, Path(entry.path)))
    entries.sort()
    kept_bytes = sum(size for _, size, _ in entries)
    removed_files = removed_bytes = 0
    for mtime, size, path in entries:
        if mtime >= cutoff and kept_bytes <= total_bytes:
            break
        path.unlink(missing_ok=True)
        removed_files += 1
        removed_bytes += size
        kept_bytes -= size
    for day_dir in logs_dir.iterdir():
        if day_dir.is_dir() and not any(day_dir.iterdir()):
            day_dir.rmdir()
    return RotationReport(removed_files, removed_bytes, kept_bytes)


def follow_log(
    path: Path, is_finished: Callable[[], bool], poll_interval_s: float = 0.25
) -> Iterator[str]:
    """Yield a log's lines as they are written until the job has finished (like ``tail -f``)."""
    position = 0
    while True:
        finished = is_finished()  # read before draining, so the last lines are not missed
        if path.is_file():
            with open(path, encoding="utf-8", errors="replace") as handle:
                handle.seek(position)
                while line := handle.readline():
                    if not line.endswith("\n") and not finished:
                        break
                    position = handle.tell()
                    yield line.rstrip("\n")
        if finished:
            return
        time.sleep(poll_interval_s)
