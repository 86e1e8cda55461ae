"""Plain, frozen facts the engine reports while it works (progress, results).

Interfaces subscribe with an ``EventSink`` — any callable taking an event. The TUI wraps events in
Textual messages; the CLI draws progress bars; tests collect them in a list. Progress events are
throttled by their producers to roughly 10–20 per second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Event:
    """Base class of everything the engine reports."""


class EventSink(Protocol):
    """A callable that receives engine events (progress and results)."""

    def __call__(self, event: Event) -> None: ...


def ignore_events(event: Event) -> None:
    """An ``EventSink`` that drops everything (the default when nobody listens)."""


class Cancelled(Exception):
    """Raised inside the engine when a caller's cancel event was set; work stops cleanly."""


class Throttle:
    """Lets a producer emit high-rate progress at most ``hz`` times per second."""

    def __init__(self, hz: float = 15.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / hz
        self._clock = clock
        self._last = float("-inf")

    def ready(self) -> bool:
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            return True
        return False


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise ``Cancelled`` if the caller asked to stop."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()


@dataclass(frozen=True)
class LogLine(Event):
    """A line a guest parser logged on the sideband (or the host wrote about a job)."""

    level: str
    message: str
    job_id: int | None = None


@dataclass(frozen=True)
class ScanProgress(Event):
    """Throttled progress of a running scan."""

    root: str
    files_seen: int
    files_hashed: int
    bytes_hashed: int
    skipped_count: int
    elapsed_s: float


class ScanCancelled(Cancelled):
    """A scan stopped by its caller; ``files_recorded`` files were committed before it stopped
    (what a cancelled scan keeps, counted as ``ScanSummary.files_seen`` counts them)."""

    def __init__(self, files_recorded: int) -> None:
        super().__init__(f"scan cancelled after recording {files_recorded} files")
        self.files_recorded = files_recorded


@dataclass(frozen=True)
class PoolProgress(Event):
    """Where a pool run stands: jobs finished of the total, and how they ended so far."""

    finished: int
    total: int
    running: int
    queued: int
    failed: int
    rows_written: int
    elapsed_s: float
    rows_quarantined: int = 0


@dataclass(frozen=True)
class PoolStopping(Event):
    """A stop is waiting for running jobs: how many, held by how many workers, for how long."""

    running: int
    workers: int
    grace_left_s: float

    @property
    def in_progress(self) -> int:
        """Jobs a worker is working on now: a worker runs one file at a time, and the other
        jobs it holds (claimed ahead) return to the queue once that file is done."""
        return min(self.running, self.workers)
