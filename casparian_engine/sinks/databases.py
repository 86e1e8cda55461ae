"""SQLite (``sqlite://FILE``) and DuckDB (``duckdb://FILE``) sinks: one table per output, written
inside one transaction that commits only at ``commit()`` — a crash leaves the file as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..sql_quoting import quote_identifier
from . import OutputExistsError, SinkError, check_output_name, check_same_schema


def _sqlite_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        return "INTEGER"
    if pa.types.is_floating(arrow_type):
        return "REAL"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "BLOB"
    return "TEXT"


def _sqlite_column(column: pa.ChunkedArray) -> list[Any]:
    """Values SQLite can bind: numbers, text, bytes; dates, times, decimals become ISO text."""
    kind = column.type
    plain = (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )
    if not plain:
        column = pc.cast(column, pa.string())
    values: list[Any] = column.to_pylist()
    return values


class _DatabaseFileSink:
    """What the SQLite and DuckDB sinks share: one database file, one transaction for the run,
    and an output's table checked (exists? may it be replaced or appended to?) on its first
    write."""

    scheme = ""
    _TABLE_EXISTS_SQL = ""

    def __init__(self, path: Path, *, overwrite: bool = False, append: bool = False) -> None:
        self.path = path.expanduser().resolve()
        self.uri = f"{self.scheme}://{self.path}"
        self.overwrite = overwrite
        self.append = append
        self._schemas: dict[str, pa.Schema] = {}
        self._connection: Any = None

    def _open(self) -> Any:
        """A new connection to the file. A hook: the SQLite and DuckDB sinks each open their
        own kind; reaching this one is a programming error."""
        raise NotImplementedError(f"{type(self).__name__} must define _open")

    def target(self, output: str) -> str:
        return f"{self.path}#{check_output_name(output)}"

    def exists(self, output: str) -> bool:
        if not self.path.exists():
            return False
        connection = self._connection or self._open()
        try:
            row = connection.execute(self._TABLE_EXISTS_SQL, [output]).fetchone()
        finally:
            if connection is not self._connection:
                connection.close()
        return row is not None

    def _first_write(self, output: str) -> bool:
        """Check that ``output`` may be written (a valid name; an existing table only with
        overwrite or append); whether its table exists already."""
        check_output_name(output)
        existed = self.exists(output)
        if existed and not (self.overwrite or self.append):
            raise OutputExistsError(
                f"output {output!r} already exists at {self.target(output)}; "
                "use --force to replace it"
            )
        return existed

    def _close(self, statement: str) -> None:
        """End the run's transaction with ``statement`` (COMMIT or ROLLBACK) and close."""
        if self._connection is not None:
            self._connection.execute(statement)
            self._connection.close()
            self._connection = None

    def commit(self) -> dict[str, str]:
        self._close("COMMIT")
        return {output: self.target(output) for output in self._schemas}

    def abort(self) -> None:
        self._close("ROLLBACK")


class SQLiteSink(_DatabaseFileSink):
    """Tables in a SQLite file; the whole run is one transaction."""

    scheme = "sqlite"
    _TABLE_EXISTS_SQL = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"

    def _open(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._connection.execute("BEGIN IMMEDIATE")
        connection: sqlite3.Connection = self._connection
        return connection

    def write(self, output: str, table: pa.Table) -> None:
        expected = self._schemas.get(output)
        if expected is None:
            existed = self._first_write(output)
            connection = self._connect()
            if existed and self.overwrite:
                connection.execute(f"DROP TABLE {quote_identifier(output)}")
            columns = ", ".join(
                f"{quote_identifier(f.name)} {_sqlite_type(f.type)}" for f in table.schema
            )
            connection.execute(f"CREATE TABLE IF NOT EXISTS {quote_identifier(output)} ({columns})")
            self._schemas[output] = table.schema
        else:
            check_same_schema(output, expected, table.schema)
        if table.num_rows == 0:
            return
        placeholders = ", ".join("?" for _ in table.schema)
        rows = zip(*(_sqlite_column(column) for column in table.columns), strict=True)
        try:
            self._connect().executemany(
                f"INSERT INTO {quote_identifier(output)} VALUES ({placeholders})", rows
            )
        except sqlite3.Error as exc:
            raise SinkError(f"{self.target(output)}: {exc}") from exc


class DuckDBSink(_DatabaseFileSink):
    """Tables in a DuckDB file; the whole run is one transaction."""

    scheme = "duckdb"
    _TABLE_EXISTS_SQL = "SELECT 1 FROM information_schema.tables WHERE table_name = ?"

    def _open(self) -> Any:
        import duckdb

        return duckdb.connect(str(self.path))

    def _connect(self) -> Any:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = self._open()
            self._connection.begin()
        return self._connection

    def write(self, output: str, table: pa.Table) -> None:
        expected = self._schemas.get(output)
        if expected is None:
            existed = self._first_write(output)
            connection = self._connect()
            connection.register("cf_incoming", table)
            if existed and self.overwrite:
                connection.execute(f"DROP TABLE {quote_identifier(output)}")
            if not existed or self.overwrite:
                connection.execute(
                    f"CREATE TABLE {quote_identifier(output)} AS SELECT * FROM cf_incoming LIMIT 0"
                )
            connection.unregister("cf_incoming")
            self._schemas[output] = table.schema
        else:
            check_same_schema(output, expected, table.schema)
        connection = self._connect()
        connection.register("cf_incoming", table)
        try:
            connection.execute(f"INSERT INTO {quote_identifier(output)} SELECT * FROM cf_incoming")
        except Exception as exc:
            raise SinkError(f"{self.target(output)}: {exc}") from exc
        finally:
            connection.unregister("cf_incoming")
