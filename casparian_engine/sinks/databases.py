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


class SQLiteSink:
    """Tables in a SQLite file; the whole run is one transaction."""

    def __init__(self, path: Path, *, overwrite: bool = False, append: bool = False) -> None:
        self.path = path.expanduser().resolve()
        self.uri = f"sqlite://{self.path}"
        self.overwrite = overwrite
        self.append = append
        self._schemas: dict[str, pa.Schema] = {}
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._connection.execute("BEGIN IMMEDIATE")
        return self._connection

    def target(self, output: str) -> str:
        return f"{self.path}#{check_output_name(output)}"

    def exists(self, output: str) -> bool:
        if not self.path.exists():
            return False
        connection = self._connection or sqlite3.connect(self.path)
        try:
            row = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (output,)
            ).fetchone()
        finally:
            if connection is not self._connection:
                connection.close()
        return row is not None

    def write(self, output: str, table: pa.Table) -> None:
        expected = self._schemas.get(output)
        if expected is None:
            check_output_name(output)
            existed = self.exists(output)
            if existed and not (self.overwrite or self.append):
                raise OutputExistsError(
                    f"output {output!r} already exists at {self.target(output)}; "
                    "use --force to replace it"
                )
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

    def commit(self) -> dict[str, str]:
        if self._connection is not None:
            self._connection.execute("COMMIT")
            self._connection.close()
            self._connection = None
        return {output: self.target(output) for output in self._schemas}

    def abort(self) -> None:
        if self._connection is not None:
            self._connection.execute("ROLLBACK")
            self._connection.close()
            self._connection = None


class DuckDBSink:
    """Tables in a DuckDB file; the whole run is one transaction."""

    def __init__(self, path: Path, *, overwrite: bool = False, append: bool = False) -> None:
        self.path = path.expanduser().resolve()
        self.uri = f"duckdb://{self.path}"
        self.overwrite = overwrite
        self.append = append
        self._schemas: dict[str, pa.Schema] = {}
        self._connection: Any = None

    def _connect(self) -> Any:
        import duckdb

        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = duckdb.connect(str(self.path))
            self._connection.begin()
        return self._connection

    def target(self, output: str) -> str:
        return f"{self.path}#{check_output_name(output)}"

    def exists(self, output: str) -> bool:
        import duckdb

        if not self.path.exists():
            return False
        connection = self._connection or duckdb.connect(str(self.path))
        try:
            row = connection.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [output]
            ).fetchone()
        finally:
            if connection is not self._connection:
                connection.close()
        return row is not None

    def write(self, output: str, table: pa.Table) -> None:
        expected = self._schemas.get(output)
        connection = None
        if expected is None:
            check_output_name(output)
            existed = self.exists(output)
            if existed and not (self.overwrite or self.append):
                raise OutputExistsError(
                    f"output {output!r} already exists at {self.target(output)}; "
                    "use --force to replace it"
                )
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

    def commit(self) -> dict[str, str]:
        if self._connection is not None:
            self._connection.commit()
            self._connection.close()
            self._connection = None
        return {output: self.target(output) for output in self._schemas}

    def abort(self) -> None:
        if self._connection is not None:
            self._connection.rollback()
            self._connection.close()
            self._connection = None
