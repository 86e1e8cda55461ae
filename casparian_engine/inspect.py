"""Inspect the outputs: column stats, histograms, paged rows, SQL-predicate filters and exports.

Each call opens a private in-memory DuckDB catalog with one view per output table (see
``catalog``), so calls from several threads never share a connection. Rows come back as Arrow;
nothing is loaded whole: pages are ``LIMIT/OFFSET`` windows and exports stream batch by batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .catalog import (
    OutputTable,
    QueryRefused,
    check_single_select,
    confine_to,
    create_views,
    list_output_tables,
    quote_identifier,
)

EXPORT_FORMATS = ("parquet", "csv")
DEFAULT_SAMPLE_PERCENT = 1.0
SAMPLE_ABOVE_ROWS = 1_000_000


class InspectError(ValueError):
    """A table, column, filter or export request is wrong; the message names which and why."""


@dataclass(frozen=True)
class TableSummary:
    """An output table with its row count (read from Parquet footers, not by scanning)."""

    name: str
    parser_name: str
    output_name: str
    file_count: int
    row_count: int


class OutputInspector:
    """Read-only views over ``<output_dir>/<parser>/<output>/*.parquet`` for the Inspect mode."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir

    def _tables(self) -> dict[str, OutputTable]:
        return {t.name: t for t in list_output_tables(self.output_dir)}

    def tables(self) -> list[TableSummary]:
        """Every output table and its row count."""
        summaries = []
        for table in self._tables().values():
            files = sorted(table.directory.glob("*.parquet"))
            rows = sum(pq.read_metadata(f).num_rows for f in files)
            summaries.append(
                TableSummary(
                    table.name, table.parser_name, table.output_name, table.file_count, rows
                )
            )
        return summaries

    def _connect(self, table: str) -> duckdb.DuckDBPyConnection:
        tables = self._tables()
        if table not in tables:
            known = ", ".join(sorted(tables)) or "none yet"
            raise InspectError(f"no output table named {table!r} (tables: {known})")
        con = duckdb.connect(":memory:")
        try:
            create_views(con, [tables[table]])
            # A filter is SQL typed by a person: it may read the outputs, nothing else.
            confine_to(con, self.output_dir.resolve())
        except BaseException:
            con.close()
            raise
        return con

    def _select(self, table: str, predicate: str, columns: str = "*") -> str:
        """``SELECT … FROM table [WHERE (predicate)]``, refusing anything but one SELECT."""
        sql = f"SELECT {columns} FROM {quote_identifier(table)}"
        if predicate.strip():
            sql += f" WHERE ({predicate})"
        try:
            return check_single_select(sql)
        except QueryRefused as exc:
            raise InspectError(f"filter {predicate!r} on {table}: {exc}") from exc

    def _run(self, table: str, sql: str, predicate: str) -> pa.Table:
        with self._connect(table) as con:
            try:
                return con.sql(sql).to_arrow_table()
            except duckdb.Error as exc:
                where = f"filter {predicate!r} on {table}" if predicate.strip() else table
                first_line = str(exc).splitlines()[0]
                raise InspectError(f"{where}: {first_line}") from exc

    def row_count(self, table: str, predicate: str = "") -> int:
        """How many rows the (filtered) table has."""
        result = self._run(table, self._select(table, predicate, "count(*) AS n"), predicate)
        return int(result.column("n")[0].as_py())

    def column_stats(
        self, table: str, predicate: str = "", sample_percent: float | None = None
    ) -> pa.Table:
        """DuckDB ``SUMMARIZE``: type, min, max, distinct and null % per column (maybe sampled)."""
        source = self._select(table, predicate)
        if sample_percent is not None:
            source += f" USING SAMPLE {float(sample_percent)} PERCENT (bernoulli)"
        return self._run(table, f"SUMMARIZE {source}", predicate)

    def histogram(self, table: str, column: str, predicate: str = "", bins: int = 12) -> pa.Table:
        """Value counts of one column: equal-width bins for numbers, top values otherwise."""
        if not column:
            raise InspectError(f"{table}: no column given for the histogram")
        quoted = quote_identifier(column)
        probe = self._run(table, f"SELECT {quoted} FROM {quote_identifier(table)} LIMIT 0", "")
        value_type = probe.schema.field(0).type
        numeric = pa.types.is_integer(value_type) or pa.types.is_floating(value_type)
        numeric = numeric or pa.types.is_decimal(value_type)
        filtered = self._select(table, predicate)
        if numeric:
            sql = (
                f"WITH v AS (SELECT {quoted}::DOUBLE AS x FROM ({filtered})"
                f" WHERE {quoted} IS NOT NULL),"
                " r AS (SELECT min(x) AS lo, max(x) AS hi FROM v),"
                f" b AS (SELECT least(CAST(floor((x - lo) / greatest((hi - lo) / {bins}, 1e-300))"
                f" AS BIGINT), {bins - 1}) AS i, lo, hi FROM v, r)"
                f" SELECT printf('%.6g – %.6g', lo + i * (hi - lo) / {bins},"
                f" lo + (i + 1) * (hi - lo) / {bins}) AS bucket, count(*) AS count"
                " FROM b GROUP BY i, lo, hi ORDER BY i"
            )
        else:
            sql = (
                f"SELECT coalesce({quoted}::VARCHAR, '∅ null') AS bucket, count(*) AS count"
                f" FROM ({filtered}) GROUP BY 1 ORDER BY count DESC, bucket LIMIT {bins}"
            )
        return self._run(table, sql, predicate)

    def rows(self, table: str, offset: int = 0, limit: int = 100, predicate: str = "") -> pa.Table:
        """One window of the (filtered) table, in file order, as Arrow."""
        sql = self._select(table, predicate) + f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return self._run(table, sql, predicate)

    def export(self, table: str, destination: Path, predicate: str = "") -> int:
        """Write the (filtered) view to a .parquet or .csv file atomically; returns rows written."""
        fmt = destination.suffix.lower().lstrip(".")
        if fmt not in EXPORT_FORMATS:
            raise InspectError(
                f"cannot export to {destination}: the name must end in .parquet or .csv"
            )
        if not destination.parent.is_dir():
            raise InspectError(f"cannot export to {destination}: folder does not exist")
        staging = destination.with_name(f".{destination.name}.partial")
        written = 0
        with self._connect(table) as con:
            try:
                reader = con.sql(self._select(table, predicate)).to_arrow_reader(65_536)
            except duckdb.Error as exc:
                raise InspectError(f"filter {predicate!r} on {table}: {exc}") from exc
            writer: pq.ParquetWriter | pacsv.CSVWriter
            if fmt == "parquet":
                writer = pq.ParquetWriter(staging, reader.schema)
            else:
                writer = pacsv.CSVWriter(staging, reader.schema)
            try:
                for batch in reader:
                    writer.write_batch(batch)
                    written += batch.num_rows
            except BaseException:
                writer.close()
                staging.unlink(missing_ok=True)
                raise
            writer.close()
        os.replace(staging, destination)
        return written
