"""The output catalog: DuckDB views over the Parquet outputs, and guarded read-only SQL over them.

Every output of every parser lives under ``<output_dir>/<parser>/<output>/*.parquet``. The catalog
names each one ``<output>`` (or ``<parser>__<output>`` when two parsers share an output name).

``ReadOnlyCatalog.query`` is what untrusted callers (the MCP ``query_output`` tool, the AI sidebar)
use. It layers three guards so that one mistake does not open the store:
1. the text must be exactly one ``SELECT``/``WITH`` statement (DuckDB's parser decides, no regex);
2. it runs on a catalog database opened ``read_only`` — no DDL or DML can succeed;
3. it may read only the output views, its own CTEs and allow-listed table functions
   (``query_guard``: ``duckdb_settings()``, ``read_csv`` and ``current_setting`` are refused);
4. file-system access is limited to the output directory and the configuration is locked, so
   ``ATTACH``, ``COPY``, ``INSTALL`` and ``SET`` all fail.
A query is cancelled after a time limit (setting ``query_timeout_s``); results are bounded by a
row budget and a byte budget that holds for a single row; BLOBs come back as hex text. DuckDB may
use at most ``CATALOG_MEMORY_LIMIT`` of memory; beyond it, it spills into the catalog's folder.

A result read in sorted windows (``ResultSet.window`` with an order) is sorted once: a window
that ends within the first ``TOP_N_ROWS`` rows is DuckDB's top-N of the query, a deeper one reads
a temporary table holding the whole result in that order (made once per query and order, the
``SORTED_RESULTS_KEPT`` most recent kept), by its row ids, so each later window costs its rows.

Each catalog lives in a temporary folder named after its process (``casparian-catalog-<pid>-``);
the first catalog a process opens removes the folders of processes that are gone (killed before
they could clean up), see ``remove_stale_catalogs``.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .errors import CasparianError
from .output_tables import OutputTable as OutputTable  # re-exported: callers import it here
from .output_tables import list_output_tables as list_output_tables
from .process_temp import process_temp_dir, remove_stale, remove_stale_once
from .query_guard import SourceRefused, bound_result, check_sources, hex_blobs, name_list
from .query_limits import DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT
from .sql_quoting import quote_identifier, quote_literal

DEFAULT_BYTE_BUDGET = 1024 * 1024  # about what an AI client can take in one answer
DEFAULT_TIMEOUT_S = 30.0
CATALOG_MEMORY_LIMIT = "1GB"
"""DuckDB's memory limit for a catalog's queries (and the sorted results it keeps); past it,
sorts, joins and kept results spill into the catalog's temporary folder."""
TOP_N_ROWS = 10_000
"""A sorted window ending within this many rows is DuckDB's top-N (no full sort); a deeper one
is read from the result materialised in that order."""
SORTED_RESULTS_KEPT = 2
"""How many (query, order) results a catalog keeps materialised; the oldest is dropped first."""
CATALOG_PREFIX = "casparian-catalog-"
STALE_LEGACY_AGE_S = 3600.0
"""A catalog folder named without its process (made before folders carried one) is removed only
when no process holds its database and it is older than this."""


class QueryRefused(CasparianError, ValueError):
    """The SQL is not a single read-only query over the outputs; the message says why."""


@dataclass(frozen=True)
class QueryResult:
    """The rows of one guarded query, with column names and types, and why it was cut short."""

    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
    row_count: int
    truncated: bool
    truncated_reason: str
    notes: list[str] = field(default_factory=list)


def create_views(
    con: duckdb.DuckDBPyConnection, tables: list[OutputTable], temporary: bool = False
) -> None:
    """Create one view per output table on ``con`` (``temporary``: seen by ``con`` only)."""
    kind = "TEMP VIEW" if temporary else "VIEW"
    for table in tables:
        pattern = str(table.directory / "*.parquet")
        con.execute(
            f"CREATE OR REPLACE {kind} {quote_identifier(table.name)} AS "
            f"SELECT * FROM read_parquet({quote_literal(pattern)}, union_by_name = true)"
        )


def confine_to(con: duckdb.DuckDBPyConnection, directory: Path) -> None:
    """Let ``con`` read files under ``directory`` only, load no extension, and change no setting."""
    allowed = str(directory) + os.sep
    con.execute(f"SET allowed_directories = [{quote_literal(allowed)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


_scratch: duckdb.DuckDBPyConnection | None = None
_scratch_lock = threading.Lock()


_inherited_scratch: list[duckdb.DuckDBPyConnection] = []


def _forget_scratch() -> None:
    """In a forked child: never use the parent's DuckDB (its threads are gone), and never drop
    it either: its destructor would wait for those threads and crash the child (a subprocess
    started with a preexec_fn, such as a guest, died of SIGSEGV before its exec)."""
    global _scratch
    if _scratch is not None:
        _inherited_scratch.append(_scratch)
    _scratch = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_scratch)


def scratch_cursor() -> duckdb.DuckDBPyConnection:
    """A new connection (close it) to this process's scratch database: in memory, no file
    access, no extensions, its configuration locked. Made once (a DuckDB database costs
    12-30 ms to open): for parsing SQL and for work on Arrow data a caller registers itself
    (temporary views and registrations belong to the connection, so threads never meet)."""
    global _scratch
    with _scratch_lock:
        if _scratch is None:
            _scratch = duckdb.connect(
                config={
                    "enable_external_access": False,
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                    "lock_configuration": True,
                }
            )
        return _scratch.cursor()


def check_single_select(sql: str) -> str:
    """Return the one statement in ``sql`` if it is a SELECT (or WITH … SELECT), else refuse."""
    if not sql or not sql.strip():
        raise QueryRefused("empty query: give one SELECT statement")
    try:
        # A cursor of its own on the process's scratch database: duckdb's module-level functions
        # share one default connection that threads (TUI workers, MCP calls) would share.
        with scratch_cursor() as parser_connection:
            statements = parser_connection.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"the query does not parse: {exc}") from exc
    if len(statements) != 1:
        raise QueryRefused(
            f"exactly one statement is allowed, got {len(statements)}: send one SELECT at a time"
        )
    (statement,) = statements
    if statement.type != duckdb.StatementType.SELECT:
        kind = statement.type.name
        raise QueryRefused(f"only SELECT queries are allowed, got a {kind} statement")
    return str(statement.query).strip().rstrip(";")


class ReadOnlyCatalog:
    """A read-only DuckDB catalog of the outputs, rebuilt when opened; use as a context manager."""

    def __init__(
        self,
        output_dir: Path,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        quarantine: pa.RecordBatchReader | None = None,
        tables: list[OutputTable] | None = None,
    ) -> None:
        self.output_dir = output_dir.resolve()
        self.timeout_s = timeout_s
        self.tables = list_output_tables(self.output_dir) if tables is None else tables
        self.shared = False
        """A catalog of ``SharedCatalogs``: ``close()`` leaves it open for the next query."""
        taken = {t.name.lower() for t in self.tables}
        self.quarantine_table = ""
        """The table holding the quarantined rows (``quarantine`` unless an output has that
        name, then ``cf_quarantine``), or "" when none was given."""
        if quarantine is not None:
            self.quarantine_table = "quarantine" if "quarantine" not in taken else "cf_quarantine"
        remove_stale_once(CATALOG_PREFIX, _legacy_catalog_gone)
        self._tmp = process_temp_dir(CATALOG_PREFIX)
        try:
            catalog_path = Path(self._tmp.name) / "catalog.duckdb"
            self.con = self._open_locked_catalog(catalog_path, quarantine)
        except BaseException:
            self._tmp.cleanup()  # e.g. an unreadable Parquet file: leave no catalog behind
            raise
        self._sort_lock = threading.Lock()
        self._sorts = _SortedResults(self.con)
        # A catalog nobody closed (a view dropped by the TUI) is closed when it is collected.
        self._closer = weakref.finalize(self, _close_catalog, self._sorts, self.con, self._tmp)

    def _open_locked_catalog(
        self, catalog_path: Path, quarantine: pa.RecordBatchReader | None
    ) -> duckdb.DuckDBPyConnection:
        """Write the views (and a copy of the quarantine), then reopen the catalog read-only
        with file access and config locked."""
        with duckdb.connect(str(catalog_path)) as writer:
            create_views(writer, self.tables)
            if quarantine is not None:
                writer.register("cf_quarantine_rows", quarantine)
                writer.execute(
                    f"CREATE TABLE {quote_identifier(self.quarantine_table)} AS SELECT * REPLACE"
                    " (to_timestamp(created_at)::TIMESTAMP AS created_at) FROM cf_quarantine_rows"
                )
                writer.unregister("cf_quarantine_rows")
        con = duckdb.connect(
            str(catalog_path), read_only=True, config={"memory_limit": CATALOG_MEMORY_LIMIT}
        )
        try:
            confine_to(con, self.output_dir)
        except BaseException:
            con.close()
            raise
        return con

    def query(
        self,
        sql: str,
        limit: int = DEFAULT_ROW_LIMIT,
        byte_budget: int = DEFAULT_BYTE_BUDGET,
    ) -> QueryResult:
        """Run one guarded SELECT; at most ``limit`` rows and ``byte_budget`` bytes return.

        The query may read only the output views (and its own CTEs) and allow-listed table
        functions; it is cancelled after ``timeout_s`` seconds (DuckDB's interrupt).
        """
        table, truncated_reason, notes = self._guarded(check_single_select(sql), limit, byte_budget)
        return QueryResult(
            columns=[{"name": f.name, "type": str(f.type)} for f in table.schema],
            rows=table.to_pylist(),
            row_count=table.num_rows,
            truncated=bool(truncated_reason),
            truncated_reason=truncated_reason,
            notes=notes,
        )

    def open_result(self, sql: str) -> ResultSet:
        """Check one SELECT and learn its columns, for reading its rows window by window.

        Every later count, window and export runs through the same guard as ``query``.
        """
        statement = check_single_select(sql)
        empty = f"SELECT * FROM ({statement}) AS cf_result LIMIT 0"  # DuckDB runs nothing
        schema, _, notes = self._guarded(empty, 0, DEFAULT_BYTE_BUDGET)
        return ResultSet(self, statement, schema.schema, notes)

    def _guarded(
        self, statement: str, limit: int, byte_budget: int
    ) -> tuple[pa.Table, str, list[str]]:
        """The guard every read goes through: sources checked, a private cursor, the time limit,
        BLOBs as hex, at most ``limit`` rows and ``byte_budget`` bytes (and why it was cut)."""
        limit = max(0, min(int(limit), MAX_ROW_LIMIT))
        table, blob_columns = self._arrow(statement, limit + 1)
        return self._bounded(table, blob_columns, limit, byte_budget)

    def _bounded(
        self, table: pa.Table, blob_columns: list[str], limit: int, byte_budget: int
    ) -> tuple[pa.Table, str, list[str]]:
        table, truncated_reason = bound_result(table, limit, byte_budget)
        notes = []
        if blob_columns:
            notes.append(f"BLOB values shown as hex text: {name_list(blob_columns)}")
        return table, truncated_reason, notes

    def _arrow(self, statement: str, most_rows: int) -> tuple[pa.Table, list[str]]:
        """At most ``most_rows`` rows of a checked statement, read under the time limit."""
        cursor = self.con.cursor()  # a connection of its own: each thread reads on its own
        try:
            with self._time_limit(cursor), self._refusals():
                check_sources(cursor, statement, self.table_names)
                return _read_arrow(cursor, statement, most_rows)
        finally:
            cursor.close()

    def _sorted_window(
        self, ordered: str, offset: int, limit: int, byte_budget: int
    ) -> tuple[pa.Table, str, list[str]]:
        """Rows ``offset`` … of a checked, ordered statement, from its materialised result (made
        now, under the guard and the time limit, unless it is kept from an earlier window)."""
        limit = max(0, min(int(limit), MAX_ROW_LIMIT))
        offset = max(0, int(offset))
        with self._sort_lock:
            sorts = self._sorts
            with self._time_limit(sorts.connection), self._refusals():
                name = sorts.find(ordered)
                if name is None:
                    check_sources(sorts.connection, ordered, self.table_names)
                    name = sorts.materialise(ordered)
                rows = (
                    f"SELECT * FROM temp.main.{name}"
                    f" WHERE rowid >= {offset} AND rowid < {offset + limit}"
                )
                table, blob_columns = _read_arrow(sorts.connection, rows, limit + 1)
        return self._bounded(table, blob_columns, limit, byte_budget)

    def _read_checked(
        self, statement: str, read: Callable[[duckdb.DuckDBPyConnection], Any]
    ) -> Any:
        """``read(cursor)``, on a private cursor under the time limit, once ``statement`` (all
        that ``read`` queries) passed the source check; DuckDB's errors as ``QueryRefused``."""
        cursor = self.con.cursor()
        try:
            with self._time_limit(cursor), self._refusals():
                check_sources(cursor, statement, self.table_names)
                return read(cursor)
        finally:
            cursor.close()

    @contextmanager
    def _time_limit(self, cursor: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """Interrupt what ``cursor`` runs after ``timeout_s`` seconds."""
        timer = threading.Timer(self.timeout_s, cursor.interrupt)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _export(self, statement: str, destination: Path) -> int:
        """Every row of a checked statement written to ``destination`` batch by batch, under the
        same guard and time limit (a file the person asked for: no byte budget, BLOBs stay
        binary); returns the rows written."""
        from .export_file import check_destination, write_export

        check_destination(destination)
        cursor = self.con.cursor()
        try:
            with self._time_limit(cursor), self._refusals():
                check_sources(cursor, statement, self.table_names)
                reader = cursor.sql(statement).to_arrow_reader(65_536)
                return write_export(reader, reader.schema, destination)
        finally:
            cursor.close()

    @property
    def table_names(self) -> list[str]:
        """The tables a query may read: the outputs, and the quarantine when it was given."""
        names = [t.name for t in self.tables]
        return [*names, self.quarantine_table] if self.quarantine_table else names

    def column_names(self) -> dict[str, list[str]]:
        """Each table a query may read, with its column names in order (for completion)."""
        cursor = self.con.cursor()
        try:
            rows = cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " ORDER BY table_name, ordinal_position"
            ).fetchall()
        finally:
            cursor.close()
        names: dict[str, list[str]] = {name: [] for name in self.table_names}
        for table, column in rows:
            if table in names:
                names[table].append(column)
        return names

    @contextmanager
    def _refusals(self) -> Iterator[None]:
        """DuckDB's errors and the guard's refusals as one ``QueryRefused`` that says why."""
        try:
            yield
        except SourceRefused as exc:
            raise QueryRefused(str(exc)) from exc
        except duckdb.InterruptException as exc:
            raise QueryRefused(
                f"the query ran for more than {self.timeout_s:g} s and was cancelled "
                "(setting query_timeout_s)"
            ) from exc
        except duckdb.CatalogException as exc:
            first_line = str(exc).splitlines()[0]
            raise QueryRefused(
                f"the query failed: {first_line[:500]} (output tables: "
                f"{name_list(self.table_names, 'none yet: process some files first')})"
            ) from exc
        except duckdb.Error as exc:
            raise QueryRefused(f"the query failed: {str(exc)[:2000]}") from exc

    def close(self) -> None:
        """Close the connection and delete the temporary catalog folder (the kept sorted
        results with it); a shared catalog stays open (``SharedCatalogs`` closes it)."""
        if not self.shared:
            self._closer()

    def __enter__(self) -> ReadOnlyCatalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SharedCatalogs:
    """One home's catalogs, shared by its queries: one with a copy of the quarantined rows and
    one without, each made again only when the output tables changed (a table added or gone) or,
    for the first, when the quarantine changed (``changes``, one key read) — so the quarantine
    is copied once, not for every query. A catalog replaced stays open for the results still read
    from it and is closed once nothing refers to it; ``close`` closes the current ones.
    """

    def __init__(
        self,
        output_dir: Path,
        timeout_s: float,
        changes: Callable[[], int],
        quarantine: Callable[[], pa.RecordBatchReader],
    ) -> None:
        self.output_dir = output_dir
        self.timeout_s = timeout_s
        self._changes = changes
        self._quarantine = quarantine
        self._current: dict[bool, tuple[tuple[Any, ...], ReadOnlyCatalog]] = {}
        self._lock = threading.Lock()

    def get(self, with_quarantine: bool) -> ReadOnlyCatalog:
        """The current catalog (with or without the quarantine), made now if something changed."""
        tables = list_output_tables(self.output_dir.resolve())
        key: tuple[Any, ...] = tuple((t.name, str(t.directory)) for t in tables)
        with self._lock:
            if with_quarantine:
                key += (self._changes(),)  # read before the copy: a later change makes a new one
            found = self._current.get(with_quarantine)
            if found is not None and found[0] == key:
                return found[1]
            rows = self._quarantine() if with_quarantine else None
            catalog = ReadOnlyCatalog(self.output_dir, self.timeout_s, rows, tables)
            catalog.shared = True
            self._current[with_quarantine] = (key, catalog)
            return catalog

    def close(self) -> None:
        with self._lock:
            for _, catalog in self._current.values():
                catalog._closer()
            self._current.clear()


SortOrder = Sequence[tuple[int, bool]]
"""(column index, descending) pairs, the first deciding most."""


class ResultSet:
    """One checked SELECT, read in windows: its row count, any window of rows (maybe sorted by
    a column) and an export, each through ``ReadOnlyCatalog``'s guard.

    A sorted window breaks ties on every column, so windows read one after another agree.
    """

    def __init__(
        self, catalog: ReadOnlyCatalog, statement: str, schema: pa.Schema, notes: list[str]
    ) -> None:
        self.catalog = catalog
        self.statement = statement
        self.schema = schema
        self.notes = notes

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def _ordered(self, order: SortOrder) -> str:
        sql = f"SELECT * FROM ({self.statement}) AS cf_result"
        if order:
            count = len(self.schema)
            keys = [f"{int(i) + 1} {'DESC' if down else 'ASC'}" for i, down in order]
            keys += [str(i + 1) for i in range(count) if i not in {int(i) for i, _ in order}]
            sql += " ORDER BY " + ", ".join(keys)
        return sql

    def row_count(self) -> int:
        """How many rows the query gives (DuckDB counts; nothing is fetched)."""
        sql = f"SELECT count(*) AS n FROM ({self.statement}) AS cf_result"
        table, _, _ = self.catalog._guarded(sql, 1, DEFAULT_BYTE_BUDGET)
        return int(table.column("n")[0].as_py())

    def window(
        self, offset: int, limit: int, order: SortOrder = (), byte_budget: int = DEFAULT_BYTE_BUDGET
    ) -> ResultWindow:
        """Rows ``offset`` … ``offset + limit - 1`` (fewer when the byte budget cuts them).

        Sorted, a window ending within ``TOP_N_ROWS`` rows is read by DuckDB's top-N; a deeper
        one from the result sorted once in that order (see the module's notes).
        """
        offset, limit = max(0, int(offset)), max(0, int(limit))
        if order and offset + limit > TOP_N_ROWS:
            rows, truncated_reason, _ = self.catalog._sorted_window(
                self._ordered(order), offset, limit, byte_budget
            )
            if rows.num_columns == len(self.schema):  # the result's names, even repeated ones
                rows = rows.rename_columns(self.schema.names)
            return ResultWindow(offset, rows, truncated_reason)
        sql = self._ordered(order) + f" LIMIT {limit} OFFSET {offset}"
        rows, truncated_reason, _ = self.catalog._guarded(sql, limit, byte_budget)
        return ResultWindow(offset, rows, truncated_reason)

    def export(self, destination: Path, order: SortOrder = ()) -> int:
        """Write every row (in ``order``) to a .parquet or .csv file atomically; rows written."""
        return self.catalog._export(self._ordered(order), destination)

    @property
    def rows_sql(self) -> str:
        """The result's rows as a SELECT over its own column names (repeated names made unique
        by DuckDB, as the grid shows them): what its stats and histograms read."""
        return f"SELECT * FROM ({self.statement}) AS cf_result"

    def column_stats(self, sample_percent: float | None = None) -> pa.Table:
        """Per column of the result, the figures Inspect shows for a table (``column_name``,
        ``column_type``, ``min``, ``max``, ``approx_unique``, ``count``, ``null_percentage``;
        see ``inspect.column_figures``), computed by DuckDB on the result in one scan through
        the guard, maybe on a ``sample_percent`` sample of whole vectors of its rows (DuckDB's
        ``system`` sampling: a result has no row groups to pick)."""
        from .inspect import column_figures

        source = self.rows_sql
        if sample_percent is not None:
            source += f" USING SAMPLE {float(sample_percent)} PERCENT (system)"
        return self.catalog._read_checked(source, lambda cursor: column_figures(cursor, source))

    def histogram(self, column: str, bins: int = 12) -> pa.Table:
        """Value counts of one column of the result, read through the guard (see
        ``inspect.histogram_of``); each bucket's ``filter`` reads ``rows_sql``'s columns."""
        from .inspect import histogram_of

        def run(sql: str) -> pa.Table:
            return self.catalog._guarded(sql, MAX_ROW_LIMIT, DEFAULT_BYTE_BUDGET)[0]

        if column not in self.schema.names:
            raise QueryRefused(f"the result has no column {column!r}")
        return histogram_of(run, self.rows_sql, column, bins)


@dataclass(frozen=True)
class ResultWindow:
    """Consecutive rows of a result from ``offset``; why fewer came than were asked for."""

    offset: int
    rows: pa.Table
    truncated_reason: str


def _read_arrow(
    cursor: duckdb.DuckDBPyConnection, statement: str, most_rows: int
) -> tuple[pa.Table, list[str]]:
    """At most ``most_rows`` rows of ``statement`` (BLOBs as hex) and the BLOB columns' names."""
    relation, blob_columns = hex_blobs(cursor.sql(statement))
    reader = relation.to_arrow_reader(max(1, min(most_rows, 2048)))
    batches: list[pa.RecordBatch] = []
    taken = 0
    for batch in reader:
        if taken >= most_rows:
            break
        batches.append(batch)
        taken += batch.num_rows
    schema = reader.schema
    reader.close()
    return pa.Table.from_batches(batches, schema=schema).slice(0, most_rows), blob_columns


class _SortedResults:
    """Results materialised in a sort order, as temporary tables of one connection of the
    catalog (temporary tables belong to the connection that made them); the
    ``SORTED_RESULTS_KEPT`` most recently used are kept. The caller holds the catalog's lock."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._tables: OrderedDict[str, str] = OrderedDict()
        self._made = 0

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            self._connection = self._con.cursor()
        return self._connection

    def find(self, ordered: str) -> str | None:
        """The table holding ``ordered``'s result, if it is kept."""
        name = self._tables.get(ordered)
        if name is not None:
            self._tables.move_to_end(ordered)
        return name

    def materialise(self, ordered: str) -> str:
        """Make the table of ``ordered``'s rows in order (row id = position), dropping the
        oldest kept ones first so at most ``SORTED_RESULTS_KEPT`` exist."""
        while len(self._tables) >= SORTED_RESULTS_KEPT:
            _, oldest = self._tables.popitem(last=False)
            self.connection.execute(f"DROP TABLE IF EXISTS temp.main.{oldest}")
        self._made += 1
        name = f"cf_sorted_{self._made}"
        # Insertion order is kept (the setting is on and locked), so row ids follow the sort.
        self.connection.execute(f"CREATE TEMP TABLE {name} AS {ordered}")
        self._tables[ordered] = name
        return name

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._tables.clear()


def _close_catalog(
    sorts: _SortedResults, con: duckdb.DuckDBPyConnection, folder: tempfile.TemporaryDirectory[str]
) -> None:
    sorts.close()
    con.close()
    folder.cleanup()


# --- catalogs of processes that are gone ------------------------------------------------------
_LEGACY_NAME = re.compile(re.escape(CATALOG_PREFIX) + r"[A-Za-z0-9_]{8}")


def _legacy_catalog_gone(folder: Path, name: str) -> bool:
    """Whether a catalog folder named without its process (made before folders named one) is
    stale: old, and no process holds its database."""
    if not _LEGACY_NAME.fullmatch(name):
        return False
    # Made before folders named their process: gone when old and no process holds the database.
    database = folder / "catalog.duckdb"
    try:
        age = time.time() - (database if database.exists() else folder).stat().st_mtime
        if age < STALE_LEGACY_AGE_S:
            return False
        if not database.exists():
            return True
        handle = os.open(database, os.O_RDWR)
    except OSError:
        return False
    import fcntl  # POSIX only, like the rest of this check

    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # DuckDB locks its open databases
    except OSError:
        return False
    finally:
        os.close(handle)
    return True


def remove_stale_catalogs(root: Path | None = None) -> list[Path]:
    """Remove the catalog folders under ``root`` (the temporary folder) that this user's
    processes left behind when they were killed (``process_temp.remove_stale``; a folder named
    without its process when ``_legacy_catalog_gone``). Returns the folders removed."""
    return remove_stale(CATALOG_PREFIX, root, _legacy_catalog_gone)
