"""The SQL queries a person ran in Inspect, kept per home in ``<home>/query_history.json``.

Bounded: the newest ``MAX_QUERIES`` queries, each at most ``MAX_QUERY_CHARS`` characters (a
longer one is not kept). Running the same query again moves it to the end. A file that cannot be
read is moved aside (``query_history.json.unreadable``), never overwritten, and ``load_error``
says where it went.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .errors import CasparianError

MAX_QUERIES = 200
MAX_QUERY_CHARS = 100_000
MAX_FILE_BYTES = 4 * 1024 * 1024


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
        if not self.path.exists():
            return
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
            data = json.loads(self.path.read_text(encoding="utf-8"))
            queries = data.get("queries") if isinstance(data, dict) else None
            if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
                raise ValueError("no 'queries' list of text")
            self._queries = queries[-MAX_QUERIES:]
        except (OSError, ValueError) as exc:
            aside = self.path.with_name(self.path.name + ".unreadable")
            os.replace(self.path, aside)
            self.load_error = (
                f"{self.path}: the query history could not be read ({exc}); it was moved to "
                f"{aside} and a new one started"
            )

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
            temporary = self.path.with_name(self.path.name + ".tmp")
            payload = {"version": 1, "queries": self._queries}
            temporary.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as exc:
            message = f"{self.path}: the query history could not be saved ({exc})"
            raise QueryHistoryError(message) from exc
