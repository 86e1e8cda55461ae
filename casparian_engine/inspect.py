"""Inspect the outputs: column stats, histograms (each bin with its filter), row counts and
SQL-predicate filters; anomalies.

Each call opens a private in-memory DuckDB catalog with one view per output table (see
``catalog``), so calls from several threads never share a connection. A table's rows, sorted
windows and exports go through the guarded catalog (``ReadOnlyCatalog.open_result``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import CasparianError

if TYPE_CHECKING:
    from .anomalies import Anomaly

from .catalog import (
    OutputTable,
    QueryRefused,
    check_single_select,
    confine_to,
    create_views,
    list_output_tables,
)
from .sql_quoting import quote_identifier, quote_literal

DEFAULT_SAMPLE_PERCENT = 1.0
SAMPLE_ABOVE_ROWS = 1_000_000


BINNED_VALUE = {
    "integer": "{}",
    "float": "{}::DOUBLE",
    "date": "({} - DATE '1970-01-01')",  # whole days since 1970, binned like integers
    "timestamp": "{}::TIMESTAMP",
    "timestamp_tz": "timezone('UTC', {})",  # bins in UTC, whatever the session's zone
}
"""The SQL each binned kind of column is counted as (``{}`` is the quoted column)."""
EPOCH_DAY = date(1970, 1, 1).toordinal()


def binned_kind(value_type: pa.DataType) -> str | None:
    """Which kind of bins a column's values fall into, or None for a top-values list."""
    if pa.types.is_integer(value_type):
        return "integer"
    if pa.types.is_floating(value_type) or pa.types.is_decimal(value_type):
        return "float"
    if pa.types.is_date(value_type):
        return "date"
    if pa.types.is_timestamp(value_type):
        return "timestamp_tz" if value_type.tz else "timestamp"
    return None


def bin_labels(kind: str, lowest: Any, edges: list[Any], highest: Any = None) -> list[str]:
    """One label per histogram bin; bin i holds the values above edge i-1 up to edge i."""
    if not edges:
        return []
    if kind in ("integer", "date"):
        # both ends are values a bin can hold, so the last bin ends at the highest value,
        # not at the round edge past it ('46 – 48', not '46 – 50')
        edges = [*edges[:-1], min(edges[-1], highest)] if highest is not None else edges
        starts = [lowest] + [edge + 1 for edge in edges[:-1]]
        whole: Callable[[Any], str] = str if kind == "integer" else _day
        return [
            whole(end) if start >= end else f"{whole(start)} – {whole(end)}"
            for start, end in zip(starts, edges, strict=True)
        ]
    show: Callable[[Any], str] = _number if kind == "float" else _time_format(edges)
    if len(edges) == 1 and lowest == edges[0]:
        return [show(lowest)]  # one value only
    labels = [f"[{show(lowest)}, {show(edges[0])}]"]
    labels += [f"({show(low)}, {show(high)}]" for low, high in zip(edges, edges[1:], strict=False)]
    return labels


def bin_filters(
    kind: str, value: str, lowest: Any, edges: list[Any], highest: Any = None
) -> list[str]:
    """One SQL predicate per bin of ``bin_labels`` (same bins, same order): the rows a bin
    counted. ``value`` is the SQL the bins were counted over (``BINNED_VALUE``; for dates the
    quoted column, compared with dates)."""
    if not edges:
        return []
    if kind in ("integer", "date"):
        edges = [*edges[:-1], min(edges[-1], highest)] if highest is not None else edges
        starts = [lowest] + [edge + 1 for edge in edges[:-1]]
        literal: Callable[[Any], str] = str if kind == "integer" else _date_literal
        return [
            f"{value} = {literal(end)}" if start >= end
            else f"{value} BETWEEN {literal(start)} AND {literal(end)}"
            for start, end in zip(starts, edges, strict=True)
        ]  # fmt: skip
    literal = _float_literal if kind == "float" else _timestamp_literal
    if len(edges) == 1 and lowest == edges[0]:
        return [f"{value} = {literal(lowest)}"]
    filters = [f"{value} >= {literal(lowest)} AND {value} <= {literal(edges[0])}"]
    filters += [
        f"{value} > {literal(low)} AND {value} <= {literal(high)}"
        for low, high in zip(edges, edges[1:], strict=False)
    ]
    return filters


def _date_literal(days_since_epoch: int) -> str:
    return f"DATE '{_day(days_since_epoch)}'"


def _float_literal(number: float) -> str:
    return repr(float(number))  # round-trips exactly: the bin edge DuckDB counted with


def _timestamp_literal(stamp: datetime) -> str:
    return f"TIMESTAMP '{stamp.replace(tzinfo=None).isoformat(sep=' ')}'"


def _day(days_since_epoch: int) -> str:
    return date.fromordinal(EPOCH_DAY + days_since_epoch).isoformat()


def _number(value: float) -> str:
    return f"{value:.6g}"


def _time_format(edges: list[datetime]) -> Callable[[datetime], str]:
    """The shortest format that writes every bin edge exactly (a date, to the minute, …).

    The lowest value is written in the same format, cut to the edges' precision: on day edges,
    '[2023-01-01, 2023-03-02]' holds a first value of 2023-01-01 00:07:51.
    """
    stamps = edges
    if all(s.hour == s.minute == s.second == s.microsecond == 0 for s in stamps):
        pattern = "%Y-%m-%d"
    elif all(s.second == s.microsecond == 0 for s in stamps):
        pattern = "%Y-%m-%d %H:%M"
    elif all(s.microsecond == 0 for s in stamps):
        pattern = "%Y-%m-%d %H:%M:%S"
    else:
        pattern = "%Y-%m-%d %H:%M:%S.%f"
    return lambda stamp: stamp.strftime(pattern)


def count_sources(con: duckdb.DuckDBPyConnection, parts: list[str]) -> int:
    """Distinct sources across Parquet parts, by their lineage hash (one column, in DuckDB)."""
    found = con.execute(
        f"SELECT count(DISTINCT {SOURCE_COLUMN}) FROM read_parquet(?, union_by_name = true)",
        [parts],
    ).fetchone()
    return int(found[0]) if found else 0


class InspectError(CasparianError, ValueError):
    """A table, column, filter or export request is wrong; the message names which and why."""


SOURCE_COLUMN = "_cf_source_hash"
"""The lineage column naming the source each row came from (by its content hash)."""


@dataclass(frozen=True)
class TableSummary:
    """An output table with its row count (read from Parquet footers, not by scanning).

    ``file_count`` counts the table's Parquet parts; ``source_count`` the distinct sources its
    rows came from (by lineage hash), or None when no part carries lineage.
    """

    name: str
    parser_name: str
    output_name: str
    file_count: int
    row_count: int
    source_count: int | None = None


class OutputInspector:
    """Read-only views over ``<output_dir>/<parser>/<output>/*.parquet`` for the Inspect mode."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir

    def _tables(self) -> dict[str, OutputTable]:
        return {t.name: t for t in list_output_tables(self.output_dir)}

    def tables(self) -> list[TableSummary]:
        """Every output table, its row count and how many sources fed it."""
        summaries = []
        with duckdb.connect(":memory:") as con:
            for table in self._tables().values():
                parts = sorted(table.directory.glob("*.parquet"))
                parts = [part for part in parts if not part.name.startswith(".")]
                footers = [pq.read_metadata(part) for part in parts]
                rows = sum(footer.num_rows for footer in footers)
                with_lineage = [
                    str(part)
                    for part, footer in zip(parts, footers, strict=True)
                    if SOURCE_COLUMN in footer.schema.names
                ]
                summaries.append(
                    TableSummary(
                        table.name,
                        table.parser_name,
                        table.output_name,
                        table.file_count,
                        rows,
                        count_sources(con, with_lineage) if with_lineage else None,
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

    def anomalies(self, table: str) -> list[Anomaly]:
        """Null spikes, IQR outliers, rare categories, duplicate keys, future dates and mixed
        units of a table, each with its row count (see ``casparian_engine.anomalies``)."""
        from .anomalies import find_anomalies

        with self._connect(table) as con:
            try:
                return find_anomalies(con, table)
            except duckdb.Error as exc:
                raise InspectError(f"{table}: {str(exc).splitlines()[0]}") from exc

    def row_count(self, table: str, predicate: str = "") -> int:
        """How many rows the (filtered) table has."""
        result = self._run(table, self._select(table, predicate, "count(*) AS n"), predicate)
        return int(result.column("n")[0].as_py())

    def column_stats(
        self, table: str, predicate: str = "", sample_percent: float | None = None
    ) -> pa.Table:
        """DuckDB ``SUMMARIZE``: type, min, max, distinct and null % per column (maybe sampled).

        ``approx_unique`` is a HyperLogLog estimate that can exceed the rows it counted (976 in a
        973-row table); it is capped at ``count`` so a table never shows more values than rows.
        A sample takes whole vectors of rows (DuckDB's ``system`` sampling): a 1% sample of 10M
        rows reads about a third of the time a row-by-row (bernoulli) one does.
        """
        source = self._select(table, predicate)
        if sample_percent is not None:
            source += f" USING SAMPLE {float(sample_percent)} PERCENT (system)"
        capped = (
            "SELECT * REPLACE (least(approx_unique, count) AS approx_unique)"
            f" FROM (SUMMARIZE {source})"
        )
        return self._run(table, capped, predicate)

    def histogram(self, table: str, column: str, predicate: str = "", bins: int = 12) -> pa.Table:
        """Value counts of one column as ``bucket`` (a label), ``count`` and ``filter`` (a SQL
        predicate selecting exactly the rows the bucket counted).

        Integers and dates get whole-valued bins ('1 – 5', '2023-01-01 – 2023-01-05', both ends
        included); floats, decimals and timestamps get half-open ranges ('(20, 40]'); DuckDB's
        ``equi_width_bins`` picks round edges and ``histogram`` counts into them (empty bins
        included). Any other type lists its most frequent values.
        """
        if not column:
            raise InspectError(f"{table}: no column given for the histogram")
        quoted = quote_identifier(column)
        probe = self._run(table, f"SELECT {quoted} FROM {quote_identifier(table)} LIMIT 0", "")
        value_type = probe.schema.field(0).type
        kind = binned_kind(value_type)
        bins = max(2, int(bins))
        if kind is None:
            return self._frequent_values(table, quoted, value_type, predicate, bins)
        return self._binned(table, quoted, kind, value_type, predicate, bins)

    def _frequent_values(
        self, table: str, quoted: str, value_type: pa.DataType, predicate: str, bins: int
    ) -> pa.Table:
        """The ``bins`` most frequent values of a column that is not binned (null included)."""
        sql = (
            f"SELECT coalesce({quoted}::VARCHAR, '∅ null') AS bucket, count(*) AS count,"
            f" {quoted} IS NULL AS is_null FROM ({self._select(table, predicate)})"
            f" GROUP BY bucket, is_null ORDER BY count DESC, bucket LIMIT {bins}"
        )
        found = self._run(table, sql, predicate)
        text = value_type in (pa.string(), pa.large_string())
        as_text = quoted if text else f"{quoted}::VARCHAR"
        filters = [
            f"{quoted} IS NULL" if is_null else f"{as_text} = {quote_literal(bucket)}"
            for bucket, is_null in zip(
                found.column("bucket").to_pylist(),
                found.column("is_null").to_pylist(),
                strict=True,
            )
        ]  # one per bucket shown, at most ``bins``
        return found.drop_columns(["is_null"]).append_column(
            "filter", pa.array(filters, pa.string())
        )

    def _binned(
        self,
        table: str,
        quoted: str,
        kind: str,
        value_type: pa.DataType,
        predicate: str,
        bins: int,
    ) -> pa.Table:
        """Counts of a numeric, date or timestamp column in at most ``bins`` round bins."""
        value = BINNED_VALUE[kind].format(quoted)
        # Round edges can make more bins than asked for: then fewer round bins, then plain edges.
        tries = [
            f"equi_width_bins(min(x), max(x), {n}, true)" for n in (bins, bins * 3 // 4, bins // 2)
        ]
        plain = f"equi_width_bins(min(x), max(x), {bins}, false)"
        pick = " ".join(f"WHEN len({edges}) <= {bins} THEN {edges}" for edges in tries)
        # Days are counted from the first day, so round edges read '1st – 20th', not day 19360.
        shifted = "x - (SELECT min(x) FROM v0)" if kind == "date" else "x"
        filtered = self._select(table, predicate)
        sql = (
            f"WITH v0 AS (SELECT {value} AS x FROM ({filtered}) WHERE {quoted} IS NOT NULL),"
            f" v AS (SELECT {shifted} AS x FROM v0),"
            f" b AS (SELECT CASE {pick} ELSE {plain} END AS edges FROM v)"
            " SELECT min(x) AS lowest, max(x) AS highest,"
            " histogram(x, (SELECT edges FROM b)) AS counts,"
            " (SELECT min(x) FROM v0) AS first FROM v"
        )
        found = self._run(table, sql, predicate).to_pylist()[0]
        counts = found["counts"] or []  # a map arrives as (key, value) pairs, at most bins + 1
        edges = [edge for edge, _ in counts]
        lowest, highest = found["lowest"], found["highest"]
        if kind == "date" and counts:
            lowest, highest = lowest + found["first"], highest + found["first"]
            edges = [edge + found["first"] for edge in edges]
        # The filter reads as the column where no cast changes a value (a DOUBLE, a TIMESTAMP)
        uncast = kind in ("integer", "date") or value_type in (pa.float64(), pa.timestamp("us"))
        compared = quoted if uncast else value
        return pa.table(
            {
                "bucket": pa.array(bin_labels(kind, lowest, edges, highest), pa.string()),
                "count": pa.array([count for _, count in counts], pa.int64()),
                "filter": pa.array(
                    bin_filters(kind, compared, lowest, edges, highest), pa.string()
                ),
            }
        )
