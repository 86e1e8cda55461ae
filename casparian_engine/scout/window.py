"""A commit window: consecutive scan batches share one transaction until a time interval passes.

Committing every batch rewrites the same index pages (random SHA-256 keys touch pages all over the
index) into the WAL again and again; joining batches for a fraction of a second writes each page
once per window. Batches still write through ``Database.transaction()``, which joins the window.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from types import TracebackType

from ..events import Cancelled
from ..store.db import Database

COMMIT_INTERVAL_S = 0.5


class CommitWindow:
    """Open with ``open()``; ``tick()`` commits once the window is older than ``interval_s``."""

    def __init__(self, db: Database, interval_s: float = COMMIT_INTERVAL_S) -> None:
        self.db = db
        self.interval_s = interval_s
        self._transaction: AbstractContextManager[None] | None = None
        self._opened_at = 0.0

    def open(self) -> None:
        """Start a window unless one is open."""
        if self._transaction is None:
            transaction = self.db.transaction()
            transaction.__enter__()
            self._transaction = transaction
            self._opened_at = time.monotonic()

    def tick(self) -> None:
        """Commit if the open window has lasted ``interval_s``."""
        if self._transaction is not None and time.monotonic() - self._opened_at >= self.interval_s:
            self.commit()

    def commit(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            transaction.__exit__(None, None, None)

    def __enter__(self) -> CommitWindow:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Commit on success or cancel (keep the work done); roll back on any other error."""
        transaction, self._transaction = self._transaction, None
        if transaction is None:
            return
        if exc is None or isinstance(exc, Cancelled | KeyboardInterrupt):
            transaction.__exit__(None, None, None)
        else:
            transaction.__exit__(exc_type, exc, traceback)
