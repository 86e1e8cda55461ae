"""The SQL queries a person ran in Inspect, kept per home in ``<home>/query_history.json``.

Bounded: the newest ``MAX_QUERIES`` queries, each at most ``MAX_QUERY_CHARS`` characters (a
longer one is not kept). Running the same query again moves it to the end. A file that cannot be
read is moved aside (``query_history.json.unreadable``), never overwritten, and ``load_error``
says where it went.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .errors import CasparianError
from .saved_lists import load_saved_list, save_list

MAX_QUERIES = 200
MAX_QUERY_CHARS = 100_000


class QueryHistoryError(CasparianError, OSError):
    """The history file could not be written; the message names it."""


class QueryHistory:
    """Queries in the order they were last run (oldest first); thread-safe, saved atomically."""

    def __init__(self, home: Path) -> None:
        self.path = home / "query_history.json"
        self._lock = threading.Lock()
        self._queries: list[str] = []
        self.load_error = ""
        self._load()

    def _load(self) -> None:
        self._queries, self.load_error = load_saved_list(
            self.path, "queries", "the query history", _texts
        )
        del self._queries[:-MAX_QUERIES]

    @property
    def queries(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._queries)

    def add(self, sql: str) -> None:
        """Remember a query that ran (stripped); an empty or over-long one is not kept."""
        sql = sql.strip()
        if not sql or len(sql) > MAX_QUERY_CHARS:
            return
        with self._lock:
            if sql in self._queries:
                self._queries.remove(sql)
            self._queries.append(sql)
            del self._queries[:-MAX_QUERIES]
            self._save()

    def _save(self) -> None:
        try:
            save_list(self.path, "queries", self._queries)
        except OSError as exc:
            message = f"{self.path}: the query history could not be saved ({exc})"
            raise QueryHistoryError(message) from exc


def _texts(items: list[object]) -> list[str]:
    if not all(isinstance(item, str) for item in items):
        raise ValueError("no 'queries' list of text")
    return [str(item) for item in items]
