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
row budget and a byte budget that holds for a single row; BLOBs come back as hex text.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .errors import CasparianError
from .query_guard import SourceRefused, bound_result, check_sources, hex_blobs, name_list
from .sql_quoting import quote_identifier, quote_literal

DEFAULT_ROW_LIMIT = 1_000
MAX_ROW_LIMIT = 10_000
DEFAULT_BYTE_BUDGET = 1024 * 1024  # about what an AI client can take in one answer
DEFAULT_TIMEOUT_S = 30.0


class QueryRefused(CasparianError, ValueError):
    """The SQL is not a single read-only query over the outputs; the message says why."""


@dataclass(frozen=True)
class OutputTable:
    """One queryable output: its view name, the parser and output it came from, and its files."""

    name: str
    parser_name: str
    output_name: str
    directory: Path
    file_count: int


@dataclass(frozen=True)
class QueryResult:
    """The rows of one guarded query, with column names and types, and why it was cut short."""

    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
    row_count: int
    truncated: bool
    truncated_reason: str
    notes: list[str] = field(default_factory=list)


def list_output_tables(output_dir: Path) -> list[OutputTable]:
    """Every ``<parser>/<output>`` folder holding at least one committed Parquet file."""
    found: list[tuple[str, str, Path, int]] = []
    if not output_dir.is_dir():
        return []
    for parser_dir in sorted(p for p in output_dir.iterdir() if p.is_dir()):
        if parser_dir.name.startswith("."):
            continue
        for output_path in sorted(p for p in parser_dir.iterdir() if p.is_dir()):
            if output_path.name.startswith("."):
                continue
            files = [f for f in output_path.glob("*.parquet") if not f.name.startswith(".")]
            if files:
                found.append((parser_dir.name, output_path.name, output_path, len(files)))
    output_counts: dict[str, int] = {}
    for _, output_name, _, _ in found:
        output_counts[output_name] = output_counts.get(output_name, 0) + 1
    return [
        OutputTable(
            name=output if output_counts[output] == 1 else f"{parser}__{output}",
            parser_name=parser,
            output_name=output,
            directory=directory,
            file_count=count,
        )
        for parser, output, directory, count in found
    ]


def create_views(con: duckdb.DuckDBPyConnection, tables: list[OutputTable]) -> None:
    """Create one view per output table on ``con``."""
    for table in tables:
        pattern = str(table.directory / "*.parquet")
        con.execute(
            f"CREATE OR REPLACE VIEW {quote_identifier(table.name)} AS "
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


def check_single_select(sql: str) -> str:
    """Return the one statement in ``sql`` if it is a SELECT (or WITH … SELECT), else refuse."""
    if not sql or not sql.strip():
        raise QueryRefused("empty query: give one SELECT statement")
    try:
        # A private connection: duckdb's module-level functions share one default connection
        # per process, which threads (TUI workers, MCP calls) would use at the same time.
        with duckdb.connect() as parser_connection:
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
    ) -> None:
        self.output_dir = output_dir.resolve()
        self.timeout_s = timeout_s
        self.tables = list_output_tables(self.output_dir)
        taken = {t.name.lower() for t in self.tables}
        self.quarantine_table = ""
        """The table holding the quarantined rows (``quarantine`` unless an output has that
        name, then ``cf_quarantine``), or "" when none was given."""
        if quarantine is not None:
            self.quarantine_table = "quarantine" if "quarantine" not in taken else "cf_quarantine"
        self._tmp = tempfile.TemporaryDirectory(prefix="casparian-catalog-")
        try:
            catalog_path = Path(self._tmp.name) / "catalog.duckdb"
            self.con = self._open_locked_catalog(catalog_path, quarantine)
        except BaseException:
            self._tmp.cleanup()  # e.g. an unreadable Parquet file: leave no catalog behind
            raise

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
        con = duckdb.connect(str(catalog_path), read_only=True)
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
        table, truncated_reason = bound_result(table, limit, byte_budget)
        notes = []
        if blob_columns:
            notes.append(f"BLOB values shown as hex text: {name_list(blob_columns)}")
        return table, truncated_reason, notes

    def _arrow(self, statement: str, most_rows: int) -> tuple[pa.Table, list[str]]:
        """At most ``most_rows`` rows of a checked statement, read under the time limit."""
        cursor = self.con.cursor()  # a connection of its own: each thread reads on its own
        timer = threading.Timer(self.timeout_s, cursor.interrupt)
        timer.daemon = True
        timer.start()
        try:
            with self._refusals():
                check_sources(cursor, statement, self.table_names)
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
        finally:
            timer.cancel()
            cursor.close()
        return pa.Table.from_batches(batches, schema=schema).slice(0, most_rows), blob_columns

    def _export(self, statement: str, destination: Path) -> int:
        """Every row of a checked statement written to ``destination`` batch by batch, under the
        same guard and time limit (a file the person asked for: no byte budget, BLOBs stay
        binary); returns the rows written."""
        from .export_file import check_destination, write_export

        check_destination(destination)
        cursor = self.con.cursor()
        timer = threading.Timer(self.timeout_s, cursor.interrupt)
        timer.daemon = True
        timer.start()
        try:
            with self._refusals():
                check_sources(cursor, statement, self.table_names)
                reader = cursor.sql(statement).to_arrow_reader(65_536)
                return write_export(reader, reader.schema, destination)
        finally:
            timer.cancel()
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
        """Close the connection and delete the temporary catalog file."""
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> ReadOnlyCatalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
        """Rows ``offset`` … ``offset + limit - 1`` (fewer when the byte budget cuts them)."""
        sql = self._ordered(order) + f" LIMIT {max(0, int(limit))} OFFSET {max(0, int(offset))}"
        rows, truncated_reason, _ = self.catalog._guarded(sql, limit, byte_budget)
        return ResultWindow(int(offset), rows, truncated_reason)

    def export(self, destination: Path, order: SortOrder = ()) -> int:
        """Write every row (in ``order``) to a .parquet or .csv file atomically; rows written."""
        return self.catalog._export(self._ordered(order), destination)


@dataclass(frozen=True)
class ResultWindow:
    """Consecutive rows of a result from ``offset``; why fewer came than were asked for."""

    offset: int
    rows: pa.Table
    truncated_reason: str
