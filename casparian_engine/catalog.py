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

    def __init__(self, output_dir: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.output_dir = output_dir.resolve()
        self.timeout_s = timeout_s
        self.tables = list_output_tables(self.output_dir)
        self._tmp = tempfile.TemporaryDirectory(prefix="casparian-catalog-")
        try:
            self.con = self._open_locked_catalog(Path(self._tmp.name) / "catalog.duckdb")
        except BaseException:
            self._tmp.cleanup()  # e.g. an unreadable Parquet file: leave no catalog behind
            raise

    def _open_locked_catalog(self, catalog_path: Path) -> duckdb.DuckDBPyConnection:
        """Write the views, then reopen the catalog read-only with file access and config locked."""
        with duckdb.connect(str(catalog_path)) as writer:
            create_views(writer, self.tables)
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
        statement = check_single_select(sql)
        limit = max(1, min(int(limit), MAX_ROW_LIMIT))
        timer = threading.Timer(self.timeout_s, self.con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            check_sources(self.con, statement, [t.name for t in self.tables])
            relation, blob_columns = hex_blobs(self.con.sql(statement))
            reader = relation.to_arrow_reader(min(limit + 1, 2048))
            batches: list[pa.RecordBatch] = []
            taken = 0
            for batch in reader:
                batches.append(batch)
                taken += batch.num_rows
                if taken > limit:
                    break
            schema = reader.schema
            reader.close()
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
                f"{name_list([t.name for t in self.tables], 'none yet: process some files first')})"
            ) from exc
        except duckdb.Error as exc:
            raise QueryRefused(f"the query failed: {str(exc)[:2000]}") from exc
        finally:
            timer.cancel()
        table, truncated_reason = bound_result(
            pa.Table.from_batches(batches, schema=schema), limit, byte_budget
        )
        notes = []
        if blob_columns:
            notes.append(f"BLOB values shown as hex text: {name_list(blob_columns)}")
        return QueryResult(
            columns=[{"name": f.name, "type": str(f.type)} for f in table.schema],
            rows=table.to_pylist(),
            row_count=table.num_rows,
            truncated=bool(truncated_reason),
            truncated_reason=truncated_reason,
            notes=notes,
        )

    def close(self) -> None:
        """Close the connection and delete the temporary catalog file."""
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> ReadOnlyCatalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
