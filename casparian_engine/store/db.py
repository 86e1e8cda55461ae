"""Connections to the state store: embedded SQLite (default) or PostgreSQL, behind one small API.

Repositories write SQL once, in the common subset of both dialects, with ``?`` placeholders; the
PostgreSQL backend translates them to ``%s``. Each thread gets its own connection.
``transaction()`` makes every multi-row change atomic: SQLite takes the write lock up front
(``BEGIN IMMEDIATE``) so two writers never deadlock upgrading a read lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from ..errors import CasparianError

SQLITE_BUSY_TIMEOUT_MS = 30_000
MAX_PARAMS = 500
"""Most values one ``IN (?, …)`` list binds (well under every backend's limit)."""


class StoreError(CasparianError, RuntimeError):
    """The store could not be opened or migrated; the message says which and why."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Database:
    """A thread-aware handle on the store. Use ``execute``/``query`` and ``transaction``."""

    dialect: str

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._all_connections: list[Any] = []
        self._lock = threading.Lock()
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self.path: Path | None = Path(url.removeprefix("sqlite:///"))
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgresql"
            self.path = None
        else:
            raise StoreError(
                f"unsupported store URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
            )
        self.connection()  # fail early with a clear message

    # -- connections -------------------------------------------------------------------------
    def connection(self) -> Any:
        """This thread's connection, opened on first use."""
        conn = getattr(self._local, "conn", None)
        if (
            conn is not None
            and self.dialect == "postgresql"
            and conn.broken
            and not self._local.depth
        ):
            # the server or the network dropped it (e.g. a worker host cut off for a while):
            # the next statement outside a transaction gets a new connection (inside one, the
            # transaction fails as a whole instead)
            with self._lock:
                self._all_connections = [c for c in self._all_connections if c is not conn]
            conn = None
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.depth = 0
            with self._lock:
                self._all_connections.append(conn)
        return conn

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            assert self.path is not None
            try:
                conn = sqlite3.connect(
                    self.path,
                    timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
            return conn
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the store at {self.url}: {exc}") from exc

    def close(self) -> None:
        """Close the connections of every thread."""
        with self._lock:
            for conn in self._all_connections:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
            self._all_connections.clear()
        self._local = threading.local()

    def lease_clock(self, now: float | None) -> tuple[str, tuple[Any, ...]]:
        """SQL for "now" in lease times (claims, heartbeats, expiry) and its parameters.

        Given an explicit ``now``, that value. Otherwise, on PostgreSQL the server's own clock,
        so hosts whose clocks drift apart still agree on when a lease expired; on SQLite (one
        machine) this machine's clock."""
        if now is None and self.dialect == "postgresql":
            return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)", ()
        return "?", (time.time() if now is None else now,)

    # -- statements --------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement with ``?`` placeholders on this thread's connection."""
        cursor: Cursor = self.connection().execute(self._sql(sql), tuple(params))
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters (one round trip on PostgreSQL)."""
        conn = self.connection()
        if self.dialect == "sqlite":
            conn.executemany(sql, rows)
        else:
            with conn.cursor() as cur:
                cur.executemany(self._sql(sql), list(rows))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """All rows of one query."""
        return self.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of one query, or None."""
        return self.execute(sql, params).fetchone()

    def script(self, sql: str) -> None:
        """Run several DDL statements (migrations)."""
        conn = self.connection()
        if self.dialect == "sqlite":
            conn.executescript(sql)
        else:
            conn.execute(sql)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of work; nested calls join the outer transaction."""
        conn = self.connection()
        depth: int = self._local.depth
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        self._local.depth = 1
        try:
            if self.dialect == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                with conn.transaction():
                    yield
        finally:
            self._local.depth = 0


def chunked(items: Sequence[Any], size: int = MAX_PARAMS) -> Iterator[Sequence[Any]]:
    """Slices of at most ``size`` items (for ``IN (...)`` lists)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    """``?, ?, …``: ``count`` placeholders for an ``IN (...)`` list."""
    return ", ".join("?" * count)


def in_list(db: Database, column: str, values: Sequence[Any]) -> tuple[str, Any]:
    """A ``column IN <values>`` condition with ONE bound parameter, and that parameter."""
    if db.dialect == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(list(values))
    return f"{column} = ANY(?)", list(values)
