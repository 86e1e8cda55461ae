"""Inspect the outputs: column stats, histograms (each bin with its filter), row counts and
SQL-predicate filters; anomalies.

Each call opens a private in-memory DuckDB catalog with one view per output table (see
``catalog``), so calls from several threads never share a connection. A table's rows, sorted
windows and exports go through the guarded catalog (``ReadOnlyCatalog.open_result``).
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
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
    QueryRefused,
    check_single_select,
    confine_to,
    create_views,
    scratch_cursor,
)
from .output_tables import (
    SOURCE_COLUMN,
    OutputTable,
    TableSummary,
    list_output_tables,
    table_rows,
)
from .sql_quoting import quote_identifier, quote_literal

DEFAULT_SAMPLE_PERCENT = 1.0
SAMPLE_ABOVE_ROWS = 1_000_000
SAMPLE_MAX_PARTS = 256
"""Sampled stats read row groups and footers of at most this many Parquet parts (else DuckDB's
``system`` sampling over the table)."""


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


_CONFINED_KEPT = 4
_confined: OrderedDict[Path, duckdb.DuckDBPyConnection] = OrderedDict()
_confined_lock = threading.Lock()


_inherited_confined: list[duckdb.DuckDBPyConnection] = []


def _forget_confined() -> None:
    """In a forked child: never use the parent's DuckDB connections (their threads are gone),
    and never drop them either: a destructor would wait for those threads and crash the child
    (a guest started with a preexec_fn died of SIGSEGV before its exec)."""
    _inherited_confined.extend(_confined.values())
    _confined.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_confined)


def _confined_cursor(output_dir: Path) -> duckdb.DuckDBPyConnection:
    """A new connection (close it) to this process's in-memory database for ``output_dir``:
    it may read files under that folder only, loads no extension and its configuration is
    locked — a filter is SQL typed by a person. Made once per folder (a DuckDB database costs
    12-30 ms to open), the ``_CONFINED_KEPT`` most recent kept; the caller's views are
    temporary, its own."""
    with _confined_lock:
        database = _confined.get(output_dir)
        if database is None:
            database = duckdb.connect(":memory:")
            try:
                confine_to(database, output_dir)
            except BaseException:
                database.close()
                raise
            _confined[output_dir] = database
            while len(_confined) > _CONFINED_KEPT:
                # dropped, not closed: closing would close the cursors other threads read on
                _confined.popitem(last=False)
        else:
            _confined.move_to_end(output_dir)
        return database.cursor()


class OutputInspector:
    """Read-only views over ``<output_dir>/<parser>/<output>/*.parquet`` for the Inspect mode."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir

    def _tables(self) -> dict[str, OutputTable]:
        return {t.name: t for t in list_output_tables(self.output_dir)}

    def tables(self, with_sources: bool = True) -> list[TableSummary]:
        """Every output table, its row count and (``with_sources``) how many sources fed it —
        a DuckDB count over the lineage column; without it only Parquet footers are read."""
        found = table_rows(self.output_dir)
        if not with_sources:
            return [summary for summary, _ in found]
        with duckdb.connect(":memory:") as con:
            return [
                replace(summary, source_count=count_sources(con, lineage) if lineage else None)
                for summary, lineage in found
            ]

    def _connect(self, table: str) -> duckdb.DuckDBPyConnection:
        tables = self._tables()
        if table not in tables:
            known = ", ".join(sorted(tables)) or "none yet"
            raise InspectError(f"no output table named {table!r} (tables: {known})")
        con = _confined_cursor(self.output_dir.resolve())
        try:
            create_views(con, [tables[table]], temporary=True)
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
        """Per column: ``column_name``, ``column_type``, ``min``, ``max`` (as text),
        ``approx_unique``, ``count`` (rows) and ``null_percentage`` — the figures of DuckDB's
        ``SUMMARIZE`` that Inspect shows, each computed as ``SUMMARIZE`` does (the same values),
        in one scan and one aggregate per figure. ``SUMMARIZE``'s mean, deviation and three
        quartiles are left out: nobody shows them, and their digests cost most of its time.

        ``approx_unique`` is a HyperLogLog estimate that can exceed the rows it counted (976 in a
        973-row table); it is capped at ``count`` so a table never shows more values than rows.

        With ``sample_percent``, about that share of the table's Parquet row groups (at least
        one), spread evenly over its parts, are read whole (a row group is what a Parquet reader
        decodes at once; DuckDB's row sampling decodes nearly every one) and the figures are the
        sample's — except, when there is no filter, ``count``, ``null_percentage`` and the
        ``min``/``max`` of numbers, dates and times, which come exact from the parts' footers.
        Tables of more than ``SAMPLE_MAX_PARTS`` parts, or parts of differing schemas, are
        sampled by DuckDB's ``system`` sampling instead (whole vectors of rows).
        """
        if sample_percent is not None:
            sampled = self._row_group_stats(table, predicate, float(sample_percent))
            if sampled is not None:
                return sampled
        source = self._select(table, predicate)
        if sample_percent is not None:
            source += f" USING SAMPLE {float(sample_percent)} PERCENT (system)"
        with self._connect(table) as con:
            return self._stats(con, table, predicate, source)

    def _stats(
        self, con: duckdb.DuckDBPyConnection, table: str, predicate: str, source: str
    ) -> pa.Table:
        """The figures of ``column_stats`` over the rows of ``source``, one scan."""
        try:
            return column_figures(con, source)
        except duckdb.Error as exc:
            where = f"filter {predicate!r} on {table}" if predicate.strip() else table
            raise InspectError(f"{where}: {str(exc).splitlines()[0]}") from exc

    def _row_group_stats(self, table: str, predicate: str, percent: float) -> pa.Table | None:
        """``column_stats`` over whole row groups spread over the table (and exact figures
        from the footers when unfiltered); None when the table is not fit for it."""
        tables = self._tables()
        if table not in tables:
            known = ", ".join(sorted(tables)) or "none yet"
            raise InspectError(f"no output table named {table!r} (tables: {known})")
        parts = sorted(p for p in tables[table].directory.glob("*.parquet"))
        parts = [part for part in parts if not part.name.startswith(".")]
        if not parts or len(parts) > SAMPLE_MAX_PARTS:
            return None
        files = [pq.ParquetFile(part) for part in parts]
        try:
            schema = files[0].schema_arrow
            if any(not f.schema_arrow.equals(schema) for f in files[1:]):
                return None
            groups = [(f, i) for f in files for i in range(f.metadata.num_row_groups)]
            if not groups:
                return None
            wanted = max(1, min(len(groups), math.ceil(len(groups) * percent / 100)))
            picked = [groups[(2 * k + 1) * len(groups) // (2 * wanted)] for k in range(wanted)]
            sample = pa.concat_tables([f.read_row_group(i) for f, i in picked])
            con = scratch_cursor()  # no file access; the view and rows are this cursor's own
            try:
                con.register("cf_sample_rows", sample)
                con.execute(
                    f"CREATE TEMP VIEW {quote_identifier(table)} AS SELECT * FROM cf_sample_rows"
                )
                stats = self._stats(con, table, predicate, self._select(table, predicate))
                if not predicate.strip():
                    stats = _exact_from_footers(con, stats, files, schema)
            finally:
                con.close()
        finally:
            for f in files:
                f.close()
        return stats

    def histogram(self, table: str, column: str, predicate: str = "", bins: int = 12) -> pa.Table:
        """Value counts of one column of the (filtered) table: see ``histogram_of``."""
        if not column:
            raise InspectError(f"{table}: no column given for the histogram")

        def run(sql: str) -> pa.Table:
            return self._run(table, sql, predicate)

        return histogram_of(run, self._select(table, predicate), column, bins)


def column_figures(con: duckdb.DuckDBPyConnection, source: str) -> pa.Table:
    """The figures of ``OutputInspector.column_stats`` over the rows of ``source`` (a checked
    SELECT; a table's or a query result's), in one scan: DuckDB's errors are the caller's."""
    shape = con.sql(source)  # names and types: DuckDB binds, runs nothing
    names, types = shape.columns, [str(kind) for kind in shape.types]
    figures = []
    for name in names:
        quoted = quote_identifier(name)
        figures += [
            f"min({quoted})::VARCHAR",
            f"max({quoted})::VARCHAR",
            f"least(approx_count_distinct({quoted}), count(*))",
            f"CAST((count(*) - count({quoted})) * 100.0 / count(*) AS DECIMAL(9,2))",
        ]
    (found,) = con.execute(
        f"SELECT count(*), {', '.join(figures) or 'NULL'} FROM ({source})"
    ).fetchall()
    values = list(found or ())
    rows, per_column = int(values[0] or 0), values[1:]
    return pa.table(
        {
            "column_name": pa.array(names, pa.string()),
            "column_type": pa.array(types, pa.string()),
            "min": pa.array(per_column[0::4], pa.string()),
            "max": pa.array(per_column[1::4], pa.string()),
            "approx_unique": pa.array(per_column[2::4], pa.int64()),
            "count": pa.array([rows] * len(names), pa.int64()),
            "null_percentage": pa.array(per_column[3::4], pa.decimal128(9, 2)),
        }
    )


def histogram_of(
    run: Callable[[str], pa.Table], source: str, column: str, bins: int = 12
) -> pa.Table:
    """Value counts of one column of ``source`` (a checked SELECT; ``run`` reads a statement) as
    ``bucket`` (a label), ``count`` and ``filter`` (a SQL predicate selecting exactly the rows
    the bucket counted, over ``source``'s columns).

    Integers and dates get whole-valued bins ('1 – 5', '2023-01-01 – 2023-01-05', both ends
    included); floats, decimals and timestamps get half-open ranges ('(20, 40]'); DuckDB's
    ``equi_width_bins`` picks round edges and ``histogram`` counts into them (empty bins
    included). Any other type lists its most frequent values.
    """
    quoted = quote_identifier(column)
    probe = run(f"SELECT {quoted} FROM ({source}) AS cf_source LIMIT 0")
    value_type = probe.schema.field(0).type
    kind = binned_kind(value_type)
    bins = max(2, int(bins))
    if kind is None:
        return _frequent_values(run, source, quoted, value_type, bins)
    return _binned(run, source, quoted, kind, value_type, bins)


def _frequent_values(
    run: Callable[[str], pa.Table], source: str, quoted: str, value_type: pa.DataType, bins: int
) -> pa.Table:
    """The ``bins`` most frequent values of a column that is not binned (null included)."""
    sql = (
        f"SELECT coalesce({quoted}::VARCHAR, '∅ null') AS bucket, count(*) AS count,"
        f" {quoted} IS NULL AS is_null FROM ({source})"
        f" GROUP BY 1, 3 ORDER BY 2 DESC, 1 LIMIT {bins}"
    )
    found = run(sql)
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
    return found.drop_columns(["is_null"]).append_column("filter", pa.array(filters, pa.string()))


def _binned(
    run: Callable[[str], pa.Table],
    source: str,
    quoted: str,
    kind: str,
    value_type: pa.DataType,
    bins: int,
) -> pa.Table:
    """Counts of a numeric, date or timestamp column in at most ``bins`` round bins; a float
    column's infinities and NaNs (which no bin can hold) get a bar each: '-inf' first, 'inf'
    and 'nan' last."""
    value = BINNED_VALUE[kind].format(quoted)
    finite = f" AND isfinite({value})" if kind == "float" else ""
    # Round edges can make more bins than asked for: then fewer round bins, then plain edges.
    tries = [
        f"equi_width_bins(min(x), max(x), {n}, true)" for n in (bins, bins * 3 // 4, bins // 2)
    ]
    plain = f"equi_width_bins(min(x), max(x), {bins}, false)"
    pick = " ".join(f"WHEN len({edges}) <= {bins} THEN {edges}" for edges in tries)
    # Days are counted from the first day, so round edges read '1st – 20th', not day 19360.
    shifted = "x - (SELECT min(x) FROM v0)" if kind == "date" else "x"
    sql = (
        f"WITH v0 AS (SELECT {value} AS x FROM ({source}) WHERE {quoted} IS NOT NULL{finite}),"
        f" v AS (SELECT {shifted} AS x FROM v0),"
        f" b AS (SELECT CASE {pick} ELSE {plain} END AS edges FROM v)"
        " SELECT min(x) AS lowest, max(x) AS highest,"
        " histogram(x, (SELECT edges FROM b)) AS counts,"
        " (SELECT min(x) FROM v0) AS first FROM v"
    )
    found = run(sql).to_pylist()[0]
    counts = found["counts"] or []  # a map arrives as (key, value) pairs, at most bins + 1
    edges = [edge for edge, _ in counts]
    lowest, highest = found["lowest"], found["highest"]
    if kind == "date" and counts:
        lowest, highest = lowest + found["first"], highest + found["first"]
        edges = [edge + found["first"] for edge in edges]
    # The filter reads as the column where no cast changes a value (a DOUBLE, a TIMESTAMP)
    uncast = kind in ("integer", "date") or value_type in (pa.float64(), pa.timestamp("us"))
    compared = quoted if uncast else value
    labels = bin_labels(kind, lowest, edges, highest)
    numbers = [count for _, count in counts]
    filters = bin_filters(kind, compared, lowest, edges, highest)
    if kind == "float":
        bars = _non_finite_bars(run, source, quoted, value, compared)
        first = [bar for bar in bars if bar[0] == "-inf"]
        last = [bar for bar in bars if bar[0] != "-inf"]
        labels = [*(b[0] for b in first), *labels, *(b[0] for b in last)]
        numbers = [*(b[1] for b in first), *numbers, *(b[1] for b in last)]
        filters = [*(b[2] for b in first), *filters, *(b[2] for b in last)]
    return pa.table(
        {
            "bucket": pa.array(labels, pa.string()),
            "count": pa.array(numbers, pa.int64()),
            "filter": pa.array(filters, pa.string()),
        }
    )


def _non_finite_bars(
    run: Callable[[str], pa.Table], source: str, quoted: str, value: str, compared: str
) -> list[tuple[str, int, str]]:
    """A float column's bars no bin can hold, as (label, count, filter) in the order -inf, inf,
    nan, each only when the column has such values."""
    found = run(
        f"SELECT {value}::VARCHAR AS cf_label, count(*) AS cf_count FROM ({source})"
        f" WHERE {quoted} IS NOT NULL AND NOT isfinite({value}) GROUP BY 1"
    ).to_pydict()
    counts = dict(zip(found["cf_label"], found["cf_count"], strict=True))
    tests = {
        "-inf": f"{compared} = '-inf'::DOUBLE",
        "inf": f"{compared} = 'inf'::DOUBLE",
        "nan": f"isnan({compared})",
    }
    return [(label, counts[label], test) for label, test in tests.items() if label in counts]


def _footer_kind(value_type: pa.DataType) -> bool:
    """Whether Parquet footers hold a column's exact min and max (fixed-width values: a writer
    may cut long text and binary ones)."""
    return bool(
        pa.types.is_integer(value_type)
        or pa.types.is_floating(value_type)
        or pa.types.is_decimal(value_type)
        or pa.types.is_date(value_type)
        or pa.types.is_timestamp(value_type)
        or pa.types.is_boolean(value_type)
    )


def _plus_zero(value: Any) -> Any:
    return value + 0.0 if isinstance(value, float) else value


def _exact_from_footers(
    con: duckdb.DuckDBPyConnection,
    stats: pa.Table,
    files: list[pq.ParquetFile],
    schema: pa.Schema,
) -> pa.Table:
    """``stats`` with ``count`` and ``null_percentage`` (when every row group counts its nulls)
    and the ``min``/``max`` of fixed-width columns (when every row group has them) read from
    the footers: exact, whatever the sample held. DuckDB turns the footer values into text, so
    they read as ``SUMMARIZE`` writes them."""
    names = stats.column("column_name").to_pylist()
    if names != schema.names:
        return stats
    groups = [f.metadata.row_group(i) for f in files for i in range(f.metadata.num_row_groups)]
    rows = sum(group.num_rows for group in groups)
    nulls, ends = _footer_figures(groups, schema)
    mins, maxes = stats["min"].to_pylist(), stats["max"].to_pylist()
    for index, (low, high) in _ends_as_text(con, ends).items():
        mins[index], maxes[index] = low, high
    shares = stats["null_percentage"].to_pylist()
    if rows and nulls:
        shares = _exact_null_shares(con, nulls, rows, shares)
    return (
        stats.set_column(2, "min", pa.array(mins, pa.string()))
        .set_column(3, "max", pa.array(maxes, pa.string()))
        .set_column(5, "count", pa.array([rows] * len(names), pa.int64()))
        .set_column(6, "null_percentage", pa.array(shares, pa.decimal128(9, 2)))
    )


_NO_VALUES = (pa.array([], pa.null()), pa.array([], pa.null()))  # a column of nulls only


def _footer_figures(
    groups: list[pq.RowGroupMetaData], schema: pa.Schema
) -> tuple[list[int | None], dict[int, tuple[pa.Array, pa.Array]]]:
    """Each column's null count (None when a row group does not count them) and, by column
    index, the minimums and maximums of its row groups (empty arrays when it holds only nulls;
    left out when a footer lacks them or its kind's text would differ from DuckDB's)."""
    nulls: list[int | None] = []
    ends: dict[int, tuple[pa.Array, pa.Array]] = {}
    # A flat column is one Parquet leaf, found by its path; nested ones keep the sample's figures.
    leaves = [
        {group.column(j).path_in_schema: j for j in range(group.num_columns)} for group in groups
    ]
    for index, field in enumerate(schema):
        if pa.types.is_nested(field.type) or any(field.name not in leaf for leaf in leaves):
            nulls.append(None)
            continue
        found = [
            group.column(leaf[field.name]).statistics
            for group, leaf in zip(groups, leaves, strict=True)
        ]
        nulls.append(
            sum(s.null_count for s in found)
            if all(s is not None and s.has_null_count for s in found)
            else None
        )
        with_values = [s for s in found if s is not None and s.num_values > 0]  # non-null ones
        if not _footer_kind(field.type) or not all(s.has_min_max for s in with_values):
            continue
        if not with_values:
            ends[index] = _NO_VALUES
            continue
        try:
            # Parquet writes a minimum of zero as -0.0; a zero reads as 0.0 here
            low = pa.array([_plus_zero(s.min) for s in with_values], field.type)
            high = pa.array([s.max for s in with_values], field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            continue  # a footer value pyarrow gives in another form: the sample's figure stays
        ends[index] = (low, high)
    return nulls, ends


def _ends_as_text(
    con: duckdb.DuckDBPyConnection, ends: dict[int, tuple[pa.Array, pa.Array]]
) -> dict[int, tuple[str | None, str | None]]:
    """Each column's smallest minimum and largest maximum as DuckDB writes them as text (None
    for a column of nulls only), all columns in one query over one row of lists."""
    texts: dict[int, tuple[str | None, str | None]] = {
        index: (None, None) for index, pair in ends.items() if pair is _NO_VALUES
    }
    valued = {index: pair for index, pair in ends.items() if pair is not _NO_VALUES}
    if not valued:
        return texts
    lists = {
        f"{side}{index}": pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values)
        for index, (low, high) in valued.items()
        for side, values in (("l", low), ("h", high))
    }
    con.register("cf_footer_ends", pa.table(lists))
    try:
        (found,) = con.execute(
            "SELECT "
            + ", ".join(
                f"list_min(l{index})::VARCHAR, list_max(h{index})::VARCHAR" for index in valued
            )
            + " FROM cf_footer_ends"
        ).fetchall()
    finally:
        con.unregister("cf_footer_ends")
    for position, index in enumerate(valued):
        texts[index] = (found[2 * position], found[2 * position + 1])
    return texts


def _exact_null_shares(
    con: duckdb.DuckDBPyConnection, nulls: list[int | None], rows: int, shares: list[Any]
) -> list[Any]:
    """The null percentage of each column whose footers count its nulls, computed by DuckDB as
    ``SUMMARIZE`` rounds it; the sampled share stays for the others."""
    (exact,) = con.execute(
        "SELECT "
        + ", ".join(f"CAST({int(n or 0)} * 100.0 / {rows} AS DECIMAL(9,2))" for n in nulls)
    ).fetchall()
    return [
        found if n is not None else share
        for found, n, share in zip(exact, nulls, shares, strict=True)
    ]
